// execute_task: exceptions and non-finite metrics become failed rows.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace msweep
