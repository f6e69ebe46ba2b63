// Experiment "synthetic-load": tasks that exercise the engine rather than a model. Each task
// draws numbers from its own seed, optionally does a fixed amount of floating-point work,
// returns an array payload, throws, or returns a NaN on a schedule set in the job file.
// The farm benchmark, the MPI determinism and failure tests and the kill tests run on it.
//
// Axes: the standard four only. Every task has its own stream (no pairing is promised).
#pragma once
#include <string_view>

#include "msweep/experiments/experiment.hpp"

namespace msweep {

struct SyntheticLoadOptions {
  StandardOptions job;
  std::int64_t structures = 1;   // [sweep] structures: values of the structure axis ("0", "1", ...)
  std::int64_t work = 0;         // [model] work: inner-loop iterations per task (about 1 ns each)
  std::int64_t array_size = 0;   // [model] array_size: length of the "payload" array (0: none)
  std::int64_t fail_every = 0;   // [model] fail_every: structure indices divisible by it throw (0: never)
  std::int64_t nan_every = 0;    // [model] nan_every: structure indices divisible by it return NaN (0: never)
  // Testing aid: tasks of structure >= hold_after wait until the file hold_file exists, so a
  // test can interrupt a run at a known point on a machine of any speed ("": never wait).
  std::string hold_file;         // [model] hold_file
  std::int64_t hold_after = 0;   // [model] hold_after
};

SyntheticLoadOptions read_synthetic_load_options(const JobSpec& spec);

namespace synthetic_load {
// Random stream: "load" on (structure, fold, restart, run): every task draws its own numbers.
inline constexpr std::string_view kLoadStream = "load";
std::uint64_t load_seed(std::uint64_t job_seed, const TaskView& task);
}  // namespace synthetic_load

class SyntheticLoadExperiment final : public Experiment {
 public:
  explicit SyntheticLoadExperiment(SyntheticLoadOptions options);

  const TaskGrid& grid() const override { return grid_; }
  std::vector<MetricInfo> metrics() const override;
  std::vector<ArrayInfo> arrays() const override;
  TaskOutput run(const TaskView& task) const override;

 private:
  SyntheticLoadOptions options_;
  TaskGrid grid_;
};

}  // namespace msweep
