// core/math.hpp: digamma against known values and against a finite difference of lgamma;
// log-sum-exp against the direct formula and where the direct formula over- or underflows.
#include "msweep/core/math.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "msweep/core/error.hpp"

namespace msweep {
namespace {

TEST(Digamma, KnownValues) {
  EXPECT_NEAR(digamma(1.0), -0.57721566490153286, 1e-13);  // -Euler's gamma
  EXPECT_NEAR(digamma(0.5), -1.9635100260214235, 1e-13);   // -gamma - 2 ln 2
  EXPECT_NEAR(digamma(10.0), 2.2517525890667211, 1e-13);
  EXPECT_NEAR(digamma(1e-3), -1000.5755719318103, 1e-9);
  EXPECT_THROW(digamma(0.0), ArgumentError);
  EXPECT_THROW(digamma(-1.5), ArgumentError);
}

TEST(Digamma, IsTheDerivativeOfLogGamma) {
  // Central difference of lgamma, error O(h^2 psi''') + rounding O(eps / h).
  const double h = 1e-5;
  for (const double x : {0.05, 0.3, 1.0, 2.5, 7.0, 9.999, 10.0, 10.001, 55.0, 1e3, 1e6}) {
    const double numeric = (std::lgamma(x + h) - std::lgamma(x - h)) / (2.0 * h);
    EXPECT_NEAR(digamma(x), numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << "x = " << x;
  }
}

TEST(Digamma, SatisfiesTheRecurrence) {
  // psi(x + 1) = psi(x) + 1/x, across the switch to the asymptotic series at 10.
  for (const double x : {0.2, 1.7, 8.5, 9.5, 12.0}) EXPECT_NEAR(digamma(x + 1.0), digamma(x) + 1.0 / x, 1e-12) << "x = " << x;
}

TEST(LogSumExp, MatchesTheDirectFormula) {
  const Eigen::Vector4d a(0.3, -1.2, 2.5, 0.0);
  EXPECT_NEAR(log_sum_exp(a), std::log(a.array().exp().sum()), 1e-14);
  EXPECT_DOUBLE_EQ(log_sum_exp(Eigen::VectorXd::Constant(1, -3.0)), -3.0);
}

TEST(LogSumExp, StaysFiniteWhereTheDirectFormulaDoesNot) {
  // exp(1000) overflows and exp(-1000) underflows; shifted by the maximum both are exact.
  EXPECT_NEAR(log_sum_exp(Eigen::Vector2d(1000.0, 1000.0)), 1000.0 + std::log(2.0), 1e-12);
  EXPECT_NEAR(log_sum_exp(Eigen::Vector2d(-1000.0, -1000.0)), -1000.0 + std::log(2.0), 1e-12);
  EXPECT_NEAR(log_sum_exp(Eigen::Vector3d(-1e300, 0.0, -1e300)), 0.0, 1e-15);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(log_sum_exp(Eigen::Vector2d(-inf, -inf)), -inf);  // all impossible: ln 0, not NaN
  EXPECT_EQ(log_sum_exp(Eigen::Vector2d(-inf, 2.0)), 2.0);
}

TEST(LogSumExp, RowsOfAMatrix) {
  Eigen::MatrixXd a(3, 2);
  a << 0.0, 0.0, 1000.0, -1000.0, -2.0, 1.0;
  const Eigen::VectorXd out = row_log_sum_exp(a);
  ASSERT_EQ(out.size(), 3);
  EXPECT_NEAR(out(0), std::log(2.0), 1e-15);
  EXPECT_NEAR(out(1), 1000.0, 1e-12);
  EXPECT_NEAR(out(2), std::log(std::exp(-2.0) + std::exp(1.0)), 1e-14);
}

}  // namespace
}  // namespace msweep
