#include "msweep/models/variational/diag_gaussian.hpp"

#include <cmath>
#include <numbers>
#include <string>

#include "msweep/core/error.hpp"
#include "msweep/core/random.hpp"

namespace msweep {
namespace {

void check_family(const char* function, const DiagGaussian& q) {
  require(q.log_std.size() == q.mean.size(), function, "q.log_std", "one entry per mean entry");
}

void check_sized(const char* function, const char* argument, Eigen::Index size, Eigen::Index expected) {
  require(size == expected, function, argument, std::to_string(expected) + " entries (q.size())");
}

}  // namespace

DiagGaussian diag_gaussian(const Eigen::Ref<const Eigen::VectorXd>& mean, double log_std) {
  return DiagGaussian{mean, Eigen::VectorXd::Constant(mean.size(), log_std)};
}

void reparameterized_sample(const DiagGaussian& q, const Eigen::Ref<const Eigen::VectorXd>& eps,
                            Eigen::Ref<Eigen::VectorXd> w) {
  check_family("reparameterized_sample", q);
  check_sized("reparameterized_sample", "eps", eps.size(), q.size());
  check_sized("reparameterized_sample", "w", w.size(), q.size());
  w = q.mean.array() + q.log_std.array().exp() * eps.array();
}

void accumulate_sample_gradient(const DiagGaussian& q, const Eigen::Ref<const Eigen::VectorXd>& eps,
                                const Eigen::Ref<const Eigen::VectorXd>& d_w, Eigen::Ref<Eigen::VectorXd> d_mean,
                                Eigen::Ref<Eigen::VectorXd> d_log_std) {
  const char* function = "accumulate_sample_gradient";
  check_family(function, q);
  check_sized(function, "eps", eps.size(), q.size());
  check_sized(function, "d_w", d_w.size(), q.size());
  check_sized(function, "d_mean", d_mean.size(), q.size());
  check_sized(function, "d_log_std", d_log_std.size(), q.size());
  d_mean += d_w;
  d_log_std.array() += d_w.array() * eps.array() * q.log_std.array().exp();
}

double entropy(const DiagGaussian& q) {
  check_family("entropy", q);
  const double per_entry = 0.5 * (1.0 + std::log(2.0 * std::numbers::pi));
  return q.log_std.sum() + per_entry * static_cast<double>(q.size());
}

double kl_to_prior(const DiagGaussian& q, const Eigen::Ref<const Eigen::VectorXd>& prior_log_std, KlGradient* gradient) {
  check_family("kl_to_prior", q);
  check_sized("kl_to_prior", "prior_log_std", prior_log_std.size(), q.size());
  const Eigen::ArrayXd inverse_prior_variance = (-2.0 * prior_log_std.array()).exp();
  const Eigen::ArrayXd variance = (2.0 * q.log_std.array()).exp();
  const Eigen::ArrayXd second_moment = variance + q.mean.array().square();
  const double kl =
      (0.5 * second_moment * inverse_prior_variance - 0.5 + prior_log_std.array() - q.log_std.array()).sum();
  if (gradient != nullptr) {
    gradient->d_mean = (q.mean.array() * inverse_prior_variance).matrix();
    gradient->d_log_std = (variance * inverse_prior_variance - 1.0).matrix();
    gradient->d_prior_log_std = (1.0 - second_moment * inverse_prior_variance).matrix();
  }
  return kl;
}

KlMixedDerivatives kl_mixed_derivatives(const DiagGaussian& q, const Eigen::Ref<const Eigen::VectorXd>& prior_log_std) {
  check_family("kl_mixed_derivatives", q);
  check_sized("kl_mixed_derivatives", "prior_log_std", prior_log_std.size(), q.size());
  const Eigen::ArrayXd inverse_prior_variance = (-2.0 * prior_log_std.array()).exp();
  KlMixedDerivatives mixed;
  mixed.mean_prior = (-2.0 * q.mean.array() * inverse_prior_variance).matrix();
  mixed.log_std_prior = (-2.0 * (2.0 * q.log_std.array()).exp() * inverse_prior_variance).matrix();
  return mixed;
}

Eigen::VectorXd expand_groups(const Eigen::Ref<const Eigen::VectorXd>& group_values, std::span<const Eigen::Index> group_of) {
  Eigen::VectorXd values(static_cast<Eigen::Index>(group_of.size()));
  for (std::size_t j = 0; j < group_of.size(); ++j) {
    const Eigen::Index group = group_of[j];
    require(group >= 0 && group < group_values.size(), "expand_groups", "group_of",
            "group indices in [0, " + std::to_string(group_values.size()) + ")");
    values[static_cast<Eigen::Index>(j)] = group_values[group];
  }
  return values;
}

Eigen::VectorXd sum_groups(const Eigen::Ref<const Eigen::VectorXd>& values, std::span<const Eigen::Index> group_of,
                           Eigen::Index groups) {
  require(values.size() == static_cast<Eigen::Index>(group_of.size()), "sum_groups", "values",
          "one entry per group_of entry");
  Eigen::VectorXd sums = Eigen::VectorXd::Zero(groups);
  for (std::size_t j = 0; j < group_of.size(); ++j) {
    const Eigen::Index group = group_of[j];
    require(group >= 0 && group < groups, "sum_groups", "group_of", "group indices in [0, " + std::to_string(groups) + ")");
    sums[group] += values[static_cast<Eigen::Index>(j)];
  }
  return sums;
}

Eigen::MatrixXd normal_pool(Eigen::Index size, Eigen::Index draws, std::uint64_t seed) {
  require(size >= 0 && draws >= 0, "normal_pool", "size, draws", ">= 0");
  RandomStream rng(seed);
  Eigen::MatrixXd pool(size, draws);
  for (Eigen::Index d = 0; d < draws; ++d)
    for (Eigen::Index j = 0; j < size; ++j) pool(j, d) = rng.normal();
  return pool;
}

}  // namespace msweep
