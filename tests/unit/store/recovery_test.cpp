// Resume, restore from the journal and rebuild after kills or damage (store/recovery.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <hdf5.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "msweep/core/error.hpp"
#include "msweep/store/journal.hpp"
#include "msweep/store/results.hpp"
#include "store_fixture.hpp"

namespace msweep {
namespace {

namespace fs = std::filesystem;

// The ids whose bit the writer's stored_tasks() sets, ascending.
std::vector<TaskId> stored_ids(const ResultWriter& writer) {
  std::vector<TaskId> ids;
  const std::vector<bool>& stored = writer.stored_tasks();
  for (TaskId id = 0; id < stored.size(); ++id)
    if (stored[id]) ids.push_back(id);
  return ids;
}

class RecoveryTest : public StoreFixture {
 protected:
  void TearDown() override {
    ::unsetenv("MSWEEP_TEST_FAIL_AT");
    StoreFixture::TearDown();
  }
  // Overwrites one field of one committed row in place (HDF5 writes only the fields a
  // compound memory type names), as a crash that lost or mixed up rows might leave it.
  template <class T>
  static void overwrite_field(const std::string& file, const char* field, hid_t type, std::uint64_t row, T value) {
    const hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t tasks = H5Dopen2(f, "tasks", H5P_DEFAULT);
    const hid_t memory = H5Tcreate(H5T_COMPOUND, sizeof(T));
    H5Tinsert(memory, field, 0, type);
    const hid_t space = H5Dget_space(tasks);
    const hsize_t start = row, count = 1;
    H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nullptr, &count, nullptr);
    const hid_t one = H5Screate_simple(1, &count, nullptr);
    EXPECT_GE(H5Dwrite(tasks, memory, one, space, H5P_DEFAULT, &value), 0);
    H5Sclose(one);
    H5Sclose(space);
    H5Tclose(memory);
    H5Dclose(tasks);
    H5Fclose(f);
  }
  // 8 tasks in two flushes, interrupted: the journal is kept.
  void write_interrupted(const std::string& file) const {
    auto writer = ResultWriter::create(file, layout_, {}, {}, false);
    writer.append({result(0), result(1), result(2), result(3)});
    writer.flush();
    writer.append({result(4), result(5), result(6), result(7)});
    writer.finish(RunStatus::interrupted, 0);
  }
  // A file that lost rows its journal kept, as a kill between a journal record and the HDF5
  // flush leaves it: `file` holds rows 0 and 1; its journal also row 5, then a record for
  // each id in `later`.
  void write_rows_the_file_lost(const std::string& file, const std::vector<TaskId>& later = {}) const {
    const std::string older = file + ".older";
    {
      auto writer = ResultWriter::create(file, layout_, {}, {}, false);
      writer.append({result(0), result(1)});
      writer.flush();
      fs::copy_file(file, older);
      writer.append({result(5)});
      writer.flush();
      for (const TaskId id : later) {
        writer.append({result(id)});
        writer.flush();
      }
    }
    fs::remove(file);
    fs::rename(older, file);
  }
  std::vector<TaskRow> reference_rows(TaskId count) {
    const std::string file = path("reference.h5");
    auto writer = ResultWriter::create(file, layout_, {}, {}, false);
    for (TaskId id = 0; id < count; ++id) writer.append({result(id)});
    writer.finish(RunStatus::interrupted, 0);
    return rows_of(file);
  }
};

TEST_F(RecoveryTest, ResumeKeepsCommittedRowsAndSkipsThem) {
  const std::string file = path("c.h5");
  {
    auto writer = ResultWriter::create(file, layout_, {}, {}, false);
    writer.append({result(0), result(3)});
    writer.flush();
    writer.append({result(7)});  // buffered only: lost, as after a kill
    // Destroyed without finish(): the file stays "running" with 2 committed rows.
  }
  {
    ResultReader before(file);
    EXPECT_EQ(before.rows_committed(), 2u);
    EXPECT_EQ(before.status(), RunStatus::running);
  }

  auto writer = ResultWriter::resume(file, layout_, {2, "h"}, {}, false);
  EXPECT_EQ(stored_ids(writer), (std::vector<TaskId>{0, 3}));
  writer.append({result(7)});
  writer.finish(RunStatus::interrupted, 0);
  ResultReader after(file);
  EXPECT_EQ(after.rows_committed(), 3u);
  EXPECT_EQ(after.status(), RunStatus::interrupted);
}

TEST_F(RecoveryTest, ResumeRefusesAnotherJob) {
  const std::string file = path("d.h5");
  ResultWriter::create(file, layout_, {}, {}, false).finish(RunStatus::complete, 0);
  ResultLayout other = layout_;
  other.job_text += "# changed\n";
  EXPECT_THROW(ResultWriter::resume(file, other, {}, {}, false), InputError);
  other.metrics[1].name = "z";
  EXPECT_THROW(ResultWriter::resume(file, other, {}, {}, true), InputError);
}

TEST_F(RecoveryTest, RebuildsAFileHdf5CannotOpen) {
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
  EXPECT_TRUE(rebuildable_from_journal(file, layout_));
  ResultLayout other_job = layout_;
  other_job.job_text += "# other job\n";
  EXPECT_FALSE(rebuildable_from_journal(file, other_job));
  ResultLayout other_data = layout_;  // the journal of a job must not rebuild it over changed data
  other_data.inputs.push_back({"data.csv", "csv", 10, "fnv1a64:0123456789abcdef"});
  EXPECT_FALSE(rebuildable_from_journal(file, other_data));

  auto writer = ResultWriter::resume(file, layout_, {}, {}, false);
  EXPECT_TRUE(writer.recovery().rebuilt);
  EXPECT_EQ(writer.recovery().rows_restored, 4u);
  const auto stored = stored_ids(writer);
  EXPECT_EQ(stored, (std::vector<TaskId>{0, 2, 4, 9}));
  EXPECT_TRUE(fs::exists(file + ".damaged"));
  EXPECT_EQ(writer.recovery().damaged_copy, file + ".damaged");
  EXPECT_EQ(writer.recovery().journal, journal_path(file));
  EXPECT_EQ(writer.recovery().damage.rfind(file + ": ", 0), 0u);  // why the file could not be used
  for (TaskId id = 0; id < 12; ++id)
    if (!std::binary_search(stored.begin(), stored.end(), id)) writer.append({result(id)});
  writer.finish(RunStatus::complete, 0);
  expect_same_rows(rows_of(file), rows_of(reference));
}

TEST_F(RecoveryTest, AnotherJobsJournalIsNotUsed) {
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

// The checksum covers a record's payload, not its header: a damaged row count must end the
// valid prefix like any corruption, not ask for 4 billion rows (tests/fuzz, journal target).
TEST_F(RecoveryTest, ADamagedRowCountEndsTheValidPrefix) {
  const std::string journal = path("count.h5.journal");
  auto writer = JournalWriter::create(journal, {"0123456789abcdef", 0, 1});
  writer.add(result(0));
  writer.commit();
  const auto first_record_end = fs::file_size(journal);
  writer.add(result(1));
  writer.commit();
  writer.close();
  {
    // A record starts with its u32 magic, then its u32 row count (store/journal.cpp).
    std::fstream file(journal, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(static_cast<std::streamoff>(first_record_end) + 4);
    const char all_ones[4] = {'\xff', '\xff', '\xff', '\xff'};
    file.write(all_ones, 4);
  }
  std::uint64_t rows = 0;
  const JournalScan scan = scan_journal(journal, [&](TaskResult&&) { ++rows; });
  EXPECT_EQ(rows, 1u);
  EXPECT_EQ(scan.valid_bytes, first_record_end);
}

TEST_F(RecoveryTest, RestoresRowsTheFileLostAndIgnoresATornTail) {
  const std::string file = path("a.h5");
  write_rows_the_file_lost(file, {6});
  // The last record is torn (a kill mid-append): only rows 0, 1 and 5 are in valid records.
  const auto size = fs::file_size(journal_path(file));
  fs::resize_file(journal_path(file), size - 3);
  std::uint64_t rows = 0;
  const JournalScan scan = scan_journal(journal_path(file), [&](TaskResult&&) { ++rows; });
  EXPECT_EQ(rows, 3u);
  EXPECT_EQ(scan.file_bytes, size - 3);
  EXPECT_LT(scan.valid_bytes, scan.file_bytes);

  auto writer = ResultWriter::resume(file, layout_, {}, {}, false);
  EXPECT_FALSE(writer.recovery().rebuilt);
  EXPECT_EQ(writer.recovery().rows_restored, 1u);  // row 5
  EXPECT_EQ(writer.rows_committed(), 3u);
  writer.append({result(6)});
  writer.finish(RunStatus::interrupted, 0);
  // The torn tail was cut off before new records were appended: all 4 rows are readable.
  std::uint64_t after = 0;
  scan_journal(journal_path(file), [&](TaskResult&&) { ++after; });
  EXPECT_EQ(after, 4u);
}

// A run killed under an older msweep is resumed from its journal of the older version (rows
// restored from it), which is then replaced by a journal of the current version.
TEST_F(RecoveryTest, ResumeRestoresFromAnOlderJournalAndReplacesIt) {
  for (const int version : {1, 2}) {
    SCOPED_TRACE(version);
    const std::string file = path("v" + std::to_string(version) + ".h5");
    write_rows_the_file_lost(file);
    rewrite_journal_as_version(journal_path(file), version);
    auto writer = ResultWriter::resume(file, layout_, {}, {}, false);
    EXPECT_EQ(writer.recovery().rows_restored, 1u);  // row 5
    EXPECT_EQ(read_journal_header(journal_path(file)).version, kJournalVersion);
    writer.append({result(6)});
    writer.finish(RunStatus::interrupted, 0);
    std::vector<TaskId> ids;
    scan_journal(journal_path(file), [&](TaskResult&& row) { ids.push_back(row.id); });
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<TaskId>{0, 1, 5, 6}));
  }
}

// A row that claims another task's id (a crash mixed up rows; an all-zero row reads as task 0)
// is damage: it is not in the journal under that id, so the file is rebuilt from the journal,
// which holds the real rows. (Format 3 stores no coordinates that could disagree with the id.)
TEST_F(RecoveryTest, ARowWhoseIdIsAnotherTasksIsRepairedFromTheJournal) {
  const std::string file = path("a.h5");
  write_interrupted(file);
  overwrite_field(file, "id", H5T_NATIVE_UINT64, 5, std::uint64_t{9});  // row 5 (task 5) now claims task 9
  auto writer = ResultWriter::resume(file, layout_, {}, {}, false);
  EXPECT_TRUE(writer.recovery().rebuilt);
  EXPECT_NE(writer.recovery().damage.find("not in"), std::string::npos) << writer.recovery().damage;
  EXPECT_EQ(writer.recovery().rows_restored, 8u);
  writer.finish(RunStatus::interrupted, 0);
  expect_same_rows(rows_of(file), reference_rows(8));
}

// A row whose values differ from its journal copy (HDF5 kept the commit mark but not the
// row) is damage too, and the journal's copy wins.
TEST_F(RecoveryTest, ARowThatDiffersFromTheJournalIsRestoredFromIt) {
  const std::string file = path("a.h5");
  write_interrupted(file);
  overwrite_field(file, "x", H5T_NATIVE_DOUBLE, 2, 0.0);  // task 2's first metric was 2
  auto writer = ResultWriter::resume(file, layout_, {}, {}, false);
  EXPECT_TRUE(writer.recovery().rebuilt);
  EXPECT_NE(writer.recovery().damage.find("1 stored row not in"), std::string::npos) << writer.recovery().damage;
  EXPECT_TRUE(fs::exists(writer.recovery().damaged_copy));
  writer.finish(RunStatus::interrupted, 0);
  expect_same_rows(rows_of(file), reference_rows(8));
}

// The journal normally holds the stored rows in the file's order, and resume compares one
// digest of each side. A journal with the same rows in another order is not damage: the
// row-by-row comparison that ignores order decides, and the file is kept as it is.
TEST_F(RecoveryTest, AJournalWithTheStoredRowsInAnotherOrderStillVouchesForThem) {
  const std::string file = path("a.h5"), other = path("reversed.h5");
  write_interrupted(file);
  {
    auto writer = ResultWriter::create(other, layout_, {}, {}, false);
    writer.append({result(7), result(6), result(5), result(4), result(3), result(2), result(1), result(0)});
    writer.finish(RunStatus::interrupted, 0);
  }
  fs::copy_file(journal_path(other), journal_path(file), fs::copy_options::overwrite_existing);
  auto writer = ResultWriter::resume(file, layout_, {}, {}, false);
  EXPECT_FALSE(writer.recovery().rebuilt) << writer.recovery().damage;
  EXPECT_EQ(writer.recovery().rows_restored, 0u);
  writer.finish(RunStatus::interrupted, 0);
  expect_same_rows(rows_of(file), reference_rows(8));
}

// Without a journal to vouch for the rows, a row that contradicts the others (here a second
// row of task 3; one claiming a task no other row has is only caught by the journal) is an
// input error and the file is not touched.
TEST_F(RecoveryTest, AContradictoryRowWithoutAJournalIsAnInputError) {
  const std::string file = path("a.h5");
  write_interrupted(file);
  fs::remove(journal_path(file));
  overwrite_field(file, "id", H5T_NATIVE_UINT64, 5, std::uint64_t{3});
  const auto before = fs::file_size(file);
  EXPECT_THROW(ResultWriter::resume(file, layout_, {}, {}, false), InputError);
  EXPECT_EQ(fs::file_size(file), before);
  EXPECT_FALSE(fs::exists(file + ".damaged"));
}

// Seeding a new journal (a file resumed under --force keeps none of the new job) writes it
// beside the old one: a failure part way leaves the old journal as it was.
TEST_F(RecoveryTest, AFailedSeedLeavesTheOldJournalInPlace) {
  const std::string file = path("a.h5");
  write_interrupted(file);
  const auto before = fs::file_size(journal_path(file));
  ResultLayout changed = layout_;
  changed.job_text += "# a harmless comment\n";
  ::setenv("MSWEEP_TEST_FAIL_AT", "journal.fsync", 1);
  EXPECT_THROW(ResultWriter::resume(file, changed, {}, {}, true), StoreError);
  ::unsetenv("MSWEEP_TEST_FAIL_AT");
  EXPECT_EQ(fs::file_size(journal_path(file)), before);
  EXPECT_EQ(read_journal_header(journal_path(file)).job_hash, job_identity(layout_));
  auto writer = ResultWriter::resume(file, changed, {}, {}, true);
  EXPECT_EQ(read_journal_header(journal_path(file)).job_hash, job_identity(changed));
  EXPECT_EQ(writer.rows_committed(), 8u);
}

TEST_F(RecoveryTest, ShardIsRecordedAndResumeRefusesAnotherShard) {
  const std::string file = path("s.h5");
  ResultLayout shard = layout_;
  shard.shard_index = 1;
  shard.shard_count = 5;
  {
    auto writer = ResultWriter::create(file, shard, {}, {}, false);
    writer.append({result(1)});
    writer.finish(RunStatus::interrupted, 0);
  }
  ResultReader reader(file);
  EXPECT_EQ(reader.layout().shard_index, 1u);
  EXPECT_EQ(reader.layout().shard_count, 5u);
  ResultLayout other = shard;
  other.shard_index = 2;
  EXPECT_THROW(ResultWriter::resume(file, other, {}, {}, false), InputError);
}

// A writer that dies without closing (as under SIGKILL) leaves the superblock marked "open
// for writing" by an SWMR writer: readers still open the file (SWMR read), and resume clears
// the mark and goes on. The writer runs in a child process that ends with _exit, so nothing
// of it is closed.
TEST_F(RecoveryTest, AFileLeftOpenByADeadSwmrWriterIsReadAndResumed) {
  const std::string file = path("dead.h5");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto writer = ResultWriter::create(file, layout_, {}, {}, false);
    writer.append({result(0), result(1), result(2)});
    writer.flush();
    writer.append({result(3)});  // buffered only: lost with the process, like a kill
    std::_Exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // A plain read-only open is refused while the mark is set: the file really was left open.
  const hid_t plain = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_LT(plain, 0);
  if (plain >= 0) H5Fclose(plain);
  {
    ResultReader reader(file);
    EXPECT_EQ(reader.rows_committed(), 3u);
    EXPECT_EQ(reader.status(), RunStatus::running);
  }
  auto writer = ResultWriter::resume(file, layout_, {}, {}, false);
  EXPECT_EQ(writer.rows_committed(), 3u);
  std::vector<TaskResult> rest;
  for (TaskId id = 3; id < 12; ++id) rest.push_back(result(id));
  writer.append(rest);
  writer.finish(RunStatus::complete, 0);
  const std::string reference = path("reference.h5");
  write_full_reference(reference);
  expect_same_rows(rows_of(file), rows_of(reference));
}

}  // namespace
}  // namespace msweep
