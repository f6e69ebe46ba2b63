// Experiment "mixture-em" (docs/science.md#mixtures-of-linear-experts): circle and second-order curve detection by
// a mixture of linear experts trained with variational EM, comparing no prior / prior / prior +
// regularizer under three noise variants, with multistart restarts. Keys and metrics are
// documented in docs/experiments/mixture-em.md.
//
// Axes: structure (number of experts K), fold (1), restart, run, method, noise [, model when
// [sweep] models is given].
// Data depend on (run, noise) only and the initial draws on (run, restart) only, so tasks that
// differ in method or K are paired. Each restart's final bound is a metric: the winner among
// restarts is picked in analysis. The fitted points are stored too (array "points", zero rows
// beyond the metric n_points), so the report can draw the data under the curves.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "msweep/data/curves.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/models/mixture/mixture.hpp"

namespace msweep {

// prior_learned: the given w0 start and are re-estimated, without the tie (the prior
// regularizer's ablation: what re-estimating w0 alone costs).
enum class MixtureMethod { no_prior, prior, prior_regularizer, prior_learned };
const char* to_string(MixtureMethod method);  // "no-prior", "prior", "prior-regularizer", "prior-learned"

// The noise model of a task: one b or one b_k per expert, with or without the uniform background
// component (MixtureOptions::per_expert_noise, background). Labels: "shared", "per-expert",
// "shared+background", "per-expert+background".
struct MixtureVariant {
  bool per_expert_noise = false;
  bool background = false;
  bool operator==(const MixtureVariant&) const = default;
};
std::string to_string(const MixtureVariant& variant);
std::optional<MixtureVariant> mixture_variant_from_string(std::string_view label);

inline constexpr int kMaxMixtureExperts = 8;  // matching tries all permutations of the experts

enum class MixtureSource { circles, conics, image };

struct MixtureEmOptions {
  StandardOptions job;  // folds must be 1

  // [data]
  MixtureSource source = MixtureSource::circles;  // [data] source: "circles", "conics" or "image"
  bool circles = true;                   // curve family: the source, or [data] family for an image
  std::string image_path;                // [data] path of a PBM/PGM/text image, relative to the job file
  double image_scale = 0.0;              // [data] scale: pixel size (0: the image spans [-2, 2])
  // Generated images: [data] points_per_curve (100), jitter (0.1), radius_noise (0.1),
  // uniform_points (200), half_width (2), y_half_range (2, conics); the true curves [data] circles
  // ([x0, y0, r] triples, default two concentric circles) or conics ([a, b, c, d, e] rows) are
  // also what an image from a file is scored against. `noise` is set per task.
  CircleImageOptions circle_image;
  ConicImageOptions conic_image;

  // [sweep]
  std::vector<int> experts = {2};  // [sweep] experts: the structure axis, K = 1..kMaxMixtureExperts
  std::vector<MixtureMethod> methods = {MixtureMethod::no_prior, MixtureMethod::prior, MixtureMethod::prior_regularizer};
  std::vector<ImageNoise> noises = {ImageNoise::none, ImageNoise::noisy_radius, ImageNoise::uniform};  // ["none"] for an image
  // [sweep] models: the optional "model" axis (after noise) over noise-model variants; empty:
  // no such axis, every task uses [model] expert_noise ("shared") and background (false).
  std::vector<MixtureVariant> variants;

  // [model]: gate ("dirichlet"), prior_covariance (diagonal, ones), learn_prior_covariance (true),
  // learn_noise_precision (true), noise_precision (1), dirichlet_concentration (1), gate_hidden (8),
  // gate_steps (20), gate_learning_rate (0.05), initial_scale (1), max_iterations (50),
  // tolerance (1e-8). experts, prior_means and the regularizer are set per task from the method.
  MixtureOptions model = default_model();
  Eigen::MatrixXd prior_means;      // [model] prior_means: max(experts) x d rows w0_k (circles: [0,0,0.1], [0,0,2], zeros)
  Eigen::MatrixXd regularizer;      // [model] regularizer: diagonal Xi (circles: 0.01, 0.01, 1; conics: ones)
  double similarity_threshold = 0.9;  // [model] similarity_threshold: s-score above which experts merge

  bool store_points = true;  // [output] store_points: the "points" array (9.6 KB per task for 400 points)

  int parameters() const { return circles ? 3 : 5; }  // d: weights per expert
  int max_experts() const;
  static MixtureOptions default_model();
};

MixtureEmOptions read_mixture_em_options(const JobSpec& spec);

namespace mixture_em {
inline constexpr std::size_t kMethodAxis = 0, kNoiseAxis = 1, kModelAxis = 2;  // TaskView::extra(): method, noise[, model]

// Random streams and the coordinates they use. Neither uses structure (K) or method, so tasks
// that differ only in them fit the same points from the same initial draws.
inline constexpr std::string_view kDataStream = "data";  // (run, noise variant's value): the point image
inline constexpr std::string_view kInitStream = "init";  // (run, restart): the fit's initial draws

// Seeded by the noise variant's value rather than its position in the job's list, so reordering
// the list never changes the data.
std::uint64_t data_seed(std::uint64_t job_seed, std::uint32_t run, ImageNoise variant);
struct Seeds {
  std::uint64_t data, init;
  bool operator==(const Seeds&) const = default;
};
Seeds task_seeds(const MixtureEmOptions& options, const TaskView& task);
}  // namespace mixture_em

class MixtureEmExperiment final : public Experiment {
 public:
  explicit MixtureEmExperiment(MixtureEmOptions options);  // reads the image file of source "image"

  const TaskGrid& grid() const override { return grid_; }
  std::vector<MetricInfo> metrics() const override;
  std::vector<ArrayInfo> arrays() const override;
  std::vector<InputFile> inputs() const override { return image_inputs_; }
  TaskOutput run(const TaskView& task) const override;
  std::vector<PerTaskKey> per_task_keys() const override;  // [sweep] models: expert_noise, background
  std::string report(const SummaryTable& summary) const override;

  const MixtureEmOptions& options() const { return options_; }
  bool circles() const { return options_.circles; }
  int max_experts() const { return max_experts_; }
  int max_iterations() const { return options_.model.max_iterations; }
  // The point image of a (run, noise) pair, as every task of that pair sees it.
  const PointImage& image(std::uint32_t run, std::uint32_t noise) const;
  // Rows of the "points" array: the most points any (run, noise) pair of the job has; 0 when
  // [output] store_points = false (the array is then not declared).
  std::size_t max_points() const { return options_.store_points ? max_points_ : 0; }

 private:
  MixtureEmOptions options_;
  PointImage file_image_;  // source = "image": read once
  std::vector<InputFile> image_inputs_;  // source = "image": its fingerprint
  int max_experts_ = 2;
  std::size_t max_points_ = 0;
  TaskGrid grid_;
  mutable std::map<std::pair<std::uint32_t, std::uint32_t>, PointImage> image_cache_;
};

}  // namespace msweep
