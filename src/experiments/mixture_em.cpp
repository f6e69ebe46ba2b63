// Experiment "mixture-em": reads its keys, generates (or reads) the point images, fits one
// LinearMixture per task and scores the experts against the true curves.
#include "msweep/experiments/mixture_em.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "msweep/core/error.hpp"
#include "msweep/core/text_table.hpp"
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
    {"noise_sd", "fitted noise standard deviation 1/sqrt(b), target units (per-expert noise: b pooled over the experts)"},
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

// w0 = [0, 0, 0.1] and [0, 0, 2] for the first two circle experts (docs/science.md, curve detection), zero otherwise.
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
    case MixtureMethod::prior_learned: return "prior-learned";
  }
  return "unknown";
}

std::string to_string(const MixtureVariant& variant) {
  return std::string(variant.per_expert_noise ? "per-expert" : "shared") + (variant.background ? "+background" : "");
}

std::optional<MixtureVariant> mixture_variant_from_string(std::string_view label) {
  for (bool per_expert : {false, true})
    for (bool background : {false, true})
      if (const MixtureVariant v{per_expert, background}; to_string(v) == label) return v;
  return std::nullopt;
}

MixtureOptions MixtureEmOptions::default_model() {
  MixtureOptions model;
  model.max_iterations = 50;  // the experiment's budget (the model's own default is 100)
  return model;
}

int MixtureEmOptions::max_experts() const { return *std::max_element(experts.begin(), experts.end()); }

