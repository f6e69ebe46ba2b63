#include "msweep/models/bayes_linear/bayes_linear.hpp"

#include <cmath>
#include <limits>
#include <numbers>

#include "msweep/core/error.hpp"
#include "msweep/core/timer.hpp"

namespace msweep {
namespace {
constexpr double kLog2Pi = 1.8378770664093454835606594728112;  // ln(2 pi)
}

GramStats GramStats::from(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& y) {
  require(X.rows() == y.size(), "GramStats::from", "y", "one target per row of X");
  GramStats stats;
  stats.gram = Eigen::MatrixXd(X.cols(), X.cols());
  stats.gram.setZero();
  stats.gram.selfadjointView<Eigen::Lower>().rankUpdate(X.transpose());
  stats.gram.triangularView<Eigen::StrictlyUpper>() = stats.gram.transpose();
  stats.cross = X.transpose() * y;
  stats.yy = y.squaredNorm();
  stats.objects = X.rows();
  return stats;
}

GramStats GramStats::subset(const std::vector<Eigen::Index>& columns) const {
  GramStats out;
  out.gram = gram(columns, columns);
  out.cross = cross(columns);
  out.yy = yy;
  out.objects = objects;
  return out;
}

double GramStats::residual_sum_of_squares(const Eigen::Ref<const Eigen::VectorXd>& w) const {
  // ||y - Xw||^2 = y'y - 2 w'X'y + w'X'Xw; clamped because cancellation can dip below zero.
  return std::max(0.0, yy - 2.0 * w.dot(cross) + w.dot(gram * w));
}

double gaussian_log_likelihood(const GramStats& stats, const Eigen::Ref<const Eigen::VectorXd>& w, double beta) {
  const double m = static_cast<double>(stats.objects);
  return 0.5 * m * (std::log(beta) - kLog2Pi) - 0.5 * beta * stats.residual_sum_of_squares(w);
}

GramSpectrum GramSpectrum::of(const GramStats& stats) {
  const Eigen::Index n = stats.gram.rows();
  GramSpectrum spectrum;
  spectrum.eigenvalues = Eigen::VectorXd::Zero(n);
  spectrum.eigenvectors = Eigen::MatrixXd::Identity(n, n);
  if (n > 0) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(stats.gram);
    spectrum.eigenvalues = solver.eigenvalues().cwiseMax(0.0);
    spectrum.eigenvectors = solver.eigenvectors();
  }
  spectrum.rotated_cross = spectrum.eigenvectors.transpose() * stats.cross;
  return spectrum;
}

BayesLinearFit fit_bayes_linear(const GramStats& stats, const BayesLinearOptions& options) {
  return fit_bayes_linear(stats, GramSpectrum::of(stats), options);
}

