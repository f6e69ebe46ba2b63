// Experiment "param-ordering" (docs/science.md#parameter-ordering-by-gradient-variance): train a network with Adam for t0 steps
// while tracking the diagonal gradient variance C_t, order the parameters by C_t0 ascending
// (or uniformly at random, the baseline), then for every fraction of a grid freeze that share
// of the smallest-variance parameters and continue Adam from the same state at t0 for a fixed
// budget, recording train and test loss and the mask per fraction.
//
// Axes: structure (one network, label "13-20-1"), fold (1), restart (initial weights), run
// (data split and minibatch order; 25 in the protocol), order (variance, random). Tasks that
// differ only in order share the split, the initial weights, the warm-up and the minibatches
// after t0 (paired comparison); the warm-up state is cached per (run, restart) on each rank.
// Keys: docs/experiments/param-ordering.md.
#pragma once
#include <map>
#include <memory>
#include <optional>

#include "msweep/data/dataset.hpp"
#include "msweep/experiments/data_source.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/models/mlp/mlp.hpp"
#include "msweep/optim/first_order.hpp"

namespace msweep {

struct ParamOrderingOptions {
  Eigen::Index t0 = 200;                   // [sweep] t0: warm-up Adam steps before ranking
  Eigen::Index continue_iterations = 200;  // [sweep] continue_iterations: Adam steps after freezing
  std::vector<double> fractions;           // [sweep] fractions: shares frozen, default 0, 0.05, ..., 1
  std::vector<std::string> orders;         // [sweep] orders: "variance" and/or "random"
  bool store_masks = true;                 // [sweep] store_masks: the [fractions, parameters] mask array
  Eigen::Index batch_size = 32;            // [model] batch_size
  double learning_rate = 1e-3;             // [model] learning_rate (Adam)
};

class ParamOrderingExperiment final : public Experiment {
 public:
  explicit ParamOrderingExperiment(const JobSpec& spec);

  const TaskGrid& grid() const override { return grid_; }
  std::vector<MetricInfo> metrics() const override;
  std::vector<ArrayInfo> arrays() const override;
  TaskOutput run(std::span<const std::uint32_t> coordinates) const override;
  std::string report(const SummaryTable& summary) const override;

  const Mlp& model() const { return model_; }
  const ParamOrderingOptions& options() const { return options_; }
  const Dataset& data() const { return data_; }

 private:
  struct Split {
    std::unique_ptr<MlpObjective> train, test;
  };
  struct WarmState {
    std::uint32_t run = 0, restart = 0;
    Eigen::VectorXd w;
    AdamState adam;
    Eigen::VectorXd variance;  // diag C_t0
    double train_loss = 0.0, test_loss = 0.0;
  };
  Split& split(std::uint32_t run) const;
  const WarmState& warm_state(std::uint32_t run, std::uint32_t restart) const;

  std::uint64_t seed_;
  DataOptions data_options_;
  Dataset data_;
  bool fixed_test_ = false;  // fashion-mnist: the last test_objects rows
  Mlp model_;
  ParamOrderingOptions options_;
  std::size_t half_index_ = 0, zero_index_ = 0;  // grid points nearest 0.5 and 0
  TaskGrid grid_;
  mutable std::map<std::uint32_t, Split> split_cache_;
  mutable std::optional<WarmState> warm_cache_;
};

}  // namespace msweep
