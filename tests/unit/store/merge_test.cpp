// Merging the shards of one job (store/merge.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "msweep/core/error.hpp"
#include "msweep/store/merge.hpp"
#include "msweep/store/results.hpp"
#include "store_fixture.hpp"

namespace msweep {
namespace {

namespace fs = std::filesystem;

class MergeTest : public StoreFixture {};

TEST_F(MergeTest, MergeOfShardsEqualsOneRun) {
  const std::string reference = path("ref.h5");
  write_full_reference(reference);
  std::vector<std::string> shards;
  for (std::uint64_t s = 0; s < 3; ++s) {
    ResultLayout shard = layout_;
    shard.shard_index = s;
    shard.shard_count = 3;
    shards.push_back(path("shard" + std::to_string(s) + ".h5"));
    auto writer = ResultWriter::create(shards.back(), shard, {}, {}, false);
    for (TaskId id = s; id < 12; id += 3) writer.append({result(id)});
    writer.finish(RunStatus::complete, 0);
  }
  const std::string merged = path("all.h5");
  const MergeReport report = merge_results(shards, merged, false);
  EXPECT_EQ(report.missing, 0u);
  EXPECT_EQ(report.status, RunStatus::complete);
  expect_same_rows(rows_of(merged), rows_of(reference));
  ResultReader reader(merged);
  EXPECT_EQ(reader.status(), RunStatus::complete);
  EXPECT_EQ(reader.layout().shard_count, 1u);
  const SummaryTable a = reader.summarize(), b = ResultReader(reference).summarize();
  EXPECT_EQ(a.ok_count, b.ok_count);

  // An existing output is refused and left as it was.
  const auto before = fs::file_size(merged);
  EXPECT_THROW(merge_results(shards, merged, false), InputError);
  EXPECT_EQ(fs::file_size(merged), before);

  // Missing shards are reported; the merged file is resumable ("interrupted").
  const MergeReport partial = merge_results({shards[0], shards[2]}, path("part.h5"), false);
  EXPECT_EQ(partial.missing, 4u);
  EXPECT_EQ(partial.missing_examples.front(), 1u);
  EXPECT_EQ(ResultReader(path("part.h5")).status(), RunStatus::interrupted);
}

TEST_F(MergeTest, MergeRefusesOverlapsAndOtherJobs) {
  const std::string a = path("a.h5"), b = path("b.h5"), c = path("c.h5");
  write_full_reference(a);
  {
    auto writer = ResultWriter::create(b, layout_, {}, {}, false);
    writer.append({result(3)});
    writer.finish(RunStatus::interrupted, 0);
  }
  ResultLayout other = layout_;
  other.job_text += "# another grid\n";
  ResultWriter::create(c, other, {}, {}, false).finish(RunStatus::interrupted, 0);
  auto message = [&](const std::vector<std::string>& inputs) {
    try {
      merge_results(inputs, path("out.h5"), false);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(message({a, b}).rfind(b + ": task 3 is also stored in " + a, 0), 0u);
  EXPECT_EQ(message({a, c}).rfind(c + ": belongs to another job", 0), 0u);
  EXPECT_FALSE(fs::exists(path("out.h5")));
  EXPECT_FALSE(fs::exists(path("out.h5.merging")));
}

}  // namespace
}  // namespace msweep
