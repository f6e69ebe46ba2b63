// Experiment "mixture-em" (docs/science.md#mixtures-of-linear-experts): circle and second-order curve detection by
// a mixture of linear experts trained with variational EM, comparing no prior / prior / prior +
// regularizer under three noise variants, with multistart restarts. Keys and metrics are
// documented in docs/experiments/mixture-em.md.
//
// Axes: structure (number of experts K), fold (1), restart, run, method, noise.
// Data depend on (run, noise) only and the initial draws on (run, restart) only, so tasks that
// differ in method or K are paired. Each restart's final bound is a metric: the winner among
// restarts is picked in analysis. The fitted points are stored too (array "points", zero rows
// beyond the metric n_points), so the report can draw the data under the curves.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "msweep/data/curves.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/models/mixture/mixture.hpp"

namespace msweep {

enum class MixtureMethod { no_prior, prior, prior_regularizer };
const char* to_string(MixtureMethod method);  // "no-prior", "prior", "prior-regularizer"

inline constexpr int kMaxMixtureExperts = 8;  // matching tries all permutations of the experts

class MixtureEmExperiment final : public Experiment {
 public:
  explicit MixtureEmExperiment(const JobSpec& spec);

  const TaskGrid& grid() const override { return grid_; }
  std::vector<MetricInfo> metrics() const override;
  std::vector<ArrayInfo> arrays() const override;
  TaskOutput run(std::span<const std::uint32_t> coordinates) const override;
  std::string report(const SummaryTable& summary) const override;

  bool circles() const { return family_circles_; }
  int max_experts() const { return max_experts_; }
  int max_iterations() const { return base_.max_iterations; }
  // The point image of a (run, noise) pair, as every task of that pair sees it.
  const PointImage& image(std::uint32_t run, std::uint32_t noise) const;
  // Rows of the "points" array: the most points any (run, noise) pair of the job has; 0 when
  // [output] store_points = false (the array is then not declared).
  std::size_t max_points() const { return store_points_ ? max_points_ : 0; }

 private:
  enum class Source { circles, conics, image };

  std::uint64_t seed_;
  Source source_ = Source::circles;
  bool family_circles_ = true;
  int parameters_ = 3;  // d: 3 for circles, 5 for conics
  CircleImageOptions circle_options_;
  ConicImageOptions conic_options_;
  PointImage file_image_;  // source = "image": read once
  std::vector<int> experts_;
  std::vector<MixtureMethod> methods_;
  std::vector<ImageNoise> noises_;
  int max_experts_ = 2;
  MixtureOptions base_;
  Eigen::MatrixXd prior_means_;  // max_experts x d
  Eigen::MatrixXd regularizer_;
  double similarity_threshold_ = 0.9;
  bool store_points_ = true;
  std::size_t max_points_ = 0;
  TaskGrid grid_;
  mutable std::map<std::pair<std::uint32_t, std::uint32_t>, PointImage> image_cache_;
};

}  // namespace msweep