namespace {

void read_data_keys(const JobSpec& spec, MixtureEmOptions& options) {
  const ConfigTable& data = spec.data;
  const std::string source = data.get_choice("source", "circles", {"circles", "conics", "image"});
  options.source = source == "circles" ? MixtureSource::circles : source == "conics" ? MixtureSource::conics : MixtureSource::image;
  CircleImageOptions& circle = options.circle_image;
  ConicImageOptions& conic = options.conic_image;
  if (options.source == MixtureSource::image) {
    options.circles = data.get_choice("family", "circles", {"circles", "conics"}) == "circles";
    std::filesystem::path path = data.get_string("path");
    if (path.is_relative()) path = std::filesystem::path(spec.path).parent_path() / path;
    options.image_path = path.string();
    options.image_scale = data.get_double("scale", options.image_scale, 0.0, 1e9);
  } else {
    options.circles = options.source == MixtureSource::circles;
    const auto points = static_cast<int>(data.get_int("points_per_curve", circle.points_per_circle, 1, 1'000'000));
    const double jitter = data.get_double("jitter", circle.jitter, 0.0, 1e6);
    const double near_noise = data.get_double("radius_noise", circle.radius_noise, 0.0, 1e6);
    const auto uniform_points = static_cast<int>(data.get_int("uniform_points", circle.uniform_points, 0, 1'000'000));
    const double half_width = data.get_double("half_width", circle.half_width, 1e-9, 1e6);
    circle.points_per_circle = conic.points_per_curve = points;
    circle.jitter = conic.jitter = jitter;
    circle.radius_noise = conic.curve_noise = near_noise;
    circle.uniform_points = conic.uniform_points = uniform_points;
    circle.half_width = conic.half_width = half_width;
    if (!options.circles) conic.y_half_range = data.get_double("y_half_range", conic.y_half_range, 1e-9, 1e6);
  }
  // The true curves (also for an image, where they are what S is measured against).
  if (options.circles) {
    std::vector<double> defaults;
    for (const Circle& c : circle.circles) defaults.insert(defaults.end(), {c.x0, c.y0, c.r});
    const auto values = data.get_double_list("circles", defaults, -1e6, 1e6);
    if (values.empty() || values.size() % 3 != 0)
      data.fail("circles", "expected [x0, y0, r] triples, got " + std::to_string(values.size()) + " numbers");
    circle.circles.clear();
    for (std::size_t i = 0; i < values.size(); i += 3) {
      if (!(values[i + 2] > 0)) data.fail("circles", "expected positive radii");
      circle.circles.push_back({values[i], values[i + 1], values[i + 2]});
    }
    if (circle.circles.size() > kMaxMixtureExperts)
      data.fail("circles", "expected at most " + std::to_string(kMaxMixtureExperts) + " circles");
  } else {
    using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, 5, Eigen::RowMajor>;
    const RowMajor default_rows = conic.curves;
    const std::vector<double> defaults(default_rows.data(), default_rows.data() + default_rows.size());
    const auto values = data.get_double_list("conics", defaults, -1e6, 1e6);
    if (values.empty() || values.size() % 5 != 0)
      data.fail("conics", "expected [a, b, c, d, e] per curve (x^2 = a xy + b y^2 + c x + d y + e), got " +
                              std::to_string(values.size()) + " numbers");
    conic.curves = Eigen::Map<const RowMajor>(values.data(), static_cast<Eigen::Index>(values.size() / 5), 5);
    if (conic.curves.rows() > kMaxMixtureExperts)
      data.fail("conics", "expected at most " + std::to_string(kMaxMixtureExperts) + " curves");
  }
}

void read_sweep_keys(const ConfigTable& sweep, MixtureEmOptions& options) {
  std::vector<std::int64_t> default_experts(options.experts.begin(), options.experts.end());
  options.experts.clear();
  for (auto k : sweep.get_int_list("experts", default_experts, 1, kMaxMixtureExperts)) options.experts.push_back(static_cast<int>(k));
  if (options.experts.empty()) sweep.fail("experts", "expected at least one expert count");
  const std::vector<std::string> method_names = {"no-prior", "prior", "prior-regularizer", "prior-learned"};
  std::vector<std::string> default_methods;
  for (auto m : options.methods) default_methods.push_back(to_string(m));
  options.methods.clear();
  for (const auto& name : sweep.get_string_list("methods", default_methods)) {
    auto it = std::find(method_names.begin(), method_names.end(), name);
    if (it == method_names.end())
      sweep.fail("methods", "unknown method \"" + name + "\" (expected \"no-prior\", \"prior\", \"prior-regularizer\" or \"prior-learned\")");
    const auto method = static_cast<MixtureMethod>(it - method_names.begin());
    if (std::find(options.methods.begin(), options.methods.end(), method) != options.methods.end())
      sweep.fail("methods", "method \"" + name + "\" listed twice");
    options.methods.push_back(method);
  }
  if (options.methods.empty()) sweep.fail("methods", "expected at least one method");
  const bool image = options.source == MixtureSource::image;
  std::vector<std::string> default_noise;
  if (image) default_noise = {"none"};
  else
    for (auto n : options.noises) default_noise.push_back(to_string(n));
  options.noises.clear();
  for (const auto& name : sweep.get_string_list("noise", default_noise)) {
    const auto noise = image_noise_from_string(name);
    if (!noise) sweep.fail("noise", "unknown noise variant \"" + name + "\" (expected \"none\", \"noisy-radius\" or \"uniform\")");
    if (image && *noise != ImageNoise::none)
      sweep.fail("noise", "an image from a file is used as it is: expected [\"none\"], got \"" + name + "\"");
    if (std::find(options.noises.begin(), options.noises.end(), *noise) != options.noises.end())
      sweep.fail("noise", "noise \"" + name + "\" listed twice");
    options.noises.push_back(*noise);
  }
  if (options.noises.empty()) sweep.fail("noise", "expected at least one noise variant");
  options.variants.clear();
  for (const auto& name : sweep.get_string_list("models", {})) {
    const auto variant = mixture_variant_from_string(name);
    if (!variant)
      sweep.fail("models", "unknown model variant \"" + name +
                               "\" (expected \"shared\", \"per-expert\", \"shared+background\" or \"per-expert+background\")");
    if (std::find(options.variants.begin(), options.variants.end(), *variant) != options.variants.end())
      sweep.fail("models", "model variant \"" + name + "\" listed twice");
    options.variants.push_back(*variant);
  }
  if (sweep.has("models") && options.variants.empty()) sweep.fail("models", "expected at least one model variant");
}

void read_model_keys(const JobSpec& spec, MixtureEmOptions& options) {
  const ConfigTable& model = spec.model;
  MixtureOptions& base = options.model;
  const int max_experts = options.max_experts();
  const auto d = static_cast<Eigen::Index>(options.parameters());
  base.gate = model.get_choice("gate", "dirichlet", {"dirichlet", "softmax"}) == "softmax" ? GateKind::softmax : GateKind::dirichlet;
  const auto means = model.get_double_list("prior_means", default_prior_means(options.circles, max_experts), -1e9, 1e9);
  if (means.size() % static_cast<std::size_t>(d) != 0 || means.size() < static_cast<std::size_t>(max_experts * d))
    model.fail("prior_means", "expected w0_k rows of " + std::to_string(d) + " numbers for each of the " + std::to_string(max_experts) +
                                  " experts, got " + std::to_string(means.size()) + " numbers",
               {{spec.sweep, "experts"}, {spec.data, "source"}, {spec.data, "family"}});
  options.prior_means = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
                            means.data(), static_cast<Eigen::Index>(means.size()) / d, d)
                            .topRows(max_experts);
  auto diagonal = [&](const char* key, const std::vector<double>& fallback) {
    const auto values = model.get_double_list(key, fallback, 1e-300, 1e300);
    if (values.size() != static_cast<std::size_t>(d))
      model.fail(key, "expected the " + std::to_string(d) + " diagonal entries, got " + std::to_string(values.size()) + " numbers",
                 {{spec.data, "source"}, {spec.data, "family"}});
    return Eigen::MatrixXd(Eigen::Map<const Eigen::VectorXd>(values.data(), d).asDiagonal());
  };
  base.prior_covariance = diagonal("prior_covariance", std::vector<double>(static_cast<std::size_t>(d), 1.0));
  options.regularizer = diagonal("regularizer", options.circles ? std::vector<double>{0.01, 0.01, 1.0} : std::vector<double>(5, 1.0));
  base.learn_prior_covariance = model.get_bool("learn_prior_covariance", base.learn_prior_covariance);
  base.learn_noise_precision = model.get_bool("learn_noise_precision", base.learn_noise_precision);
  base.noise_precision = model.get_double("noise_precision", base.noise_precision, 1e-12, 1e12);
  if (options.variants.empty()) {
    base.per_expert_noise = model.get_choice("expert_noise", "shared", {"shared", "per-expert"}) == "per-expert";
    base.background = model.get_bool("background", base.background);
  } else {
    // The model axis sets them per task (per_task_keys): no single value to record.
    for (const char* key : {"expert_noise", "background"}) {
      if (model.has(key)) model.fail(key, "set per task by [sweep] models: expected it in one place only");
      model.record_per_task(key, "[sweep] models");
    }
  }
  base.dirichlet_concentration = model.get_double("dirichlet_concentration", base.dirichlet_concentration, 1e-6, 1e6);
  base.gate_hidden = static_cast<int>(model.get_int("gate_hidden", base.gate_hidden, 1, 1024));
  base.gate_steps = static_cast<int>(model.get_int("gate_steps", base.gate_steps, 0, 100000));
  base.gate_learning_rate = model.get_double("gate_learning_rate", base.gate_learning_rate, 1e-9, 10.0);
  base.initial_scale = model.get_double("initial_scale", base.initial_scale, 0.0, 1e6);
  base.max_iterations = static_cast<int>(model.get_int("max_iterations", base.max_iterations, 1, 100000));
  base.tolerance = model.get_double("tolerance", base.tolerance, 0.0, 1.0);
  options.similarity_threshold = model.get_double("similarity_threshold", options.similarity_threshold, 0.0, 1.0);
}

}  // namespace

