// The journal (rebuild and restore after kills or damage), shard attributes, and merge.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "msweep/core/error.hpp"
#include "msweep/store/journal.hpp"
#include "msweep/store/merge.hpp"
#include "msweep/store/results.hpp"
#include "store_fixture.hpp"

namespace msweep {
namespace {

namespace fs = std::filesystem;

class JournalTest : public StoreFixture {
 protected:

  static TaskResult result(TaskId id) {
    TaskResult r;
    r.id = id;
    r.rank = 1;
    r.wall_seconds = 0.25 * static_cast<double>(id);
    if (id % 5 == 4) {
      r.status = TaskStatus::failed;
      r.error = "boom " + std::to_string(id);
    } else {
      r.metrics = {static_cast<double>(id) / 3.0, -static_cast<double>(id)};
      r.arrays = {{1, 2, 3, 4, 5, static_cast<double>(id) / 7.0}};
    }
    return r;
  }
  // Committed rows sorted by id, with the array values of each row appended to its metrics.
  static std::vector<StoredRow> rows_of(const std::string& file) {
    ResultReader reader(file);
    std::vector<StoredRow> rows;
    reader.for_each_block([&](const std::vector<StoredRow>& block) { rows.insert(rows.end(), block.begin(), block.end()); });
    const auto curve = reader.read_array("curve");
    for (std::size_t r = 0; r < rows.size(); ++r) rows[r].metrics.insert(rows[r].metrics.end(), curve.begin() + 6 * r, curve.begin() + 6 * (r + 1));
    std::sort(rows.begin(), rows.end(), [](const StoredRow& a, const StoredRow& b) { return a.id < b.id; });
    return rows;
  }
  static void expect_same_rows(const std::vector<StoredRow>& a, const std::vector<StoredRow>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].id, b[i].id);
      EXPECT_EQ(a[i].status, b[i].status);
      EXPECT_EQ(a[i].error, b[i].error);
      EXPECT_EQ(a[i].coordinates, b[i].coordinates);
      ASSERT_EQ(a[i].metrics.size(), b[i].metrics.size());
      // Bitwise: NaN rows must match too.
      EXPECT_EQ(0, std::memcmp(a[i].metrics.data(), b[i].metrics.data(), a[i].metrics.size() * sizeof(double))) << "id " << a[i].id;
    }
  }
  void write_full_reference(const std::string& file) const {
    auto writer = ResultWriter::create(file, layout_, {}, {}, false);
    for (TaskId id = 0; id < 12; ++id) writer.append({result(id)});
    writer.finish("complete", 0);
  }
  static void damage(const std::string& file) {
    std::fstream stream(file, std::ios::in | std::ios::out | std::ios::binary);
    const std::string garbage(4096, '\x5a');
    stream.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }

};

TEST_F(JournalTest, CompleteRunRemovesItsJournal) {
  const std::string file = path("a.h5");
  write_full_reference(file);
  EXPECT_FALSE(fs::exists(journal_path(file)));
}

TEST_F(JournalTest, RebuildsAFileHdf5CannotOpen) {
  const std::string file = path("a.h5"), reference = path("ref.h5");
  write_full_reference(reference);
  {
    auto writer = ResultWriter::create(file, layout_, {}, {}, false);
    writer.append({result(0), result(4), result(9)});
    writer.flush();
    writer.append({result(2)});
    writer.flush();
    writer.append({result(3)});  // never flushed: lost, as after a kill
  }
  damage(file);
  EXPECT_THROW(ResultReader{file}, InputError);
  EXPECT_TRUE(rebuildable_from_journal(file, layout_.job_text));
  EXPECT_FALSE(rebuildable_from_journal(file, layout_.job_text + "# other job\n"));

  auto writer = ResultWriter::resume(file, layout_, {}, {}, false);
  EXPECT_TRUE(writer.rebuilt());
  EXPECT_EQ(writer.rows_restored(), 4u);
  auto stored = writer.stored_ids();
  std::sort(stored.begin(), stored.end());
  EXPECT_EQ(stored, (std::vector<TaskId>{0, 2, 4, 9}));
  EXPECT_TRUE(fs::exists(file + ".damaged"));
  for (TaskId id = 0; id < 12; ++id)
    if (!std::binary_search(stored.begin(), stored.end(), id)) writer.append({result(id)});
  writer.finish("complete", 0);
  expect_same_rows(rows_of(file), rows_of(reference));
}

