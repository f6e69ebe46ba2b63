// Experiment "multistart-evidence": see multistart_evidence.hpp and docs/experiments/multistart-evidence.md.
#include "msweep/experiments/multistart_evidence.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <numbers>
#include <sstream>

#include "msweep/core/error.hpp"
#include "msweep/core/text_table.hpp"
#include "msweep/models/variational/diag_gaussian.hpp"
#include "msweep/optim/first_order.hpp"
#include "msweep/optim/multistart_entropy.hpp"

namespace msweep {
namespace {

// Metric names in declaration order; indices below must follow it.
enum Metric : std::size_t {
  kParams, kTrainObjects, kTargetScale, kTestScoreFinal, kTestScoreChosen, kStopIteration, kEvidenceFinal, kUnstableChecks,
  kMaxCurvature, kDiverged, kMetricCount
};

bool uses_validation(std::string_view method) { return method == "early-stopping" || method == "validation-prior-grid"; }
bool tracks_entropy(std::string_view method) { return method == "sgd-elbo" || method == "langevin-elbo"; }
bool has_evidence(std::string_view method) { return tracks_entropy(method) || method == "mean-field-vi"; }

Eigen::VectorXd normal_vector(Eigen::Index n, RandomStream& rng) {
  Eigen::VectorXd v(n);
  for (Eigen::Index i = 0; i < n; ++i) v(i) = rng.normal();
  return v;
}

// The negative log posterior every SGD method minimizes, on a minibatch with the likelihood
// scaled to the whole part: scale * MSE_S(w) + alpha / 2 |w|^2, scale = m / (2 sigma^2). With
// `langevin_lr` > 0 the minibatch gradient carries -sqrt(2 / lr) xi, xi ~ N(0, I), so that SGD's
// step w - lr g is the Langevin step w - lr grad L + sqrt(2 lr) xi (optim's sgd() runs it).
class PosteriorObjective {
 public:
  PosteriorObjective(MlpObjective& data, double scale, double alpha, double langevin_lr, std::uint64_t noise_seed)
      : data_(data), scale_(scale), alpha_(alpha), langevin_lr_(langevin_lr), noise_(noise_seed) {}

  Eigen::Index parameters() const { return data_.parameters(); }
  Eigen::Index objects() const { return data_.objects(); }
  double evaluate(const Eigen::VectorXd& w) { return scale_ * data_.evaluate(w) + prior(w); }
  void gradient(const Eigen::VectorXd& w, Eigen::VectorXd& g) { evaluate_with_gradient(w, g); }
  double evaluate_with_gradient(const Eigen::VectorXd& w, Eigen::VectorXd& g) {
    const double value = data_.evaluate_with_gradient(w, g);
    g = scale_ * g + alpha_ * w;
    return scale_ * value + prior(w);
  }
  double evaluate(const Eigen::VectorXd& w, std::span<const Eigen::Index> rows) { return scale_ * data_.evaluate(w, rows) + prior(w); }
  double evaluate_with_gradient(const Eigen::VectorXd& w, std::span<const Eigen::Index> rows, Eigen::VectorXd& g) {
    const double value = data_.evaluate_with_gradient(w, rows, g);
    g = scale_ * g + alpha_ * w;
    if (langevin_lr_ > 0.0) {
      const double k = std::sqrt(2.0 / langevin_lr_);
      for (Eigen::Index j = 0; j < g.size(); ++j) g(j) -= k * noise_.normal();
    }
    return scale_ * value + prior(w);
  }
  // H v of the minibatch loss (without the noise, which does not depend on w).
  void hessian_vector(const Eigen::VectorXd& w, const Eigen::Ref<const Eigen::VectorXd>& v, std::span<const Eigen::Index> rows,
                      Eigen::VectorXd& out) {
    data_.hessian_vector(w, v, rows, out);
    out = scale_ * out + alpha_ * v;
  }

 private:
  double prior(const Eigen::VectorXd& w) const { return 0.5 * alpha_ * w.squaredNorm(); }
  MlpObjective& data_;
  double scale_, alpha_, langevin_lr_;
  RandomStream noise_;
};

// The negative ELBO of a mean-field Gaussian q = N(mu, diag s^2) over theta = [mu; ln s], one
// reparameterized draw per minibatch: scale * MSE_S(mu + s eps) + KL(q || N(0, alpha^-1 I)).
// The whole-set evaluations (not used by Adam's steps) take the mean, eps = 0.
class NegativeElboObjective {
 public:
  NegativeElboObjective(MlpObjective& data, double scale, double alpha, std::uint64_t seed)
      : data_(data), scale_(scale), d_(data.parameters()), prior_log_std_(Eigen::VectorXd::Constant(d_, -0.5 * std::log(alpha))),
        rng_(seed) {}

