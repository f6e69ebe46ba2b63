// Experiment "param-ordering" (docs/science.md#parameter-ordering-by-gradient-variance): train a network with Adam for t0 steps
// while tracking the diagonal gradient variance C_t, order the parameters by C_t0 ascending
// (or uniformly at random, the baseline), then for every fraction of a grid freeze that share
// of the smallest-variance parameters and continue Adam from the same state at t0 for a fixed
// budget, recording train and test loss and the mask per fraction.
//
// Axes: structure (one network, label "13-20-1"), fold (1), restart (initial weights), run
// (data split and minibatch order; 25 in the protocol), order (variance, exact-variance, random). Tasks that
// differ only in order share the split, the initial weights, the warm-up and the minibatches
// after t0 (paired comparison); the warm-up state is cached per (run, restart) on each rank.
// A fixed test part (fashion-mnist) makes one split for the whole job: given an ArrayPlacer
// (msweep run's, one copy per node), it is built once at construction into the placed storage,
// so the ranks of a node share its standardized, transposed copy of the data as well.
// Keys: docs/experiments/param-ordering.md.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "msweep/data/dataset.hpp"
#include "msweep/experiments/data_source.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/models/mlp/mlp.hpp"
#include "msweep/optim/first_order.hpp"

namespace msweep {

struct ParamOrderingOptions {
  StandardOptions job;  // folds must be 1 (a held-out test part, not folds)
  DataOptions data;     // [data]; a test part is required (test_fraction, or test_objects for fashion-mnist)
  // [model] loss ("mse", or "cross-entropy": the default for classification sources), activation
  // ("tanh"), bias (true), init_gain (1), hidden ([20]): layers = features, hidden..., outputs.
  MlpOptions network;
  Eigen::Index t0 = 200;                   // [sweep] t0: warm-up Adam steps before ranking
  Eigen::Index continue_iterations = 200;  // [sweep] continue_iterations: Adam steps after freezing
  std::vector<double> fractions = default_fractions();  // [sweep] fractions: shares frozen, 0, 0.05, ..., 1
  // [sweep] orders: the order axis; "exact-variance" ranks by the exact per-object gradient
  // variance at w(t0) instead of the running C_t0 (the noise-free variant of the protocol).
  std::vector<std::string> orders = {"variance", "random"};
  bool store_masks = true;                 // [sweep] store_masks: the [fractions, parameters] mask array
  Eigen::Index batch_size = 32;            // [model] batch_size
  double learning_rate = 1e-3;             // [model] learning_rate (Adam)

  static std::vector<double> default_fractions();  // 0, 0.05, ..., 1 (21 values)
};

// Needs the loaded data: the network's input width and output classes come from it.
ParamOrderingOptions read_param_ordering_options(const JobSpec& spec, const Dataset& data);

namespace param_ordering {
inline constexpr std::size_t kOrderAxis = 0;  // TaskView::extra(kOrderAxis): index into options.orders

// Random streams and the coordinates they use. None uses structure or order, so the orders of a
// (run, restart) pair are paired: same split, initial weights, warm-up and continuation batches.
inline constexpr std::string_view kSplitStream = "split";                    // (run): held-out part
inline constexpr std::string_view kInitStream = "init";                      // (run, restart): initial weights
inline constexpr std::string_view kVarianceInitStream = "variance-init";     // (run, restart): C_0 of the tracker
inline constexpr std::string_view kWarmupStream = "minibatch-warmup";        // (run, restart): batches up to t0
inline constexpr std::string_view kRandomOrderStream = "random-order";       // (run, restart): the random baseline
inline constexpr std::string_view kContinueStream = "minibatch-continue";    // (run, restart): batches after t0

struct Seeds {
  std::uint64_t split, init, variance_init, warmup, random_order, continuation;
  bool operator==(const Seeds&) const = default;
};
Seeds task_seeds(std::uint64_t job_seed, const TaskView& task);
}  // namespace param_ordering

class ParamOrderingExperiment final : public Experiment {
 public:
  ParamOrderingExperiment(ParamOrderingOptions options, Dataset data, const ArrayPlacer& place = {});

  const TaskGrid& grid() const override { return grid_; }
  std::vector<MetricInfo> metrics() const override;
  std::vector<ArrayInfo> arrays() const override;
  TaskOutput run(const TaskView& task) const override;
  std::string report(const SummaryTable& summary) const override;

  const Mlp& model() const { return model_; }
  const ParamOrderingOptions& options() const { return options_; }
  const Dataset& data() const { return data_; }
  std::vector<InputFile> inputs() const override { return data_.inputs; }

 private:
  struct Split {
    std::unique_ptr<MlpObjective> train, test;
  };
  struct WarmState {
    std::uint32_t run = 0, restart = 0;
    Eigen::VectorXd w;
    AdamState adam;
    Eigen::VectorXd variance;        // diag C_t0
    Eigen::VectorXd exact_variance;  // per-object gradient variance over the training objects at w(t0)
    double rank_correlation_c0 = 0.0, rank_correlation_exact = 0.0;  // Spearman of C_t0 with C_0, with exact_variance
    double train_loss = 0.0, test_loss = 0.0;
  };
  // The training and test parts as the networks see them (standardized by the training part).
  struct SplitParts {
    Eigen::MatrixXd train_X, test_X;
    Eigen::VectorXd train_y, test_y;
  };
  HoldoutSplit fixed_holdout() const;  // the last test_objects rows
  SplitParts split_parts(const HoldoutSplit& holdout) const;
  Split placed_split(const ArrayPlacer& place) const;  // the fixed split, in placed storage
  Split& split(const TaskView& task) const;
  const WarmState& warm_state(const TaskView& task) const;

  ParamOrderingOptions options_;
  Dataset data_;
  bool fixed_test_ = false;  // fashion-mnist: the last test_objects rows
  Mlp model_;
  std::size_t half_index_ = 0, zero_index_ = 0;  // grid points nearest 0.5 and 0
  TaskGrid grid_;
  mutable std::map<std::uint32_t, Split> split_cache_;
  mutable std::optional<WarmState> warm_cache_;
};

}  // namespace msweep
