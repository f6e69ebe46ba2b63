// A temporary directory per test and a small results layout (3 structures x 2 folds x 2 runs,
// two metrics, one 2x3 array), shared by the store's unit tests.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "msweep/store/results.hpp"

namespace msweep {

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("msweep_store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    layout_.job_name = "t";
    layout_.experiment = "synthetic-load";
    layout_.job_path = "t.toml";
    layout_.job_text = "[job]\nname = \"t\"\n";
    layout_.job_seed = 9;
    layout_.axes = standard_axes(index_labels(3), 2, 1, 2);  // 12 tasks
    layout_.metric_names = {"x", "y"};
    layout_.metric_descriptions = {"first", "second"};
    layout_.arrays = {{"curve", {2, 3}, "a 2x3 block"}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
  ResultLayout layout_;
};

}  // namespace msweep
