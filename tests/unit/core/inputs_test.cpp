// fingerprint_file and the one classification of job keys (core/inputs.hpp).
#include "msweep/core/inputs.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "msweep/core/error.hpp"

namespace msweep {
namespace {

TEST(FingerprintFile, SizeAndDigestFollowTheBytes) {
  const auto path = (std::filesystem::temp_directory_path() / "msweep_inputs_test.csv").string();
  { std::ofstream(path, std::ios::binary) << "a,y\n1,2\n"; }
  const InputFile first = fingerprint_file(path, "csv");
  EXPECT_EQ(first.bytes, 8u);
  EXPECT_EQ(first.kind, "csv");
  EXPECT_EQ(first.digest.rfind("fnv1a64:", 0), 0u);
  EXPECT_EQ(first.digest.size(), 24u);
  EXPECT_TRUE(first.same_content(fingerprint_file(path, "csv")));
  { std::ofstream(path, std::ios::binary) << "a,y\n1,20\n"; }
  EXPECT_FALSE(first.same_content(fingerprint_file(path, "csv")));
  std::filesystem::remove(path);
  EXPECT_THROW(fingerprint_file(path, "csv"), InputError);
}

TEST(KeyChangesResults, OnlyOutputAndNameAreHarmless) {
  for (const char* key : {"job.name", "output.path", "output.flush_rows", "output.flush_seconds"}) EXPECT_FALSE(key_changes_results(key)) << key;
  for (const char* key : {"job.seed", "job.experiment", "data.source", "sweep.runs", "output.store_points", "model.new_key"})
    EXPECT_TRUE(key_changes_results(key)) << key;
}

}  // namespace
}  // namespace msweep
