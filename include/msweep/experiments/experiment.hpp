// What an experiment kind provides to the engine: its task grid, the names and shapes of
// what each task returns (declared before the run, so the results file is self-describing),
// and run(), which computes one task from its coordinates alone.
//
// Adding a kind: one header + source under experiments/, a factory line in registry.cpp,
// a job file in jobs/, tests. The farm and store never see anything model-specific.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "msweep/core/summary.hpp"
#include "msweep/core/task.hpp"
#include "msweep/spec/grid.hpp"
#include "msweep/spec/job.hpp"

namespace msweep {

struct MetricInfo {
  std::string name;         // column name in the results file: [a-z0-9_]+
  std::string description;  // one line, with units where they apply
};

struct ArrayInfo {
  std::string name;
  std::vector<std::size_t> shape;  // per task; the stored dataset is (tasks, shape...)
  std::string description;
};

struct TaskOutput {
  std::vector<double> metrics;              // in the order of metrics()
  std::vector<std::vector<double>> arrays;  // in the order of arrays(), each row-major of its shape
};

class Experiment {
 public:
  virtual ~Experiment() = default;

  virtual const TaskGrid& grid() const = 0;
  virtual std::vector<MetricInfo> metrics() const = 0;
  virtual std::vector<ArrayInfo> arrays() const { return {}; }

  // Computes one task. Must depend only on the job and the coordinates (derive every seed
  // from them with derive_seed), never on the rank or on which tasks ran before: caches are
  // fine, hidden state that changes the numbers is not. Throwing marks the task failed.
  virtual TaskOutput run(std::span<const std::uint32_t> coordinates) const = 0;

  // A few lines for the terminal at the end of a run (best structures, agreement...).
  virtual std::string report(const SummaryTable& summary) const {
    (void)summary;
    return {};
  }
};

// Builds the experiment named by [job] experiment, reading and validating its keys and
// loading its data. Throws InputError (file:line: [section] key: ...) for anything wrong.
// Does not check for unknown keys: the caller does that after construction.
std::unique_ptr<Experiment> make_experiment(const JobSpec& spec);

// The registered kinds, for messages and `msweep --help`.
std::vector<std::string> experiment_kinds();

// What every task of an experiment must return: the number of metrics and of values per array.
struct TaskShape {
  std::size_t metrics = 0;
  std::vector<std::size_t> array_sizes;
};
TaskShape task_shape(const Experiment& experiment);

// Runs one task and turns whatever happens into a TaskResult: exceptions, non-finite numbers
// and metrics or arrays not of `shape` become status failed with a message (a task's bad
// output must not stop the run); wall time is measured here. Without `shape` it is computed
// per call (convenient in tests; a run computes it once).
TaskResult execute_task(const Experiment& experiment, const TaskShape& shape, TaskId id, std::int32_t rank);
TaskResult execute_task(const Experiment& experiment, TaskId id, std::int32_t rank);

}  // namespace msweep
