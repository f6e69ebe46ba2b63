// Experiment "hyperparameter-optimization": see hyperparameter_optimization.hpp and
// docs/experiments/hyperparameter-optimization.md.
#include "msweep/experiments/hyperparameter_optimization.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "msweep/core/error.hpp"
#include "msweep/core/summary.hpp"
#include "msweep/core/text_table.hpp"

namespace msweep {
namespace {

enum Metric : std::size_t {
  kHyperparameters, kInitial, kBest, kIterations99, kTestError, kTestNoise1, kTestNoise2, kDiverged, kTrainings, kStepSize, kMetricCount
};

MlpOptions read_network(const ConfigTable& model, const DataOptions& data_options, const Dataset& data) {
  MlpOptions options;
  options.loss = loss_from_string(model.get_choice(
      "loss", is_classification_source(data_options.source) ? "cross-entropy" : "mse", {"mse", "cross-entropy"}));
  options.activation = activation_from_string(
      model.get_choice("activation", "relu", {"tanh", "relu", "sigmoid", "softplus", "identity"}));
  options.bias = model.get_bool("bias", options.bias);
  options.init_gain = model.get_double("init_gain", options.init_gain, 0.0, 100.0);
  options.layers.push_back(data.features());
  for (const auto width : model.get_int_list("hidden", {}, 1, 100'000)) options.layers.push_back(width);
  if (options.loss == Loss::mse) {
    options.layers.push_back(1);
  } else {
    const double top = data.y.size() > 0 ? data.y.maxCoeff() : 0.0;
    if (data.y.size() == 0 || data.y.minCoeff() < 0.0 || top > 1e6 || (data.y.array() != data.y.array().floor()).any())
      model.fail("loss", "cross-entropy needs class indices 0, 1, ... as targets");
    if (top < 1.0) model.fail("loss", "cross-entropy needs at least two classes in the data");
    const auto classes = static_cast<Eigen::Index>(top) + 1;
    options.layers.push_back(classes == 2 ? 1 : classes);
  }
  return options;
}

// A list key whose entries are distinct members of `choices`.
std::vector<std::string> read_distinct_choices(const ConfigTable& table, std::string_view key,
                                               const std::vector<std::string>& fallback,
                                               const std::vector<std::string>& choices) {
  const std::vector<std::string> values = table.get_string_list(key, fallback);
  if (values.empty()) table.fail(key, "expected at least one entry");
  std::string listed;
  for (const auto& c : choices) listed += (listed.empty() ? "\"" : ", \"") + c + "\"";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::find(choices.begin(), choices.end(), values[i]) == choices.end())
      table.fail(key, "expected entries among " + listed + ", got \"" + values[i] + "\"");
    if (std::find(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(i), values[i]) !=
        values.begin() + static_cast<std::ptrdiff_t>(i))
      table.fail(key, "\"" + values[i] + "\" appears twice");
  }
  return values;
}

// [low, high] with low < high inside [min, max].
std::pair<double, double> read_interval(const ConfigTable& table, std::string_view key, std::pair<double, double> fallback,
                                        double min, double max) {
  const auto values = table.get_double_list(key, {fallback.first, fallback.second}, min, max);
  if (values.size() != 2 || !(values[0] < values[1])) table.fail(key, "expected [low, high] with low < high");
  return {values[0], values[1]};
}

PriorGrouping grouping_from(const std::string& name) {
  if (name == "layer") return PriorGrouping::per_layer;
  if (name == "single") return PriorGrouping::single;
  return PriorGrouping::per_parameter;
}

}  // namespace

HyperparameterOptimizationOptions read_hyperparameter_optimization_options(const JobSpec& spec, const Dataset& data) {
  HyperparameterOptimizationOptions o;
  o.job = standard_options(spec);
  o.data = read_data_options(spec.data);
  o.network = read_network(spec.model, o.data, data);
  o.noise_variance = spec.model.get_double("noise_variance", o.noise_variance, 1e-12, 1e12);
  if (spec.folds != 1)
    spec.sweep.fail("folds", "hyperparameter-optimization uses a held-out test part, not folds: expected 1, got " +
                                 std::to_string(spec.folds));
  const bool fixed_test = has_fixed_test(o.data);
  if (fixed_test ? o.data.test_objects == 0 : o.data.test_fraction <= 0.0)
    spec.data.fail(fixed_test ? "test_objects" : "test_fraction", "hyperparameter-optimization needs a held-out test part (> 0)");

  const ConfigTable& s = spec.sweep;
  o.methods = read_distinct_choices(s, "methods", o.methods, {"random", "greedy", "hoag", "drmad"});
  o.criteria = read_distinct_choices(s, "criteria", o.criteria, {"cv", "elbo"});
  o.cv_groups = s.get_choice("cv_groups", o.cv_groups, {"parameter", "layer", "single"});
  o.elbo_groups = s.get_choice("elbo_groups", o.elbo_groups, {"parameter", "layer", "single"});
  o.cv_folds = static_cast<int>(s.get_int("cv_folds", o.cv_folds, 1, 1000));
  o.validation_fraction = s.get_double("validation_fraction", o.validation_fraction, 0.01, 0.99);
  o.elbo_draws = s.get_int("elbo_draws", o.elbo_draws, 1, 100'000);
  o.initial_log_std = s.get_double("initial_log_std", o.initial_log_std, -30.0, 10.0);
  o.outer_iterations = s.get_int("outer_iterations", o.outer_iterations, 1, 1'000'000);
  o.inner.steps = s.get_int("inner_steps", o.inner.steps, 1, 100'000'000);
  o.inner.learning_rate = s.get_double("learning_rate", o.inner.learning_rate, 1e-15, 10.0);
  o.step_size = s.get_double("step_size", o.step_size, 1e-12, 1e6);
  o.greedy_step_size = s.get_double("greedy_step_size", o.greedy_step_size, 1e-12, 1e6);
  std::tie(o.h_init_low, o.h_init_high) = read_interval(s, "h_init", {o.h_init_low, o.h_init_high}, -50.0, 50.0);
  std::tie(o.limits.low, o.limits.high) = read_interval(s, "h_limits", {o.limits.low, o.limits.high}, -50.0, 50.0);
  if (o.h_init_low < o.limits.low || o.h_init_high > o.limits.high)
    s.fail("h_init", "expected an interval inside h_limits");
  o.hoag_tolerance = s.get_double("hoag_tolerance", o.hoag_tolerance, 0.0, 1.0);
  o.hoag_tolerance_decay = s.get_double("hoag_tolerance_decay", o.hoag_tolerance_decay, 1e-6, 1.0);
  o.drmad_skip_fraction = s.get_double("drmad_skip_fraction", o.drmad_skip_fraction, 0.0, 0.99);
  o.max_step_reductions = static_cast<int>(s.get_int("max_step_reductions", o.max_step_reductions, 0, 1000));
  return o;
}

hpo::Seeds hpo::task_seeds(std::uint64_t job_seed, const TaskView& task) {
  const std::uint64_t run = task.run(), restart = task.restart();
  return {derive_seed(job_seed, kSplitStream, {{"run", run}}),
          derive_seed(job_seed, kCvStream, {{"run", run}}),
          derive_seed(job_seed, kPoolStream, {{"run", run}}),
          derive_seed(job_seed, kInitStream, {{"run", run}, {"restart", restart}}),
          derive_seed(job_seed, kHyperStream, {{"run", run}, {"restart", restart}}),
          derive_seed(job_seed, kInputNoiseStream, {{"run", run}})};
}

HyperparameterOptimizationExperiment::HyperparameterOptimizationExperiment(HyperparameterOptimizationOptions options,
                                                                           Dataset data)
    : options_(std::move(options)), data_(std::move(data)), fixed_test_(has_fixed_test(options_.data)), model_(options_.network) {
  grid_ = TaskGrid(standard_axes({"structure", {model_.label()}}, options_.job.folds, options_.job.restarts, options_.job.runs,
                                 {Axis{"method", options_.methods, "methods"}, Axis{"criterion", options_.criteria, "criteria"}}));
}

std::vector<MetricInfo> HyperparameterOptimizationExperiment::metrics() const {
  const std::string error = model_.options().loss == Loss::mse ? "mean squared error on the test part"
                                                                : "classification error rate on the test part";
  return {
      {"n_hyperparameters", "prior log standard deviations h optimized (groups)"},
      {"initial_criterion", "Q at h_0 (the first training), nats"},
      {"best_criterion", "Q-hat: the largest Q over the task's trainings, nats"},
      {"iterations_to_99", "first outer iteration j with (Q_j - Q_0) / (Q-hat - Q_0) >= 0.99 (0 for random search)"},
      {"test_error", error + " of the model at Q-hat"},
      {"test_error_noise_025", error + " with N(0, 0.25^2) noise added to the standardized test inputs"},
      {"test_error_noise_050", error + " with N(0, 0.5^2) noise added to the standardized test inputs"},
      {"diverged", "1 when a training or hypergradient became non-finite and the task stopped early, else 0"},
      {"inner_trainings", "trainings of the model the task ran: its cost in the budget's units"},
      {"final_step_size", "g_h at the end, after the divisions by 10 on clipping (0 for random search)"},
  };
}

std::vector<ArrayInfo> HyperparameterOptimizationExperiment::arrays() const {
  const auto J = static_cast<std::size_t>(options_.outer_iterations), P = static_cast<std::size_t>(model_.parameter_count());
  return {
      {"criterion", {J}, "Q_j after outer iteration j, nats (random search: its one trial's Q at every entry; after a divergence the last finite Q)"},
      {"prior_log_std", {P}, "h at Q-hat expanded to one value per parameter (flat layout of models/mlp)"},
  };
}

std::string HyperparameterOptimizationExperiment::describe_data() const {
  std::ostringstream out;
  const Eigen::Index test = fixed_test_ ? options_.data.test_objects : holdout_test_size(data_.objects(), options_.data.test_fraction);
  out << data_.description << ": " << data_.objects() << " objects x " << data_.features() << " features; training part "
      << data_.objects() - test << ", test part " << test << "; network " << model_.label() << " ("
      << model_.parameter_count() << " parameters)";
  return out.str();
}

HyperparameterOptimizationExperiment::Split& HyperparameterOptimizationExperiment::split(const TaskView& task) const {
  const std::uint32_t key = task.run();
  if (auto it = split_cache_.find(key); it != split_cache_.end()) return it->second;
  const hpo::Seeds seeds = hpo::task_seeds(options_.job.seed, task);
  HoldoutSplit holdout;
  if (fixed_test_) {
    const Eigen::Index train = data_.objects() - options_.data.test_objects;
    for (Eigen::Index i = 0; i < data_.objects(); ++i) (i < train ? holdout.train : holdout.test).push_back(i);
  } else {
    RandomStream rng(seeds.split);
    holdout = holdout_split(data_.objects(), options_.data.test_fraction, rng);
  }
  Split s;
  s.train_X = take_rows(data_.X, holdout.train);
  s.test_X = take_rows(data_.X, holdout.test);
  s.train_y = take_entries(data_.y, holdout.train);
  s.test_y = take_entries(data_.y, holdout.test);
  if (options_.data.standardize) {
    // Features only: the likelihood's noise variance is in the target's own units.
    const Standardizer scaler = Standardizer::fit(s.train_X);
    s.train_X = scaler.apply(s.train_X);
    s.test_X = scaler.apply(s.test_X);
  }
  const auto has = [&](const char* c) { return std::find(options_.criteria.begin(), options_.criteria.end(), c) != options_.criteria.end(); };
  if (has("cv"))
    s.cv = std::make_unique<CrossValidationProblem>(model_, s.train_X, s.train_y, prior_groups(model_, grouping_from(options_.cv_groups)),
                                                    options_.cv_folds, seeds.cv, options_.validation_fraction,
                                                    options_.noise_variance);
  if (has("elbo"))
    s.elbo = std::make_unique<EvidenceBoundProblem>(model_, s.train_X, s.train_y, prior_groups(model_, grouping_from(options_.elbo_groups)),
                                                    options_.elbo_draws, seeds.pool, options_.noise_variance);
  return split_cache_.emplace(key, std::move(s)).first->second;
}

double HyperparameterOptimizationExperiment::test_error(const Eigen::MatrixXd& predictions, const Eigen::VectorXd& y) const {
  if (model_.options().loss == Loss::mse) return (predictions.col(0) - y).squaredNorm() / static_cast<double>(y.size());
  double wrong = 0.0;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    Eigen::Index label = 0;
    if (predictions.cols() == 1)
      label = predictions(i, 0) >= 0.5 ? 1 : 0;
    else
      predictions.row(i).maxCoeff(&label);
    if (static_cast<double>(label) != y(i)) wrong += 1.0;
  }
  return wrong / static_cast<double>(y.size());
}

HyperparameterOptimizationExperiment::TaskProblem HyperparameterOptimizationExperiment::task_problem(const TaskView& task) const {
  const bool cv = options_.criteria[task.extra(hpo::kCriterionAxis)] == "cv";
  const hpo::Seeds seeds = hpo::task_seeds(options_.job.seed, task);
  Split& data = split(task);
  RandomStream init(seeds.init);
  const Eigen::VectorXd w0 = model_.initial_parameters(init);
  BilevelProblem& problem = cv ? static_cast<BilevelProblem&>(*data.cv) : static_cast<BilevelProblem&>(*data.elbo);
  Eigen::VectorXd theta0 = cv ? data.cv->initial_parameters(w0) : data.elbo->initial_parameters(w0, options_.initial_log_std);
  RandomStream hyper(seeds.hyper);
  Eigen::VectorXd h0(problem.hyperparameters());
  for (Eigen::Index g = 0; g < h0.size(); ++g) h0[g] = hyper.uniform(options_.h_init_low, options_.h_init_high);
  return {problem, std::move(theta0), std::move(h0)};
}

HpoOptions HyperparameterOptimizationExperiment::hpo_options(const std::string& method) const {
  HpoOptions o;
  if (method == "greedy")
    o.method = HypergradientMethod::greedy;
  else if (method == "hoag")
    o.method = HypergradientMethod::hoag;
  else if (method == "drmad")
    o.method = HypergradientMethod::drmad;
  else
    throw ArgumentError("HyperparameterOptimizationExperiment::hpo_options: expected greedy, hoag or drmad, got " + method);
  o.outer_iterations = options_.outer_iterations;
  o.inner = options_.inner;
  o.step_size = method == "greedy" ? options_.greedy_step_size : options_.step_size;
  o.limits = options_.limits;
  o.hoag_tolerance = options_.hoag_tolerance;
  o.hoag_tolerance_decay = options_.hoag_tolerance_decay;
  o.drmad_skip_fraction = options_.drmad_skip_fraction;
  o.max_step_reductions = options_.max_step_reductions;
  return o;
}

TaskOutput HyperparameterOptimizationExperiment::run(const TaskView& task) const {
  const std::string& method = options_.methods[task.extra(hpo::kMethodAxis)];
  const bool cv = options_.criteria[task.extra(hpo::kCriterionAxis)] == "cv";
  const hpo::Seeds seeds = hpo::task_seeds(options_.job.seed, task);
  Split& data = split(task);
  const TaskProblem start = task_problem(task);
  BilevelProblem& problem = start.problem;
  const Eigen::VectorXd& theta0 = start.theta0;
  const Eigen::VectorXd& h0 = start.h0;
  const std::vector<Eigen::Index> groups = prior_groups(model_, grouping_from(cv ? options_.cv_groups : options_.elbo_groups));
  const Eigen::Index H = problem.hyperparameters();

  const auto J = static_cast<std::size_t>(options_.outer_iterations);
  std::vector<double> trajectory;
  Eigen::VectorXd best_h, best_theta;
  double step_size = 0.0, trainings = 1.0;
  bool diverged = false;
  if (method == "random") {
    const double q = evaluate_hyperparameters(problem, theta0, h0, options_.inner, &best_theta);
    if (!std::isfinite(q)) throw std::runtime_error("random-search trial: the inner training diverged");
    trajectory.assign(J, q);
    best_h = h0;
  } else {
    const HpoOptions o = hpo_options(method);
    const HpoSummary summary = optimize_hyperparameters(problem, theta0, h0, o);
    if (summary.best_iteration < 0) throw std::runtime_error("the first inner training diverged: " + summary.message);
    diverged = !summary.usable();
    trajectory = summary.criterion;
    if (!std::isfinite(trajectory.back())) trajectory.pop_back();
    trainings = static_cast<double>(trajectory.size());
    trajectory.resize(J, trajectory.back());
    best_h = summary.best_h;
    best_theta = summary.best_theta;
    step_size = summary.step_size;
  }

  // Predictions at Q-hat: CV averages its k models' predictions, the ELBO uses the mean of q.
  const auto predict = [&](const Eigen::MatrixXd& X) -> Eigen::MatrixXd {
    if (!cv) return model_.predict(best_theta.head(model_.parameter_count()), X);
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(X.rows(), model_.outputs());
    for (int q = 0; q < data.cv->folds(); ++q) sum += model_.predict(data.cv->fold_parameters(best_theta, q), X);
    return sum / static_cast<double>(data.cv->folds());
  };
  TaskOutput out;
  out.metrics.resize(kMetricCount);
  out.metrics[kHyperparameters] = static_cast<double>(H);
  out.metrics[kInitial] = trajectory.front();
  out.metrics[kBest] = *std::max_element(trajectory.begin(), trajectory.end());
  out.metrics[kIterations99] = method == "random" ? 0.0 : static_cast<double>(iterations_to_fraction(trajectory, 0.99));
  out.metrics[kTestError] = test_error(predict(data.test_X), data.test_y);
  // The same noise for every method, criterion and restart of a run (stream input-noise(run)).
  RandomStream noise(seeds.input_noise);
  for (std::size_t k = 0; k < std::size(hpo::kNoiseLevels); ++k) {
    Eigen::MatrixXd noisy = data.test_X;
    for (Eigen::Index i = 0; i < noisy.size(); ++i) noisy.data()[i] += hpo::kNoiseLevels[k] * noise.normal();
    out.metrics[kTestNoise1 + k] = test_error(predict(noisy), data.test_y);
  }
  out.metrics[kDiverged] = diverged ? 1.0 : 0.0;
  out.metrics[kTrainings] = trainings;
  out.metrics[kStepSize] = step_size;
  out.arrays.push_back(std::move(trajectory));
  const Eigen::VectorXd per_parameter = expand_groups(best_h, groups);
  out.arrays.emplace_back(per_parameter.data(), per_parameter.data() + per_parameter.size());
  return out;
}

// Per criterion and method, the mean over tasks (restarts) of each task's run means. A random-
// search task is one trial, so its row is the mean trial, not the best of the trials: the
// best-so-far curve over trials and the README's table are analysis/msweep-report's.
std::string HyperparameterOptimizationExperiment::report(const SummaryTable& summary) const {
  if (summary.groups() == 0) return {};
  std::size_t method_pos = summary.group_axes.size(), criterion_pos = summary.group_axes.size();
  for (std::size_t i = 0; i < summary.group_axes.size(); ++i) {
    if (summary.group_axes[i] == "method") method_pos = i;
    if (summary.group_axes[i] == "criterion") criterion_pos = i;
  }
  if (method_pos == summary.group_axes.size() || criterion_pos == summary.group_axes.size()) return {};
  const auto& method_axis = grid_.axes()[grid_.axis_index("method")];
  const auto& criterion_axis = grid_.axes()[grid_.axis_index("criterion")];
  const std::size_t best = summary.metric_index("best_criterion"), error = summary.metric_index("test_error"),
                    noisy = summary.metric_index("test_error_noise_050"), to_99 = summary.metric_index("iterations_to_99");
  struct Cell {
    double best = 0, error = 0, noisy = 0, to_99 = 0, tasks = 0;
  };
  std::vector<Cell> cells(method_axis.size() * criterion_axis.size());
  for (std::size_t g = 0; g < summary.groups(); ++g) {
    if (summary.ok_count[g] == 0) continue;
    Cell& cell = cells[summary.coordinate(g, criterion_pos) * method_axis.size() + summary.coordinate(g, method_pos)];
    cell.best += summary.mean_of(g, best);
    cell.error += summary.mean_of(g, error);
    cell.noisy += summary.mean_of(g, noisy);
    cell.to_99 += summary.mean_of(g, to_99);
    cell.tasks += 1;
  }
  std::ostringstream out;
  out << "per task, mean over restarts and runs (a random-search task is one trial; best of the trials: analysis/msweep-report):\n";
  // Column titles in words: the metric names (test_error, test_error_noise_050) stay the file's.
  const std::string error_title = model_.options().loss == Loss::mse ? "test MSE" : "test error";
  TextTable table({"criterion", "method", "Q-hat (best_criterion)", "iteration to 99% (from 0)", error_title,
                   error_title + ", input noise s = " + format_number(hpo::kNoiseLevels[1])},
                  {TextTable::Align::left, TextTable::Align::left});
  for (std::size_t c = 0; c < criterion_axis.size(); ++c)
    for (std::size_t m = 0; m < method_axis.size(); ++m) {
      const Cell& cell = cells[c * method_axis.size() + m];
      if (cell.tasks == 0) continue;
      table.add_row({criterion_axis.label(c), method_axis.label(m), format_number(cell.best / cell.tasks),
                     format_number(cell.to_99 / cell.tasks), format_number(cell.error / cell.tasks),
                     format_number(cell.noisy / cell.tasks)});
    }
  out << table.str("  ");
  return out.str();
}

}  // namespace msweep
