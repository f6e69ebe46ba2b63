// Experiment "hyperparameter-optimization" (docs/science.md, hyperparameter optimization;
// docs/experiments/hyperparameter-optimization.md): choose the log standard deviations h of a
// Gaussian prior over an MLP's parameters (one per parameter or per layer) by maximizing a
// criterion Q of the model trained by a fixed number of gradient steps: k-fold cross-validation
// (k random 75/25 splits) or the evidence bound (ELBO on a fixed pool of noise draws)
// (models/hyperprior), with random search or a hypergradient method (optim/hypergradient.hpp:
// greedy, HOAG, DrMAD).
//
// Axes: structure (one network, label "12-1"), fold (1), restart (the starting point: the
// initial weights and h_0 ~ U(h_init) per group; a random-search task is the one trial at that
// point, so the restart axis is random search's budget and its best-so-far curve is built over
// restarts in analysis), run (data split, CV splits, ELBO pool, test-input noise), method,
// criterion. Tasks that differ only in method share the split, the initial weights and h_0
// (paired); random search's trial r is the point gradient methods start from at restart r.
// Keys: docs/experiments/hyperparameter-optimization.md.
#pragma once
#include <map>
#include <memory>
#include <string_view>

#include "msweep/data/dataset.hpp"
#include "msweep/experiments/data_source.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/models/hyperprior/criteria.hpp"
#include "msweep/models/mlp/mlp.hpp"
#include "msweep/optim/hypergradient.hpp"

namespace msweep {

struct HyperparameterOptimizationOptions {
  StandardOptions job;  // folds must be 1 (a held-out test part, not folds)
  DataOptions data;     // [data]; a test part is required (test_fraction, or test_objects for fashion-mnist)
  // [model] hidden ([]: the linear model), activation ("relu"), loss ("mse", or "cross-entropy":
  // the default for classification sources), bias (true), init_gain (1).
  MlpOptions network;
  double noise_variance = 1.0;  // [model] noise_variance: sigma^2 of the Gaussian likelihood (mse)
  std::vector<std::string> methods = {"random", "greedy", "hoag", "drmad"};  // [sweep] methods
  std::vector<std::string> criteria = {"cv", "elbo"};                         // [sweep] criteria
  std::string cv_groups = "parameter";    // [sweep] cv_groups: prior groups for CV: parameter | layer | single
  std::string elbo_groups = "parameter";  // [sweep] elbo_groups: the same for the ELBO
  int cv_folds = 4;                       // [sweep] cv_folds: k random splits
  double validation_fraction = 0.25;      // [sweep] validation_fraction
  Eigen::Index elbo_draws = 100;          // [sweep] elbo_draws: the fixed pool of noise draws
  double initial_log_std = -2.0;          // [sweep] initial_log_std: s of q(w) at the start
  Eigen::Index outer_iterations = 50;     // [sweep] outer_iterations: trainings per gradient-method task
  InnerTraining inner{200, 1e-3};         // [sweep] inner_steps, learning_rate
  double step_size = 0.1;                 // [sweep] step_size: g_h for HOAG and DrMAD
  double greedy_step_size = 0.001;        // [sweep] greedy_step_size: g_h per inner step for greedy
  double h_init_low = -2.0, h_init_high = 10.0;  // [sweep] h_init = [low, high]: h_0 ~ U(low, high)
  HyperLimits limits;                     // [sweep] h_limits = [low, high]: clipping bounds
  double hoag_tolerance = 1e-3;           // [sweep] hoag_tolerance (x hoag_tolerance_decay per iteration)
  double hoag_tolerance_decay = 0.9;      // [sweep] hoag_tolerance_decay
  double drmad_skip_fraction = 0.05;      // [sweep] drmad_skip_fraction
  int max_step_reductions = 10;           // [sweep] max_step_reductions: clips that divide g_h by 10 (0: plain projection)
};

// Needs the loaded data: the network's input width and output classes come from it.
HyperparameterOptimizationOptions read_hyperparameter_optimization_options(const JobSpec& spec, const Dataset& data);

namespace hpo {
inline constexpr std::size_t kMethodAxis = 0, kCriterionAxis = 1;  // TaskView::extra(): method, criterion
inline constexpr double kNoiseLevels[] = {0.25, 0.5};              // test-input noise s of the two metrics

// Random streams and their coordinates. None uses method or criterion (paired comparison).
inline constexpr std::string_view kSplitStream = "split";           // (run): held-out test part
inline constexpr std::string_view kCvStream = "cv-split";           // (run): the k 75/25 splits
inline constexpr std::string_view kPoolStream = "elbo-pool";        // (run): the ELBO's draws
inline constexpr std::string_view kInitStream = "init";             // (run, restart): initial weights
inline constexpr std::string_view kHyperStream = "hyper-init";      // (run, restart): h_0
inline constexpr std::string_view kInputNoiseStream = "input-noise";  // (run): test-input noise

struct Seeds {
  std::uint64_t split, cv, pool, init, hyper, input_noise;
  bool operator==(const Seeds&) const = default;
};
Seeds task_seeds(std::uint64_t job_seed, const TaskView& task);
}  // namespace hpo

class HyperparameterOptimizationExperiment final : public Experiment {
 public:
  HyperparameterOptimizationExperiment(HyperparameterOptimizationOptions options, Dataset data);

  const TaskGrid& grid() const override { return grid_; }
  std::vector<MetricInfo> metrics() const override;
  std::vector<ArrayInfo> arrays() const override;
  TaskOutput run(const TaskView& task) const override;
  std::string describe_data() const override;
  std::vector<InputFile> inputs() const override { return data_.inputs; }
  std::string report(const SummaryTable& summary) const override;

  const Mlp& model() const { return model_; }
  const HyperparameterOptimizationOptions& options() const { return options_; }

  // What a task optimizes and where it starts, for tools that drive the same Q from outside
  // (bench/hpo_objective.cpp serves it to Optuna): the criterion's problem on the task's run,
  // theta_0 and h_0 of its (run, restart). The problem is owned by the experiment's cache.
  struct TaskProblem {
    BilevelProblem& problem;
    Eigen::VectorXd theta0, h0;
  };
  TaskProblem task_problem(const TaskView& task) const;
  // The outer-loop options of a gradient method ("greedy", "hoag", "drmad") as the tasks use them.
  HpoOptions hpo_options(const std::string& method) const;

 private:
  struct Split {
    Eigen::MatrixXd train_X, test_X;
    Eigen::VectorXd train_y, test_y;
    std::unique_ptr<CrossValidationProblem> cv;
    std::unique_ptr<EvidenceBoundProblem> elbo;
  };
  Split& split(const TaskView& task) const;
  double test_error(const Eigen::MatrixXd& predictions, const Eigen::VectorXd& y) const;

  HyperparameterOptimizationOptions options_;
  Dataset data_;
  bool fixed_test_ = false;  // fashion-mnist: the last test_objects rows
  Mlp model_;
  TaskGrid grid_;
  mutable std::map<std::uint32_t, Split> split_cache_;
};

}  // namespace msweep
