// Experiment "param-ordering": see param_ordering.hpp and docs/experiments/param-ordering.md.
#include "msweep/experiments/param_ordering.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <vector>

#include "msweep/core/error.hpp"
#include "msweep/core/text_table.hpp"
#include "msweep/criteria/rank_correlation.hpp"
#include "msweep/optim/gradient_variance.hpp"

namespace msweep {
namespace {

// Metric names in declaration order; indices below must follow it.
enum Metric : std::size_t {
  kParams, kTrainT0, kTestT0, kTrainNone, kTestNone, kTrainHalf, kTestHalf, kTrainMean, kTestMean, kDiverged, kRankC0,
  kRankExact, kMetricCount
};

// Spearman's rank correlation of two per-parameter vectors (criteria/rank_correlation.hpp).
double rank_correlation(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  return spearman_correlation(std::vector<double>(a.begin(), a.end()), std::vector<double>(b.begin(), b.end()));
}

// The exact per-object gradient variance at w: Var_j = 1/N sum_i (g_ij - gbar_j)^2 over the
// training objects, g_i the gradient of object i's loss. What C_t estimates, without the noise
// of one (g_1 - g_S)^2 sample per step or the drift of w along the warm-up. Two passes, O(N) gradients.
Eigen::VectorXd per_object_gradient_variance(MlpObjective& f, const Eigen::VectorXd& w) {
  Eigen::VectorXd mean(f.parameters()), g(f.parameters()), sum = Eigen::VectorXd::Zero(f.parameters());
  f.gradient(w, mean);
  for (Eigen::Index i = 0; i < f.objects(); ++i) {
    f.evaluate_with_gradient(w, i, 1, g);
    sum.array() += (g - mean).array().square();
  }
  return sum / static_cast<double>(f.objects());
}

std::string fraction_text(double f) {
  std::ostringstream out;
  out << f;
  return out.str();
}

MlpOptions read_network(const ConfigTable& model, const DataOptions& data_options, const Dataset& data) {
  MlpOptions options;
  const std::string loss = model.get_choice("loss", is_classification_source(data_options.source) ? "cross-entropy" : "mse",
                                            {"mse", "cross-entropy"});
  options.loss = loss_from_string(loss);
  options.activation = activation_from_string(
      model.get_choice("activation", "tanh", {"tanh", "relu", "sigmoid", "softplus", "identity"}));
  options.bias = model.get_bool("bias", options.bias);
  options.init_gain = model.get_double("init_gain", options.init_gain, 0.0, 100.0);
  const std::vector<std::int64_t> hidden = model.get_int_list("hidden", {20}, 1, 100'000);
  options.layers.push_back(data.features());
  for (auto h : hidden) options.layers.push_back(h);
  if (options.loss == Loss::mse) {
    options.layers.push_back(1);
  } else {
    double top = -1.0;
    for (Eigen::Index i = 0; i < data.y.size(); ++i) {
      const double label = data.y(i);
      if (label < 0.0 || label != std::floor(label) || label > 1e6)
        model.fail("loss", "cross-entropy needs class indices 0, 1, ... as targets; the data have " + fraction_text(label));
      top = std::max(top, label);
    }
    if (top < 1.0) model.fail("loss", "cross-entropy needs at least two classes in the data");
    const auto classes = static_cast<Eigen::Index>(top) + 1;
    options.layers.push_back(classes == 2 ? 1 : classes);  // two classes: one logit (logistic)
  }
  return options;
}

}  // namespace

std::vector<double> ParamOrderingOptions::default_fractions() {
  std::vector<double> fractions;
  for (int k = 0; k <= 20; ++k) fractions.push_back(k / 20.0);
  return fractions;
}

ParamOrderingOptions read_param_ordering_options(const JobSpec& spec, const Dataset& data) {
  ParamOrderingOptions options;
  options.job = standard_options(spec);
  options.data = read_data_options(spec.data);
  options.network = read_network(spec.model, options.data, data);
  if (spec.folds != 1) spec.sweep.fail("folds", "param-ordering uses a held-out test part, not folds: expected 1, got " + std::to_string(spec.folds));
  const bool fixed_test = has_fixed_test(options.data);
  if (fixed_test ? options.data.test_objects == 0 : options.data.test_fraction <= 0.0)
    spec.data.fail(fixed_test ? "test_objects" : "test_fraction", "param-ordering needs a held-out test part (> 0)");

  const ConfigTable& sweep = spec.sweep;
  options.batch_size = spec.model.get_int("batch_size", options.batch_size, 1, 1'000'000);
  options.learning_rate = spec.model.get_double("learning_rate", options.learning_rate, 1e-12, 10.0);
  options.t0 = sweep.get_int("t0", options.t0, 0, 100'000'000);
  options.continue_iterations = sweep.get_int("continue_iterations", options.continue_iterations, 0, 100'000'000);
  options.store_masks = sweep.get_bool("store_masks", options.store_masks);
  options.fractions = sweep.get_double_list("fractions", options.fractions, 0.0, 1.0);
  if (options.fractions.empty()) sweep.fail("fractions", "expected at least one fraction");
  options.orders = sweep.get_string_list("orders", options.orders);
  if (options.orders.empty()) sweep.fail("orders", "expected at least one of \"variance\", \"exact-variance\", \"random\"");
  for (std::size_t i = 0; i < options.orders.size(); ++i) {
    const auto& o = options.orders[i];
    if (o != "variance" && o != "exact-variance" && o != "random")
      sweep.fail("orders", "expected \"variance\", \"exact-variance\" or \"random\", got \"" + o + "\"");
    if (std::find(options.orders.begin(), options.orders.begin() + static_cast<std::ptrdiff_t>(i), o) !=
        options.orders.begin() + static_cast<std::ptrdiff_t>(i))
      sweep.fail("orders", "\"" + o + "\" appears twice");
  }
  return options;
}

param_ordering::Seeds param_ordering::task_seeds(std::uint64_t job_seed, const TaskView& task) {
  const std::uint64_t run = task.run(), restart = task.restart();
  return {derive_seed(job_seed, kSplitStream, {{"run", run}}),
          derive_seed(job_seed, kInitStream, {{"run", run}, {"restart", restart}}),
          derive_seed(job_seed, kVarianceInitStream, {{"run", run}, {"restart", restart}}),
          derive_seed(job_seed, kWarmupStream, {{"run", run}, {"restart", restart}}),
          derive_seed(job_seed, kRandomOrderStream, {{"run", run}, {"restart", restart}}),
          derive_seed(job_seed, kContinueStream, {{"run", run}, {"restart", restart}})};
}

ParamOrderingExperiment::ParamOrderingExperiment(ParamOrderingOptions options, Dataset data, const ArrayPlacer& place)
    : options_(std::move(options)), data_(std::move(data)), fixed_test_(has_fixed_test(options_.data)), model_(options_.network) {
  auto nearest = [&](double target) {
    std::size_t best = 0;
    for (std::size_t k = 1; k < options_.fractions.size(); ++k)
      if (std::abs(options_.fractions[k] - target) < std::abs(options_.fractions[best] - target)) best = k;
    return best;
  };
  zero_index_ = nearest(0.0);
  half_index_ = nearest(0.5);
  grid_ = TaskGrid(standard_axes({"structure", {model_.label()}}, options_.job.folds, options_.job.restarts, options_.job.runs,
                                 {Axis{"order", options_.orders, "orders"}}));
  if (fixed_test_ && place) split_cache_.emplace(0, placed_split(place));
}

std::vector<MetricInfo> ParamOrderingExperiment::metrics() const {
  const std::string zero = fraction_text(options_.fractions[zero_index_]), half = fraction_text(options_.fractions[half_index_]);
  const std::string units = model_.options().loss == Loss::mse ? " (MSE, standardized target units)" : " (cross-entropy, nats per object)";
  return {
      {"n_params", "parameters of the network"},
      {"train_loss_t0", "training loss at t0, before freezing" + units},
      {"test_loss_t0", "test loss at t0, before freezing" + units},
      {"train_loss_frozen_0", "training loss after the continuation with fraction " + zero + " frozen" + units},
      {"test_loss_frozen_0", "test loss after the continuation with fraction " + zero + " frozen" + units},
      {"train_loss_frozen_50", "training loss after the continuation with fraction " + half + " frozen" + units},
      {"test_loss_frozen_50", "test loss after the continuation with fraction " + half + " frozen" + units},
      {"train_loss_mean", "training loss averaged over the fraction grid (area under the curve)" + units},
      {"test_loss_mean", "test loss averaged over the fraction grid (area under the curve)" + units},
      {"diverged_fractions", "fractions whose continuation stopped on a non-finite loss"},
      {"rank_correlation_c0", "Spearman rank correlation of C_t0 with the tracker's random start C_0 (k_1 = 1 forgets it)"},
      {"rank_correlation_exact", "Spearman rank correlation of C_t0 with the exact per-object gradient variance at w(t0)"},
  };
}

std::vector<ArrayInfo> ParamOrderingExperiment::arrays() const {
  const std::size_t F = options_.fractions.size(), P = static_cast<std::size_t>(model_.parameter_count());
  std::vector<ArrayInfo> out = {
      {"frozen_count", {F}, "parameters frozen at each fraction of the grid, round(fraction * n_params)"},
      {"train_loss", {F}, "training loss after the continuation, per fraction frozen"},
      {"test_loss", {F}, "test loss after the continuation, per fraction frozen"},
      {"variance", {P}, "diagonal of the gradient covariance C_t0 per parameter (flat layout of models/mlp)"},
      {"exact_variance", {P}, "exact per-object gradient variance over the training objects at w(t0), per parameter"},
  };
  if (options_.store_masks)
    out.push_back({"mask", {F, P}, "alpha per fraction and parameter: 1 trained, 0 frozen; its run mean is alpha-hat"});
  return out;
}

HoldoutSplit ParamOrderingExperiment::fixed_holdout() const {
  HoldoutSplit holdout;
  const Eigen::Index train = data_.objects() - options_.data.test_objects;
  for (Eigen::Index i = 0; i < data_.objects(); ++i) (i < train ? holdout.train : holdout.test).push_back(i);
  return holdout;
}

ParamOrderingExperiment::SplitParts ParamOrderingExperiment::split_parts(const HoldoutSplit& holdout) const {
  Eigen::MatrixXd train_X = take_rows(data_.X, holdout.train), test_X = take_rows(data_.X, holdout.test);
  Eigen::VectorXd train_y = take_entries(data_.y, holdout.train), test_y = take_entries(data_.y, holdout.test);
  if (options_.data.standardize) {
    // Training-part statistics only; for MSE the target too, so losses are in units of its spread.
    const Standardizer scaler = Standardizer::fit(train_X);
    train_X = scaler.apply(train_X);
    test_X = scaler.apply(test_X);
    if (model_.options().loss == Loss::mse) {
      const double mean = train_y.mean();
      const double spread = std::sqrt((train_y.array() - mean).square().mean());
      const double scale = spread > 0.0 ? spread : 1.0;
      train_y = (train_y.array() - mean) / scale;
      test_y = (test_y.array() - mean) / scale;
    }
  }
  return {std::move(train_X), std::move(test_X), std::move(train_y), std::move(test_y)};
}

ParamOrderingExperiment::Split ParamOrderingExperiment::placed_split(const ArrayPlacer& place) const {
  // One block in the objectives' layout (features x objects): training columns, training
  // targets, test columns, test targets, each part starting on an aligned value.
  const HoldoutSplit holdout = fixed_holdout();
  const auto n = static_cast<std::size_t>(data_.features());
  const auto train = static_cast<Eigen::Index>(holdout.train.size()), test = static_cast<Eigen::Index>(holdout.test.size());
  const std::size_t train_X_at = 0, train_y_at = padded_values(n * holdout.train.size()),
                    test_X_at = train_y_at + padded_values(holdout.train.size()),
                    test_y_at = test_X_at + padded_values(n * holdout.test.size()), count = test_y_at + holdout.test.size();
  const PlacedArray block = place(count, [&](std::span<double> out) {
    const SplitParts parts = split_parts(holdout);
    Eigen::Map<Eigen::MatrixXd>(out.data() + train_X_at, data_.features(), train) = parts.train_X.transpose();
    Eigen::Map<Eigen::VectorXd>(out.data() + train_y_at, train) = parts.train_y;
    Eigen::Map<Eigen::MatrixXd>(out.data() + test_X_at, data_.features(), test) = parts.test_X.transpose();
    Eigen::Map<Eigen::VectorXd>(out.data() + test_y_at, test) = parts.test_y;
  });
  const double* at = block.values.data();
  Split s;
  s.train = std::make_unique<MlpObjective>(MlpObjective::from_columns(
      model_, DataMatrix::view(at + train_X_at, data_.features(), train, block.keeper), DataVector::view(at + train_y_at, train, 1, block.keeper)));
  s.test = std::make_unique<MlpObjective>(MlpObjective::from_columns(
      model_, DataMatrix::view(at + test_X_at, data_.features(), test, block.keeper), DataVector::view(at + test_y_at, test, 1, block.keeper)));
  return s;
}

ParamOrderingExperiment::Split& ParamOrderingExperiment::split(const TaskView& task) const {
  const std::uint32_t key = fixed_test_ ? 0 : task.run();  // a fixed test part makes every run share one split
  if (auto it = split_cache_.find(key); it != split_cache_.end()) return it->second;
  HoldoutSplit holdout;
  if (fixed_test_) {
    holdout = fixed_holdout();
  } else {
    RandomStream rng(param_ordering::task_seeds(options_.job.seed, task).split);
    holdout = holdout_split(data_.objects(), options_.data.test_fraction, rng);
  }
  SplitParts parts = split_parts(holdout);
  Split s;
  s.train = std::make_unique<MlpObjective>(model_, parts.train_X, parts.train_y);
  s.test = std::make_unique<MlpObjective>(model_, parts.test_X, parts.test_y);
  return split_cache_.emplace(key, std::move(s)).first->second;
}

const ParamOrderingExperiment::WarmState& ParamOrderingExperiment::warm_state(const TaskView& task) const {
  // The order axis varies fastest, so consecutive tasks share (run, restart): one cached state
  // saves the warm-up of every order after the first. It is recomputed bit for bit otherwise.
  if (warm_cache_ && warm_cache_->run == task.run() && warm_cache_->restart == task.restart()) return *warm_cache_;
  Split& data = split(task);
  const param_ordering::Seeds seeds = param_ordering::task_seeds(options_.job.seed, task);
  WarmState state;
  state.run = task.run();
  state.restart = task.restart();
  RandomStream init(seeds.init);
  state.w = model_.initial_parameters(init);
  RandomStream c0(seeds.variance_init);
  GradientVarianceTracker tracker(model_.parameter_count(), c0);
  const Eigen::VectorXd start = tracker.variance();  // C_0
  AdamOptions adam_options;
  adam_options.max_iterations = options_.t0;
  adam_options.batch_size = options_.batch_size;
  adam_options.learning_rate = options_.learning_rate;
  adam_options.seed = seeds.warmup;
  adam_options.evaluate_final = true;
  const OptimSummary summary = adam(*data.train, state.w, adam_options, state.adam, track_gradient_variance(*data.train, tracker));
  if (!summary.usable()) throw std::runtime_error("warm-up Adam diverged: " + summary.message);
  state.variance = tracker.variance();
  state.exact_variance = per_object_gradient_variance(*data.train, state.w);
  state.rank_correlation_c0 = rank_correlation(state.variance, start);
  state.rank_correlation_exact = rank_correlation(state.variance, state.exact_variance);
  state.train_loss = summary.objective;
  state.test_loss = data.test->evaluate(state.w);
  warm_cache_ = std::move(state);
  return *warm_cache_;
}

TaskOutput ParamOrderingExperiment::run(const TaskView& task) const {
  const std::string& order_name = options_.orders[task.extra(param_ordering::kOrderAxis)];
  const param_ordering::Seeds seeds = param_ordering::task_seeds(options_.job.seed, task);
  Split& data = split(task);
  const WarmState& warm = warm_state(task);
  const Eigen::Index P = model_.parameter_count();

  std::vector<Eigen::Index> order;
  if (order_name == "variance") {
    order = ascending_order(warm.variance);
  } else if (order_name == "exact-variance") {
    order = ascending_order(warm.exact_variance);
  } else {
    RandomStream rng(seeds.random_order);
    order = random_order(P, rng);
  }

  const std::size_t F = options_.fractions.size();
  TaskOutput out;
  std::vector<double> frozen(F), train_loss(F), test_loss(F), mask;
  if (options_.store_masks) mask.reserve(F * static_cast<std::size_t>(P));
  double diverged = 0.0;
  AdamOptions adam_options;
  adam_options.max_iterations = options_.continue_iterations;
  adam_options.batch_size = options_.batch_size;
  adam_options.learning_rate = options_.learning_rate;
  // The same minibatches after t0 for every fraction and order: only the mask differs.
  const std::uint64_t continue_seed = seeds.continuation;
  for (std::size_t k = 0; k < F; ++k) {
    const Eigen::Index zeta = frozen_count(options_.fractions[k], P);
    adam_options.trainable = trainable_mask(order, zeta);
    adam_options.seed = continue_seed;
    Eigen::VectorXd w = warm.w;
    AdamState state = warm.adam;
    const OptimSummary summary = adam(*data.train, w, adam_options, state);
    if (!summary.usable()) diverged += 1.0;
    frozen[k] = static_cast<double>(zeta);
    train_loss[k] = summary.objective;
    test_loss[k] = data.test->evaluate(w);
    if (options_.store_masks)
      for (Eigen::Index j = 0; j < P; ++j) mask.push_back(adam_options.trainable(j) ? 1.0 : 0.0);
  }

  auto mean_of = [](const std::vector<double>& v) {
    double s = 0.0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  };
  out.metrics.resize(kMetricCount);
  out.metrics[kParams] = static_cast<double>(P);
  out.metrics[kTrainT0] = warm.train_loss;
  out.metrics[kTestT0] = warm.test_loss;
  out.metrics[kTrainNone] = train_loss[zero_index_];
  out.metrics[kTestNone] = test_loss[zero_index_];
  out.metrics[kTrainHalf] = train_loss[half_index_];
  out.metrics[kTestHalf] = test_loss[half_index_];
  out.metrics[kTrainMean] = mean_of(train_loss);
  out.metrics[kTestMean] = mean_of(test_loss);
  out.metrics[kDiverged] = diverged;
  out.metrics[kRankC0] = warm.rank_correlation_c0;
  out.metrics[kRankExact] = warm.rank_correlation_exact;
  out.arrays.push_back(std::move(frozen));
  out.arrays.push_back(std::move(train_loss));
  out.arrays.push_back(std::move(test_loss));
  out.arrays.emplace_back(warm.variance.data(), warm.variance.data() + P);
  out.arrays.emplace_back(warm.exact_variance.data(), warm.exact_variance.data() + P);
  if (options_.store_masks) out.arrays.push_back(std::move(mask));
  return out;
}

std::string ParamOrderingExperiment::report(const SummaryTable& summary) const {
  // Groups are (structure, restart, order) after averaging over runs: compare the orders.
  if (summary.groups() == 0) return {};
  const auto order_axis = grid_.axis_index("order"), restart_axis = grid_.axis_index("restart");
  std::size_t order_pos = 0, restart_pos = 0;
  for (std::size_t i = 0; i < summary.group_axes.size(); ++i) {
    if (summary.group_axes[i] == "order") order_pos = i;
    if (summary.group_axes[i] == "restart") restart_pos = i;
  }
  std::ostringstream out;
  out << std::setprecision(4);
  out << "network " << model_.label() << " (" << model_.parameter_count() << " parameters), t0 " << options_.t0
      << ", continuation " << options_.continue_iterations << " steps; mean over runs:\n";
  const auto t0 = summary.metric_index("test_loss_t0"), none = summary.metric_index("test_loss_frozen_0"),
             half = summary.metric_index("test_loss_frozen_50"), area = summary.metric_index("test_loss_mean");
  TextTable table({"order", "restart", "test loss t0", "none frozen", fraction_text(options_.fractions[half_index_]) + " frozen",
                   "sd", "grid mean", "runs"},
                  {TextTable::Align::left, TextTable::Align::left});
  for (std::size_t g = 0; g < summary.groups(); ++g) {
    table.add_row({grid_.axes()[order_axis].label(summary.coordinate(g, order_pos)),
                   grid_.axes()[restart_axis].label(summary.coordinate(g, restart_pos)),
                   format_number(summary.mean_of(g, t0)), format_number(summary.mean_of(g, none)), format_number(summary.mean_of(g, half)),
                   format_number(summary.stddev_of(g, half)), format_number(summary.mean_of(g, area)), std::to_string(summary.ok_count[g])});
  }
  out << table.str("  ");
  return out.str();
}

}  // namespace msweep
