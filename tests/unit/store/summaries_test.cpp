// Summaries computed from the stored rows a window of groups at a time (store/summaries.cpp):
// later windows read only the blocks of rows that reach into them, and the table is the same
// as one pass over every row, whatever order the rows were stored in.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "results_file.hpp"
#include "store_fixture.hpp"
#include "summaries.hpp"

namespace msweep {
namespace {

class SummariesTest : public StoreFixture {
 protected:
  // The 12 tasks, stored in `order`, in a file that completes.
  void write_in_order(const std::string& file, const std::vector<TaskId>& order) const {
    auto writer = ResultWriter::create(file, layout_, {}, {}, false);
    for (TaskId id : order) writer.append({result(id)});
    writer.finish(RunStatus::complete, 0);
  }
};

void expect_same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(std::memcmp(&a[i], &b[i], sizeof(double)), 0) << "value " << i;
}

void expect_same_tables(const SummaryTable& a, const SummaryTable& b) {
  EXPECT_EQ(a.first_group, b.first_group);
  EXPECT_EQ(a.ok_count, b.ok_count);
  EXPECT_EQ(a.failed_count, b.failed_count);
  EXPECT_EQ(a.run_count, b.run_count);
  expect_same_bits(a.mean, b.mean);
  expect_same_bits(a.stddev, b.stddev);
  expect_same_bits(a.run_mean, b.run_mean);
  expect_same_bits(a.run_sem, b.run_sem);
}

TEST_F(SummariesTest, WindowsThatSkipBlocksGiveTheTableOfOnePass) {
  std::vector<TaskId> in_order(12);
  std::iota(in_order.begin(), in_order.end(), TaskId{0});
  std::vector<TaskId> reversed(in_order.rbegin(), in_order.rend());
  const std::vector<TaskId> scrambled{7, 0, 11, 3, 5, 1, 9, 4, 10, 2, 8, 6};
  int case_number = 0;
  for (const auto& order : {in_order, reversed, scrambled}) {
    const std::string file = path("order" + std::to_string(case_number++) + ".h5");
    write_in_order(file, order);
    store_detail::OpenedFile opened = store_detail::open_results(file, false);
    const SummaryTable one_pass = store_detail::summarize_rows(opened.file, opened.layout, 12, file);
    ASSERT_EQ(one_pass.groups(), 3u);  // one group per structure: run and fold are reduced
    // 2 runs x 2 metrics of run sums a group: a budget of 4 values is a window of one group,
    // so three windows; blocks of 2 rows let the later windows skip most of the file.
    for (std::uint64_t block_rows : {1, 2, 5, 64}) {
      store_detail::SummaryPassOptions options;
      options.run_sum_budget_values = 4;
      options.block_rows = block_rows;
      int windows = 0;
      store_detail::for_each_summary_window(opened.file, opened.layout, 12, file, [&](const SummaryBuilder&) { ++windows; }, options);
      EXPECT_EQ(windows, 3);
      expect_same_tables(store_detail::summarize_rows(opened.file, opened.layout, 12, file, options), one_pass);
    }
  }
}

// inspect's header takes the failed count of a large file from /summaries: it equals the rows'.
TEST_F(SummariesTest, TheFailedCountFromSummariesEqualsTheRows) {
  const std::string file = path("failed.h5");
  write_full_reference(file);  // every fifth task failed: 4, 9
  ResultReader reader(file);
  ASSERT_TRUE(reader.summaries_current());
  std::uint64_t failed = 0;
  reader.for_each_block([&](const std::vector<TaskRow>& block) {
    for (const auto& row : block) failed += row.result.status == TaskStatus::failed;
  });
  EXPECT_EQ(failed, 2u);
  EXPECT_EQ(reader.failed_count_from_summaries(), std::optional<std::uint64_t>(failed));
  // The first K rows only.
  std::uint64_t seen = 0;
  reader.for_each_block([&](const std::vector<TaskRow>& block) { seen += block.size(); }, 2, false, 5);
  EXPECT_EQ(seen, 5u);
}

}  // namespace
}  // namespace msweep
