// execute_task turns output of the wrong shape into a failed task (never an error of the whole run):
// metrics or arrays of another shape than declared would otherwise stop the store, and every
// resume would stop again at the same task.
#include <gtest/gtest.h>

#include "msweep/experiments/experiment.hpp"

namespace msweep {
namespace {

// Structure 0 returns what it declares; 1 one metric too few; 2 an array too short; 3 no array.
class MisshapenExperiment final : public Experiment {
 public:
  MisshapenExperiment() : grid_(standard_axes({"structure", index_labels(4)}, 1, 1, 1)) {}
  const TaskGrid& grid() const override { return grid_; }
  std::vector<MetricInfo> metrics() const override { return {{"a", "first"}, {"b", "second"}}; }
  std::vector<ArrayInfo> arrays() const override { return {{"curve", {2, 3}, "a 2x3 block"}}; }
  TaskOutput run(const TaskView& task) const override {
    TaskOutput out;
    out.metrics = {1.0, 2.0};
    out.arrays = {std::vector<double>(6, 0.5)};
    if (task.structure() == 1) out.metrics.pop_back();
    if (task.structure() == 2) out.arrays[0].resize(5);
    if (task.structure() == 3) out.arrays.clear();
    return out;
  }

 private:
  TaskGrid grid_;
};

TEST(ExecuteTask, OutputOfTheDeclaredShapeIsOk) {
  const MisshapenExperiment experiment;
  const TaskResult result = execute_task(experiment, task_shape(experiment), 0, 1);
  EXPECT_EQ(result.status, TaskStatus::ok) << result.error;
  EXPECT_EQ(result.metrics.size(), 2u);
  EXPECT_EQ(result.arrays.at(0).size(), 6u);
}

TEST(ExecuteTask, OutputOfAnotherShapeIsAFailedTask) {
  const MisshapenExperiment experiment;
  const TaskShape shape = task_shape(experiment);
  EXPECT_EQ(shape.metrics, 2u);
  EXPECT_EQ(shape.array_sizes, std::vector<std::size_t>{6});
  const struct {
    TaskId id;
    const char* error;
  } cases[] = {{1, "1 metrics returned, 2 declared"}, {2, "array 0 has 5 values, 6 declared"}, {3, "0 arrays returned, 1 declared"}};
  for (const auto& c : cases) {
    const TaskResult result = execute_task(experiment, shape, c.id, 1);
    EXPECT_EQ(result.status, TaskStatus::failed) << c.id;
    EXPECT_EQ(result.error, c.error);
    EXPECT_TRUE(result.metrics.empty());  // a failed row holds no numbers (NaN in the file)
    EXPECT_TRUE(result.arrays.empty());
  }
  EXPECT_EQ(execute_task(experiment, 2, 0).status, TaskStatus::failed);  // the per-call form checks too
}

}  // namespace
}  // namespace msweep
