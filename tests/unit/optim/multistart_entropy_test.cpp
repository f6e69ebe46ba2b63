// The multistart entropy update (optim/multistart_entropy.hpp) against exact log-determinants of
// formed matrices. The MLP trajectory check (Hessians from the R-operator, many seeds) is in
// tests/unit/experiments/multistart_evidence_test.cpp, where the model is linked.
#include "msweep/optim/multistart_entropy.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace msweep {
namespace {

Eigen::MatrixXd random_symmetric(Eigen::Index n, double scale, std::uint64_t seed) {
  RandomStream rng(seed);
  Eigen::MatrixXd a(n, n);
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index i = 0; i < n; ++i) a(i, j) = rng.normal();
  return scale * (a + a.transpose()) / std::sqrt(2.0 * static_cast<double>(n));
}

Eigen::VectorXd normal_vector(Eigen::Index n, RandomStream& rng) {
  Eigen::VectorXd v(n);
  for (Eigen::Index i = 0; i < n; ++i) v(i) = rng.normal();
  return v;
}

TEST(MultistartEntropy, GaussianEntropyIsTheClosedForm) {
  EXPECT_NEAR(gaussian_entropy(1, 1.0), 0.5 * (1.0 + std::log(2.0 * std::numbers::pi)), 1e-15);
  EXPECT_NEAR(gaussian_entropy(10, 0.1), 10 * gaussian_entropy(1, 0.1), 1e-12);
  EXPECT_NEAR(langevin_noise_entropy(4, 0.02), gaussian_entropy(4, 0.2), 1e-12);
}

TEST(MultistartEntropy, ProbeEstimateIsUnbiasedForTheTraceBound) {
  // Hutchinson: E r0 . (-2 r0 + 3 J r0 - J^2 r0) = tr(-2 I + 3 J - J^2). Mean over 20000 probes
  // within 4 standard errors, for several matrices (seeds) and step sizes.
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const Eigen::MatrixXd H = random_symmetric(12, 3.0, seed);
    for (double lr : {0.01, 0.05}) {
      RandomStream rng(100 + seed);
      EntropyScratch scratch;
      auto hvp = [&](const Eigen::VectorXd& v, Eigen::VectorXd& out) { out.noalias() = H * v; };
      const int probes = 20000;
      double sum = 0.0, sum_sq = 0.0;
      for (int k = 0; k < probes; ++k) {
        const double x = entropy_increment(hvp, lr, normal_vector(12, rng), scratch);
        sum += x;
        sum_sq += x * x;
      }
      const double mean = sum / probes, sem = std::sqrt((sum_sq / probes - mean * mean) / probes);
      EXPECT_NEAR(mean, exact_increment_bound(H, lr), 4.0 * sem + 1e-12) << "seed " << seed << " lr " << lr;
    }
  }
}

TEST(MultistartEntropy, TraceBoundIsBelowTheLogDeterminantWithAKnownGap) {
  // Per eigenvalue, with u = -lr eig: ln(1 + u) - [u - u^2] = u^2 / 2 + u^3 / 3 + ...: between 0
  // and u^2 (ln(1 + u) <= u), and u^2 / 2 to first order. The bound trades the quadratic
  // term's 1/2 for validity down to x ~ 0.32; the estimate is biased low by ~ tr((lr H)^2) / 2.
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Eigen::MatrixXd H = random_symmetric(8, 1.0, seed);
    const double top = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(H).eigenvalues().cwiseAbs().maxCoeff();
    for (double share : {0.01, 0.1, 0.5, 1.0}) {
      const double lr = share * kMaxStepCurvature / top;  // inside the valid range
      const double bound = exact_increment_bound(H, lr), exact = exact_log_abs_det_jacobian(H, lr);
      const double squares = (lr * H).squaredNorm();  // sum of u^2
      EXPECT_LE(bound, exact + 1e-12) << "seed " << seed << " share " << share;
      EXPECT_LE(exact - bound, squares + 1e-12) << "seed " << seed << " share " << share;
      if (share == 0.01) {
        EXPECT_NEAR((exact - bound) / squares, 0.5, 0.01) << "seed " << seed;
      }
    }
  }
}

TEST(MultistartEntropy, LogDeterminantMatchesTheEigenvalues) {
  const Eigen::MatrixXd H = random_symmetric(6, 2.0, 7);
  const Eigen::VectorXd eig = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(H).eigenvalues();
  const double lr = 0.1;
  EXPECT_NEAR(exact_log_abs_det_jacobian(H, lr), (1.0 - lr * eig.array()).abs().log().sum(), 1e-12);
  EXPECT_NEAR(exact_increment_bound(H, lr),
              ((1.0 - lr * eig.array()) - 1.0 - (lr * eig.array()).square()).sum(), 1e-12);
}

TEST(MultistartEntropy, PowerIterationFindsTheLargestMagnitude) {
  Eigen::VectorXd d(5);
  d << 0.5, -3.0, 1.0, 2.0, 0.1;
  auto hvp = [&](const Eigen::VectorXd& v, Eigen::VectorXd& out) { out = d.cwiseProduct(v); };
  EXPECT_NEAR(top_eigenvalue(hvp, Eigen::VectorXd::Ones(5), 200), -3.0, 1e-9);
  EXPECT_EQ(top_eigenvalue([](const Eigen::VectorXd&, Eigen::VectorXd& out) { out.setZero(); }, Eigen::VectorXd::Ones(3), 5), 0.0);
}

TEST(MultistartEntropy, EntropyPowerStepAddsTheNoise) {
  // Two Gaussians: entropy powers add exactly, N(0, a^2 I) + N(0, b^2 I) = N(0, (a^2 + b^2) I).
  const Eigen::Index d = 7;
  EXPECT_NEAR(add_independent_noise(gaussian_entropy(d, 0.3), gaussian_entropy(d, 0.4), d), gaussian_entropy(d, 0.5), 1e-12);
  // No overflow far from zero.
  EXPECT_TRUE(std::isfinite(add_independent_noise(1e5, -1e5, 10)));
}

TEST(MultistartEntropy, CombinationIsTheMeanIncrementPerStep) {
  const std::vector<double> a = {0.1, -0.2, 0.3}, b = {0.3, 0.0, -0.1};
  const std::vector<std::span<const double>> starts = {a, b};
  const auto plain = combine_cloud_entropy(1.0, starts, false, 0.0, 4);
  ASSERT_EQ(plain.size(), 4u);
  EXPECT_NEAR(plain[3], 1.0 + (0.4 - 0.2 + 0.2) / 2.0, 1e-15);
  const double noise = langevin_noise_entropy(4, 0.01);
  const auto langevin = combine_cloud_entropy(1.0, starts, true, noise, 4);
  double s = 1.0;
  for (std::size_t t = 0; t < 3; ++t) s = add_independent_noise(s + (a[t] + b[t]) / 2.0, noise, 4);
  EXPECT_EQ(langevin[3], s);
}

}  // namespace
}  // namespace msweep
