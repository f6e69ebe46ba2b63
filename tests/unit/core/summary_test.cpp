#include "msweep/core/summary.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "msweep/core/progress.hpp"
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

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(ProgressReporter::format_duration(4.24), "4.2s");
  EXPECT_EQ(ProgressReporter::format_duration(185), "3m05s");
  EXPECT_EQ(ProgressReporter::format_duration(3720), "1h02m");
  EXPECT_EQ(ProgressReporter::format_duration(NAN), "?");
}

}  // namespace
}  // namespace msweep
