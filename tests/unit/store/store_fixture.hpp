// A temporary directory per test, a small results layout (3 structures x 2 folds x 2 runs,
// two metrics, one 2x3 array), task results for it, and ways to compare the rows of two
// files: shared by the store's unit tests.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

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
    layout_.resolved_job = R"({"job": {"name": "t", "seed": 9}, "output": {"flush_seconds": 2.0}})";
    layout_.axes = standard_axes({"structure", index_labels(3)}, 2, 1, 2);  // 12 tasks
    layout_.metrics = {{"x", "first"}, {"y", "second"}};
    layout_.arrays = {{"curve", {2, 3}, "a 2x3 block"}};
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Task `id`, ok or failed (then with an error text and no metrics or arrays).
  static TaskResult result(TaskId id, bool ok) {
    TaskResult r;
    r.id = id;
    r.rank = 1;
    r.wall_seconds = 0.25 * static_cast<double>(id);
    if (ok) {
      r.metrics = {static_cast<double>(id), 2.0 * static_cast<double>(id)};
      r.arrays = {{1, 2, 3, 4, 5, static_cast<double>(id) / 7.0}};
    } else {
      r.status = TaskStatus::failed;
      r.error = "boom " + std::to_string(id);
    }
    return r;
  }
  // Task `id` of a run in which every fifth task fails.
  static TaskResult result(TaskId id) { return result(id, id % 5 != 4); }

  // All 12 tasks, written in one run that completes.
  void write_full_reference(const std::string& file) const {
    auto writer = ResultWriter::create(file, layout_, {}, {}, false);
    for (TaskId id = 0; id < 12; ++id) writer.append({result(id)});
    writer.finish(RunStatus::complete, 0);
  }

  // Committed rows sorted by id, with their arrays.
  static std::vector<TaskRow> rows_of(const std::string& file) {
    ResultReader reader(file);
    std::vector<TaskRow> rows;
    reader.for_each_block([&](const std::vector<TaskRow>& block) { rows.insert(rows.end(), block.begin(), block.end()); }, 65536,
                          true);
    std::sort(rows.begin(), rows.end(), [](const TaskRow& a, const TaskRow& b) { return a.result.id < b.result.id; });
    return rows;
  }

  // Every stored field but the wall time, bitwise (NaN rows must match too).
  static void expect_same_rows(const std::vector<TaskRow>& a, const std::vector<TaskRow>& b) {
    ASSERT_EQ(a.size(), b.size());
    auto same_bits = [](const std::vector<double>& x, const std::vector<double>& y) {
      return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0;
    };
    for (std::size_t i = 0; i < a.size(); ++i) {
      const TaskResult &x = a[i].result, &y = b[i].result;
      EXPECT_EQ(x.id, y.id);
      EXPECT_EQ(x.status, y.status);
      EXPECT_EQ(x.error, y.error);
      EXPECT_EQ(x.rank, y.rank);
      EXPECT_EQ(a[i].coordinates, b[i].coordinates);
      EXPECT_TRUE(same_bits(x.metrics, y.metrics)) << "id " << x.id;
      ASSERT_EQ(x.arrays.size(), y.arrays.size());
      for (std::size_t k = 0; k < x.arrays.size(); ++k) EXPECT_TRUE(same_bits(x.arrays[k], y.arrays[k])) << "id " << x.id;
    }
  }

  static std::vector<unsigned char> bytes_of(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  static void write_bytes(const std::string& file, const std::vector<unsigned char>& bytes) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }

  // Rewrites a journal as an older msweep wrote it (docs/results-format.md, "Journal"): the
  // versions differ in the header's magic and the record checksum only, an FNV-1a 64 of the
  // row count, payload length and payload (version 2) or of the payload alone (version 1).
  static void rewrite_journal_as_version(const std::string& file, int version) {
    std::vector<unsigned char> bytes = bytes_of(file);
    bytes[7] = static_cast<unsigned char>('0' + version);
    std::uint32_t text = 0;
    std::memcpy(&text, bytes.data() + 8, 4);
    auto fnv = [&](std::size_t from, std::size_t to, std::uint64_t h) {
      for (std::size_t i = from; i < to; ++i) h = (h ^ bytes[i]) * 0x100000001b3ULL;
      return h;
    };
    for (std::size_t at = 8 + 4 + text + 8; at + 24 <= bytes.size();) {  // record: magic, count, length, checksum
      std::uint64_t length = 0;
      std::memcpy(&length, bytes.data() + at + 8, 8);
      std::uint64_t h = 0xcbf29ce484222325ULL;
      if (version == 2) h = fnv(at + 4, at + 16, h);
      h = fnv(at + 24, at + 24 + length, h);
      std::memcpy(bytes.data() + at + 16, &h, 8);
      at += 24 + length;
    }
    write_bytes(file, bytes);
  }

  // Overwrites the start of the file, where HDF5 keeps its superblock.
  static void damage(const std::string& file) {
    std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
    const std::string garbage(4096, '\x5a');
    stream.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }

  std::filesystem::path dir_;
  ResultLayout layout_;
};

}  // namespace msweep
