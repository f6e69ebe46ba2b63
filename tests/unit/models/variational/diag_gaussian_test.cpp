// Mean-field Gaussian family: the closed-form entropy and KL against direct numerical
// integration, every gradient and mixed second derivative against central finite differences
// over many seeds, the reparameterized chain rule against differences of F(sample), and the
// group mapping's adjointness.
#include "msweep/models/variational/diag_gaussian.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <numbers>
#include <vector>

#include "msweep/core/error.hpp"
#include "msweep/core/random.hpp"

namespace msweep {
namespace {

DiagGaussian random_q(RandomStream& rng, Eigen::Index p) {
  DiagGaussian q;
  q.mean.resize(p);
  q.log_std.resize(p);
  for (Eigen::Index j = 0; j < p; ++j) {
    q.mean[j] = rng.normal(0.0, 1.5);
    q.log_std[j] = rng.uniform(-2.0, 1.0);
  }
  return q;
}

Eigen::VectorXd random_vector(RandomStream& rng, Eigen::Index p, double low, double high) {
  Eigen::VectorXd v(p);
  for (Eigen::Index j = 0; j < p; ++j) v[j] = rng.uniform(low, high);
  return v;
}

// Written out from the density's definition, independently of the code under test.
double log_normal_density(double x, double mean, double sd) {
  const double z = (x - mean) / sd;
  return -0.5 * z * z - std::log(sd) - 0.5 * std::log(2.0 * std::numbers::pi);
}
Eigen::VectorXd vector_of(std::initializer_list<double> entries) {
  const std::vector<double> copy(entries);
  return Eigen::Map<const Eigen::VectorXd>(copy.data(), static_cast<Eigen::Index>(copy.size()));
}

double normal_density(double x, double mean, double sd) { return std::exp(log_normal_density(x, mean, sd)); }

// E_q[f] for one dimension by the trapezoid rule over mean +- 12 sd.
template <class F>
double integrate_1d(double mean, double sd, F f) {
  const int n = 200000;
  const double low = mean - 12 * sd, high = mean + 12 * sd, h = (high - low) / n;
  double total = 0.0;
  for (int i = 0; i <= n; ++i) {
    const double x = low + i * h;
    const double weight = (i == 0 || i == n) ? 0.5 : 1.0;
    total += weight * normal_density(x, mean, sd) * f(x);
  }
  return total * h;
}

TEST(DiagGaussian, EntropyAndKlMatchNumericalIntegration) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    RandomStream rng(seed);
    const DiagGaussian q = random_q(rng, 1);
    const Eigen::VectorXd h = random_vector(rng, 1, -1.5, 1.5);
    const double mu = q.mean[0], s = std::exp(q.log_std[0]), sigma = std::exp(h[0]);
    const double direct_entropy = integrate_1d(mu, s, [&](double x) { return -log_normal_density(x, mu, s); });
    const double direct_kl = integrate_1d(
        mu, s, [&](double x) { return log_normal_density(x, mu, s) - log_normal_density(x, 0.0, sigma); });
    EXPECT_NEAR(entropy(q), direct_entropy, 1e-7) << "seed " << seed;
    EXPECT_NEAR(kl_to_prior(q, h), direct_kl, 1e-7) << "seed " << seed;
  }
}

TEST(DiagGaussian, KlIsASumOverParametersAndZeroAtThePrior) {
  RandomStream rng(7);
  const DiagGaussian q = random_q(rng, 6);
  const Eigen::VectorXd h = random_vector(rng, 6, -1.0, 1.0);
  double sum = 0.0;
  for (Eigen::Index j = 0; j < 6; ++j) {
    const DiagGaussian one{q.mean.segment(j, 1), q.log_std.segment(j, 1)};
    sum += kl_to_prior(one, h.segment(j, 1));
  }
  EXPECT_NEAR(kl_to_prior(q, h), sum, 1e-12);
  const DiagGaussian prior{Eigen::VectorXd::Zero(6), h};
  EXPECT_NEAR(kl_to_prior(prior, h), 0.0, 1e-14);
}

