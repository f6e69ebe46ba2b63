#include "msweep/core/summary.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "msweep/core/random.hpp"

namespace msweep {
namespace {

TEST(SummaryBuilder, MatchesTwoPassMeanAndSampleStd) {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomStream rng(seed);
    // axes: structure(3) x fold(2) x run(4); reduce fold and run.
    SummaryBuilder builder({{"structure", 3}, {"fold", 2}, {"run", 4}}, {"run", "fold"}, {"m"});
    std::vector<std::vector<double>> values(3);
    for (std::uint32_t s = 0; s < 3; ++s)
      for (std::uint32_t f = 0; f < 2; ++f)
        for (std::uint32_t r = 0; r < 4; ++r) {
          const double v = 1e6 + rng.normal();  // offset tests numerical stability
          const bool ok = !(s == 2 && r == 0);
          const std::uint32_t c[3] = {s, f, r};
          builder.add(c, ok, std::vector<double>{v});
          if (ok) values[s].push_back(v);
        }
    const SummaryTable table = builder.finish();
    ASSERT_EQ(table.groups(), 3u);
    for (std::size_t g = 0; g < 3; ++g) {
      double mean = 0;
      for (double v : values[g]) mean += v;
      mean /= static_cast<double>(values[g].size());
      double ss = 0;
      for (double v : values[g]) ss += (v - mean) * (v - mean);
      EXPECT_NEAR(table.mean_of(g, 0), mean, 1e-9);
      EXPECT_NEAR(table.stddev_of(g, 0), std::sqrt(ss / static_cast<double>(values[g].size() - 1)), 1e-7);
      EXPECT_EQ(table.ok_count[g], values[g].size());
    }
    EXPECT_EQ(table.failed_count[2], 2u);
  }
}

TEST(SummaryBuilder, GroupWithoutOkRowsIsNaN) {
  SummaryBuilder builder({{"structure", 2}, {"run", 2}}, {"run"}, {"m"});
  const std::uint32_t c[2] = {1, 0};
  builder.add(c, false, {});
  const auto table = builder.finish();
  EXPECT_TRUE(std::isnan(table.mean_of(1, 0)));
  EXPECT_TRUE(std::isnan(table.mean_of(0, 0)));
}

// Runs are the unit of replication: each run's fold values are averaged, then mean and sem
// are taken over the run means (a run with a failed fold averages its ok folds).
TEST(SummaryBuilder, RunUnitStatisticsAverageFoldsWithinARunFirst) {
  // axes: structure(2) x fold(3) x run(4); value = 10 * structure + run + fold / 10.
  const std::vector<AxisShape> axes{{"structure", 2}, {"fold", 3}, {"run", 4}};
  auto fill = [&](SummaryBuilder& builder) {
    for (std::uint32_t s = 0; s < 2; ++s)
      for (std::uint32_t f = 0; f < 3; ++f)
        for (std::uint32_t r = 0; r < 4; ++r) {
          const std::uint32_t c[3] = {s, f, r};
          const bool ok = !(s == 1 && r == 3);  // structure 1 loses a whole run
          builder.add(c, ok, std::vector<double>{10.0 * s + r + f / 10.0});
        }
  };
  SummaryBuilder builder(axes, {"run", "fold"}, {"m"});
  fill(builder);
  const SummaryTable table = builder.finish();
  // structure 0: run means r + 0.1 for r = 0..3: mean 1.6, sd sqrt(5/3), sem sd / 2.
  EXPECT_EQ(table.run_count[0], 4u);
  EXPECT_NEAR(table.run_mean_of(0, 0), 1.6, 1e-12);
  EXPECT_NEAR(table.run_sem_of(0, 0), std::sqrt(5.0 / 3.0) / 2.0, 1e-12);
  // structure 1: runs 0..2 only: run means 10.1, 11.1, 12.1: sd 1, sem 1 / sqrt(3).
  EXPECT_EQ(table.run_count[1], 3u);
  EXPECT_NEAR(table.run_mean_of(1, 0), 11.1, 1e-12);
  EXPECT_NEAR(table.run_sem_of(1, 0), 1.0 / std::sqrt(3.0), 1e-12);
  // The per-row spread stays what it was: 12 rows of structure 0.
  EXPECT_EQ(table.ok_count[0], 12u);

  // A window keeps its groups only; its table is theirs, bitwise those of the whole builder,
  // and the tables of consecutive blocks append to the whole table.
  SummaryBuilder window(axes, {"run", "fold"}, {"m"}, {1, 2});
  fill(window);
  const SummaryTable part = window.finish();
  ASSERT_EQ(part.groups(), 1u);
  EXPECT_EQ(part.first_group, 1u);
  EXPECT_EQ(part.coordinate(0, 0), 1u);
  EXPECT_EQ(part.ok_count[0], table.ok_count[1]);
  EXPECT_EQ(part.run_count[0], table.run_count[1]);
  EXPECT_EQ(part.mean_of(0, 0), table.mean_of(1, 0));
  EXPECT_EQ(part.stddev_of(0, 0), table.stddev_of(1, 0));
  EXPECT_EQ(part.run_mean_of(0, 0), table.run_mean_of(1, 0));
  EXPECT_EQ(part.run_sem_of(0, 0), table.run_sem_of(1, 0));
  SummaryTable blocks = builder.finish(0, 1);
  blocks.append(part);
  EXPECT_EQ(blocks.ok_count, table.ok_count);
  EXPECT_EQ(blocks.run_count, table.run_count);
  EXPECT_EQ(std::memcmp(blocks.run_sem.data(), table.run_sem.data(), table.run_sem.size() * sizeof(double)), 0);
  EXPECT_EQ(SummaryBuilder::window_groups(axes, 1, 10), 2u);  // 4 runs x 1 metric per group
  EXPECT_EQ(SummaryBuilder::window_groups(axes, 1, 1), 1u);
}

TEST(SummaryTable, CoordinatesFollowFromTheGroupIndex) {
  SummaryBuilder builder({{"a", 2}, {"fold", 2}, {"b", 3}}, {"run", "fold"}, {"m"});
  const SummaryTable table = builder.finish(4, 6);  // groups 4 and 5: (1, 1) and (1, 2)
  ASSERT_EQ(table.groups(), 2u);
  EXPECT_EQ(table.coordinate(0, 0), 1u);
  EXPECT_EQ(table.coordinate(0, 1), 1u);
  EXPECT_EQ(table.coordinate(1, 1), 2u);
}

TEST(SummaryBuilder, OneRunHasNoSem) {
  SummaryBuilder builder({{"structure", 1}, {"fold", 2}, {"run", 1}}, {"run", "fold"}, {"m"});
  for (std::uint32_t f = 0; f < 2; ++f) {
    const std::uint32_t c[3] = {0, f, 0};
    builder.add(c, true, std::vector<double>{static_cast<double>(f)});
  }
  const SummaryTable table = builder.finish();
  EXPECT_EQ(table.run_count[0], 1u);
  EXPECT_EQ(table.run_mean_of(0, 0), 0.5);
  EXPECT_TRUE(std::isnan(table.run_sem_of(0, 0)));
}

}  // namespace
}  // namespace msweep
