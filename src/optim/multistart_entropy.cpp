// The multistart entropy update: see multistart_entropy.hpp.
#include "msweep/optim/multistart_entropy.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "msweep/core/error.hpp"

namespace msweep {

double gaussian_entropy(Eigen::Index dimension, double std) {
  require(std > 0.0, "gaussian_entropy", "std", "> 0");
  const double d = static_cast<double>(dimension);
  return 0.5 * d * (1.0 + std::log(2.0 * std::numbers::pi)) + d * std::log(std);
}

namespace {
Eigen::MatrixXd jacobian(const Eigen::Ref<const Eigen::MatrixXd>& hessian, double lr, const char* function) {
  require(hessian.rows() == hessian.cols(), function, "hessian", "square");
  return Eigen::MatrixXd::Identity(hessian.rows(), hessian.cols()) - lr * hessian;
}
}  // namespace

double exact_increment_bound(const Eigen::Ref<const Eigen::MatrixXd>& hessian, double lr) {
  const Eigen::MatrixXd J = jacobian(hessian, lr, "exact_increment_bound");
  return (-2.0 * Eigen::MatrixXd::Identity(J.rows(), J.cols()) + 3.0 * J - J * J).trace();
}

double exact_log_abs_det_jacobian(const Eigen::Ref<const Eigen::MatrixXd>& hessian, double lr) {
  const Eigen::MatrixXd J = jacobian(hessian, lr, "exact_log_abs_det_jacobian");
  // LU with full pivoting: ln|det J| as the sum of ln|u_ii|, which does not overflow.
  const Eigen::FullPivLU<Eigen::MatrixXd> lu(J);
  return lu.matrixLU().diagonal().array().abs().log().sum();
}

double langevin_noise_entropy(Eigen::Index dimension, double lr) {
  require(lr > 0.0, "langevin_noise_entropy", "lr", "> 0");
  return gaussian_entropy(dimension, std::sqrt(2.0 * lr));
}

double add_independent_noise(double entropy, double noise_entropy, Eigen::Index dimension) {
  const double d = static_cast<double>(dimension);
  const double a = 2.0 * entropy / d, b = 2.0 * noise_entropy / d;
  const double top = std::max(a, b);
  return 0.5 * d * (top + std::log(std::exp(a - top) + std::exp(b - top)));
}

std::vector<double> combine_cloud_entropy(double initial, std::span<const std::span<const double>> increments, bool langevin,
                                          double noise_entropy, Eigen::Index dimension) {
  require(!increments.empty(), "combine_cloud_entropy", "increments", "at least one start");
  const std::size_t steps = increments.front().size();
  for (const auto& start : increments)
    require(start.size() == steps, "combine_cloud_entropy", "increments", "the same number of steps for every start");
  std::vector<double> entropy;
  entropy.reserve(steps + 1);
  entropy.push_back(initial);
  const double starts = static_cast<double>(increments.size());
  for (std::size_t t = 0; t < steps; ++t) {
    double sum = 0.0;
    for (const auto& start : increments) sum += start[t];  // starts in index order: the same bits every time
    double next = entropy.back() + sum / starts;
    if (langevin) next = add_independent_noise(next, noise_entropy, dimension);
    entropy.push_back(next);
  }
  return entropy;
}

}  // namespace msweep
