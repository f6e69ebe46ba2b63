// The engine side of every kind: execute_task's failure rows and the TaskView it builds.
#include <gtest/gtest.h>

#include "msweep/core/error.hpp"
#include "msweep/experiments/experiment.hpp"

namespace msweep {
namespace {

TEST(ExecuteTask, NonFiniteMetricsAndExceptionsBecomeFailedRows) {
  const std::string text = "[job]\nname = \"t\"\nexperiment = \"synthetic-load\"\n[model]\nfail_every = 3\nnan_every = 2\n[sweep]\nstructures = 7\n";
  auto experiment = make_experiment(parse_job(text, "t.toml"));
  const TaskResult thrown = execute_task(*experiment, 3 * 1, 0);  // structure 3: throws
  EXPECT_EQ(thrown.status, TaskStatus::failed);
  EXPECT_EQ(thrown.error, "synthetic failure of structure 3");
  const TaskResult nan = execute_task(*experiment, 2, 0);  // structure 2: NaN
  EXPECT_EQ(nan.status, TaskStatus::failed);
  EXPECT_EQ(nan.error, "metric normal is not finite");
  EXPECT_TRUE(nan.metrics.empty());
  EXPECT_EQ(execute_task(*experiment, 1, 0).status, TaskStatus::ok);
}

TEST(TaskView, NamesTheStandardAxesAndTheKindsOwn) {
  const TaskGrid grid(standard_axes({"a", "b"}, 3, 2, 4, {{"method", {"x", "y"}}, {"noise", {"n0", "n1", "n2"}}}));
  const std::vector<std::uint32_t> c = {1, 2, 1, 3, 0, 2};
  const TaskView task(grid, c);
  EXPECT_EQ(task.structure(), 1u);
  EXPECT_EQ(task.fold(), 2u);
  EXPECT_EQ(task.restart(), 1u);
  EXPECT_EQ(task.run(), 3u);
  EXPECT_EQ(task.extra(0), 0u);
  EXPECT_EQ(task.extra(1), 2u);
  EXPECT_EQ(task.axis("noise"), 2u);
  EXPECT_THROW(task.extra(2), ArgumentError);
  EXPECT_THROW(task.axis("order"), ArgumentError);
  const std::vector<std::uint32_t> short_coordinates = {1, 2, 1, 3};
  EXPECT_THROW(TaskView(grid, short_coordinates), ArgumentError);
}

}  // namespace
}  // namespace msweep