MixtureEmOptions read_mixture_em_options(const JobSpec& spec) {
  MixtureEmOptions options;
  options.job = standard_options(spec);
  if (spec.folds != 1)
    spec.sweep.fail("folds", "mixture-em fits all points, it has no folds: expected 1, got " + std::to_string(spec.folds));
  read_data_keys(spec, options);
  read_sweep_keys(spec.sweep, options);
  read_model_keys(spec, options);
  // [output]: the points are 9.6 KB per task for the protocol's images (400 rows); a job with many tasks or
  // large images can leave them out (n_points is still a metric).
  options.store_points = spec.output.get_bool("store_points", options.store_points);
  return options;
}

std::uint64_t mixture_em::data_seed(std::uint64_t job_seed, std::uint32_t run, ImageNoise variant) {
  return derive_seed(job_seed, kDataStream, {{"run", run}, {"noise", static_cast<std::uint64_t>(variant)}});
}

mixture_em::Seeds mixture_em::task_seeds(const MixtureEmOptions& options, const TaskView& task) {
  return {data_seed(options.job.seed, task.run(), options.noises[task.extra(kNoiseAxis)]),
          derive_seed(options.job.seed, kInitStream, {{"run", task.run()}, {"restart", task.restart()}})};
}

MixtureEmExperiment::MixtureEmExperiment(MixtureEmOptions options) : options_(std::move(options)) {
  if (options_.source == MixtureSource::image) {
    file_image_ = read_image_points(options_.image_path, options_.image_scale);
    image_inputs_.push_back(fingerprint_file(options_.image_path, "image"));
  }
  max_experts_ = options_.max_experts();
  // Array shapes are fixed before the run, so the points array has as many rows as the largest
  // image of the job: every curve's points plus the background when "uniform" is swept.
  if (options_.source == MixtureSource::image) {
    max_points_ = static_cast<std::size_t>(file_image_.points.rows());
  } else {
    const auto& circle = options_.circle_image;
    const auto& conic = options_.conic_image;
    const auto curves = options_.circles ? circle.circles.size() : static_cast<std::size_t>(conic.curves.rows());
    const int per_curve = options_.circles ? circle.points_per_circle : conic.points_per_curve;
    const int background = options_.circles ? circle.uniform_points : conic.uniform_points;
    const auto& noises = options_.noises;
    const bool uniform = std::find(noises.begin(), noises.end(), ImageNoise::uniform) != noises.end();
    max_points_ = curves * static_cast<std::size_t>(per_curve) + (uniform ? static_cast<std::size_t>(background) : 0);
  }

  std::vector<std::string> structure_labels, method_labels, noise_labels;
  for (int k : options_.experts) structure_labels.push_back("K=" + std::to_string(k));
  for (auto m : options_.methods) method_labels.push_back(to_string(m));
  for (auto n : options_.noises) noise_labels.push_back(to_string(n));
  std::vector<Axis> extra = {{"method", std::move(method_labels), "methods"}, {"noise", std::move(noise_labels), "noise"}};
  if (!options_.variants.empty()) {
    std::vector<std::string> model_labels;
    for (const auto& v : options_.variants) model_labels.push_back(to_string(v));
    extra.push_back({"model", std::move(model_labels), "models"});
  }
  grid_ = TaskGrid(standard_axes({"structure", std::move(structure_labels), "experts"}, options_.job.folds, options_.job.restarts,
                                 options_.job.runs, std::move(extra)));
}

