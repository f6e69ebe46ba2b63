// s-score similarity of posteriors: the Gaussian closed form, a one-dimensional numerical
// version for arbitrary densities, similarity matrices and threshold-based expert reduction.
#include "msweep/criteria/s_score.hpp"

#include <algorithm>
#include <cmath>

#include "msweep/core/error.hpp"

namespace msweep {

double s_score_gaussian(const Eigen::Ref<const Eigen::VectorXd>& mean1, const Eigen::Ref<const Eigen::MatrixXd>& covariance1,
                        const Eigen::Ref<const Eigen::VectorXd>& mean2, const Eigen::Ref<const Eigen::MatrixXd>& covariance2) {
  const char* fn = "s_score_gaussian";
  const Eigen::Index d = mean1.size();
  require(mean2.size() == d, fn, "mean2", "the dimension of mean1");
  require(covariance1.rows() == d && covariance1.cols() == d, fn, "covariance1", "d x d");
  require(covariance2.rows() == d && covariance2.cols() == d, fn, "covariance2", "d x d");
  // The overlap integral of two Gaussians is N(m1 | m2, S1 + S2); its maximum over shifts has the
  // same normalizer, so the ratio is the exponential factor alone.
  Eigen::LLT<Eigen::MatrixXd> llt(covariance1 + covariance2);
  require(llt.info() == Eigen::Success, fn, "covariance1 + covariance2", "a positive definite sum");
  const Eigen::VectorXd diff = mean1 - mean2;
  const double mahalanobis = diff.dot(llt.solve(diff));
  return std::exp(-0.5 * std::max(0.0, mahalanobis));
}

double s_score(const GaussianPosterior& a, const GaussianPosterior& b) {
  return s_score_gaussian(a.mean, a.covariance, b.mean, b.covariance);
}

double s_score_numeric(const std::function<double(double)>& density1, const std::function<double(double)>& density2,
                       double lower, double upper, int cells) {
  const char* fn = "s_score_numeric";
  require(std::isfinite(lower) && std::isfinite(upper) && lower < upper, fn, "lower, upper", "a finite interval lower < upper");
  require(cells >= 2, fn, "cells", "at least 2");
  const double h = (upper - lower) / cells;
  std::vector<double> g1(static_cast<std::size_t>(cells)), g2(g1.size());
  for (int i = 0; i < cells; ++i) {
    const double w = lower + (i + 0.5) * h;
    g1[static_cast<std::size_t>(i)] = density1(w);
    g2[static_cast<std::size_t>(i)] = density2(w);
    require(std::isfinite(g1[static_cast<std::size_t>(i)]) && g1[static_cast<std::size_t>(i)] >= 0.0, fn, "density1",
            "finite non-negative values on [lower, upper]");
    require(std::isfinite(g2[static_cast<std::size_t>(i)]) && g2[static_cast<std::size_t>(i)] >= 0.0, fn, "density2",
            "finite non-negative values on [lower, upper]");
  }
  // c(j) = h sum_i g1(w_i - j h) g2(w_i); mass outside [lower, upper] counts as zero. O(cells^2).
  double overlap = 0.0, best = 0.0;
  for (int j = -(cells - 1); j < cells; ++j) {
    double c = 0.0;
    const int from = std::max(0, j), to = std::min(cells, cells + j);
    for (int i = from; i < to; ++i) c += g1[static_cast<std::size_t>(i - j)] * g2[static_cast<std::size_t>(i)];
    c *= h;
    if (j == 0) overlap = c;
    best = std::max(best, c);
  }
  require(best > 0.0, fn, "density1, density2", "densities with mass inside [lower, upper]");
  return std::clamp(overlap / best, 0.0, 1.0);
}

Eigen::MatrixXd similarity_matrix(const std::vector<GaussianPosterior>& experts) {
  const auto K = static_cast<Eigen::Index>(experts.size());
  Eigen::MatrixXd s = Eigen::MatrixXd::Identity(K, K);
  for (Eigen::Index k = 0; k < K; ++k)
    for (Eigen::Index l = k + 1; l < K; ++l)
      s(k, l) = s(l, k) = s_score(experts[static_cast<std::size_t>(k)], experts[static_cast<std::size_t>(l)]);
  return s;
}

SimilarityReduction reduce_similar_experts(const std::vector<GaussianPosterior>& experts, double threshold, SimilarAction action) {
  require(threshold >= 0.0 && threshold <= 1.0, "reduce_similar_experts", "threshold", "a value in [0, 1]");
  for (const auto& e : experts)
    require(e.weight >= 0.0 && std::isfinite(e.weight), "reduce_similar_experts", "experts", "non-negative finite weights");
  SimilarityReduction out;
  out.experts = experts;
  for (std::size_t k = 0; k < experts.size(); ++k) out.members.push_back({static_cast<int>(k)});
  while (out.experts.size() > 1) {
    const Eigen::MatrixXd s = similarity_matrix(out.experts);
    Eigen::Index best_k = 0, best_l = 0;
    double best = -1.0;
    for (Eigen::Index k = 0; k < s.rows(); ++k)
      for (Eigen::Index l = k + 1; l < s.cols(); ++l)
        if (s(k, l) > best) best = s(k, l), best_k = k, best_l = l;
    if (best <= threshold) break;
    auto& a = out.experts[static_cast<std::size_t>(best_k)];
    const auto& b = out.experts[static_cast<std::size_t>(best_l)];
    const double total = a.weight + b.weight;
    if (action == SimilarAction::merge) {
      // Moment matching of the two-component mixture; equal weights when both are zero.
      const double wa = total > 0 ? a.weight / total : 0.5, wb = 1.0 - wa;
      const Eigen::VectorXd mean = wa * a.mean + wb * b.mean;
      const Eigen::VectorXd da = a.mean - mean, db = b.mean - mean;
      a.covariance = wa * (a.covariance + da * da.transpose()) + wb * (b.covariance + db * db.transpose());
      a.mean = mean;
    } else if (b.weight > a.weight) {
      a.mean = b.mean;
      a.covariance = b.covariance;
    }
    a.weight = total;
    auto& members = out.members[static_cast<std::size_t>(best_k)];
    const auto& absorbed = out.members[static_cast<std::size_t>(best_l)];
    members.insert(members.end(), absorbed.begin(), absorbed.end());
    std::sort(members.begin(), members.end());
    out.experts.erase(out.experts.begin() + best_l);
    out.members.erase(out.members.begin() + best_l);
  }
  return out;
}

}  // namespace msweep
