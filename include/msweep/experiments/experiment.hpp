// What an experiment kind provides to the engine: its task grid, the names and shapes of
// what each task returns (declared before the run, so the results file is self-describing),
// and run(), which computes one task from its coordinates alone.
//
// Every kind has the same parts (docs/architecture.md, "Adding an experiment kind"):
//   - XOptions, a struct of every setting with documented defaults, and a free
//     read_x_options(const JobSpec&) that is the only code touching ConfigTable, so the
//     experiment can be built from Options in a unit test without TOML;
//   - an experiment class built from XOptions (and the loaded Dataset, for data kinds);
//   - its own axes' positions and its random streams declared in its header (namespace
//     msweep::<kind>), with the seed functions a unit test checks for the promised pairing;
//   - run(const TaskView&), which reads coordinates by name, never by position.
// The farm and store never see anything model-specific.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "msweep/core/inputs.hpp"
#include "msweep/core/grid.hpp"
#include "msweep/core/summary.hpp"
#include "msweep/core/task.hpp"
#include "msweep/experiments/data_source.hpp"
#include "msweep/spec/job.hpp"

namespace msweep {

// The job keys every kind reads the same way: the job seed and the standard axis sizes.
struct StandardOptions {
  std::uint64_t seed = 0;  // [job] seed: every random stream derives from it
  std::int64_t folds = 1, restarts = 1, runs = 1;  // [sweep] folds, restarts, runs
};
StandardOptions standard_options(const JobSpec& spec);

// One task's coordinates by name, built by the engine (execute_task) from the grid. The standard
// axes come first in every grid (standard_axes), the kind's own axes follow in the order it
// declared them: extra(i) is the i-th of those (each kind names its indices in its header).
class TaskView {
 public:
  static constexpr std::size_t kStandardAxes = 4;  // structure, fold, restart, run
  // Throws ArgumentError unless `coordinates` has one value per axis of `grid`.
  TaskView(const TaskGrid& grid, std::span<const std::uint32_t> coordinates);

  std::uint32_t structure() const { return coordinates_[0]; }
  std::uint32_t fold() const { return coordinates_[1]; }
  std::uint32_t restart() const { return coordinates_[2]; }
  std::uint32_t run() const { return coordinates_[3]; }
  std::uint32_t extra(std::size_t index) const;        // the kind's own axis number `index`
  std::uint32_t axis(std::string_view name) const;     // any axis by name (throws if absent)
  std::span<const std::uint32_t> coordinates() const { return coordinates_; }

 private:
  const TaskGrid* grid_;
  std::span<const std::uint32_t> coordinates_;
};

// A job key whose value an axis sets per task (mixture-em's [sweep] models sets [model]
// expert_noise and background): `msweep plan` shows its value for each label of the axis
// instead of one value, and resolved_job records the key as set per task.
struct PerTaskKey {
  std::string axis;                 // the grid axis, e.g. "model"
  std::string key;                  // "[section] key", e.g. "[model] background"
  std::vector<std::string> values;  // the key's value for each label of the axis, in its order
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
  // The files the data were read from (a job's identity: resume and merge refuse a file whose
  // inputs' contents changed). Generated data have none: their keys and the seed fix them.
  virtual std::vector<InputFile> inputs() const { return {}; }

  // Computes one task. Must depend only on the job and the coordinates (derive every seed
  // from them with derive_seed), never on the rank or on which tasks ran before: caches are
  // fine, hidden state that changes the numbers is not. Throwing marks the task failed.
  // Not thread-safe: kinds cache per-split state in mutable members (one thread per rank).
  virtual TaskOutput run(const TaskView& task) const = 0;

  // A few lines for `msweep plan` about the data: its shape and the sizes of the parts a task
  // fits, validates and tests on. Empty for kinds without a data set.
  virtual std::string describe_data() const { return {}; }

  // The job keys an axis sets per task (none for most kinds), for `msweep plan`.
  virtual std::vector<PerTaskKey> per_task_keys() const { return {}; }

  // A few lines for the terminal at the end of a run (best structures, agreement...).
  virtual std::string report(const SummaryTable& summary) const {
    (void)summary;
    return {};
  }
};

// Runs task `coordinates` of `experiment` (a convenience for tests and benchmarks).
TaskOutput run_at(const Experiment& experiment, std::span<const std::uint32_t> coordinates);

// Builds the experiment named by [job] experiment, reading and validating its keys and
// loading its data. Throws InputError (file:line: [section] key: ...) for anything wrong.
// Does not check for unknown keys: the caller does that after construction. Kinds that read
// [data] get their data set (and put their shareable arrays) through `source`.
std::unique_ptr<Experiment> make_experiment(const JobSpec& spec, const DataSource& source = {});

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
