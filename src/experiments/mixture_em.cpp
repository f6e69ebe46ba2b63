// Experiment "mixture-em": reads its keys, generates (or reads) the point images, fits one
// LinearMixture per task and scores the experts against the true curves.
#include "msweep/experiments/mixture_em.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "msweep/core/error.hpp"
#include "msweep/criteria/s_score.hpp"

namespace msweep {
namespace {

enum Metric : std::size_t {
  kScore, kBound, kLogLik, kIterations, kConverged, kNoiseSd, kExperts, kDistinct, kMaxSimilarity, kUnmatched, kPoints,
  kMetricCount
};

const MetricInfo kMetricInfo[kMetricCount] = {
    {"score", "S = sum over matched pairs of squared parameter errors (circles: dx0^2 + dy0^2 + dr^2); optimal matching"},
    {"final_bound", "variational lower bound at the last iteration (+ ln p(W0) with the regularizer), nats"},
    {"final_log_likelihood", "plug-in mixture log-likelihood of the points at the last iteration, nats"},
    {"iterations", "EM iterations run"},
    {"converged", "1 if the bound converged within the tolerance, else 0 (budget spent)"},
    {"noise_sd", "fitted noise standard deviation 1/sqrt(b), target units"},
    {"experts", "number of experts K"},
    {"distinct_experts", "experts left after merging pairs with s-score above similarity_threshold"},
    {"max_similarity", "largest s-score between two different experts (0 when K = 1)"},
    {"unmatched_truth", "true curves left without an expert (K smaller than their number); each adds its squared norm to S"},
    {"n_points", "points fitted: the leading rows of the points array that are data (the rest are zero)"},
};

// Labels in the points array. Generated images know which curve drew each point (0, 1, ...) or
// that it is background (-1, as in PointImage); an image read from a file does not, and NaN would
// fail the task (arrays must be finite), so its points get their own finite label.
constexpr double kUnknownLabel = -2.0;

// w0 = [0, 0, 0.1] and [0, 0, 2] for the first two circle experts (science.md), zero otherwise.
std::vector<double> default_prior_means(bool circles, int experts) {
  std::vector<double> means(static_cast<std::size_t>(experts * (circles ? 3 : 5)), 0.0);
  if (circles) {
    means[2] = 0.1;
    if (experts > 1) means[5] = 2.0;
  }
  return means;
}

// The parameters scored against the truth: (x0, y0, r) for circles, the weights for conics.
Eigen::VectorXd scored_parameters(const Eigen::VectorXd& w, bool circles) {
  if (!circles) return w;
  const Circle c = circle_from_weights(w);
  return Eigen::Vector3d(c.x0, c.y0, c.r);
}

struct Matching {
  double score = std::numeric_limits<double>::infinity();
  std::vector<int> expert_of_truth;  // -1: unmatched
  int unmatched = 0;
};

// Minimum over injective assignments of sum ||fitted_k - truth_t||^2; a truth left without an
// expert (K < T) costs its squared norm. All permutations of max(K, T) slots: at most 8! = 40320.
Matching match_experts(const std::vector<Eigen::VectorXd>& fitted, const std::vector<Eigen::VectorXd>& truth) {
  const int K = static_cast<int>(fitted.size()), T = static_cast<int>(truth.size());
  const int slots = std::max(K, T);
  std::vector<int> perm(static_cast<std::size_t>(slots));
  std::iota(perm.begin(), perm.end(), 0);
  Matching best;
  do {
    double score = 0.0;
    int unmatched = 0;
    for (int t = 0; t < T; ++t) {
      const int k = perm[static_cast<std::size_t>(t)];
      if (k < K) {
        score += (fitted[static_cast<std::size_t>(k)] - truth[static_cast<std::size_t>(t)]).squaredNorm();
      } else {
        score += truth[static_cast<std::size_t>(t)].squaredNorm();
        ++unmatched;
      }
    }
    if (score < best.score) {
      best.score = score;
      best.unmatched = unmatched;
      best.expert_of_truth.assign(perm.begin(), perm.begin() + T);
      for (auto& k : best.expert_of_truth)
        if (k >= K) k = -1;
    }
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

}  // namespace

const char* to_string(MixtureMethod method) {
  switch (method) {
    case MixtureMethod::no_prior: return "no-prior";
    case MixtureMethod::prior: return "prior";
    case MixtureMethod::prior_regularizer: return "prior-regularizer";
  }
  return "unknown";
}

MixtureEmExperiment::MixtureEmExperiment(const JobSpec& spec) : seed_(spec.seed) {
  if (spec.folds != 1)
    spec.sweep.fail("folds", "mixture-em fits all points, it has no folds: expected 1, got " + std::to_string(spec.folds));

  // [data]
  const ConfigTable& data = spec.data;
  const std::string source = data.get_choice("source", "circles", {"circles", "conics", "image"});
  source_ = source == "circles" ? Source::circles : source == "conics" ? Source::conics : Source::image;
  if (source_ == Source::image) {
    family_circles_ = data.get_choice("family", "circles", {"circles", "conics"}) == "circles";
    std::filesystem::path path = data.get_string("path");
    if (path.is_relative()) path = std::filesystem::path(spec.path).parent_path() / path;
    const double scale = data.get_double("scale", 0.0, 0.0, 1e9);
    file_image_ = read_image_points(path.string(), scale);
  } else {
    family_circles_ = source_ == Source::circles;
    const auto points = static_cast<int>(data.get_int("points_per_curve", 100, 1, 1'000'000));
    const double jitter = data.get_double("jitter", 0.1, 0.0, 1e6);
    const double near_noise = data.get_double("radius_noise", 0.1, 0.0, 1e6);
    const auto uniform_points = static_cast<int>(data.get_int("uniform_points", 200, 0, 1'000'000));
    const double half_width = data.get_double("half_width", 2.0, 1e-9, 1e6);
    circle_options_.points_per_circle = conic_options_.points_per_curve = points;
    circle_options_.jitter = conic_options_.jitter = jitter;
    circle_options_.radius_noise = conic_options_.curve_noise = near_noise;
    circle_options_.uniform_points = conic_options_.uniform_points = uniform_points;
    circle_options_.half_width = conic_options_.half_width = half_width;
    if (!family_circles_) conic_options_.y_half_range = data.get_double("y_half_range", 2.0, 1e-9, 1e6);
  }
  // The true curves (also for an image, where they are what S is measured against).
  if (family_circles_) {
    if (data.has("circles")) {
      const auto values = data.get_double_list("circles", -1e6, 1e6);
      if (values.empty() || values.size() % 3 != 0)
        data.fail("circles", "expected [x0, y0, r] triples, got " + std::to_string(values.size()) + " numbers");
      circle_options_.circles.clear();
      for (std::size_t i = 0; i < values.size(); i += 3) {
        if (!(values[i + 2] > 0)) data.fail("circles", "expected positive radii");
        circle_options_.circles.push_back({values[i], values[i + 1], values[i + 2]});
      }
    }
    if (circle_options_.circles.size() > kMaxMixtureExperts)
      data.fail("circles", "expected at most " + std::to_string(kMaxMixtureExperts) + " circles");
  } else {
    if (data.has("conics")) {
      const auto values = data.get_double_list("conics", -1e6, 1e6);
      if (values.empty() || values.size() % 5 != 0)
        data.fail("conics", "expected [a, b, c, d, e] per curve (x^2 = a xy + b y^2 + c x + d y + e), got " +
                                std::to_string(values.size()) + " numbers");
      conic_options_.curves = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, 5, Eigen::RowMajor>>(
          values.data(), static_cast<Eigen::Index>(values.size() / 5), 5);
    }
    if (conic_options_.curves.rows() > kMaxMixtureExperts)
      data.fail("conics", "expected at most " + std::to_string(kMaxMixtureExperts) + " curves");
  }
  parameters_ = family_circles_ ? 3 : 5;

  // [sweep]
  const ConfigTable& sweep = spec.sweep;
  if (sweep.has("experts")) {
    for (auto k : sweep.get_int_list("experts", 1, kMaxMixtureExperts)) experts_.push_back(static_cast<int>(k));
    if (experts_.empty()) sweep.fail("experts", "expected at least one expert count");
  } else {
    experts_ = {2};
  }
  max_experts_ = *std::max_element(experts_.begin(), experts_.end());
  const std::vector<std::string> method_names = {"no-prior", "prior", "prior-regularizer"};
  for (const auto& name : sweep.has("methods") ? sweep.get_string_list("methods") : method_names) {
    auto it = std::find(method_names.begin(), method_names.end(), name);
    if (it == method_names.end())
      sweep.fail("methods", "unknown method \"" + name + "\" (expected \"no-prior\", \"prior\" or \"prior-regularizer\")");
    const auto method = static_cast<MixtureMethod>(it - method_names.begin());
    if (std::find(methods_.begin(), methods_.end(), method) != methods_.end()) sweep.fail("methods", "method \"" + name + "\" listed twice");
    methods_.push_back(method);
  }
  if (methods_.empty()) sweep.fail("methods", "expected at least one method");
  const std::vector<std::string> default_noise =
      source_ == Source::image ? std::vector<std::string>{"none"} : std::vector<std::string>{"none", "noisy-radius", "uniform"};
  for (const auto& name : sweep.has("noise") ? sweep.get_string_list("noise") : default_noise) {
    const auto noise = image_noise_from_string(name);
    if (!noise) sweep.fail("noise", "unknown noise variant \"" + name + "\" (expected \"none\", \"noisy-radius\" or \"uniform\")");
    if (source_ == Source::image && *noise != ImageNoise::none)
      sweep.fail("noise", "an image from a file is used as it is: expected [\"none\"], got \"" + name + "\"");
    if (std::find(noises_.begin(), noises_.end(), *noise) != noises_.end()) sweep.fail("noise", "noise \"" + name + "\" listed twice");
    noises_.push_back(*noise);
  }
  if (noises_.empty()) sweep.fail("noise", "expected at least one noise variant");
  // Array shapes are fixed before the run, so the points array has as many rows as the largest
  // image of the job: every curve's points plus the background when "uniform" is swept.
  if (source_ == Source::image) {
    max_points_ = static_cast<std::size_t>(file_image_.points.rows());
  } else {
    const auto curves = family_circles_ ? circle_options_.circles.size() : static_cast<std::size_t>(conic_options_.curves.rows());
    const int per_curve = family_circles_ ? circle_options_.points_per_circle : conic_options_.points_per_curve;
    const int background = family_circles_ ? circle_options_.uniform_points : conic_options_.uniform_points;
    const bool uniform = std::find(noises_.begin(), noises_.end(), ImageNoise::uniform) != noises_.end();
    max_points_ = curves * static_cast<std::size_t>(per_curve) + (uniform ? static_cast<std::size_t>(background) : 0);
  }

  // [model]
  const ConfigTable& model = spec.model;
  const auto d = static_cast<Eigen::Index>(parameters_);
  base_.gate = model.get_choice("gate", "dirichlet", {"dirichlet", "softmax"}) == "softmax" ? GateKind::softmax : GateKind::dirichlet;
  const auto means = model.has("prior_means") ? model.get_double_list("prior_means", -1e9, 1e9) : default_prior_means(family_circles_, max_experts_);
  if (means.size() % static_cast<std::size_t>(d) != 0 || means.size() < static_cast<std::size_t>(max_experts_ * d))
    model.fail("prior_means", "expected w0_k rows of " + std::to_string(d) + " numbers for each of the " + std::to_string(max_experts_) +
                                  " experts, got " + std::to_string(means.size()) + " numbers");
  prior_means_ = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
                     means.data(), static_cast<Eigen::Index>(means.size()) / d, d)
                     .topRows(max_experts_);
  auto diagonal = [&](const char* key, std::vector<double> fallback) {
    const auto values = model.has(key) ? model.get_double_list(key, 1e-300, 1e300) : fallback;
    if (values.size() != static_cast<std::size_t>(d))
      model.fail(key, "expected the " + std::to_string(d) + " diagonal entries, got " + std::to_string(values.size()) + " numbers");
    return Eigen::MatrixXd(Eigen::Map<const Eigen::VectorXd>(values.data(), d).asDiagonal());
  };
  base_.prior_covariance = diagonal("prior_covariance", std::vector<double>(static_cast<std::size_t>(d), 1.0));
  regularizer_ = diagonal("regularizer", family_circles_ ? std::vector<double>{0.01, 0.01, 1.0} : std::vector<double>(5, 1.0));
  base_.learn_prior_covariance = model.get_bool("learn_prior_covariance", true);
  base_.learn_noise_precision = model.get_bool("learn_noise_precision", true);
  base_.noise_precision = model.get_double("noise_precision", 1.0, 1e-12, 1e12);
  base_.dirichlet_concentration = model.get_double("dirichlet_concentration", 1.0, 1e-6, 1e6);
  base_.gate_hidden = static_cast<int>(model.get_int("gate_hidden", 8, 1, 1024));
  base_.gate_steps = static_cast<int>(model.get_int("gate_steps", 20, 0, 100000));
  base_.gate_learning_rate = model.get_double("gate_learning_rate", 0.05, 1e-9, 10.0);
  base_.initial_scale = model.get_double("initial_scale", 1.0, 0.0, 1e6);
  base_.max_iterations = static_cast<int>(model.get_int("max_iterations", 50, 1, 100000));
  base_.tolerance = model.get_double("tolerance", 1e-8, 0.0, 1.0);
  similarity_threshold_ = model.get_double("similarity_threshold", 0.9, 0.0, 1.0);

  // [output]: the points are 9.6 KB per task for the protocol's images (400 rows); a job with many tasks or
  // large images can leave them out (n_points is still a metric).
  store_points_ = spec.output.get_bool("store_points", true);

  std::vector<std::string> structure_labels, method_labels, noise_labels;
  for (int k : experts_) structure_labels.push_back("K=" + std::to_string(k));
  for (auto m : methods_) method_labels.push_back(to_string(m));
  for (auto n : noises_) noise_labels.push_back(to_string(n));
  grid_ = TaskGrid(standard_axes(std::move(structure_labels), spec.folds, spec.restarts, spec.runs,
                                 {{"method", std::move(method_labels)}, {"noise", std::move(noise_labels)}}));
}

std::vector<MetricInfo> MixtureEmExperiment::metrics() const { return {std::begin(kMetricInfo), std::end(kMetricInfo)}; }

std::vector<ArrayInfo> MixtureEmExperiment::arrays() const {
  const auto K = static_cast<std::size_t>(max_experts_);
  std::vector<ArrayInfo> arrays = {
      {"experts", {K, static_cast<std::size_t>(parameters_)},
       family_circles_ ? "fitted circles [x0, y0, r]; row t is the expert matched to true circle t, then the unmatched; zero rows beyond K"
                       : "fitted conic coefficients [a, b, c, d, e]; row t is the expert matched to true curve t, then the unmatched; zero rows beyond K"},
      {"mixing_weights", {K}, "mixing weight of each expert (rows as in experts): E pi_k, or the mean gate over the points"},
      {"similarity", {K, K}, "pairwise s-scores of the experts' posteriors (rows as in experts); zero beyond K"},
      {"bound_trace", {static_cast<std::size_t>(base_.max_iterations)}, "lower bound per EM iteration, padded with the last value"},
  };
  if (store_points_)
    arrays.push_back({"points", {max_points_, 3},
                      "the fitted points [x, y, label]; label: index of the true curve that drew the point, -1 background "
                      "(uniform noise), -2 unknown (image file); rows beyond the metric n_points are zero"});
  return arrays;
}

const PointImage& MixtureEmExperiment::image(std::uint32_t run, std::uint32_t noise) const {
  if (source_ == Source::image) return file_image_;
  const auto key = std::make_pair(run, noise);
  if (auto it = image_cache_.find(key); it != image_cache_.end()) return it->second;
  // Seeded by the noise variant's value rather than its position in the job's list, so reordering
  // the list never changes the data.
  const ImageNoise variant = noises_[noise];
  RandomStream rng(derive_seed(seed_, "data", {{"run", run}, {"noise", static_cast<std::uint64_t>(variant)}}));
  PointImage img;
  if (family_circles_) {
    CircleImageOptions options = circle_options_;
    options.noise = variant;
    img = make_circle_image(options, rng);
  } else {
    ConicImageOptions options = conic_options_;
    options.noise = variant;
    img = make_conic_image(options, rng);
  }
  return image_cache_.emplace(key, std::move(img)).first->second;
}

TaskOutput MixtureEmExperiment::run(std::span<const std::uint32_t> coordinates) const {
  const int K = experts_[coordinates[0]];
  const std::uint32_t restart = coordinates[2], run_index = coordinates[3];
  const MixtureMethod method = methods_[coordinates[4]];
  const PointImage& img = image(run_index, coordinates[5]);
  const Dataset data = family_circles_ ? circle_regression(img.points) : conic_regression(img.points);

  MixtureOptions options = base_;
  options.experts = K;
  switch (method) {
    case MixtureMethod::no_prior:  // w0 = 0, re-estimated with A: no knowledge of the curves
      options.prior_means = Eigen::MatrixXd::Zero(K, parameters_);
      options.learn_prior_means = true;
      break;
    case MixtureMethod::prior:  // the given w0 stay fixed
      options.prior_means = prior_means_.topRows(K);
      options.learn_prior_means = false;
      break;
    case MixtureMethod::prior_regularizer:  // the given w0 start, re-estimated and tied by Xi
      options.prior_means = prior_means_.topRows(K);
      options.learn_prior_means = true;
      options.regularizer = regularizer_;
      break;
  }
  // The initial draws depend on run and restart only: methods and K values start from paired points.
  RandomStream rng(derive_seed(seed_, "init", {{"run", run_index}, {"restart", restart}}));
  LinearMixture mixture(options);
  const MixtureSummary summary = mixture.fit(data.X, data.y, rng);
  if (!summary.usable()) throw std::runtime_error("mixture-em: " + summary.message);

  std::vector<Eigen::VectorXd> fitted, truth;
  for (const auto& m : mixture.means()) fitted.push_back(scored_parameters(m, family_circles_));
  if (family_circles_)
    for (const auto& c : img.circles.empty() ? circle_options_.circles : img.circles) truth.push_back(Eigen::Vector3d(c.x0, c.y0, c.r));
  else {
    const Eigen::MatrixXd& conics = img.conics.size() ? img.conics : conic_options_.curves;
    for (Eigen::Index t = 0; t < conics.rows(); ++t) truth.push_back(conics.row(t).transpose());
  }
  const Matching matching = match_experts(fitted, truth);

  // Row order for the arrays: matched experts in truth order, then the rest by index.
  std::vector<int> order;
  for (int k : matching.expert_of_truth)
    if (k >= 0) order.push_back(k);
  for (int k = 0; k < K; ++k)
    if (std::find(order.begin(), order.end(), k) == order.end()) order.push_back(k);

  const auto posteriors = expert_posteriors(mixture);
  const Eigen::MatrixXd similarity = similarity_matrix(posteriors);
  double max_similarity = 0.0;
  for (int k = 0; k < K; ++k)
    for (int l = k + 1; l < K; ++l) max_similarity = std::max(max_similarity, similarity(k, l));
  const auto reduced = reduce_similar_experts(posteriors, similarity_threshold_, SimilarAction::merge);

  TaskOutput out;
  out.metrics.resize(kMetricCount);
  out.metrics[kScore] = matching.score;
  out.metrics[kBound] = summary.final_bound;
  out.metrics[kLogLik] = summary.final_log_likelihood;
  out.metrics[kIterations] = static_cast<double>(summary.iterations);
  out.metrics[kConverged] = summary.termination == Termination::converged ? 1.0 : 0.0;
  out.metrics[kNoiseSd] = 1.0 / std::sqrt(mixture.noise_precision());
  out.metrics[kExperts] = K;
  out.metrics[kDistinct] = static_cast<double>(reduced.experts.size());
  out.metrics[kMaxSimilarity] = max_similarity;
  out.metrics[kUnmatched] = matching.unmatched;
  out.metrics[kPoints] = static_cast<double>(img.points.rows());

  const auto Kmax = static_cast<std::size_t>(max_experts_), p = static_cast<std::size_t>(parameters_);
  std::vector<double> experts(Kmax * p, 0.0), weights(Kmax, 0.0), sim(Kmax * Kmax, 0.0);
  for (std::size_t row = 0; row < order.size(); ++row) {
    const auto k = static_cast<std::size_t>(order[row]);
    for (std::size_t j = 0; j < p; ++j) experts[row * p + j] = fitted[k](static_cast<Eigen::Index>(j));
    weights[row] = mixture.mixing_weights()(static_cast<Eigen::Index>(k));
    for (std::size_t col = 0; col < order.size(); ++col) sim[row * Kmax + col] = similarity(order[row], order[col]);
  }
  std::vector<double> trace(static_cast<std::size_t>(base_.max_iterations), summary.bound_trace.back());
  std::copy(summary.bound_trace.begin(), summary.bound_trace.end(), trace.begin());
  out.arrays = {std::move(experts), std::move(weights), std::move(sim), std::move(trace)};
  if (store_points_) {
    const auto n = static_cast<std::size_t>(img.points.rows());
    if (n > max_points_)  // max_points_ counts what the generators draw; a mismatch is a bug here
      throw std::logic_error("mixture-em: image of " + std::to_string(n) + " points, declared " + std::to_string(max_points_));
    const bool known = img.labels.size() == n && source_ != Source::image;
    std::vector<double> points(max_points_ * 3, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      points[3 * i] = img.points(static_cast<Eigen::Index>(i), 0);
      points[3 * i + 1] = img.points(static_cast<Eigen::Index>(i), 1);
      points[3 * i + 2] = known ? static_cast<double>(img.labels[i]) : kUnknownLabel;
    }
    out.arrays.push_back(std::move(points));
  }
  return out;
}

std::string MixtureEmExperiment::report(const SummaryTable& summary) const {
  // Mean S per (K, method, noise), averaged over runs and then over restarts.
  if (summary.groups() == 0) return {};
  const std::size_t score = summary.metric_index("score");
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>, std::pair<double, int>> cells;
  for (std::size_t g = 0; g < summary.groups(); ++g) {
    std::uint32_t k = 0, m = 0, n = 0;
    for (std::size_t a = 0; a < summary.group_axes.size(); ++a) {
      const auto value = summary.group_coordinates[g][a];
      if (summary.group_axes[a] == "structure") k = value;
      if (summary.group_axes[a] == "method") m = value;
      if (summary.group_axes[a] == "noise") n = value;
    }
    const double v = summary.mean_of(g, score);
    if (!std::isfinite(v)) continue;
    auto& cell = cells[{k, m, n}];
    cell.first += v;
    cell.second += 1;
  }
  std::ostringstream out;
  out << "mean S (lower is better) by method and noise, averaged over runs and restarts:\n";
  out << std::setw(22) << std::left << "K / method";
  for (auto n : noises_) out << std::setw(14) << std::right << to_string(n);
  out << "\n";
  for (std::uint32_t k = 0; k < experts_.size(); ++k)
    for (std::uint32_t m = 0; m < methods_.size(); ++m) {
      out << std::setw(22) << std::left << ("K=" + std::to_string(experts_[k]) + " " + to_string(methods_[m]));
      for (std::uint32_t n = 0; n < noises_.size(); ++n) {
        auto it = cells.find({k, m, n});
        out << std::setw(14) << std::right << std::setprecision(4)
            << (it == cells.end() ? std::numeric_limits<double>::quiet_NaN() : it->second.first / it->second.second);
      }
      out << "\n";
    }
  return out.str();
}

}  // namespace msweep
