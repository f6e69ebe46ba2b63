// ResultWriter: create, append, flush, finish (store/writer.cpp), read back.
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

}  // namespace
}  // namespace msweep
