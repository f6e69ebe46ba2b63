#include "msweep/store/results.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "msweep/core/error.hpp"
#include "store_fixture.hpp"

namespace msweep {
namespace {

namespace fs = std::filesystem;

class StoreTest : public StoreFixture {
 protected:

  TaskResult result(TaskId id, bool ok = true) const {
    TaskResult r;
    r.id = id;
    r.rank = 1;
    r.wall_seconds = 0.5;
    if (ok) {
      r.metrics = {static_cast<double>(id), 2.0 * static_cast<double>(id)};
      r.arrays = {{1, 2, 3, 4, 5, static_cast<double>(id)}};
    } else {
      r.status = TaskStatus::failed;
      r.error = "boom " + std::to_string(id);
    }
    return r;
  }

};

TEST_F(StoreTest, RoundTripRowsArraysAndSummaries) {
  const std::string file = path("a.h5");
  auto writer = ResultWriter::create(file, layout_, {3, "h1,h2"}, {}, false);
  std::vector<TaskResult> batch;
  for (TaskId id = 0; id < 12; ++id) batch.push_back(result(id, id != 5));
  writer.append(batch);
  const SummaryTable table = writer.finish("complete", 1.0);

  ResultReader reader(file);
  EXPECT_EQ(reader.rows_committed(), 12u);
  EXPECT_EQ(reader.task_count(), 12u);
  EXPECT_EQ(reader.attribute("status"), "complete");
  EXPECT_EQ(reader.attribute("hosts"), "h1,h2");
  EXPECT_EQ(reader.layout().metric_names, layout_.metric_names);
  EXPECT_EQ(reader.layout().arrays[0].shape, (std::vector<std::uint64_t>{2, 3}));
  std::vector<StoredRow> rows;
  reader.for_each_block([&](const std::vector<StoredRow>& block) { rows.insert(rows.end(), block.begin(), block.end()); }, 5);
  ASSERT_EQ(rows.size(), 12u);
  for (const auto& row : rows) {
    const TaskGrid grid(layout_.axes);
    EXPECT_EQ(row.coordinates, grid.coordinates(row.id));
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
  EXPECT_EQ(curve[6 * 3 + 5], 3.0);
  EXPECT_TRUE(std::isnan(curve[6 * 5]));
  // Summaries over run and fold: 3 structures, each with 4 tasks.
  ASSERT_EQ(table.groups(), 3u);
  EXPECT_EQ(table.group_axes, (std::vector<std::string>{"structure", "restart"}));
  EXPECT_EQ(table.ok_count[1], 3u);  // structure 1 holds id 5 (ids 4..7)
  EXPECT_EQ(table.failed_count[1], 1u);
  EXPECT_DOUBLE_EQ(table.mean_of(0, 0), 1.5);  // ids 0..3
}

TEST_F(StoreTest, RefusesToOverwriteUnlessForced) {
  const std::string file = path("b.h5");
  ResultWriter::create(file, layout_, {}, {}, false).finish("complete", 0);
  EXPECT_THROW(ResultWriter::create(file, layout_, {}, {}, false), InputError);
  EXPECT_NO_THROW(ResultWriter::create(file, layout_, {}, {}, true).finish("complete", 0));
}

TEST_F(StoreTest, ResumeKeepsCommittedRowsAndSkipsThem) {
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
    EXPECT_EQ(before.attribute("status"), "running");
  }

  auto writer = ResultWriter::resume(file, layout_, {2, "h"}, {}, false);
  EXPECT_EQ(writer.stored_ids(), (std::vector<TaskId>{0, 3}));
  writer.append({result(7)});
  writer.finish("interrupted", 0);
  ResultReader after(file);
  EXPECT_EQ(after.rows_committed(), 3u);
  EXPECT_EQ(after.attribute("status"), "interrupted");
}

TEST_F(StoreTest, ResumeRefusesAnotherJob) {
  const std::string file = path("d.h5");
  ResultWriter::create(file, layout_, {}, {}, false).finish("complete", 0);
  ResultLayout other = layout_;
  other.job_text += "# changed\n";
  EXPECT_THROW(ResultWriter::resume(file, other, {}, {}, false), InputError);
  other.metric_names = {"x", "z"};
  EXPECT_THROW(ResultWriter::resume(file, other, {}, {}, true), InputError);
}

TEST_F(StoreTest, ReaderRejectsBadFilesWithOneLine) {
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

TEST(JobHash, IsStableHex) {
  EXPECT_EQ(job_hash(""), "cbf29ce484222325");
  EXPECT_EQ(job_hash("a").size(), 16u);
  EXPECT_NE(job_hash("a"), job_hash("b"));
}

}  // namespace
}  // namespace msweep
