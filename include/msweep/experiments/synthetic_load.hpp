// Experiment "synthetic-load": tasks that exercise the engine rather than a model. Each task
// draws numbers from its own seed, optionally does a fixed amount of floating-point work,
// returns an array payload, throws, or returns a NaN on a schedule set in the job file.
// The farm benchmark, the MPI determinism and failure tests and the kill tests run on it.
#pragma once
#include "msweep/experiments/experiment.hpp"

namespace msweep {

class SyntheticLoadExperiment final : public Experiment {
 public:
  explicit SyntheticLoadExperiment(const JobSpec& spec);

  const TaskGrid& grid() const override { return grid_; }
  std::vector<MetricInfo> metrics() const override;
  std::vector<ArrayInfo> arrays() const override;
  TaskOutput run(std::span<const std::uint32_t> coordinates) const override;

 private:
  std::uint64_t seed_;
  std::int64_t work_ = 0;        // [model] work: inner-loop iterations per task (about 1 ns each)
  std::int64_t array_size_ = 0;  // [model] array_size: length of the "payload" array (0: none)
  std::int64_t fail_every_ = 0;  // [model] fail_every: structure indices divisible by it throw
  std::int64_t nan_every_ = 0;   // [model] nan_every: structure indices divisible by it return NaN
  TaskGrid grid_;
};

}  // namespace msweep
