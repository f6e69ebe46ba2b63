// ResultWriter: create, append, flush, finish (store/writer.cpp), read back.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdlib.h>

#include "msweep/core/error.hpp"
#include "msweep/store/journal.hpp"
#include "msweep/store/results.hpp"
#include "store_fixture.hpp"

namespace msweep {
namespace {

namespace fs = std::filesystem;

class WriterTest : public StoreFixture {};

TEST_F(WriterTest, RoundTripRowsArraysAndSummaries) {
  const std::string file = path("a.h5");
  auto writer = ResultWriter::create(file, layout_, {3, "h1,h2"}, {}, false);
  std::vector<TaskResult> batch;
  for (TaskId id = 0; id < 12; ++id) batch.push_back(result(id, id != 5));
  writer.append(batch);
  const SummaryTable table = writer.finish(RunStatus::complete, 1.0);

  ResultReader reader(file);
  EXPECT_EQ(reader.rows_committed(), 12u);
  EXPECT_EQ(reader.task_count(), 12u);
  EXPECT_EQ(reader.status(), RunStatus::complete);
  EXPECT_EQ(reader.attribute("hosts"), "h1,h2");
  EXPECT_EQ(metric_names(reader.layout()), metric_names(layout_));
  EXPECT_EQ(reader.layout().metrics[1].description, "second");
  EXPECT_EQ(reader.layout().arrays[0].shape, (std::vector<std::uint64_t>{2, 3}));
  std::vector<TaskRow> stored;
  reader.for_each_block([&](const std::vector<TaskRow>& block) { stored.insert(stored.end(), block.begin(), block.end()); }, 5);
  ASSERT_EQ(stored.size(), 12u);
  for (const auto& [row, coordinates] : stored) {
    const TaskGrid grid(layout_.axes);
    EXPECT_EQ(coordinates, grid.coordinates(row.id));
    EXPECT_TRUE(row.arrays.empty());  // read only on request
    if (row.id == 5) {
      EXPECT_EQ(row.status, TaskStatus::failed);
      EXPECT_EQ(row.error, "boom 5");
      EXPECT_TRUE(std::isnan(row.metrics[0]));
    } else {
      EXPECT_EQ(row.metrics[1], 2.0 * static_cast<double>(row.id));
    }
  }
  const auto curve = reader.read_array("curve");
  ASSERT_EQ(curve.size(), 12u * 6);
  EXPECT_EQ(curve[6 * 3 + 5], 3.0 / 7.0);
  EXPECT_TRUE(std::isnan(curve[6 * 5]));
  // Summaries over run and fold: 3 structures, each with 4 tasks.
  ASSERT_EQ(table.groups(), 3u);
  EXPECT_EQ(table.group_axes, (std::vector<std::string>{"structure", "restart"}));
  EXPECT_EQ(table.ok_count[1], 3u);  // structure 1 holds id 5 (ids 4..7)
  EXPECT_EQ(table.failed_count[1], 1u);
  EXPECT_DOUBLE_EQ(table.mean_of(0, 0), 1.5);  // ids 0..3
}

TEST_F(WriterTest, RefusesToOverwriteUnlessForced) {
  const std::string file = path("b.h5");
  ResultWriter::create(file, layout_, {}, {}, false).finish(RunStatus::complete, 0);
  EXPECT_THROW(ResultWriter::create(file, layout_, {}, {}, false), InputError);
  EXPECT_NO_THROW(ResultWriter::create(file, layout_, {}, {}, true).finish(RunStatus::complete, 0));
}

TEST_F(WriterTest, CompleteRunRemovesItsJournal) {
  const std::string file = path("a.h5");
  write_full_reference(file);
  EXPECT_FALSE(fs::exists(journal_path(file)));
}

// A flush that fails at any step (MSWEEP_TEST_FAIL_AT, the test-only hook) and is retried by
// the next flush (finish flushes again) stores every row once: no duplicate committed rows
// in the file or the journal, and summaries that count each task once.
TEST_F(WriterTest, AFailedFlushRetriedStoresEachRowOnce) {
  for (const char* step : {"journal.payload", "journal.fsync", "flush.rows", "flush.mark", "flush.mark_flush"}) {
    SCOPED_TRACE(step);
    const std::string file = path(std::string(step) + ".h5");
    auto writer = ResultWriter::create(file, layout_, {}, {}, false);
    writer.append({result(0), result(1), result(2)});
    writer.flush();
    writer.append({result(3), result(4), result(5)});
    ::setenv("MSWEEP_TEST_FAIL_AT", step, 1);
    EXPECT_THROW(writer.flush(), StoreError);
    ::unsetenv("MSWEEP_TEST_FAIL_AT");
    EXPECT_EQ(writer.rows_committed(), 3u);
    EXPECT_EQ(writer.rows_buffered(), 3u);
    writer.append({result(6)});
    const SummaryTable table = writer.finish(RunStatus::interrupted, 0);

    const auto rows = rows_of(file);
    ASSERT_EQ(rows.size(), 7u);
    for (TaskId id = 0; id < 7; ++id) EXPECT_EQ(rows[id].result.id, id);
    std::uint64_t counted = 0;
    for (std::size_t g = 0; g < table.groups(); ++g) counted += table.ok_count[g] + table.failed_count[g];
    EXPECT_EQ(counted, 7u);
    std::multiset<TaskId> journaled;
    scan_journal(journal_path(file), [&](TaskResult&& row) { journaled.insert(row.id); });
    EXPECT_EQ(journaled, (std::multiset<TaskId>{0, 1, 2, 3, 4, 5, 6}));
  }
}

// The summaries the writer streams as it commits rows (and seeds from the stored rows on
// resume) are bitwise those computed from the file's rows.
TEST_F(WriterTest, StreamedSummariesEqualThoseOfTheStoredRows) {
  const std::string file = path("s.h5");
  WriterOptions options;
  options.summary_seconds = 0;  // rewritten at every flush
  {
    auto writer = ResultWriter::create(file, layout_, {}, options, false);
    for (TaskId id : {7, 0, 3, 11, 4}) writer.append({result(id)});
    writer.flush();
    writer.append({result(9)});
    writer.finish(RunStatus::interrupted, 0);
  }
  auto same = [](const SummaryTable& a, const SummaryTable& b) {
    EXPECT_EQ(a.group_axis_sizes, b.group_axis_sizes);
    EXPECT_EQ(a.first_group, b.first_group);
    EXPECT_EQ(a.ok_count, b.ok_count);
    EXPECT_EQ(a.failed_count, b.failed_count);
    EXPECT_EQ(a.run_count, b.run_count);
    for (auto part : {&SummaryTable::mean, &SummaryTable::stddev, &SummaryTable::run_mean, &SummaryTable::run_sem}) {
      ASSERT_EQ((a.*part).size(), (b.*part).size());
      EXPECT_EQ(std::memcmp((a.*part).data(), (b.*part).data(), (a.*part).size() * sizeof(double)), 0);
    }
  };
  {
    ResultReader reader(file);
    EXPECT_EQ(reader.summarized_rows(), 6u);
    EXPECT_TRUE(reader.summaries_current());
    same(reader.summarize(), reader.summarize_from_rows());
  }
  auto writer = ResultWriter::resume(file, layout_, {}, options, false);
  for (TaskId id : {1, 2, 5, 6, 8, 10}) writer.append({result(id)});
  const SummaryTable finished = writer.finish(RunStatus::complete, 0);
  ResultReader reader(file);
  EXPECT_EQ(reader.summarized_rows(), 12u);
  same(reader.summarize(), reader.summarize_from_rows());
  same(finished, reader.summarize_from_rows());
}

}  // namespace
}  // namespace msweep
