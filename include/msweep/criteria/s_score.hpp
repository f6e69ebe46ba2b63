// The s-score similarity of two posteriors (docs/science.md#similarity-of-posteriors-the-s-score; Aduenko 2014):
//   s(g1, g2) = integral g1 g2 dw / max_b integral g1(w - b) g2(w) dw,
// in [0, 1], symmetric, 1 for identical shapes, close to 1 when one posterior is uninformative
// and defined for disjoint supports. Used to check that a multimodel's experts are pairwise
// distinguishable and to merge or drop experts that are not.
#pragma once
#include <Eigen/Dense>
#include <functional>
#include <vector>

#include "msweep/core/gaussian.hpp"

namespace msweep {

// Closed form for Gaussians: s = exp(-1/2 dm^T (S1 + S2)^-1 dm), O(d^3).
double s_score_gaussian(const Eigen::Ref<const Eigen::VectorXd>& mean1, const Eigen::Ref<const Eigen::MatrixXd>& covariance1,
                        const Eigen::Ref<const Eigen::VectorXd>& mean2, const Eigen::Ref<const Eigen::MatrixXd>& covariance2);
double s_score(const GaussianPosterior& a, const GaussianPosterior& b);

// Numerical s-score of two one-dimensional densities whose mass lies in [lower, upper]:
// midpoint rule on `cells` cells, the shift b searched over all whole-cell shifts.
// O(cells^2) density products; the error is about one cell width for discontinuous densities.
double s_score_numeric(const std::function<double(double)>& density1, const std::function<double(double)>& density2,
                       double lower, double upper, int cells = 4000);

// Pairwise s-scores, K x K, symmetric with a unit diagonal.
Eigen::MatrixXd similarity_matrix(const std::vector<GaussianPosterior>& experts);

// (A fitted mixture's experts come from expert_posteriors in models/mixture/mixture.hpp.)

enum class SimilarAction {
  merge,  // replace the pair by one Gaussian with the weighted pair's mean and covariance (moment matching)
  drop,   // keep the heavier expert of the pair and give it the pair's weight
};

struct SimilarityReduction {
  std::vector<GaussianPosterior> experts;  // what remains
  std::vector<std::vector<int>> members;   // for each remaining expert, the original indices it stands for
};

// Repeatedly takes the most similar pair with s > threshold and merges or drops it, until every
// remaining pair has s <= threshold: the result is (s, a)-adequate in the sense of docs/science.md.
// O(K^3) s-scores; weights stay summing to their original total.
SimilarityReduction reduce_similar_experts(const std::vector<GaussianPosterior>& experts, double threshold,
                                           SimilarAction action = SimilarAction::merge);

}  // namespace msweep