TEST_F(JournalTest, AnotherJobsJournalIsNotUsed) {
  const std::string file = path("a.h5");
  {
    auto writer = ResultWriter::create(file, layout_, {}, {}, false);
    writer.append({result(1)});
    writer.flush();
  }
  damage(file);
  ResultLayout other = layout_;
  other.job_text += "# other\n";
  EXPECT_THROW(ResultWriter::resume(file, other, {}, {}, true), InputError);
  EXPECT_TRUE(fs::exists(journal_path(file)));  // untouched
}

TEST_F(JournalTest, RestoresRowsTheFileLostAndIgnoresATornTail) {
  const std::string file = path("a.h5"), older = path("older.h5");
  {
    auto writer = ResultWriter::create(file, layout_, {}, {}, false);
    writer.append({result(0), result(1)});
    writer.flush();
    fs::copy_file(file, older);  // the HDF5 file as a kill between journal and HDF5 would leave it
    writer.append({result(5)});
    writer.flush();
    writer.append({result(6)});
    writer.flush();
  }
  // The last record is torn (a kill mid-append): only rows 0, 1 and 5 are in valid records.
  const auto size = fs::file_size(journal_path(file));
  fs::resize_file(journal_path(file), size - 3);
  std::uint64_t rows = 0;
  const JournalScan scan = scan_journal(journal_path(file), [&](TaskResult&&) { ++rows; });
  EXPECT_EQ(rows, 3u);
  EXPECT_EQ(scan.file_bytes, size - 3);
  EXPECT_LT(scan.valid_bytes, scan.file_bytes);

  fs::remove(file);
  fs::rename(older, file);
  auto writer = ResultWriter::resume(file, layout_, {}, {}, false);
  EXPECT_FALSE(writer.rebuilt());
  EXPECT_EQ(writer.rows_restored(), 1u);  // row 5
  EXPECT_EQ(writer.rows_committed(), 3u);
  writer.append({result(6)});
  writer.finish("interrupted", 0);
  // The torn tail was cut off before new records were appended: all 4 rows are readable.
  std::uint64_t after = 0;
  scan_journal(journal_path(file), [&](TaskResult&&) { ++after; });
  EXPECT_EQ(after, 4u);
}

TEST_F(JournalTest, ShardIsRecordedAndResumeRefusesAnotherShard) {
  const std::string file = path("s.h5");
  ResultLayout shard = layout_;
  shard.shard_index = 1;
  shard.shard_count = 5;
  EXPECT_EQ(shard_task_count(shard), 3u);  // ids 1, 6, 11
  EXPECT_TRUE(in_shard(shard, 6));
  EXPECT_FALSE(in_shard(shard, 7));
  {
    auto writer = ResultWriter::create(file, shard, {}, {}, false);
    writer.append({result(1)});
    writer.finish("interrupted", 0);
  }
  ResultReader reader(file);
  EXPECT_EQ(reader.layout().shard_index, 1u);
  EXPECT_EQ(reader.layout().shard_count, 5u);
  ResultLayout other = shard;
  other.shard_index = 2;
  EXPECT_THROW(ResultWriter::resume(file, other, {}, {}, false), InputError);
}

TEST_F(JournalTest, MergeOfShardsEqualsOneRun) {
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
    writer.finish("complete", 0);
  }
  const std::string merged = path("all.h5");
  const MergeReport report = merge_results(shards, merged, false);
  EXPECT_EQ(report.missing, 0u);
  EXPECT_EQ(report.status, "complete");
  expect_same_rows(rows_of(merged), rows_of(reference));
  ResultReader reader(merged);
  EXPECT_EQ(reader.attribute("status"), "complete");
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
  EXPECT_EQ(ResultReader(path("part.h5")).attribute("status"), "interrupted");
}

TEST_F(JournalTest, MergeRefusesOverlapsAndOtherJobs) {
  const std::string a = path("a.h5"), b = path("b.h5"), c = path("c.h5");
  write_full_reference(a);
  {
    auto writer = ResultWriter::create(b, layout_, {}, {}, false);
    writer.append({result(3)});
    writer.finish("interrupted", 0);
  }
  ResultLayout other = layout_;
  other.job_text += "# another grid\n";
  ResultWriter::create(c, other, {}, {}, false).finish("interrupted", 0);
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