  Eigen::Index parameters() const { return 2 * d_; }
  Eigen::Index objects() const { return data_.objects(); }
  double evaluate(const Eigen::VectorXd& theta) { return scale_ * data_.evaluate(theta.head(d_)) + kl(theta, nullptr); }
  void gradient(const Eigen::VectorXd& theta, Eigen::VectorXd& g) { evaluate_with_gradient(theta, g); }
  double evaluate_with_gradient(const Eigen::VectorXd& theta, Eigen::VectorXd& g) {
    return with_draw(theta, Eigen::VectorXd::Zero(d_), [&](const Eigen::VectorXd& w, Eigen::VectorXd& gw) {
      return data_.evaluate_with_gradient(w, gw);
    }, g);
  }
  double evaluate(const Eigen::VectorXd& theta, std::span<const Eigen::Index> rows) {
    return scale_ * data_.evaluate(theta.head(d_), rows) + kl(theta, nullptr);
  }
  double evaluate_with_gradient(const Eigen::VectorXd& theta, std::span<const Eigen::Index> rows, Eigen::VectorXd& g) {
    return with_draw(theta, normal_vector(d_, rng_), [&](const Eigen::VectorXd& w, Eigen::VectorXd& gw) {
      return data_.evaluate_with_gradient(w, rows, gw);
    }, g);
  }
  DiagGaussian q(const Eigen::VectorXd& theta) const { return {theta.head(d_), theta.tail(d_)}; }
  const Eigen::VectorXd& prior_log_std() const { return prior_log_std_; }

 private:
  double kl(const Eigen::VectorXd& theta, KlGradient* gradient) const { return kl_to_prior(q(theta), prior_log_std_, gradient); }
  template <class Fit>
  double with_draw(const Eigen::VectorXd& theta, const Eigen::VectorXd& eps, Fit&& fit, Eigen::VectorXd& g) {
    const DiagGaussian family = q(theta);
    Eigen::VectorXd w(d_), gw(d_);
    reparameterized_sample(family, eps, w);
    const double value = scale_ * fit(w, gw);
    gw *= scale_;
    KlGradient kl_gradient;
    const double divergence = kl(theta, &kl_gradient);
    g.resize(2 * d_);
    auto d_mean = g.head(d_);
    auto d_log_std = g.tail(d_);
    d_mean = kl_gradient.d_mean;
    d_log_std = kl_gradient.d_log_std;
    accumulate_sample_gradient(family, eps, gw, d_mean, d_log_std);  // adds the likelihood's part
    return value + divergence;
  }

  MlpObjective& data_;
  double scale_;
  Eigen::Index d_;
  Eigen::VectorXd prior_log_std_;
  RandomStream rng_;
};

double rmse(const Eigen::Ref<const Eigen::VectorXd>& prediction, const Eigen::Ref<const Eigen::VectorXd>& target) {
  return std::sqrt((prediction - target).squaredNorm() / static_cast<double>(target.size()));
}

// How predictions are scored. Gaussian: RMSE everywhere (standardized units). Logistic (the
// predictions are P(y = 1)): the validation rules minimize the mean log loss (accuracy ties too
// often to stop on), the test part is scored by the error rate of the prediction at 1/2 and
// reported as accuracy.
struct Scoring {
  bool logistic = false;