std::vector<MetricInfo> MixtureEmExperiment::metrics() const { return {std::begin(kMetricInfo), std::end(kMetricInfo)}; }

std::vector<ArrayInfo> MixtureEmExperiment::arrays() const {
  const auto K = static_cast<std::size_t>(max_experts_);
  std::vector<ArrayInfo> arrays = {
      {"experts", {K, static_cast<std::size_t>(options_.parameters())},
       options_.circles ? "fitted circles [x0, y0, r]; row t is the expert matched to true circle t, then the unmatched; zero rows beyond K"
                       : "fitted conic coefficients [a, b, c, d, e]; row t is the expert matched to true curve t, then the unmatched; zero rows beyond K"},
      {"mixing_weights", {K}, "mixing weight of each expert (rows as in experts): E pi_k, or the mean gate over the points"},
      {"similarity", {K, K}, "pairwise s-scores of the experts' posteriors (rows as in experts); zero beyond K"},
      {"bound_trace", {static_cast<std::size_t>(options_.model.max_iterations)}, "lower bound per EM iteration, padded with the last value"},
  };
  if (options_.store_points)
    arrays.push_back({"points", {max_points_, 3},
                      "the fitted points [x, y, label]; label: index of the true curve that drew the point, -1 background "
                      "(uniform noise), -2 unknown (image file); rows beyond the metric n_points are zero"});
  return arrays;
}

