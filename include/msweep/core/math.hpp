// Special functions and stable reductions shared by the model families (mixture, mlp), so each
// is written, and tested, once (tests/unit/core/math_test.cpp).
#pragma once
#include <Eigen/Core>
#include <cmath>

namespace msweep {

// psi(x) = d/dx ln Gamma(x) for x > 0: the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10,
// then the asymptotic series; absolute error about 1e-13. Throws ArgumentError for x <= 0.
double digamma(double x);

// ln sum_j exp(a_j) of a vector expression (a row or a column), shifted by the maximum so huge
// negative entries stay finite. A non-finite maximum is returned as is (-inf for an all -inf
// input, so exp of the result is 0 instead of NaN). O(size).
template <class Derived>
double log_sum_exp(const Eigen::DenseBase<Derived>& a) {
  const double top = a.maxCoeff();
  return std::isfinite(top) ? top + std::log((a.derived().array() - top).exp().sum()) : top;
}

// log_sum_exp of every row of a: the normalizer of row-wise log-probabilities. O(rows * cols).
inline Eigen::VectorXd row_log_sum_exp(const Eigen::Ref<const Eigen::MatrixXd>& a) {
  Eigen::VectorXd out(a.rows());
  for (Eigen::Index i = 0; i < a.rows(); ++i) out(i) = log_sum_exp(a.row(i));
  return out;
}

}  // namespace msweep
