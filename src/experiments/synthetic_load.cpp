#include "msweep/experiments/synthetic_load.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "msweep/core/random.hpp"

namespace msweep {

SyntheticLoadExperiment::SyntheticLoadExperiment(const JobSpec& spec) : seed_(spec.seed) {
  work_ = spec.model.get_int("work", 0, 0, 10'000'000'000LL);
  array_size_ = spec.model.get_int("array_size", 0, 0, 1'000'000);
  fail_every_ = spec.model.get_int("fail_every", 0, 0, std::numeric_limits<std::int64_t>::max());
  nan_every_ = spec.model.get_int("nan_every", 0, 0, std::numeric_limits<std::int64_t>::max());
  const std::int64_t structures = spec.sweep.get_int("structures", 1, 1, 100'000'000);
  grid_ = TaskGrid(standard_axes(index_labels(static_cast<std::size_t>(structures)), spec.folds, spec.restarts, spec.runs));
}

std::vector<MetricInfo> SyntheticLoadExperiment::metrics() const {
  return {{"uniform", "a U(0,1) draw from the task's own stream"},
          {"normal", "an N(0,1) draw from the task's own stream"},
          {"work_result", "result of the fixed floating-point work (0 without work)"}};
}

std::vector<ArrayInfo> SyntheticLoadExperiment::arrays() const {
  if (array_size_ == 0) return {};
  return {{"payload", {static_cast<std::size_t>(array_size_)}, "normal draws from the task's stream"}};
}

TaskOutput SyntheticLoadExperiment::run(std::span<const std::uint32_t> c) const {
  const std::uint32_t structure = c[0];
  if (fail_every_ > 0 && structure % fail_every_ == 0)
    throw std::runtime_error("synthetic failure of structure " + std::to_string(structure));
  RandomStream rng(derive_seed(seed_, "load", {{"structure", c[0]}, {"fold", c[1]}, {"restart", c[2]}, {"run", c[3]}}));
  TaskOutput out;
  const double uniform = rng.uniform();
  const double normal = rng.normal();
  // A dependent chain of multiply-adds: fixed work whose result the compiler cannot skip.
  double x = uniform;
  for (std::int64_t i = 0; i < work_; ++i) x = x * 0.999999 + 1e-6;
  out.metrics = {uniform, nan_every_ > 0 && structure % nan_every_ == 0 ? std::numeric_limits<double>::quiet_NaN() : normal,
                 work_ > 0 ? x : 0.0};
  if (array_size_ > 0) {
    out.arrays.emplace_back(static_cast<std::size_t>(array_size_));
    for (auto& v : out.arrays.back()) v = rng.normal();
  }
  return out;
}

}  // namespace msweep
