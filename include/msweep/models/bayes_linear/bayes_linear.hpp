// Bayesian linear regression (docs/science.md#bayesian-linear-regression-and-the-evidence): prior w ~ N(0, a^-1 I), likelihood
// y ~ N(Xw, b^-1 I), with the evidence maximized by MacKay's fixed point or a and b fixed.
//
// Everything works on sufficient statistics (X^T X, X^T y, y^T y, m), so a structure sweep
// computes them once per data split and each feature subset only takes a sub-block:
// O(n^3) per subset for one eigendecomposition, then O(n) per fixed-point iteration.
#pragma once
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "msweep/core/termination.hpp"

namespace msweep {

// Sufficient statistics of (X, y) for linear-Gaussian models.
struct GramStats {
  Eigen::MatrixXd gram;   // X^T X
  Eigen::VectorXd cross;  // X^T y
  double yy = 0.0;        // y^T y
  Eigen::Index objects = 0;

  static GramStats from(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& y);
  // The statistics of the columns `columns` of X (in that order). O(k^2).
  GramStats subset(const std::vector<Eigen::Index>& columns) const;
  // ||y - X w||^2 from the statistics alone.
  double residual_sum_of_squares(const Eigen::Ref<const Eigen::VectorXd>& w) const;
};

// Eigendecomposition X^T X = V diag(l) V^T and V^T X^T y: computed once per subset and shared
// by the evidence fit and the least-squares fit. O(n^3).
struct GramSpectrum {
  Eigen::VectorXd eigenvalues;   // l, clamped at 0
  Eigen::MatrixXd eigenvectors;  // V
  Eigen::VectorXd rotated_cross; // V^T X^T y
  static GramSpectrum of(const GramStats& stats);
};

struct BayesLinearOptions {
  bool optimize_evidence = true;  // MacKay fixed point; false keeps alpha and beta as given
  double alpha = 1.0;             // prior precision a: the start of the iteration, or fixed
  double beta = 1.0;              // noise precision b: the start of the iteration, or fixed
  int max_iterations = 1000;
  double tolerance = 1e-12;       // stop when a and b change by less than this, relatively
};

// termination: converged (the fixed point settled, or alpha and beta were fixed: nothing to
// iterate) or budget_spent (max_iterations first).
struct BayesLinearFit : FitSummary {
  double alpha = 0.0, beta = 0.0;
  double gamma = 0.0;          // effective number of parameters sum l_i / (a + l_i)
  double log_evidence = 0.0;   // ln p(y | a, b)
  double rss = 0.0;            // ||y - X m_N||^2 on the fitted data
  double log_prior = 0.0;      // ln p(m_N | a)
  Eigen::VectorXd mean;        // posterior mean m_N
};

BayesLinearFit fit_bayes_linear(const GramStats& stats, const BayesLinearOptions& options);
BayesLinearFit fit_bayes_linear(const GramStats& stats, const GramSpectrum& spectrum, const BayesLinearOptions& options);

// ln p(y | a, b) by the closed form of docs/science.md (Cholesky of A), for checking the sweep path.
double log_evidence_closed_form(const GramStats& stats, double alpha, double beta);

// Gaussian log-likelihood sum_i ln N(y_i | x_i^T w, 1/beta) from another set's statistics.
double gaussian_log_likelihood(const GramStats& stats, const Eigen::Ref<const Eigen::VectorXd>& w, double beta);

struct LeastSquaresFit {
  Eigen::VectorXd weights;
  double rss = 0.0;
  double max_log_likelihood = 0.0;  // -m/2 (ln(2 pi rss / m) + 1)
};

// Maximum-likelihood (least squares) fit from the statistics; rank-deficient Gram matrices
// use the pseudo-inverse.
LeastSquaresFit fit_least_squares(const GramStats& stats);
LeastSquaresFit fit_least_squares(const GramStats& stats, const GramSpectrum& spectrum);

}  // namespace msweep
