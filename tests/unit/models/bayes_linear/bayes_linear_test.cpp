#include "msweep/models/bayes_linear/bayes_linear.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "msweep/core/random.hpp"

namespace msweep {
namespace {

constexpr double kLog2Pi = 1.8378770664093454835606594728112;

struct Problem {
  Eigen::MatrixXd X;
  Eigen::VectorXd y;
};

Problem random_problem(std::uint64_t seed, int m, int n) {
  RandomStream rng(seed);
  Problem p{Eigen::MatrixXd(m, n), Eigen::VectorXd(m)};
  Eigen::VectorXd w(n);
  for (int j = 0; j < n; ++j) w(j) = rng.normal();
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) p.X(i, j) = rng.normal();
  p.y = p.X * w;
  for (int i = 0; i < m; ++i) p.y(i) += 0.7 * rng.normal();
  return p;
}

// ln N(y | 0, b^-1 I + a^-1 X X^T): the marginal likelihood computed in data space, O(m^3).
double direct_log_evidence(const Problem& p, double a, double b) {
  const auto m = p.X.rows();
  Eigen::MatrixXd C = p.X * p.X.transpose() / a;
  C.diagonal().array() += 1.0 / b;
  Eigen::LLT<Eigen::MatrixXd> llt(C);
  const double log_det = 2.0 * Eigen::MatrixXd(llt.matrixL()).diagonal().array().log().sum();
  return -0.5 * (static_cast<double>(m) * kLog2Pi + log_det + p.y.dot(llt.solve(p.y)));
}

TEST(BayesLinear, EvidenceMatchesDataSpaceGaussianOverManySeeds) {
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Problem p = random_problem(seed, 30, 1 + static_cast<int>(seed % 6));
    const GramStats stats = GramStats::from(p.X, p.y);
    RandomStream rng(seed + 1000);
    const double a = std::exp(rng.uniform(-3, 3)), b = std::exp(rng.uniform(-3, 3));
    BayesLinearOptions fixed;
    fixed.optimize_evidence = false;
    fixed.alpha = a;
    fixed.beta = b;
    const double direct = direct_log_evidence(p, a, b);
    EXPECT_NEAR(fit_bayes_linear(stats, fixed).log_evidence, direct, 1e-9 * std::abs(direct));
    EXPECT_NEAR(log_evidence_closed_form(stats, a, b), direct, 1e-9 * std::abs(direct));
  }
}

TEST(BayesLinear, FixedPointIsAStationaryPointOfTheEvidence) {
  // At the MacKay fixed point d ln p / d ln a = d ln p / d ln b = 0: check by central differences.
  for (std::uint64_t seed = 0; seed < 30; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Problem p = random_problem(seed, 40, 2 + static_cast<int>(seed % 5));
    const GramStats stats = GramStats::from(p.X, p.y);
    const BayesLinearFit fit = fit_bayes_linear(stats, {});
    ASSERT_EQ(fit.termination, Termination::converged);
    const double h = 1e-4;
    const double da = (log_evidence_closed_form(stats, fit.alpha * std::exp(h), fit.beta) -
                       log_evidence_closed_form(stats, fit.alpha * std::exp(-h), fit.beta)) / (2 * h);
    const double db = (log_evidence_closed_form(stats, fit.alpha, fit.beta * std::exp(h)) -
                       log_evidence_closed_form(stats, fit.alpha, fit.beta * std::exp(-h))) / (2 * h);
    EXPECT_NEAR(da, 0.0, 1e-5);
    EXPECT_NEAR(db, 0.0, 1e-5);
    // And it beats nearby points.
    EXPECT_GE(fit.log_evidence + 1e-9, log_evidence_closed_form(stats, fit.alpha * 1.5, fit.beta));
    EXPECT_GE(fit.log_evidence + 1e-9, log_evidence_closed_form(stats, fit.alpha, fit.beta / 1.5));
  }
}

TEST(BayesLinear, PosteriorMeanSolvesTheRidgeSystem) {
  const Problem p = random_problem(7, 25, 4);
  const GramStats stats = GramStats::from(p.X, p.y);
  const BayesLinearFit fit = fit_bayes_linear(stats, {});
  Eigen::MatrixXd A = fit.beta * p.X.transpose() * p.X;
  A.diagonal().array() += fit.alpha;
  const Eigen::VectorXd mean = fit.beta * A.ldlt().solve(p.X.transpose() * p.y);
  EXPECT_LT((mean - fit.mean).norm(), 1e-10 * mean.norm());
  EXPECT_NEAR(fit.rss, (p.y - p.X * fit.mean).squaredNorm(), 1e-8);
}

TEST(BayesLinear, EmptySubsetIsTheNoiseOnlyModel) {
  const Problem p = random_problem(3, 20, 3);
  const GramStats stats = GramStats::from(p.X, p.y).subset({});
  const BayesLinearFit fit = fit_bayes_linear(stats, {});
  const double b = 20.0 / p.y.squaredNorm();
  EXPECT_NEAR(fit.beta, b, 1e-12 * b);
  EXPECT_NEAR(fit.log_evidence, 10.0 * std::log(b) - 10.0 - 10.0 * kLog2Pi, 1e-9);
}

TEST(GramStats, SubsetEqualsStatsOfTheColumns) {
  const Problem p = random_problem(11, 15, 5);
  const std::vector<Eigen::Index> columns = {4, 1, 2};
  const GramStats direct = GramStats::from(p.X(Eigen::all, columns), p.y);
  const GramStats sub = GramStats::from(p.X, p.y).subset(columns);
  EXPECT_LT((direct.gram - sub.gram).norm(), 1e-12);
  EXPECT_LT((direct.cross - sub.cross).norm(), 1e-12);
}

TEST(LeastSquares, MatchesNormalEquationsAndHandlesRankDeficiency) {
  Problem p = random_problem(5, 30, 3);
  const LeastSquaresFit fit = fit_least_squares(GramStats::from(p.X, p.y));
  const Eigen::VectorXd w = p.X.colPivHouseholderQr().solve(p.y);
  EXPECT_LT((fit.weights - w).norm(), 1e-9);
  const double rss = (p.y - p.X * w).squaredNorm();
  EXPECT_NEAR(fit.max_log_likelihood, -15.0 * (std::log(2 * M_PI * rss / 30) + 1), 1e-9);
  // A duplicated column: the pseudo-inverse still gives the least-squares residual.
  Eigen::MatrixXd X2(30, 4);
  X2 << p.X, p.X.col(0);
  const LeastSquaresFit dup = fit_least_squares(GramStats::from(X2, p.y));
  EXPECT_NEAR(dup.rss, rss, 1e-8 * rss);
}

}  // namespace
}  // namespace msweep
