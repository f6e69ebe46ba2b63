#include "msweep/experiments/subset_evidence.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numeric>
#include <sstream>

#include "msweep/core/error.hpp"
#include "msweep/criteria/information.hpp"
#include "msweep/criteria/rank_correlation.hpp"

namespace msweep {
namespace {

std::string subset_label(const std::vector<Eigen::Index>& columns, const std::vector<std::string>& names) {
  if (columns.empty()) return "(intercept only)";
  std::string label;
  for (auto j : columns) label += (label.empty() ? "" : "+") + names[static_cast<std::size_t>(j)];
  return label;
}

// Subsets of at most k of n features: sum over i <= k of C(n, i), saturating at `cap` + 1.
std::uint64_t count_subsets_up_to(int n, int k, std::uint64_t cap) {
  std::uint64_t total = 0, binomial = 1;  // C(n, 0)
  for (int i = 0; i <= k && i <= n; ++i) {
    total += binomial;
    if (total > cap) return cap + 1;
    binomial = binomial * static_cast<std::uint64_t>(n - i) / static_cast<std::uint64_t>(i + 1);  // C(n, i + 1), exact
  }
  return total;
}

// C(n, k), exact. Callers keep it below 2^64 / n (every binomial asked for here is at most a
// structure count, capped at kMaxStructures).
std::uint64_t binomial(std::uint64_t n, std::uint64_t k) {
  if (k > n) return 0;
  std::uint64_t result = 1;
  for (std::uint64_t i = 0; i < k; ++i) result = result * (n - i) / (i + 1);  // C(n, i + 1), exact
  return result;
}

SubsetStructures read_structures(const ConfigTable& sweep, const Dataset& data) {
  const auto n = static_cast<int>(data.features());
  if (!sweep.has("structures") || sweep.is_string("structures")) {
    const std::string mode = sweep.get_choice("structures", "all", {"all", "nested"});
    if (mode == "all" && sweep.has("max_features")) {
      const int k = static_cast<int>(sweep.get_int("max_features", 0, n));
      const std::uint64_t count = count_subsets_up_to(n, k, kMaxStructures);
      if (count > kMaxStructures)
        sweep.fail("max_features", "subsets of at most " + std::to_string(k) + " of " + std::to_string(n) + " features are more than " +
                                       std::to_string(kMaxStructures) + " (2^24) structures; lower max_features");
      return SubsetStructures::up_to(n, k);
    }
    if (sweep.has("max_features")) sweep.fail("max_features", "applies to structures = \"all\" only", {{sweep, "structures"}});
    if (mode == "all") {
      if (n > kMaxAllSubsetsFeatures)
        sweep.fail("structures", "\"all\" would make 2^" + std::to_string(n) + " subsets; at most " +
                                     std::to_string(kMaxAllSubsetsFeatures) +
                                     " features are allowed (set max_features = k for the subsets of at most k features, "
                                     "list the subsets, or use \"nested\")");
      return SubsetStructures::all(n);
    }
    // nested: the first k features, k = 0..n (polynomial degrees for the polynomial set)
    std::vector<std::vector<Eigen::Index>> structures;
    for (int k = 0; k <= n; ++k) {
      std::vector<Eigen::Index> columns(static_cast<std::size_t>(k));
      std::iota(columns.begin(), columns.end(), Eigen::Index{0});
      structures.push_back(std::move(columns));
    }
    return SubsetStructures::listed(std::move(structures));
  }
  if (sweep.has("max_features")) sweep.fail("max_features", "applies to structures = \"all\" only", {{sweep, "structures"}});
  std::vector<std::vector<Eigen::Index>> structures;
  for (const auto& names : sweep.get_string_list_list("structures")) {
    std::vector<Eigen::Index> columns;
    for (const auto& name : names) {
      auto it = std::find(data.feature_names.begin(), data.feature_names.end(), name);
      if (it == data.feature_names.end()) {
        std::string known;
        for (const auto& f : data.feature_names) known += (known.empty() ? "" : ", ") + f;
        sweep.fail("structures", "no feature named \"" + name + "\" (the data has " + known + ")");
      }
      const auto j = static_cast<Eigen::Index>(it - data.feature_names.begin());
      if (std::find(columns.begin(), columns.end(), j) != columns.end())
        sweep.fail("structures", "feature \"" + name + "\" appears twice in one subset");
      columns.push_back(j);
    }
    std::sort(columns.begin(), columns.end());
    structures.push_back(std::move(columns));
  }
  if (structures.empty()) sweep.fail("structures", "expected at least one subset");
  if (structures.size() > kMaxStructures) sweep.fail("structures", "expected at most 2^24 subsets");
  return SubsetStructures::listed(std::move(structures));
}

// Metric names in declaration order; indices below must follow it.
enum Metric : std::size_t {
  kFeatures, kParameters, kLogEvidence, kAlpha, kBeta, kGamma, kIterations, kConverged, kTrainMse, kAic, kBic,
  kCvMse, kCvQ, kCvL, kTestMse, kTestLogLik, kMetricCount
};

const MetricInfo kMetricInfo[kMetricCount] = {
    {"n_features", "features in the subset"},
    {"n_params", "weights plus intercept"},
    {"log_evidence", "ln p(y | alpha, beta) on the fit part, nats"},
    {"alpha", "prior precision of the weights"},
    {"beta", "noise precision"},
    {"gamma", "effective number of parameters"},
    {"iterations", "evidence fixed-point iterations"},
    {"converged", "1 if the fixed point converged (or alpha, beta fixed), else 0"},
    {"train_mse", "mean squared error on the fit part, squared target units"},
    {"aic", "Akaike information criterion of the least-squares fit (k = n_params + 1)"},
    {"bic", "Bayesian information criterion of the least-squares fit (k = n_params + 1)"},
    {"cv_mse", "mean squared error on the validation fold"},
    {"cv_q", "k ln p(y_q | X_q, w_q): its mean over folds is the score Q of section 2"},
    {"cv_l", "-(k/(k-1) ln p(y without q | w_q) + ln p(w_q | alpha)): its fold mean is L"},
    {"test_mse", "mean squared error on the held-out test part"},
    {"test_log_lik", "mean ln N(y | x^T m_N, 1/beta) per held-out test object, nats"},
};

}  // namespace

SubsetStructures SubsetStructures::listed(std::vector<std::vector<Eigen::Index>> subsets) {
  SubsetStructures out;
  out.kind_ = Kind::listed;
  out.size_ = subsets.size();
  out.listed_ = std::move(subsets);
  return out;
}

SubsetStructures SubsetStructures::all(int features) {
  require(features >= 0 && features <= kMaxAllSubsetsFeatures, "SubsetStructures::all", "features",
          "0.." + std::to_string(kMaxAllSubsetsFeatures));
  SubsetStructures out;
  out.kind_ = Kind::all;
  out.features_ = features;
  out.size_ = std::uint64_t{1} << features;
  return out;
}

SubsetStructures SubsetStructures::up_to(int features, int max_size) {
  require(features >= 0 && max_size >= 0 && max_size <= features, "SubsetStructures::up_to", "max_size", "0..features");
  require(count_subsets_up_to(features, max_size, kMaxStructures) <= kMaxStructures, "SubsetStructures::up_to", "max_size",
          "at most 2^24 subsets");
  SubsetStructures out;
  out.kind_ = Kind::up_to;
  out.features_ = features;
  for (int size = 0; size <= max_size; ++size) {
    out.first_of_size_.push_back(out.size_);
    out.size_ += binomial(static_cast<std::uint64_t>(features), static_cast<std::uint64_t>(size));
  }
  out.first_of_size_.push_back(out.size_);
  return out;
}

// O(features) for "all"; O(features x size) binomials for "at most k" (each O(size)): far
// below one fit's O(size^3).
std::vector<Eigen::Index> SubsetStructures::columns(std::uint64_t index) const {
  if (kind_ == Kind::listed) return listed_[index];
  std::vector<Eigen::Index> columns;
  if (kind_ == Kind::all) {
    for (int j = 0; j < features_; ++j)
      if (index >> j & 1U) columns.push_back(j);
    return columns;
  }
  // The subset's size s: the block of first_of_size_ holding the index. Within it, the rank r
  // in lexicographic order: the first column is the c with r below the C(n - c - 1, s - 1)
  // subsets starting at c (having skipped those starting earlier), and so on for each column.
  const auto block = std::upper_bound(first_of_size_.begin(), first_of_size_.end(), index) - first_of_size_.begin() - 1;
  const auto size = static_cast<std::uint64_t>(block);
  std::uint64_t rank = index - first_of_size_[static_cast<std::size_t>(block)];
  const auto n = static_cast<std::uint64_t>(features_);
  std::uint64_t column = 0;
  for (std::uint64_t j = 0; j < size; ++j, ++column) {
    for (;; ++column) {
      const std::uint64_t starting_here = binomial(n - column - 1, size - j - 1);
      if (rank < starting_here) break;
      rank -= starting_here;
    }
    columns.push_back(static_cast<Eigen::Index>(column));
  }
  return columns;
}

SubsetEvidenceOptions read_subset_evidence_options(const JobSpec& spec, const Dataset& data) {
  SubsetEvidenceOptions options;
  options.job = standard_options(spec);
  options.data = read_data_options(spec.data);
  if (spec.restarts != 1)
    spec.sweep.fail("restarts", "subset-evidence is deterministic given the split: expected 1, got " + std::to_string(spec.restarts));
  BayesLinearOptions& model = options.model;
  model.optimize_evidence = spec.model.get_choice("prior", "evidence", {"evidence", "fixed"}) == "evidence";
  model.alpha = spec.model.get_double("alpha", model.alpha, 1e-12, 1e12);
  model.beta = spec.model.get_double("beta", model.beta, 1e-12, 1e12);
  model.max_iterations = static_cast<int>(spec.model.get_int("max_iterations", model.max_iterations, 1, 1'000'000));
  model.tolerance = spec.model.get_double("tolerance", model.tolerance, 0.0, 1.0);
  options.structures = read_structures(spec.sweep, data);

  const auto folds = static_cast<int>(spec.folds);
  const auto train_objects = data.objects() - holdout_test_size(data.objects(), options.data.test_fraction);
  if (folds > 1 && train_objects < 2 * folds)
    spec.sweep.fail("folds", "expected at most " + std::to_string(train_objects / 2) + " folds for " +
                                 std::to_string(train_objects) + " training objects, got " + std::to_string(folds),
                    {{spec.data, "test_fraction"}, {spec.data, "source"}});
  if (train_objects < 3) spec.data.fail("test_fraction", "leaves fewer than 3 training objects", {{spec.data, "source"}});
  return options;
}

std::uint64_t subset_evidence::split_seed(std::uint64_t job_seed, const TaskView& task) {
  return derive_seed(job_seed, kSplitStream, {{"run", task.run()}});
}

SubsetEvidenceExperiment::SubsetEvidenceExperiment(SubsetEvidenceOptions options, Dataset data)
    : options_(std::move(options)), data_(std::move(data)) {
  // Labels are made when asked for (the results file, a report): no rank holds 2^20 of them.
  auto label_of = [structures = options_.structures, names = data_.feature_names](std::uint64_t i) {
    return subset_label(structures.columns(i), names);
  };
  grid_ = TaskGrid(standard_axes(Axis::generated("structure", options_.structures.size(), std::move(label_of), "structures"),
                                 options_.job.folds, options_.job.restarts, options_.job.runs));
}

std::string SubsetEvidenceExperiment::describe_data() const {
  const Eigen::Index objects = data_.objects(), test = holdout_test_size(objects, options_.data.test_fraction);
  const Eigen::Index train = objects - test, folds = options_.job.folds;
  std::ostringstream out;
  out << "data: " << data_.description << ": " << objects << " objects x " << data_.features() << " features, target "
      << data_.target_name << (options_.data.standardize ? " (features standardized on each fit part)" : "") << "\n";
  out << "split, redrawn per run: test " << test << ", train " << train;
  if (folds > 1) {
    // Balanced folds: validation parts of floor or ceil(train / folds) objects, the rest fits.
    const Eigen::Index small = train / folds, large = small + (train % folds ? 1 : 0);
    out << "; " << folds << " folds: validation " << small << (large != small ? "-" + std::to_string(large) : "") << ", fit "
        << train - large << (large != small ? "-" + std::to_string(train - small) : "");
  } else {
    out << " (every structure fits the whole train part)";
  }
  out << "\n";
  return out.str();
}

bool SubsetEvidenceExperiment::declared(std::size_t metric) const {
  if (!has_folds() && (metric == kCvMse || metric == kCvQ || metric == kCvL)) return false;
  if (!has_test() && (metric == kTestMse || metric == kTestLogLik)) return false;
  return true;
}

std::vector<MetricInfo> SubsetEvidenceExperiment::metrics() const {
  std::vector<MetricInfo> out;
  for (std::size_t i = 0; i < kMetricCount; ++i)
    if (declared(i)) out.push_back(kMetricInfo[i]);
  return out;
}

const SubsetEvidenceExperiment::SplitStats& SubsetEvidenceExperiment::split_stats(const TaskView& task) const {
  const auto key = std::make_pair(task.run(), task.fold());
  if (auto it = split_cache_.find(key); it != split_cache_.end()) return it->second;

  // The split depends on the run only, so every structure (and fold) of a run sees the same
  // held-out part and the same fold assignment: comparisons between structures are paired.
  RandomStream rng(subset_evidence::split_seed(options_.job.seed, task));
  const HoldoutSplit holdout = holdout_split(data_.objects(), options_.data.test_fraction, rng);
  Indices fit_rows = holdout.train, validation_rows;
  if (has_folds()) {
    const auto assignment = fold_assignment(static_cast<Eigen::Index>(holdout.train.size()), static_cast<int>(options_.job.folds), rng);
    fit_rows.clear();
    for (std::size_t i = 0; i < assignment.size(); ++i)
      (assignment[i] == static_cast<int>(task.fold()) ? validation_rows : fit_rows).push_back(holdout.train[i]);
  }

  // Centre (and scale) with fit-part statistics only: no information leaks from validation or test.
  const Eigen::MatrixXd fit_X = take_rows(data_.X, fit_rows);
  const Eigen::VectorXd fit_y = take_entries(data_.y, fit_rows);
  Standardizer scaler = Standardizer::fit(fit_X);
  if (!options_.data.standardize) scaler.scale.setOnes();
  const double y_mean = fit_y.mean();
  auto stats_of = [&](const Indices& rows) {
    const Eigen::MatrixXd X = scaler.apply(take_rows(data_.X, rows));
    const Eigen::VectorXd y = take_entries(data_.y, rows).array() - y_mean;
    return GramStats::from(X, y);
  };
  SplitStats stats;
  stats.fit = stats_of(fit_rows);
  if (!validation_rows.empty()) stats.validation = stats_of(validation_rows);
  if (!holdout.test.empty()) stats.test = stats_of(holdout.test);
  return split_cache_.emplace(key, std::move(stats)).first->second;
}

TaskOutput SubsetEvidenceExperiment::run(const TaskView& task) const {
  const std::vector<Eigen::Index> columns = options_.structures.columns(task.structure());
  const SplitStats& stats = split_stats(task);
  const GramStats fit_part = stats.fit.subset(columns);
  const GramSpectrum spectrum = GramSpectrum::of(fit_part);
  const BayesLinearFit fit = fit_bayes_linear(fit_part, spectrum, options_.model);
  const LeastSquaresFit least_squares = fit_least_squares(fit_part, spectrum);

  const double m = static_cast<double>(fit_part.objects);
  const double k = static_cast<double>(columns.size()) + 1.0;  // weights + intercept
  double values[kMetricCount];
  values[kFeatures] = static_cast<double>(columns.size());
  values[kParameters] = k;
  values[kLogEvidence] = fit.log_evidence;
  values[kAlpha] = fit.alpha;
  values[kBeta] = fit.beta;
  values[kGamma] = fit.gamma;
  values[kIterations] = static_cast<double>(fit.iterations);
  values[kConverged] = fit.termination == Termination::budget_spent ? 0.0 : 1.0;
  values[kTrainMse] = fit.rss / m;
  values[kAic] = akaike_information(least_squares.max_log_likelihood, k + 1.0);
  values[kBic] = bayesian_information(least_squares.max_log_likelihood, k + 1.0, m);
  if (has_folds()) {
    const GramStats validation = stats.validation.subset(columns);
    const double kf = static_cast<double>(options_.job.folds);
    values[kCvMse] = validation.residual_sum_of_squares(fit.mean) / static_cast<double>(validation.objects);
    values[kCvQ] = kf * gaussian_log_likelihood(validation, fit.mean, fit.beta);
    values[kCvL] = -(kf / (kf - 1.0) * gaussian_log_likelihood(fit_part, fit.mean, fit.beta) + fit.log_prior);
  }
  if (has_test()) {
    const GramStats test = stats.test.subset(columns);
    values[kTestMse] = test.residual_sum_of_squares(fit.mean) / static_cast<double>(test.objects);
    values[kTestLogLik] = gaussian_log_likelihood(test, fit.mean, fit.beta) / static_cast<double>(test.objects);
  }
  TaskOutput out;
  for (std::size_t i = 0; i < kMetricCount; ++i)
    if (declared(i)) out.metrics.push_back(values[i]);
  return out;
}

std::string SubsetEvidenceExperiment::report(const SummaryTable& summary) const {
  // Groups are structures (restart has one value); rank them by each selection criterion
  // (means over runs of the fold means). Test error is the outcome a criterion is judged by,
  // the test MSE of the structure it chose, never a criterion of its own.
  if (summary.groups() == 0) return {};
  struct Criterion {
    std::string metric, title;
    bool higher_is_better;
  };
  std::vector<Criterion> criteria = {{"log_evidence", "log evidence", true}};
  if (has_folds()) criteria.push_back({"cv_mse", "cross-validation MSE", false});
  criteria.push_back({"bic", "BIC", false});
  criteria.push_back({"aic", "AIC", false});

  const std::size_t groups = summary.groups();
  auto scores = [&](const Criterion& c) {
    std::vector<double> s(groups);
    const std::size_t metric = summary.metric_index(c.metric);
    for (std::size_t g = 0; g < groups; ++g) {
      const double v = summary.run_mean_of(g, metric);
      s[g] = c.higher_is_better ? v : -v;  // larger = better
    }
    return s;
  };
  auto label = [&](std::size_t g) { return grid_.axes()[0].label(summary.coordinate(g, 0)); };

  std::ostringstream out;
  out << std::setprecision(5);
  for (const auto& c : criteria) {
    const auto s = scores(c);
    std::vector<std::size_t> order(groups);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) {
      const bool a_ok = std::isfinite(s[a]), b_ok = std::isfinite(s[b]);
      return a_ok != b_ok ? a_ok : s[a] > s[b];
    });
    out << "best by " << c.title << ":";
    for (std::size_t i = 0; i < std::min<std::size_t>(3, groups); ++i)
      out << (i ? "; " : " ") << label(order[i]) << " (" << summary.run_mean_of(order[i], summary.metric_index(c.metric)) << ")";
    out << "\n";
    if (has_test()) {
      const std::size_t test = summary.metric_index("test_mse");
      out << "  outcome: test MSE of its choice " << summary.run_mean_of(order[0], test) << " +- "
          << summary.run_sem_of(order[0], test) << " (sem over " << summary.run_count[order[0]] << " runs)\n";
    }
  }
  if (groups >= 3 && criteria.size() > 1) {
    out << "agreement (Spearman rank correlation across " << groups << " structures):";
    const auto reference = scores(criteria[0]);
    for (std::size_t i = 1; i < criteria.size(); ++i)
      out << (i > 1 ? "," : "") << " evidence~" << criteria[i].metric << " " << std::setprecision(3)
          << spearman_correlation(reference, scores(criteria[i]));
    out << "\n";
  }
  return out.str();
}

}  // namespace msweep