TEST(DiagGaussian, KlGradientMatchesFiniteDifferences) {
  const double step = 1e-6;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    RandomStream rng(100 + seed);
    const Eigen::Index p = 5;
    DiagGaussian q = random_q(rng, p);
    Eigen::VectorXd h = random_vector(rng, p, -1.5, 1.5);
    KlGradient gradient;
    kl_to_prior(q, h, &gradient);
    for (Eigen::Index j = 0; j < p; ++j) {
      auto central = [&](double& x) {
        const double saved = x;
        x = saved + step;
        const double plus = kl_to_prior(q, h);
        x = saved - step;
        const double minus = kl_to_prior(q, h);
        x = saved;
        return (plus - minus) / (2 * step);
      };
      EXPECT_NEAR(gradient.d_mean[j], central(q.mean[j]), 1e-6) << "seed " << seed;
      EXPECT_NEAR(gradient.d_log_std[j], central(q.log_std[j]), 1e-6) << "seed " << seed;
      EXPECT_NEAR(gradient.d_prior_log_std[j], central(h[j]), 1e-6) << "seed " << seed;
    }
  }
}

TEST(DiagGaussian, MixedDerivativesMatchFiniteDifferencesOfTheGradient) {
  const double step = 1e-6;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    RandomStream rng(200 + seed);
    const Eigen::Index p = 4;
    const DiagGaussian q = random_q(rng, p);
    Eigen::VectorXd h = random_vector(rng, p, -1.5, 1.5);
    const KlMixedDerivatives mixed = kl_mixed_derivatives(q, h);
    for (Eigen::Index j = 0; j < p; ++j) {
      KlGradient plus, minus;
      const double saved = h[j];
      h[j] = saved + step;
      kl_to_prior(q, h, &plus);
      h[j] = saved - step;
      kl_to_prior(q, h, &minus);
      h[j] = saved;
      for (Eigen::Index i = 0; i < p; ++i) {
        // Off-diagonal entries vanish: the KL is a sum of per-parameter terms.
        const double expected_mean = i == j ? mixed.mean_prior[j] : 0.0;
        const double expected_log_std = i == j ? mixed.log_std_prior[j] : 0.0;
        EXPECT_NEAR((plus.d_mean[i] - minus.d_mean[i]) / (2 * step), expected_mean, 1e-5) << "seed " << seed;
        EXPECT_NEAR((plus.d_log_std[i] - minus.d_log_std[i]) / (2 * step), expected_log_std, 1e-5) << "seed " << seed;
      }
    }
  }
}

TEST(DiagGaussian, SampleGradientMatchesFiniteDifferencesOfTheSampledFunction) {
  // F(w) = sum_j c_j sin(w_j) + (sum_j w_j)^2 / 2: not separable, so the chain rule is exercised.
  auto value = [](const Eigen::VectorXd& c, const Eigen::VectorXd& w) {
    return (c.array() * w.array().sin()).sum() + 0.5 * w.sum() * w.sum();
  };
  auto gradient = [](const Eigen::VectorXd& c, const Eigen::VectorXd& w) -> Eigen::VectorXd {
    return (c.array() * w.array().cos() + w.sum()).matrix();
  };
  const double step = 1e-6;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    RandomStream rng(300 + seed);
    const Eigen::Index p = 6;
    DiagGaussian q = random_q(rng, p);
    const Eigen::VectorXd c = random_vector(rng, p, -2.0, 2.0);
    Eigen::VectorXd eps(p);
    for (Eigen::Index j = 0; j < p; ++j) eps[j] = rng.normal();
    Eigen::VectorXd w(p);
    reparameterized_sample(q, eps, w);
    EXPECT_TRUE(w.isApprox((q.mean.array() + q.log_std.array().exp() * eps.array()).matrix()));
    Eigen::VectorXd d_mean = Eigen::VectorXd::Zero(p), d_log_std = Eigen::VectorXd::Zero(p);
    accumulate_sample_gradient(q, eps, gradient(c, w), d_mean, d_log_std);
    auto sampled = [&] {
      Eigen::VectorXd x(p);
      reparameterized_sample(q, eps, x);
      return value(c, x);
    };
    for (Eigen::Index j = 0; j < p; ++j) {
      for (auto* x : {&q.mean[j], &q.log_std[j]}) {
        const double saved = *x;
        *x = saved + step;
        const double plus = sampled();
        *x = saved - step;
        const double minus = sampled();
        *x = saved;
        const double analytic = x == &q.mean[j] ? d_mean[j] : d_log_std[j];
        EXPECT_NEAR(analytic, (plus - minus) / (2 * step), 1e-5) << "seed " << seed;
      }
    }
  }
}

