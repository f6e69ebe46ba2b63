// ResultReader on files that are not results files (store/reader.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

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
  EXPECT_EQ(message(text), text + ": not an HDF5 file (expected an msweep results file)");
  EXPECT_EQ(message(path("missing.h5")), path("missing.h5") + ": results file not found");
  EXPECT_EQ(message(dir_.string()), dir_.string() + ": expected a results file (.h5), got a directory");
}

}  // namespace
}  // namespace msweep
