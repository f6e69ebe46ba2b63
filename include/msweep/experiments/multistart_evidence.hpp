// Experiment "multistart-evidence" (docs/science.md, "Multistart variational evidence"; Bakhteev
// and Strijov 2018): a network f(x) = softplus(X W1) W2 (no biases) is trained from r starts
// w^g ~ N(0, s0^2 I) by six methods, and the starts are combined afterwards into an ensemble:
//   sgd                   plain SGD to the iteration budget;
//   early-stopping        SGD, stopped on a validation part (patience in checkpoints of tau_val);
//   validation-prior-grid SGD to the budget for every prior precision of a grid, the precision
//                         chosen on the validation part;
//   sgd-elbo              SGD, the cloud's entropy tracked with Hessian-vector products
//                         (optim/multistart_entropy.hpp), stopped at the largest evidence estimate
//                         mean_g ln p(w^g) + mean_g ln p(y | X, w^g) + S;
//   langevin-elbo         the same with eps ~ N(0, 2 lr I) added to every step (entropy power step);
//   mean-field-vi         a mean-field Gaussian q per start (models/variational), reparameterized
//                         ELBO by Adam, stopped at the largest ELBO.
// The loss of every SGD method is the negative log posterior on the minibatch with the likelihood
// scaled to the whole training part: m / (2 sigma^2) * MSE_batch(w) + alpha / 2 |w|^2 for the
// Gaussian likelihood (regression, scored by RMSE), m * CE_batch(w) + alpha / 2 |w|^2 for the
// logistic one (two classes 0/1, one output; scored by accuracy, stopped on validation log loss).
//
// One task is one start (restart) of one method in one run: it runs the whole budget and stores
// its trajectory as arrays (evidence terms and validation and test predictions every tau_val,
// entropy increments every step). The stopping point, the evidence estimate and the ensemble
// prediction are functions of all starts of a (run, method) and are computed afterwards
// (combine_starts here, analysis/msweep_analysis/multistart.py there): valid because a start's
// trajectory depends only on its initial point and the minibatch stream, which every start of a
// (run, method) shares.
//
// Axes: structure (one network), fold (1), restart (the start), run (split, minibatches, input
// noise), method. Pairing: every method of a run sees the same split (train, validation, test)
// and the same noisy test inputs; every method of a (run, restart) starts at the same point.
// Keys: docs/experiments/multistart-evidence.md.
#pragma once
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "msweep/data/dataset.hpp"
#include "msweep/experiments/data_source.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/models/mlp/mlp.hpp"

namespace msweep {

struct MultistartEvidenceOptions {
  StandardOptions job;  // restarts = starts per (run, method), 10 in the protocol; folds must be 1
  DataOptions data;     // [data]: a regression source; test_fraction > 0
  // [model] hidden ([50]), activation ("softplus"), bias (false): layers = features, hidden..., 1;
  // likelihood ("gaussian": MSE; "logistic": cross-entropy on classes 0/1).
  MlpOptions network;
  bool logistic() const { return network.loss == Loss::cross_entropy; }
  std::vector<std::string> methods = all_methods();  // [sweep] methods: the method axis
  double validation_fraction = 0.1;  // [sweep] validation_fraction: share of the training part held out by the validation methods
  Eigen::Index iterations = 3000;    // [sweep] iterations: steps of every start
  Eigen::Index tau_val = 100;        // [sweep] tau_val: steps between checkpoints
  Eigen::Index patience = 3;         // [sweep] patience: checkpoints without improvement that stop early-stopping
  std::vector<double> prior_grid = default_prior_grid();  // [sweep] prior_precisions: validation-prior-grid's alphas
  std::vector<double> input_noise = {0.5, 1.0};  // [sweep] input_noise: s of N(0, s^2) added to standardized test inputs
  Eigen::Index power_iterations = 20;  // [sweep] power_iterations: products per top-eigenvalue estimate
  Eigen::Index batch_size = 32;        // [model] batch_size
  double learning_rate = 1e-5;         // [model] learning_rate: SGD step on the summed loss
  double init_std = 0.1;               // [model] init_std: s0 of the starts
  double prior_precision = 1.0;        // [model] prior_precision: alpha of N(0, alpha^-1 I) (all but the grid method)
  double noise_variance = 0.25;        // [model] noise_variance: sigma^2 of the likelihood (standardized targets)
  double vi_learning_rate = 1e-3;      // [model] vi_learning_rate: Adam step of mean-field-vi
  double vi_initial_std = 1e-3;        // [model] vi_initial_std: q's initial standard deviation
  Eigen::Index vi_eval_draws = 8;      // [model] vi_eval_draws: draws of E_q ln p(y | w) at checkpoints

