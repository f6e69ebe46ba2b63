// ResultReader on files that are not results files (store/reader.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <hdf5.h>

#include "msweep/core/error.hpp"
#include "msweep/store/results.hpp"
#include "store_fixture.hpp"

namespace msweep {
namespace {

namespace fs = std::filesystem;

class ReaderTest : public StoreFixture {};

TEST_F(ReaderTest, ReaderRejectsBadFilesWithOneLine) {
  const std::string text = path("not.h5");
  std::ofstream(text) << "hello";
  auto message = [](const std::string& p) {
    try {
      ResultReader reader(p);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(message(text), text + ": not a readable HDF5 file: damaged, or not an msweep results file");
  EXPECT_EQ(message(path("missing.h5")), path("missing.h5") + ": results file not found");
  EXPECT_EQ(message(dir_.string()), dir_.string() + ": expected a results file (.h5), got a directory");
}

// A file of another format version is refused in one line naming both versions, by readers
// and by resume, and resume never takes it for damage (no rebuild from its journal).
TEST_F(ReaderTest, AnotherFormatVersionIsRefusedNotRebuilt) {
  const std::string file = path("old.h5");
  {
    auto writer = ResultWriter::create(file, layout_, {}, {}, false);
    writer.append({result(0), result(1)});
    writer.finish(RunStatus::interrupted, 0);  // keeps its journal
  }
  {
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hid_t attribute = H5Aopen(f, "format_version", H5P_DEFAULT);
    const std::int64_t old_version = 2;
    EXPECT_GE(H5Awrite(attribute, H5T_NATIVE_INT64, &old_version), 0);
    H5Aclose(attribute);
    H5Fclose(f);
  }
  try {
    ResultReader reader(file);
    FAIL() << "opened a version 2 file";
  } catch (const FormatVersionError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(file + ": results format version 2 (written by an older msweep), but this msweep reads version 3"),
              std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
  EXPECT_THROW(ResultWriter::resume(file, layout_, {}, {}, false), FormatVersionError);
  EXPECT_FALSE(std::filesystem::exists(file + ".damaged"));
  EXPECT_TRUE(std::filesystem::exists(journal_path(file)));
}

}  // namespace
}  // namespace msweep