const PointImage& MixtureEmExperiment::image(std::uint32_t run, std::uint32_t noise) const {
  if (options_.source == MixtureSource::image) return file_image_;
  const auto key = std::make_pair(run, noise);
  if (auto it = image_cache_.find(key); it != image_cache_.end()) return it->second;
  const ImageNoise variant = options_.noises[noise];
  RandomStream rng(mixture_em::data_seed(options_.job.seed, run, variant));
  PointImage img;
  if (options_.circles) {
    CircleImageOptions options = options_.circle_image;
    options.noise = variant;
    img = make_circle_image(options, rng);
  } else {
    ConicImageOptions options = options_.conic_image;
    options.noise = variant;
    img = make_conic_image(options, rng);
  }
  return image_cache_.emplace(key, std::move(img)).first->second;
}

TaskOutput MixtureEmExperiment::run(const TaskView& task) const {
  const int K = options_.experts[task.structure()];
  const MixtureMethod method = options_.methods[task.extra(mixture_em::kMethodAxis)];
  const PointImage& img = image(task.run(), task.extra(mixture_em::kNoiseAxis));
  const Dataset data = options_.circles ? circle_regression(img.points) : conic_regression(img.points);
  const int parameters = options_.parameters();

  MixtureOptions options = options_.model;
  options.experts = K;
  switch (method) {
    case MixtureMethod::no_prior:  // w0 = 0, re-estimated with A: no knowledge of the curves
      options.prior_means = Eigen::MatrixXd::Zero(K, parameters);
      options.learn_prior_means = true;
      break;
    case MixtureMethod::prior:  // the given w0 stay fixed
      options.prior_means = options_.prior_means.topRows(K);
      options.learn_prior_means = false;
      break;
    case MixtureMethod::prior_regularizer:  // the given w0 start, re-estimated and tied by Xi
      options.prior_means = options_.prior_means.topRows(K);
      options.learn_prior_means = true;
      options.regularizer = options_.regularizer;
      break;
    case MixtureMethod::prior_learned:  // the given w0 start and are re-estimated, untied
      options.prior_means = options_.prior_means.topRows(K);
      options.learn_prior_means = true;
      break;
  }
  if (!options_.variants.empty()) {
    const MixtureVariant& variant = options_.variants[task.extra(mixture_em::kModelAxis)];
    options.per_expert_noise = variant.per_expert_noise;
    options.background = variant.background;
  }
  // The initial draws depend on run and restart only: methods and K values start from paired points.
  RandomStream rng(mixture_em::task_seeds(options_, task).init);
  LinearMixture mixture(options);
  const MixtureSummary summary = mixture.fit(data.X, data.y, rng);
  if (!summary.usable()) throw std::runtime_error("mixture-em: " + summary.message);

  std::vector<Eigen::VectorXd> fitted, truth;
  for (const auto& m : mixture.means()) fitted.push_back(scored_parameters(m, options_.circles));
  if (options_.circles)
    for (const auto& c : img.circles.empty() ? options_.circle_image.circles : img.circles) truth.push_back(Eigen::Vector3d(c.x0, c.y0, c.r));
  else {
    const Eigen::MatrixXd& conics = img.conics.size() ? img.conics : options_.conic_image.curves;
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
  const auto reduced = reduce_similar_experts(posteriors, options_.similarity_threshold, SimilarAction::merge);

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

  const auto Kmax = static_cast<std::size_t>(max_experts_), p = static_cast<std::size_t>(parameters);
  std::vector<double> experts(Kmax * p, 0.0), weights(Kmax, 0.0), sim(Kmax * Kmax, 0.0);
  for (std::size_t row = 0; row < order.size(); ++row) {
    const auto k = static_cast<std::size_t>(order[row]);
    for (std::size_t j = 0; j < p; ++j) experts[row * p + j] = fitted[k](static_cast<Eigen::Index>(j));
    weights[row] = mixture.mixing_weights()(static_cast<Eigen::Index>(k));
    for (std::size_t col = 0; col < order.size(); ++col) sim[row * Kmax + col] = similarity(order[row], order[col]);
  }
  std::vector<double> trace(static_cast<std::size_t>(options_.model.max_iterations), summary.bound_trace.back());
  std::copy(summary.bound_trace.begin(), summary.bound_trace.end(), trace.begin());
  out.arrays = {std::move(experts), std::move(weights), std::move(sim), std::move(trace)};
  if (options_.store_points) {
    const auto n = static_cast<std::size_t>(img.points.rows());
    if (n > max_points_)  // max_points_ counts what the generators draw; a mismatch is a bug here
      throw std::logic_error("mixture-em: image of " + std::to_string(n) + " points, declared " + std::to_string(max_points_));
    const bool known = img.labels.size() == n && options_.source != MixtureSource::image;
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

std::vector<PerTaskKey> MixtureEmExperiment::per_task_keys() const {
  if (options_.variants.empty()) return {};
  PerTaskKey noise{"model", "[model] expert_noise", {}}, background{"model", "[model] background", {}};
  for (const auto& variant : options_.variants) {
    noise.values.push_back(variant.per_expert_noise ? "per-expert" : "shared");
    background.values.push_back(variant.background ? "true" : "false");
  }
  return {noise, background};
}

std::string MixtureEmExperiment::report(const SummaryTable& summary) const {
  // Mean S per (K, method, model variant, noise), averaged over runs and then over restarts.
  if (summary.groups() == 0) return {};
  const std::size_t score = summary.metric_index("score");
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::uint32_t>, std::pair<double, int>> cells;
  for (std::size_t g = 0; g < summary.groups(); ++g) {
    std::uint32_t k = 0, m = 0, n = 0, v = 0;
    for (std::size_t a = 0; a < summary.group_axes.size(); ++a) {
      const auto value = summary.coordinate(g, a);
      if (summary.group_axes[a] == "structure") k = value;
      if (summary.group_axes[a] == "method") m = value;
      if (summary.group_axes[a] == "noise") n = value;
      if (summary.group_axes[a] == "model") v = value;
    }
    const double mean = summary.mean_of(g, score);
    if (!std::isfinite(mean)) continue;
    auto& cell = cells[{k, m, n, v}];
    cell.first += mean;
    cell.second += 1;
  }
  std::vector<std::string> header = {options_.variants.empty() ? "K / method" : "K / method / model"};
  for (auto n : options_.noises) header.push_back(to_string(n));
  TextTable table(std::move(header));
  const std::size_t variants = std::max<std::size_t>(1, options_.variants.size());
  for (std::uint32_t k = 0; k < options_.experts.size(); ++k)
    for (std::uint32_t m = 0; m < options_.methods.size(); ++m)
      for (std::uint32_t v = 0; v < variants; ++v) {
        std::vector<std::string> row = {"K=" + std::to_string(options_.experts[k]) + " " + to_string(options_.methods[m])};
        if (!options_.variants.empty()) row[0] += " " + to_string(options_.variants[v]);
        for (std::uint32_t n = 0; n < options_.noises.size(); ++n) {
          auto it = cells.find({k, m, n, v});
          row.push_back(format_number(it == cells.end() ? std::numeric_limits<double>::quiet_NaN() : it->second.first / it->second.second));
        }
        table.add_row(std::move(row));
      }
  std::ostringstream out;
  out << "mean S (lower is better) by method and noise, averaged over runs and restarts:\n" << table.str();
  return out.str();
}

}  // namespace msweep
