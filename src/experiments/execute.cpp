#include <cmath>
#include <exception>

#include "msweep/core/timer.hpp"
#include "msweep/experiments/experiment.hpp"

namespace msweep {

TaskResult execute_task(const Experiment& experiment, TaskId id, std::int32_t rank) {
  TaskResult result;
  result.id = id;
  result.rank = rank;
  WallTimer timer;
  try {
    const auto coordinates = experiment.grid().coordinates(id);
    TaskOutput output = experiment.run(TaskView(experiment.grid(), coordinates));
    result.metrics = std::move(output.metrics);
    result.arrays = std::move(output.arrays);
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