BayesLinearFit fit_bayes_linear(const GramStats& stats, const GramSpectrum& spectrum, const BayesLinearOptions& options) {
  require(options.alpha > 0 && options.beta > 0, "fit_bayes_linear", "options.alpha, options.beta", "positive precisions");
  require(stats.objects > 0, "fit_bayes_linear", "stats", "at least one object");
  const Eigen::Index n = stats.gram.rows();
  const double m = static_cast<double>(stats.objects);

  // In the eigenbasis of X^T X = V diag(l) V^T every quantity is a sum over eigenvalues:
  // m_N = b V diag(1 / (a + b l)) V^T X^T y, so each fixed-point step is O(n).
  const Eigen::VectorXd& eigenvalues = spectrum.eigenvalues;
  const Eigen::MatrixXd& eigenvectors = spectrum.eigenvectors;
  const Eigen::VectorXd& z = spectrum.rotated_cross;

  WallTimer timer;
  BayesLinearFit fit;
  fit.termination = Termination::converged;  // with alpha and beta fixed there is nothing to iterate
  fit.message = "alpha and beta fixed";
  double a = options.alpha, b = options.beta;
  Eigen::VectorXd rotated_mean(n);  // V^T m_N
  auto posterior = [&](double alpha, double beta) {
    rotated_mean = (beta * z.array() / (alpha + beta * eigenvalues.array())).matrix();
  };
  // rss = y'y - 2 m'X'y + m'X'X m, all in the eigenbasis.
  auto residual = [&]() {
    return std::max(0.0, stats.yy - 2.0 * rotated_mean.dot(z) + (eigenvalues.array() * rotated_mean.array().square()).sum());
  };

  // ln p(y|a,b) = n/2 ln a + m/2 ln b - E(m_N) - 1/2 ln|A| - m/2 ln(2 pi), O(n) in the eigenbasis.
  auto log_evidence = [&](double alpha, double beta, double rss, double mm) {
    return 0.5 * static_cast<double>(n) * std::log(alpha) + 0.5 * m * std::log(beta) - (0.5 * beta * rss + 0.5 * alpha * mm) -
           0.5 * (alpha + beta * eigenvalues.array()).log().sum() - 0.5 * m * kLog2Pi;
  };

  if (options.optimize_evidence) {
    fit.termination = Termination::budget_spent;
    double previous_evidence = -std::numeric_limits<double>::infinity();
    int flat_steps = 0;
    for (fit.iterations = 1; fit.iterations <= options.max_iterations; ++fit.iterations) {
      posterior(a, b);
      const double gamma = n > 0 ? (b * eigenvalues.array() / (a + b * eigenvalues.array())).sum() : 0.0;
      const double mm = rotated_mean.squaredNorm();
      const double rss = residual();
      // When a weight direction carries no signal the maximum lies at a = infinity and a
      // creeps there ever more slowly; the evidence, though, stops changing. Three steps
      // flat to rounding level count as converged.
      const double evidence = log_evidence(a, b, rss, mm);
      flat_steps = std::abs(evidence - previous_evidence) <= 1e-15 * std::max(1.0, std::abs(evidence)) ? flat_steps + 1 : 0;
      previous_evidence = evidence;
      if (flat_steps >= 3) {
        fit.termination = Termination::converged;
        fit.message = "evidence flat to rounding for three steps";
        break;
      }
      // A mean that vanishes drives a to infinity: cap it, the subset then predicts zero.
      const double new_a = n > 0 ? std::min(gamma / std::max(mm, 1e-300), 1e12) : a;
      const double new_b = (m - gamma) > 0 && rss > 0 ? (m - gamma) / rss : b;
      const double change = std::max(std::abs(new_a - a) / a, std::abs(new_b - b) / b);
      a = std::max(new_a, 1e-12);
      b = new_b;
      if (change < options.tolerance) {
        fit.termination = Termination::converged;
        fit.message = "alpha and beta changed by less than the tolerance";
        break;
      }
    }
    if (fit.termination == Termination::budget_spent) {
      fit.iterations = options.max_iterations;
      fit.message = "evidence fixed point did not converge in " + std::to_string(options.max_iterations) + " iterations";
    }
  }
  posterior(a, b);
  fit.alpha = a;
  fit.beta = b;
  fit.gamma = n > 0 ? (b * eigenvalues.array() / (a + b * eigenvalues.array())).sum() : 0.0;
  fit.rss = residual();
  fit.mean = eigenvectors * rotated_mean;
  const double mm = rotated_mean.squaredNorm();
  fit.log_evidence = log_evidence(a, b, fit.rss, mm);
  fit.log_prior = 0.5 * static_cast<double>(n) * (std::log(a) - kLog2Pi) - 0.5 * a * mm;
  fit.seconds = timer.seconds();
  return fit;
}

double log_evidence_closed_form(const GramStats& stats, double alpha, double beta) {
  const Eigen::Index n = stats.gram.rows();
  const double m = static_cast<double>(stats.objects);
  Eigen::MatrixXd A = beta * stats.gram;
  A.diagonal().array() += alpha;
  Eigen::LLT<Eigen::MatrixXd> llt(A);
  require(llt.info() == Eigen::Success, "log_evidence_closed_form", "alpha", "a positive definite posterior precision");
  const Eigen::VectorXd mean = beta * llt.solve(stats.cross);
  const double log_det = 2.0 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
  const double energy = 0.5 * beta * stats.residual_sum_of_squares(mean) + 0.5 * alpha * mean.squaredNorm();
  return 0.5 * static_cast<double>(n) * std::log(alpha) + 0.5 * m * std::log(beta) - energy - 0.5 * log_det - 0.5 * m * kLog2Pi;
}

LeastSquaresFit fit_least_squares(const GramStats& stats) { return fit_least_squares(stats, GramSpectrum::of(stats)); }

LeastSquaresFit fit_least_squares(const GramStats& stats, const GramSpectrum& spectrum) {
  const Eigen::Index n = stats.gram.rows();
  const double m = static_cast<double>(stats.objects);
  LeastSquaresFit fit;
  fit.weights = Eigen::VectorXd::Zero(n);
  if (n > 0) {
    // Pseudo-inverse: directions with (numerically) zero variance get no weight.
    const double cutoff = 1e-10 * std::max(1.0, spectrum.eigenvalues.maxCoeff());
    Eigen::VectorXd scaled(n);
    for (Eigen::Index i = 0; i < n; ++i)
      scaled(i) = spectrum.eigenvalues(i) > cutoff ? spectrum.rotated_cross(i) / spectrum.eigenvalues(i) : 0.0;
    fit.weights = spectrum.eigenvectors * scaled;
  }
  fit.rss = stats.residual_sum_of_squares(fit.weights);
  // A perfect fit has rss 0 and an unbounded likelihood; floor it so criteria stay finite.
  const double variance = std::max(fit.rss / m, 1e-300);
  fit.max_log_likelihood = -0.5 * m * (std::log(2.0 * std::numbers::pi * variance) + 1.0);
  return fit;
}

}  // namespace msweep
