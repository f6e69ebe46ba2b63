#include "msweep/experiments/synthetic_load.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <thread>

#include "msweep/core/random.hpp"

namespace msweep {

SyntheticLoadOptions read_synthetic_load_options(const JobSpec& spec) {
  SyntheticLoadOptions options;
  options.job = standard_options(spec);
  options.work = spec.model.get_int("work", options.work, 0, 10'000'000'000LL);
  options.array_size = spec.model.get_int("array_size", options.array_size, 0, 1'000'000);
  options.fail_every = spec.model.get_int("fail_every", options.fail_every, 0, std::numeric_limits<std::int64_t>::max());
  options.nan_every = spec.model.get_int("nan_every", options.nan_every, 0, std::numeric_limits<std::int64_t>::max());
  options.hold_file = spec.model.get_string("hold_file", "");
  options.hold_after = spec.model.get_int("hold_after", options.hold_after, 0, 100'000'000);
  options.structures = spec.sweep.get_int("structures", options.structures, 1, 100'000'000);
  return options;
}

std::uint64_t synthetic_load::load_seed(std::uint64_t job_seed, const TaskView& task) {
  return derive_seed(job_seed, kLoadStream,
                     {{"structure", task.structure()}, {"fold", task.fold()}, {"restart", task.restart()}, {"run", task.run()}});
}

SyntheticLoadExperiment::SyntheticLoadExperiment(SyntheticLoadOptions options)
    : options_(std::move(options)),
      grid_(standard_axes(Axis::indexed("structure", static_cast<std::uint64_t>(options_.structures), "structures"), options_.job.folds,
                          options_.job.restarts, options_.job.runs)) {}

std::vector<MetricInfo> SyntheticLoadExperiment::metrics() const {
  return {{"uniform", "a U(0,1) draw from the task's own stream"},
          {"normal", "an N(0,1) draw from the task's own stream"},
          {"work_result", "result of the fixed floating-point work (0 without work)"}};
}

std::vector<ArrayInfo> SyntheticLoadExperiment::arrays() const {
  if (options_.array_size == 0) return {};
  return {{"payload", {static_cast<std::size_t>(options_.array_size)}, "normal draws from the task's stream"}};
}

TaskOutput SyntheticLoadExperiment::run(const TaskView& task) const {
  const std::uint32_t structure = task.structure();
  if (options_.fail_every > 0 && structure % options_.fail_every == 0)
    throw std::runtime_error("synthetic failure of structure " + std::to_string(structure));
  if (!options_.hold_file.empty() && structure >= options_.hold_after) {
    std::error_code ec;  // polled: the task waits for the test's event, not for a guessed time
    while (!std::filesystem::exists(options_.hold_file, ec)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  RandomStream rng(synthetic_load::load_seed(options_.job.seed, task));
  TaskOutput out;
  const double uniform = rng.uniform();
  const double normal = rng.normal();
  // A dependent chain of multiply-adds: fixed work whose result the compiler cannot skip.
  double x = uniform;
  for (std::int64_t i = 0; i < options_.work; ++i) x = x * 0.999999 + 1e-6;
  const bool nan = options_.nan_every > 0 && structure % options_.nan_every == 0;
  out.metrics = {uniform, nan ? std::numeric_limits<double>::quiet_NaN() : normal, options_.work > 0 ? x : 0.0};
  if (options_.array_size > 0) {
    out.arrays.emplace_back(static_cast<std::size_t>(options_.array_size));
    for (auto& v : out.arrays.back()) v = rng.normal();
  }
  return out;
}

}  // namespace msweep