TEST(DiagGaussian, GradientsAccumulateOverDraws) {
  RandomStream rng(9);
  const DiagGaussian q = random_q(rng, 3);
  const Eigen::VectorXd eps = Eigen::VectorXd::Ones(3), d_w = Eigen::VectorXd::Constant(3, 2.0);
  Eigen::VectorXd d_mean = Eigen::VectorXd::Zero(3), d_log_std = Eigen::VectorXd::Zero(3);
  accumulate_sample_gradient(q, eps, d_w, d_mean, d_log_std);
  accumulate_sample_gradient(q, eps, d_w, d_mean, d_log_std);
  EXPECT_TRUE(d_mean.isApprox(Eigen::VectorXd::Constant(3, 4.0)));
  EXPECT_TRUE(d_log_std.isApprox((4.0 * q.log_std.array().exp()).matrix()));
}

TEST(DiagGaussian, GroupsExpandAndSumAsAdjoints) {
  const std::vector<Eigen::Index> group_of = {0, 0, 2, 1, 2, 2};
  const Eigen::VectorXd groups = vector_of({1.0, -2.0, 0.5});
  const Eigen::VectorXd values = vector_of({1, 2, 3, 4, 5, 6});
  const Eigen::VectorXd expanded = expand_groups(groups, group_of);
  EXPECT_EQ(expanded, vector_of({1.0, 1.0, 0.5, -2.0, 0.5, 0.5}));
  const Eigen::VectorXd sums = sum_groups(values, group_of, 3);
  EXPECT_EQ(sums, vector_of({3, 4, 14}));
  // <expand(g), v> = <g, sum(v)>
  EXPECT_DOUBLE_EQ(expanded.dot(values), groups.dot(sums));
  EXPECT_THROW(expand_groups(groups, std::vector<Eigen::Index>{3}), ArgumentError);
  EXPECT_THROW(sum_groups(values, std::vector<Eigen::Index>{0}, 3), ArgumentError);
}

TEST(DiagGaussian, NormalPoolIsSeededAndStandard) {
  const Eigen::MatrixXd a = normal_pool(50, 400, 42), b = normal_pool(50, 400, 42), c = normal_pool(50, 400, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  const double mean = a.mean();
  const double variance = (a.array() - mean).square().mean();
  EXPECT_NEAR(mean, 0.0, 0.02);  // 20000 draws: sd of the mean 0.007
  EXPECT_NEAR(variance, 1.0, 0.04);
}

TEST(DiagGaussian, MismatchedSizesAreRefused) {
  DiagGaussian q = diag_gaussian(Eigen::VectorXd::Zero(3), 0.0);
  Eigen::VectorXd w(3);
  EXPECT_THROW(reparameterized_sample(q, Eigen::VectorXd::Zero(2), w), ArgumentError);
  EXPECT_THROW(kl_to_prior(q, Eigen::VectorXd::Zero(4)), ArgumentError);
  q.log_std.resize(2);
  EXPECT_THROW(entropy(q), ArgumentError);
}

}  // namespace
}  // namespace msweep
