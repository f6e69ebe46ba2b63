// The value types that travel between layers: a task is identified by its id in the
// task grid (coordinates follow from the grid), a result carries everything the store keeps,
// and the metric and array declarations say what a result holds (the experiment declares
// them, the store writes them into the file's schema).
#pragma once
#include <cstddef>
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

// A result as the store reads it back: the result and its grid coordinates (computed from
// the id by the reader: the file stores only the id). `result.arrays` stays empty unless the
// reader was asked for the arrays too.
struct TaskRow {
  TaskResult result;
  std::vector<std::uint32_t> coordinates;
};

// One scalar every task returns (a column of the results file's task rows).
struct MetricInfo {
  std::string name;         // column name in the results file: [a-z0-9_]+
  std::string description;  // one line, with units where they apply
};

// One fixed-shape block of numbers every task returns (a dataset under /arrays).
struct ArrayInfo {
  std::string name;
  std::vector<std::size_t> shape;  // per task; the stored dataset is (tasks, shape...)
  std::string description;
};

}  // namespace msweep
