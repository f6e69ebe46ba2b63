// Experiment "synthetic-load": its options, one stream per task, and the failure schedule.
#include "msweep/experiments/synthetic_load.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace msweep {
namespace {

TEST(SyntheticLoad, EveryTaskHasItsOwnStream) {
  SyntheticLoadOptions options;
  options.structures = 2;
  options.job.restarts = 2;
  options.job.runs = 2;
  SyntheticLoadExperiment experiment(options);
  std::vector<std::uint64_t> seeds;
  std::vector<std::uint32_t> c(4);
  for (TaskId id = 0; id < experiment.grid().size(); ++id) {
    experiment.grid().coordinates(id, c);
    seeds.push_back(synthetic_load::load_seed(options.job.seed, TaskView(experiment.grid(), c)));
  }
  std::sort(seeds.begin(), seeds.end());
  EXPECT_EQ(std::unique(seeds.begin(), seeds.end()), seeds.end());
}

TEST(SyntheticLoad, OptionsSetArraysAndFailures) {
  SyntheticLoadOptions options;
  options.structures = 4;
  options.array_size = 3;
  options.nan_every = 2;
  options.fail_every = 3;
  SyntheticLoadExperiment experiment(options);
  ASSERT_EQ(experiment.arrays().size(), 1u);
  const std::uint32_t one[4] = {1, 0, 0, 0}, two[4] = {2, 0, 0, 0}, three[4] = {3, 0, 0, 0};
  const TaskOutput out = run_at(experiment, one);
  EXPECT_EQ(out.arrays.at(0).size(), 3u);
  EXPECT_TRUE(std::isnan(run_at(experiment, two).metrics[1]));
  EXPECT_THROW(run_at(experiment, three), std::runtime_error);
}

}  // namespace
}  // namespace msweep