  static std::vector<std::string> all_methods();  // the six, in the order above
  static std::vector<double> default_prior_grid();  // 10, 1e2, ..., 1e9
  Eigen::Index checkpoints() const { return iterations / tau_val + 1; }  // steps 0, tau_val, ... (<= iterations)
};

// Needs the loaded data: the network's input width comes from it.
MultistartEvidenceOptions read_multistart_evidence_options(const JobSpec& spec, const Dataset& data);

namespace multistart_evidence {
inline constexpr std::size_t kMethodAxis = 0;  // TaskView::extra(kMethodAxis): index into options.methods

// Random streams. Minibatches and input noise leave out restart and method (every start of a run
// sees the same batches: the combination needs it); starts leave out method (paired methods).
inline constexpr std::string_view kSplitStream = "split";            // (run): test part, then validation part
inline constexpr std::string_view kMinibatchStream = "minibatch";    // (run): the shared minibatch order
inline constexpr std::string_view kInputNoiseStream = "input-noise"; // (run): N(0, I) added, times s, to test inputs
inline constexpr std::string_view kInitStream = "init";              // (run, restart): w^g ~ N(0, s0^2 I)
inline constexpr std::string_view kProbeStream = "probe";            // (run, restart): r0 of the entropy, power-iteration starts
inline constexpr std::string_view kLangevinStream = "langevin";      // (run, restart): Langevin noise
inline constexpr std::string_view kVariationalStream = "variational";// (run, restart): q's reparameterization draws

struct Seeds {
  std::uint64_t split, minibatch, input_noise, init, probe, langevin, variational;
  bool operator==(const Seeds&) const = default;
};
Seeds task_seeds(std::uint64_t job_seed, const TaskView& task);

// Array names, in declaration order (TaskOutput::arrays index).
enum ArrayIndex : std::size_t {
  kIterationArray, kLogPriorArray, kLogLikelihoodArray, kEntropyArray, kIncrementArray, kValidationPredictionArray,
  kValidationTargetArray, kTestPredictionArray, kTestTargetArray, kPriorValidationArray, kPriorTestArray, kPriorUsableArray, kArrayCount
};

// What combining the starts of one (run, method) gives.
struct Combined {
  Eigen::Index stop_checkpoint = 0;     // the method's choice (index into the checkpoints; for the grid method, the last)
  Eigen::Index best_test_checkpoint = 0;  // where the ensemble's clean test RMSE (error rate) is smallest (hindsight)
  Eigen::Index prior_choice = -1;       // validation-prior-grid: index into the grid
  // Ensemble at the stop, clean then per input noise level: RMSE in original target units
  // (gaussian) or accuracy of the averaged probability at 1/2 (logistic).
  std::vector<double> test_score;
  std::vector<double> evidence;         // per checkpoint: mean log prior + mean log likelihood + entropy (ELBO methods; else empty)
  std::vector<double> entropy;          // per checkpoint: the cloud's (sgd-elbo, langevin-elbo) or the mean of q's (mean-field-vi)
};

// Combines the starts (tasks of one run and method, in restart order) with the method's rule.
// target_scale: the per-run target spread that turns standardized RMSE into original units.
Combined combine_starts(const MultistartEvidenceOptions& options, Eigen::Index parameters, std::string_view method,
                        std::span<const TaskOutput* const> starts, double target_scale);
}  // namespace multistart_evidence

class MultistartEvidenceExperiment final : public Experiment {
 public:
  MultistartEvidenceExperiment(MultistartEvidenceOptions options, Dataset data);

  const TaskGrid& grid() const override { return grid_; }
  std::vector<MetricInfo> metrics() const override;
  std::vector<ArrayInfo> arrays() const override;
  TaskOutput run(const TaskView& task) const override;
  std::string describe_data() const override;
  std::string report(const SummaryTable& summary) const override;
  std::vector<InputFile> inputs() const override { return data_.inputs; }

  const Mlp& model() const { return model_; }
  const MultistartEvidenceOptions& options() const { return options_; }
  Eigen::Index validation_objects() const;
  Eigen::Index test_objects() const;

  // The parts of one run's split (standardized with the training part's statistics).
  struct Split {
    Eigen::MatrixXd fit_X, train_X, validation_X;  // fit: training minus validation; train: all of the training part
    Eigen::VectorXd fit_y, train_y, validation_y, test_y;
    std::vector<Eigen::MatrixXd> test_X;  // clean, then one per input noise level
    double target_scale = 1.0;
    std::unique_ptr<MlpObjective> fit, train;
  };
  const Split& split(std::uint32_t run) const;

 private:
  MultistartEvidenceOptions options_;
  Dataset data_;
  Mlp model_;
  TaskGrid grid_;
  mutable std::map<std::uint32_t, Split> split_cache_;
};

}  // namespace msweep