  // Lower is better: what early stopping and the prior grid compare on the validation part.
  double validation_loss(const Eigen::Ref<const Eigen::VectorXd>& p, const Eigen::Ref<const Eigen::VectorXd>& y) const {
    if (!logistic) return rmse(p, y);
    double total = 0.0;
    for (Eigen::Index i = 0; i < y.size(); ++i) {
      const double q = std::clamp(y(i) > 0.5 ? p(i) : 1.0 - p(i), 1e-300, 1.0);
      total -= std::log(q);
    }
    return total / static_cast<double>(y.size());
  }
  // Lower is better: RMSE (standardized) or the error rate.
  double test_error(const Eigen::Ref<const Eigen::VectorXd>& p, const Eigen::Ref<const Eigen::VectorXd>& y) const {
    if (!logistic) return rmse(p, y);
    Eigen::Index wrong = 0;
    for (Eigen::Index i = 0; i < y.size(); ++i) wrong += (p(i) > 0.5) != (y(i) > 0.5);
    return static_cast<double>(wrong) / static_cast<double>(y.size());
  }
  // What is reported: RMSE in target units or accuracy.
  double reported(double error, double target_scale) const { return logistic ? 1.0 - error : error * target_scale; }
};

// The index of the smallest value, stopping once `patience` values in a row failed to improve on
// it (early stopping evaluated every tau_val steps); the first of equal values wins.
Eigen::Index stop_by_patience(const std::vector<double>& loss, Eigen::Index patience) {
  Eigen::Index best = 0;
  for (Eigen::Index c = 1; c < static_cast<Eigen::Index>(loss.size()); ++c) {
    if (c - best > patience) break;
    if (loss[static_cast<std::size_t>(c)] < loss[static_cast<std::size_t>(best)]) best = c;
  }
  return best;
}

Eigen::Index argmax(const std::vector<double>& values) {
  return static_cast<Eigen::Index>(std::max_element(values.begin(), values.end()) - values.begin());
}

Eigen::Index argmin(const std::vector<double>& values) {
  return static_cast<Eigen::Index>(std::min_element(values.begin(), values.end()) - values.begin());
}

double log_prior(const Eigen::VectorXd& w, double alpha) {
  const double d = static_cast<double>(w.size());
  return 0.5 * d * std::log(alpha / (2.0 * std::numbers::pi)) - 0.5 * alpha * w.squaredNorm();
}

// sum_i ln p(y_i | x_i, w) over the objective's whole part: N(f(x_i), sigma^2) when the
// objective's loss is MSE, Bernoulli(sigmoid(f(x_i))) when it is cross-entropy (its mean is -ln p).
double log_likelihood(MlpObjective& part, const Eigen::VectorXd& w, double noise_variance) {
  const double m = static_cast<double>(part.objects());
  if (part.model().options().loss == Loss::cross_entropy) return -m * part.evaluate(w);
  return -0.5 * m * part.evaluate(w) / noise_variance - 0.5 * m * std::log(2.0 * std::numbers::pi * noise_variance);
}

}  // namespace

std::vector<std::string> MultistartEvidenceOptions::all_methods() {
  return {"sgd", "early-stopping", "validation-prior-grid", "sgd-elbo", "langevin-elbo", "mean-field-vi"};
}

std::vector<double> MultistartEvidenceOptions::default_prior_grid() {
  std::vector<double> grid;
  for (int k = 1; k <= 9; ++k) grid.push_back(std::pow(10.0, k));
  return grid;
}

MultistartEvidenceOptions read_multistart_evidence_options(const JobSpec& spec, const Dataset& data) {
  MultistartEvidenceOptions options;
  options.job = standard_options(spec);
  options.data = read_data_options(spec.data);
  if (spec.folds != 1)
    spec.sweep.fail("folds", "multistart-evidence uses held-out validation and test parts, not folds: expected 1, got " +
                                 std::to_string(spec.folds));
  if (options.data.test_fraction <= 0.0) spec.data.fail("test_fraction", "multistart-evidence needs a held-out test part (> 0)");
  const ConfigTable& model = spec.model;
  // "logistic" and "bernoulli" name the same likelihood (Bernoulli with a logistic link), as in
  // structure-selection; a classification source defaults to it there too.
  const bool logistic = model.get_choice("likelihood", is_classification_source(options.data.source) ? "logistic" : "gaussian",
                                         {"gaussian", "logistic", "bernoulli"}) != "gaussian";
  options.network.loss = logistic ? Loss::cross_entropy : Loss::mse;
  if (!logistic && is_classification_source(options.data.source))
    spec.data.fail("source", "\"" + options.data.source +
                                 "\" is a classification set: set [model] likelihood = \"logistic\" (two classes) or choose a regression source");
  if (logistic && !(data.y.array() == 0.0 || data.y.array() == 1.0).all())
    model.fail("likelihood", "\"logistic\" needs two classes 0/1 (e.g. [data] source = \"digits\" with classes = [3, 8]); \"" +
                                 options.data.source + "\" has other targets");
  options.network.activation = activation_from_string(
      model.get_choice("activation", "softplus", {"softplus", "tanh", "relu", "sigmoid", "identity"}));
  options.network.bias = model.get_bool("bias", false);
  const std::vector<std::int64_t> hidden = model.get_int_list("hidden", {50}, 1, 100'000);
  options.network.layers.push_back(data.features());
  for (auto h : hidden) options.network.layers.push_back(h);
  options.network.layers.push_back(1);
  options.batch_size = model.get_int("batch_size", options.batch_size, 1, 1'000'000);
  options.learning_rate = model.get_double("learning_rate", options.learning_rate, 1e-15, 10.0);
  options.init_std = model.get_double("init_std", options.init_std, 1e-12, 1e6);
  options.prior_precision = model.get_double("prior_precision", options.prior_precision, 1e-12, 1e12);
  options.noise_variance = model.get_double("noise_variance", options.noise_variance, 1e-12, 1e12);
  options.vi_learning_rate = model.get_double("vi_learning_rate", options.vi_learning_rate, 1e-15, 10.0);
  options.vi_initial_std = model.get_double("vi_initial_std", options.vi_initial_std, 1e-12, 1e6);
  options.vi_eval_draws = model.get_int("vi_eval_draws", options.vi_eval_draws, 1, 100'000);

  const ConfigTable& sweep = spec.sweep;
  options.validation_fraction = sweep.get_double("validation_fraction", options.validation_fraction, 0.0, 0.9);
  if (!(options.validation_fraction > 0.0)) sweep.fail("validation_fraction", "expected a share in (0, 0.9]");
  options.iterations = sweep.get_int("iterations", options.iterations, 1, 100'000'000);
  options.tau_val = sweep.get_int("tau_val", options.tau_val, 1, 100'000'000);
  if (options.tau_val > options.iterations)
    sweep.fail("tau_val", "expected at most iterations (" + std::to_string(options.iterations) + ")");
  options.patience = sweep.get_int("patience", options.patience, 1, 1'000'000);
  options.power_iterations = sweep.get_int("power_iterations", options.power_iterations, 1, 10'000);
  options.prior_grid = sweep.get_double_list("prior_precisions", options.prior_grid, 1e-12, 1e15);
  if (options.prior_grid.empty()) sweep.fail("prior_precisions", "expected at least one prior precision");
  options.input_noise = sweep.get_double_list("input_noise", options.input_noise, 0.0, 1e6);
  options.methods = sweep.get_string_list("methods", options.methods);
  if (options.methods.empty()) sweep.fail("methods", "expected at least one method");
  const auto known = MultistartEvidenceOptions::all_methods();
  for (std::size_t i = 0; i < options.methods.size(); ++i) {
    const auto& m = options.methods[i];
    if (std::find(known.begin(), known.end(), m) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "\"" : ", \"") + k + "\"";
      sweep.fail("methods", "unknown method \"" + m + "\" (expected one of " + list + ")");
    }
    if (std::find(options.methods.begin(), options.methods.begin() + static_cast<std::ptrdiff_t>(i), m) !=
        options.methods.begin() + static_cast<std::ptrdiff_t>(i))
      sweep.fail("methods", "\"" + m + "\" appears twice");
  }
  return options;
}

multistart_evidence::Seeds multistart_evidence::task_seeds(std::uint64_t job_seed, const TaskView& task) {
  const std::uint64_t run = task.run(), restart = task.restart();
  return {derive_seed(job_seed, kSplitStream, {{"run", run}}),
          derive_seed(job_seed, kMinibatchStream, {{"run", run}}),
          derive_seed(job_seed, kInputNoiseStream, {{"run", run}}),
          derive_seed(job_seed, kInitStream, {{"run", run}, {"restart", restart}}),
          derive_seed(job_seed, kProbeStream, {{"run", run}, {"restart", restart}}),
          derive_seed(job_seed, kLangevinStream, {{"run", run}, {"restart", restart}}),
          derive_seed(job_seed, kVariationalStream, {{"run", run}, {"restart", restart}})};
}

MultistartEvidenceExperiment::MultistartEvidenceExperiment(MultistartEvidenceOptions options, Dataset data)
    : options_(std::move(options)), data_(std::move(data)), model_(options_.network) {
  require(options_.tau_val >= 1 && options_.tau_val <= options_.iterations, "MultistartEvidenceExperiment", "options.tau_val",
          "in [1, iterations]");
  grid_ = TaskGrid(standard_axes({"structure", {model_.label()}}, options_.job.folds, options_.job.restarts, options_.job.runs,
                                 {Axis{"method", options_.methods, "methods"}}));
}

Eigen::Index MultistartEvidenceExperiment::test_objects() const {
  return holdout_test_size(data_.objects(), options_.data.test_fraction);
}

Eigen::Index MultistartEvidenceExperiment::validation_objects() const {
  return holdout_test_size(data_.objects() - test_objects(), options_.validation_fraction);
}

std::string MultistartEvidenceExperiment::describe_data() const {
  const Eigen::Index test = test_objects(), validation = validation_objects(), train = data_.objects() - test;
  std::ostringstream out;
  out << data_.objects() << " objects x " << data_.features() << " features; per run: " << train << " training ("
      << train - validation << " fit + " << validation << " validation for the validation methods), " << test << " test\n";
  return out.str();
}

const MultistartEvidenceExperiment::Split& MultistartEvidenceExperiment::split(std::uint32_t run) const {
  if (auto it = split_cache_.find(run); it != split_cache_.end()) return it->second;
  const std::uint64_t split_seed = derive_seed(options_.job.seed, multistart_evidence::kSplitStream, {{"run", run}});
  RandomStream rng(split_seed);
  const HoldoutSplit outer = holdout_split(data_.objects(), options_.data.test_fraction, rng);
  const HoldoutSplit inner = holdout_split(static_cast<Eigen::Index>(outer.train.size()), options_.validation_fraction, rng);
  Indices fit_rows, validation_rows;
  for (auto i : inner.train) fit_rows.push_back(outer.train[static_cast<std::size_t>(i)]);
  for (auto i : inner.test) validation_rows.push_back(outer.train[static_cast<std::size_t>(i)]);

  Split s;
  s.train_X = take_rows(data_.X, outer.train);
  s.train_y = take_entries(data_.y, outer.train);
  Eigen::MatrixXd test_X = take_rows(data_.X, outer.test);
  s.test_y = take_entries(data_.y, outer.test);
  s.fit_X = take_rows(data_.X, fit_rows);
  s.fit_y = take_entries(data_.y, fit_rows);
  s.validation_X = take_rows(data_.X, validation_rows);
  s.validation_y = take_entries(data_.y, validation_rows);
  if (options_.data.standardize) {
    // The whole training part's statistics (fit + validation), shared by every method of the run.
    const Standardizer scaler = Standardizer::fit(s.train_X);
    s.train_X = scaler.apply(s.train_X);
    s.fit_X = scaler.apply(s.fit_X);
    s.validation_X = scaler.apply(s.validation_X);
    test_X = scaler.apply(test_X);
  }
  if (options_.data.standardize && !options_.logistic()) {  // class labels stay 0/1
    const double mean = s.train_y.mean();
    const double spread = std::sqrt((s.train_y.array() - mean).square().mean());
    s.target_scale = spread > 0.0 ? spread : 1.0;
    for (Eigen::VectorXd* y : {&s.train_y, &s.fit_y, &s.validation_y, &s.test_y}) *y = (y->array() - mean) / s.target_scale;
  }
  // One draw of N(0, I) per run, scaled by each level: the levels and methods see the same noise.
  RandomStream noise(derive_seed(options_.job.seed, multistart_evidence::kInputNoiseStream, {{"run", run}}));
  Eigen::MatrixXd z(test_X.rows(), test_X.cols());
  for (Eigen::Index j = 0; j < z.cols(); ++j)
    for (Eigen::Index i = 0; i < z.rows(); ++i) z(i, j) = noise.normal();
  s.test_X.push_back(test_X);
  for (double level : options_.input_noise) s.test_X.push_back(test_X + level * z);
  s.fit = std::make_unique<MlpObjective>(model_, s.fit_X, s.fit_y);
  s.train = std::make_unique<MlpObjective>(model_, s.train_X, s.train_y);
  return split_cache_.emplace(run, std::move(s)).first->second;
}

std::vector<MetricInfo> MultistartEvidenceExperiment::metrics() const {
  return {
      {"n_params", "parameters of the network (D)"},
      {"train_objects", "objects the method trains on (the validation methods hold out the validation part)"},
      {"target_scale", "standard deviation of the training targets: standardized RMSE times this is in target units"},
      // Logistic: accuracy in place of RMSE, under its own name.
      options_.logistic() ? MetricInfo{"test_accuracy_final", "this start alone: test accuracy at the last iteration"}
                          : MetricInfo{"test_rmse_final", "this start alone: test RMSE at the last iteration (target units)"},
      options_.logistic()
          ? MetricInfo{"test_accuracy_chosen", "this start alone: test accuracy where the method's rule stops it on its own"}
          : MetricInfo{"test_rmse_chosen", "this start alone: test RMSE where the method's rule stops it on its own (target units)"},
      {"stop_iteration", "this start alone: iteration of the method's stopping point (the budget for sgd and the grid)"},
      {"evidence_final", "this start alone: ln p(w) + ln p(y | X, w) + entropy at the last iteration (ELBO methods; else 0)"},
      {"unstable_checks", "checkpoints where lr * top eigenvalue of the minibatch Hessian exceeded 0.68 (entropy methods)"},
      {"max_step_curvature", "largest lr * top eigenvalue of the minibatch Hessian seen (entropy methods; else 0)"},
      {"diverged", "1 if the loss or gradient became non-finite (later checkpoints repeat the last finite point)"},
  };
}

std::vector<ArrayInfo> MultistartEvidenceExperiment::arrays() const {
  const std::size_t C = static_cast<std::size_t>(options_.checkpoints()), T = static_cast<std::size_t>(options_.iterations);
  const std::size_t V = static_cast<std::size_t>(validation_objects()), N = static_cast<std::size_t>(test_objects());
  const std::size_t L = 1 + options_.input_noise.size(), G = options_.prior_grid.size();
  return {
      {"iteration", {C}, "iteration of each checkpoint: 0, tau_val, 2 tau_val, ..."},
      {"log_prior", {C}, "ln p(w) at each checkpoint (mean-field-vi: E_q ln p(w))"},
      {"log_likelihood", {C}, "ln p(y | X, w) on the training part at each checkpoint (mean-field-vi: E_q over vi_eval_draws)"},
      {"entropy", {C}, "this start's own entropy: S0 + its increments (entropy methods), H(q) (mean-field-vi), else 0"},
      {"entropy_increment", {T}, "per step r0 . (-2 r0 + 3 r1 - r2), the start's share of the cloud's entropy change (entropy methods)"},
      {"validation_prediction", {C, V}, "predictions on the validation part at each checkpoint (standardized units)"},
      {"validation_target", {V}, "validation targets (standardized units)"},
      {"test_prediction", {C, 1 + options_.input_noise.size(), N},
       "test predictions at each checkpoint, clean inputs then each input_noise level (standardized units)"},
      {"test_target", {N}, "test targets (standardized units)"},
      {"prior_validation_prediction", {G, V}, "validation-prior-grid: validation predictions at the budget, per prior precision"},
      {"prior_test_prediction", {G, L, N}, "validation-prior-grid: test predictions at the budget, per prior precision and noise level"},
      {"prior_usable", {G}, "validation-prior-grid: 1 if the prior's run finished (lr * alpha < 1 and no divergence), else 0"},
  };
}

namespace {

// What a task records at each checkpoint, filled in order.
struct Recorder {
  const MultistartEvidenceExperiment::Split& split;
  const Mlp& model;
  std::vector<double> log_prior, log_likelihood, validation, test;

  void predictions(const Eigen::VectorXd& w) {
    const Eigen::VectorXd v = model.predict(w, split.validation_X).col(0);
    validation.insert(validation.end(), v.data(), v.data() + v.size());
    for (const auto& X : split.test_X) {
      const Eigen::VectorXd t = model.predict(w, X).col(0);
      test.insert(test.end(), t.data(), t.data() + t.size());
    }
  }
  std::size_t recorded() const { return log_prior.size(); }
};

Eigen::VectorXd test_clean(const std::vector<double>& test, std::size_t checkpoint, std::size_t levels, std::size_t n) {
  return Eigen::Map<const Eigen::VectorXd>(test.data() + checkpoint * levels * n, static_cast<Eigen::Index>(n));
}

}  // namespace

TaskOutput MultistartEvidenceExperiment::run(const TaskView& task) const {
  const std::string& method = options_.methods[task.extra(multistart_evidence::kMethodAxis)];
  const multistart_evidence::Seeds seeds = multistart_evidence::task_seeds(options_.job.seed, task);
  const Split& data = split(task.run());
  MlpObjective& part = uses_validation(method) ? *data.fit : *data.train;
  const Eigen::Index D = model_.parameter_count(), T = options_.iterations, tau = options_.tau_val;
  const auto C = static_cast<std::size_t>(options_.checkpoints());
  const std::size_t L = data.test_X.size(), N = static_cast<std::size_t>(data.test_y.size()),
                    V = static_cast<std::size_t>(data.validation_y.size()), G = options_.prior_grid.size();
  const double lr = options_.learning_rate, sigma2 = options_.noise_variance;
  // The likelihood's weight on the mean minibatch loss: sum of squares / (2 sigma^2), or the sum of cross-entropies.
  const double scale = options_.logistic() ? static_cast<double>(part.objects()) : static_cast<double>(part.objects()) / (2.0 * sigma2);
  const Scoring scoring{options_.logistic()};

  RandomStream init(seeds.init);
  const Eigen::VectorXd start = options_.init_std * normal_vector(D, init);

  Recorder rec{data, model_, {}, {}, {}, {}};
  std::vector<double> entropy(C, 0.0), increments(static_cast<std::size_t>(T), 0.0);
  std::vector<double> prior_validation(G * V, 0.0), prior_test(G * L * N, 0.0), prior_usable(G, 0.0);
  double diverged = 0.0, unstable = 0.0, max_curvature = 0.0;
  SgdOptions sgd_options;
  sgd_options.max_iterations = T;
  sgd_options.batch_size = options_.batch_size;
  sgd_options.seed = seeds.minibatch;
  sgd_options.learning_rate = lr;
  sgd_options.evaluate_final = false;

  if (method == "mean-field-vi") {
    NegativeElboObjective elbo(part, scale, options_.prior_precision, seeds.variational);
    Eigen::VectorXd theta(2 * D);
    theta.head(D) = start;
    theta.tail(D).setConstant(std::log(options_.vi_initial_std));
    const Eigen::MatrixXd pool = normal_pool(D, options_.vi_eval_draws, seeds.variational ^ 0x5eedULL);
    auto checkpoint = [&](const Eigen::VectorXd& th) {
      const DiagGaussian q = elbo.q(th);
      const double h = msweep::entropy(q);
      rec.log_prior.push_back(-kl_to_prior(q, elbo.prior_log_std()) - h);  // E_q ln p(w) = -KL - H(q)
      double ll = 0.0;
      Eigen::VectorXd w(D);
      for (Eigen::Index k = 0; k < pool.cols(); ++k) {
        reparameterized_sample(q, pool.col(k), w);
        ll += log_likelihood(part, w, sigma2);
      }
      rec.log_likelihood.push_back(ll / static_cast<double>(pool.cols()));
      entropy[rec.recorded() - 1] = h;
      rec.predictions(q.mean);  // the ensemble averages the starts' means
    };
    AdamOptions adam_options;
    static_cast<StochasticOptions&>(adam_options) = sgd_options;
    adam_options.learning_rate = options_.vi_learning_rate;
    AdamState state;
    const OptimSummary summary = adam(elbo, theta, adam_options, state, [&](const IterationState& s) {
      if ((s.iteration - 1) % tau == 0) checkpoint(s.w);
      return false;
    });
    if (!summary.usable()) diverged = 1.0;
    while (rec.recorded() < C) checkpoint(theta);
  } else if (method == "validation-prior-grid") {
    for (std::size_t k = 0; k < G; ++k) {
      const double alpha = options_.prior_grid[k];
      if (!(lr * alpha < 1.0)) continue;  // the explicit prior step would overshoot zero and diverge
      PosteriorObjective posterior(part, scale, alpha, 0.0, 0);
      Eigen::VectorXd w = start;
      const OptimSummary summary = sgd(posterior, w, sgd_options);
      if (!summary.usable()) continue;
      Recorder one{data, model_, {}, {}, {}, {}};
      one.predictions(w);
      if (!std::all_of(one.test.begin(), one.test.end(), [](double x) { return std::isfinite(x); }) ||
          !std::all_of(one.validation.begin(), one.validation.end(), [](double x) { return std::isfinite(x); }))
        continue;
      prior_usable[k] = 1.0;
      std::copy(one.validation.begin(), one.validation.end(), prior_validation.begin() + static_cast<std::ptrdiff_t>(k * V));
      std::copy(one.test.begin(), one.test.end(), prior_test.begin() + static_cast<std::ptrdiff_t>(k * L * N));
    }
  }
  if (method != "mean-field-vi") {
    // The SGD trajectory under the job's prior_precision (for the grid method: a comparison beside its grid).
    const bool langevin = method == "langevin-elbo", track = tracks_entropy(method);
    PosteriorObjective posterior(part, scale, options_.prior_precision, langevin ? lr : 0.0, seeds.langevin);
    RandomStream probe(seeds.probe);
    EntropyScratch scratch;
    Eigen::VectorXd w = start;
    auto checkpoint = [&](const Eigen::VectorXd& x) {
      rec.log_prior.push_back(log_prior(x, options_.prior_precision));
      rec.log_likelihood.push_back(log_likelihood(part, x, sigma2));
      rec.predictions(x);
    };
    const OptimSummary summary = sgd(posterior, w, sgd_options, [&](const IterationState& s) {
      const std::size_t step = static_cast<std::size_t>(s.iteration - 1);
      auto hvp = [&](const Eigen::VectorXd& v, Eigen::VectorXd& out) { posterior.hessian_vector(s.w, v, s.batch, out); };
      if (step % static_cast<std::size_t>(tau) == 0) {
        checkpoint(s.w);
        if (track) {
          const double curvature = lr * top_eigenvalue(hvp, normal_vector(D, probe), static_cast<int>(options_.power_iterations));
          max_curvature = std::max(max_curvature, curvature);
          if (curvature > kMaxStepCurvature) unstable += 1.0;
        }
      }
      if (track) increments[step] = entropy_increment(hvp, lr, normal_vector(D, probe), scratch);
      return false;
    });
    if (!summary.usable()) diverged = 1.0;
    while (rec.recorded() < C) checkpoint(w);
    if (track) {
      // This start's own entropy: the cloud's recursion with one start.
      const std::vector<std::span<const double>> own = {increments};
      const auto s = combine_cloud_entropy(gaussian_entropy(D, options_.init_std), own, langevin, langevin_noise_entropy(D, lr), D);
      for (std::size_t c = 0; c < C; ++c) entropy[c] = s[c * static_cast<std::size_t>(tau)];
    }
  }

  // This start alone, by the method's rule (the ensemble's choice is made in combine_starts).
  std::vector<double> validation_loss(C), test_score(C), evidence(C);
  const Eigen::Map<const Eigen::VectorXd> validation_y(data.validation_y.data(), data.validation_y.size());
  for (std::size_t c = 0; c < C; ++c) {
    validation_loss[c] = scoring.validation_loss(
        Eigen::Map<const Eigen::VectorXd>(rec.validation.data() + c * V, static_cast<Eigen::Index>(V)), validation_y);
    test_score[c] = scoring.reported(scoring.test_error(test_clean(rec.test, c, L, N), data.test_y), data.target_scale);
    evidence[c] = rec.log_prior[c] + rec.log_likelihood[c] + entropy[c];
  }
  std::size_t chosen = C - 1;
  double chosen_score = test_score[C - 1];
  if (method == "early-stopping") {
    chosen = static_cast<std::size_t>(stop_by_patience(validation_loss, options_.patience));
    chosen_score = test_score[chosen];
  } else if (has_evidence(method)) {
    chosen = static_cast<std::size_t>(argmax(evidence));
    chosen_score = test_score[chosen];
  } else if (method == "validation-prior-grid") {
    std::vector<double> grid_loss(G, std::numeric_limits<double>::infinity());
    for (std::size_t k = 0; k < G; ++k)
      if (prior_usable[k] > 0.0)
        grid_loss[k] = scoring.validation_loss(
            Eigen::Map<const Eigen::VectorXd>(prior_validation.data() + k * V, static_cast<Eigen::Index>(V)), validation_y);
    const auto k = static_cast<std::size_t>(argmin(grid_loss));
    if (prior_usable[k] > 0.0)
      chosen_score = scoring.reported(scoring.test_error(test_clean(prior_test, k, L, N), data.test_y), data.target_scale);
  }

  TaskOutput out;
  out.metrics.resize(kMetricCount);
  out.metrics[kParams] = static_cast<double>(D);
  out.metrics[kTrainObjects] = static_cast<double>(part.objects());
  out.metrics[kTargetScale] = data.target_scale;
  out.metrics[kTestScoreFinal] = test_score[C - 1];
  out.metrics[kTestScoreChosen] = chosen_score;
  out.metrics[kStopIteration] = static_cast<double>(chosen) * static_cast<double>(tau);
  out.metrics[kEvidenceFinal] = has_evidence(method) ? evidence[C - 1] : 0.0;
  out.metrics[kUnstableChecks] = unstable;
  out.metrics[kMaxCurvature] = max_curvature;
  out.metrics[kDiverged] = diverged;
  std::vector<double> iteration(C);
  for (std::size_t c = 0; c < C; ++c) iteration[c] = static_cast<double>(c) * static_cast<double>(tau);
  out.arrays.resize(multistart_evidence::kArrayCount);
  using namespace multistart_evidence;
  out.arrays[kIterationArray] = std::move(iteration);
  out.arrays[kLogPriorArray] = std::move(rec.log_prior);
  out.arrays[kLogLikelihoodArray] = std::move(rec.log_likelihood);
  out.arrays[kEntropyArray] = std::move(entropy);
  out.arrays[kIncrementArray] = std::move(increments);
  out.arrays[kValidationPredictionArray] = std::move(rec.validation);
  out.arrays[kValidationTargetArray].assign(data.validation_y.data(), data.validation_y.data() + V);
  out.arrays[kTestPredictionArray] = std::move(rec.test);
  out.arrays[kTestTargetArray].assign(data.test_y.data(), data.test_y.data() + N);
  out.arrays[kPriorValidationArray] = std::move(prior_validation);
  out.arrays[kPriorTestArray] = std::move(prior_test);
  out.arrays[kPriorUsableArray] = std::move(prior_usable);
  return out;
}

multistart_evidence::Combined multistart_evidence::combine_starts(const MultistartEvidenceOptions& options, Eigen::Index parameters,
                                                                  std::string_view method, std::span<const TaskOutput* const> starts,
                                                                  double target_scale) {
  require(!starts.empty(), "combine_starts", "starts", "at least one start");
  const auto C = static_cast<std::size_t>(options.checkpoints());
  const std::vector<double>& validation_y = starts.front()->arrays[kValidationTargetArray];
  const std::vector<double>& test_y = starts.front()->arrays[kTestTargetArray];
  const std::size_t V = validation_y.size(), N = test_y.size(), L = 1 + options.input_noise.size(),
                    G = options.prior_grid.size();
  const Eigen::Map<const Eigen::VectorXd> vy(validation_y.data(), static_cast<Eigen::Index>(V)),
      ty(test_y.data(), static_cast<Eigen::Index>(N));
  const double r = static_cast<double>(starts.size());
  // Mean over starts of array `a`, entries [offset, offset + n), in start order.
  auto mean_of = [&](std::size_t a, std::size_t offset, std::size_t n) {
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(n));
    for (const TaskOutput* s : starts) sum += Eigen::Map<const Eigen::VectorXd>(s->arrays[a].data() + offset, static_cast<Eigen::Index>(n));
    return Eigen::VectorXd(sum / r);
  };
  Combined out;
  const Scoring scoring{options.logistic()};
  std::vector<double> validation_loss(C), test_error(C);
  for (std::size_t c = 0; c < C; ++c) {
    validation_loss[c] = scoring.validation_loss(mean_of(kValidationPredictionArray, c * V, V), vy);
    test_error[c] = scoring.test_error(mean_of(kTestPredictionArray, c * L * N, N), ty);
  }
  out.best_test_checkpoint = argmin(test_error);
  out.stop_checkpoint = static_cast<Eigen::Index>(C - 1);
  if (method == "early-stopping") out.stop_checkpoint = stop_by_patience(validation_loss, options.patience);
  if (tracks_entropy(method)) {
    std::vector<std::span<const double>> increments;
    for (const TaskOutput* s : starts) increments.emplace_back(s->arrays[kIncrementArray]);
    const auto cloud = combine_cloud_entropy(gaussian_entropy(parameters, options.init_std), increments, method == "langevin-elbo",
                                             langevin_noise_entropy(parameters, options.learning_rate), parameters);
    for (std::size_t c = 0; c < C; ++c) out.entropy.push_back(cloud[c * static_cast<std::size_t>(options.tau_val)]);
  } else if (method == "mean-field-vi") {
    const Eigen::VectorXd h = mean_of(kEntropyArray, 0, C);
    out.entropy.assign(h.data(), h.data() + C);
  }
  if (has_evidence(method)) {
    const Eigen::VectorXd lp = mean_of(kLogPriorArray, 0, C), ll = mean_of(kLogLikelihoodArray, 0, C);
    for (std::size_t c = 0; c < C; ++c) out.evidence.push_back(lp(static_cast<Eigen::Index>(c)) + ll(static_cast<Eigen::Index>(c)) + out.entropy[c]);
    out.stop_checkpoint = argmax(out.evidence);
  }
  if (method == "validation-prior-grid") {
    std::vector<double> grid_loss(G, std::numeric_limits<double>::infinity());
    for (std::size_t k = 0; k < G; ++k) {
      bool usable = true;
      for (const TaskOutput* s : starts) usable = usable && s->arrays[kPriorUsableArray][k] > 0.0;
      if (usable) grid_loss[k] = scoring.validation_loss(mean_of(kPriorValidationArray, k * V, V), vy);
    }
    out.prior_choice = argmin(grid_loss);
    if (!std::isfinite(grid_loss[static_cast<std::size_t>(out.prior_choice)])) out.prior_choice = -1;
  }
  for (std::size_t l = 0; l < L; ++l) {
    const Eigen::VectorXd prediction =
        out.prior_choice >= 0 ? mean_of(kPriorTestArray, (static_cast<std::size_t>(out.prior_choice) * L + l) * N, N)
                              : mean_of(kTestPredictionArray, (static_cast<std::size_t>(out.stop_checkpoint) * L + l) * N, N);
    out.test_score.push_back(scoring.reported(scoring.test_error(prediction, ty), target_scale));
  }
  return out;
}

std::string MultistartEvidenceExperiment::report(const SummaryTable& summary) const {
  if (summary.groups() == 0) return {};
  std::size_t method_pos = summary.group_axes.size();
  for (std::size_t i = 0; i < summary.group_axes.size(); ++i)
    if (summary.group_axes[i] == "method") method_pos = i;
  if (method_pos == summary.group_axes.size()) return {};
  const auto& method_axis = grid_.axes()[grid_.axis_index("method")];
  const auto chosen = summary.metric_index(options_.logistic() ? "test_accuracy_chosen" : "test_rmse_chosen"), stop = summary.metric_index("stop_iteration"),
             unstable = summary.metric_index("unstable_checks");
  // Groups keep the restart axis: average each method's groups (every start weighs the same).
  std::vector<double> sum_rmse(method_axis.size(), 0.0), sum_sd(method_axis.size(), 0.0), sum_stop(method_axis.size(), 0.0),
      sum_unstable(method_axis.size(), 0.0), count(method_axis.size(), 0.0);
  for (std::size_t g = 0; g < summary.groups(); ++g) {
    const std::size_t m = summary.coordinate(g, method_pos);
    if (summary.ok_count[g] == 0) continue;
    sum_rmse[m] += summary.mean_of(g, chosen);
    sum_sd[m] += summary.ok_count[g] > 1 ? summary.stddev_of(g, chosen) : 0.0;
    sum_stop[m] += summary.mean_of(g, stop);
    sum_unstable[m] += summary.mean_of(g, unstable);
    count[m] += 1.0;
  }
  std::ostringstream out;
  out << std::setprecision(4);
  out << "network " << model_.label() << " (" << model_.parameter_count() << " parameters), " << options_.iterations
      << " steps, lr " << options_.learning_rate << "; single starts by their own stopping rule, mean over starts and runs\n"
      << "(the ensemble of starts, the method's real estimate: analysis/msweep-report's figures, docs/experiments/multistart-evidence.md):\n";
  TextTable table({"method", options_.logistic() ? "test accuracy" : "test RMSE", "sd over runs", "stop at iteration", "unstable checks"});
  for (std::size_t m = 0; m < method_axis.size(); ++m) {
    if (count[m] == 0.0) continue;
    table.add_row({method_axis.label(m), format_number(sum_rmse[m] / count[m]), format_number(sum_sd[m] / count[m]),
                   format_number(sum_stop[m] / count[m]), format_number(sum_unstable[m] / count[m])});
  }
  out << table.str("  ");
  return out.str();
}

}  // namespace msweep
