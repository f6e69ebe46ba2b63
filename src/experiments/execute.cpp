#include <cmath>
#include <exception>

#include "msweep/core/timer.hpp"
#include "msweep/experiments/experiment.hpp"

namespace msweep {

TaskShape task_shape(const Experiment& experiment) {
  TaskShape shape;
  shape.metrics = experiment.metrics().size();
  for (const auto& array : experiment.arrays()) {
    std::size_t size = 1;
    for (std::size_t d : array.shape) size *= d;
    shape.array_sizes.push_back(size);
  }
  return shape;
}

TaskResult execute_task(const Experiment& experiment, TaskId id, std::int32_t rank) {
  return execute_task(experiment, task_shape(experiment), id, rank);
}

TaskResult execute_task(const Experiment& experiment, const TaskShape& shape, TaskId id, std::int32_t rank) {
  TaskResult result;
  result.id = id;
  result.rank = rank;
  WallTimer timer;
  try {
    const auto coordinates = experiment.grid().coordinates(id);
    TaskOutput output = experiment.run(TaskView(experiment.grid(), coordinates));
    result.metrics = std::move(output.metrics);
    result.arrays = std::move(output.arrays);
    // The store cannot hold another shape; one bad task must not end the whole run.
    if (result.metrics.size() != shape.metrics)
      result.error = std::to_string(result.metrics.size()) + " metrics returned, " + std::to_string(shape.metrics) + " declared";
    else if (result.arrays.size() != shape.array_sizes.size())
      result.error = std::to_string(result.arrays.size()) + " arrays returned, " + std::to_string(shape.array_sizes.size()) + " declared";
    for (std::size_t a = 0; a < result.arrays.size() && result.error.empty(); ++a)
      if (result.arrays[a].size() != shape.array_sizes[a])
        result.error = "array " + std::to_string(a) + " has " + std::to_string(result.arrays[a].size()) + " values, " +
                       std::to_string(shape.array_sizes[a]) + " declared";
    // A non-finite number would poison every summary it enters: fail the task and say which.
    for (std::size_t i = 0; i < result.metrics.size() && result.error.empty(); ++i)
      if (!std::isfinite(result.metrics[i])) {
        const auto metrics = experiment.metrics();  // only on the failure path: it allocates
        result.error = "metric " + (i < metrics.size() ? metrics[i].name : std::to_string(i)) + " is not finite";
      }
    for (std::size_t a = 0; a < result.arrays.size() && result.error.empty(); ++a)
      for (double v : result.arrays[a])
        if (!std::isfinite(v)) {
          result.error = "array " + std::to_string(a) + " has a non-finite value";
          break;
        }
  } catch (const std::exception& error) {
    result.error = error.what();
    if (result.error.empty()) result.error = "exception without a message";
  } catch (...) {
    result.error = "unknown exception";
  }
  if (!result.error.empty()) {
    result.status = TaskStatus::failed;
    result.metrics.clear();
    result.arrays.clear();
  }
  result.wall_seconds = timer.seconds();
  return result;
}

}  // namespace msweep
