// The value types that travel between layers: a task is identified by its id in the
// task grid (coordinates follow from the grid), a result carries everything the store keeps.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace msweep {

using TaskId = std::uint64_t;

enum class TaskStatus : std::int8_t {
  ok = 0,
  failed = 1,  // the task threw or produced non-finite numbers; `error` says why
};

struct TaskResult {
  TaskId id = 0;
  TaskStatus status = TaskStatus::ok;
  std::string error;                         // empty when ok
  std::vector<double> metrics;               // in the order the experiment declared them
  std::vector<std::vector<double>> arrays;   // one flat row-major block per declared array
  double wall_seconds = 0.0;
  std::int32_t rank = 0;
};

}  // namespace msweep
