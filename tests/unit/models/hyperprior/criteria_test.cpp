// The CV and ELBO hyperparameter criteria: values against direct computation from the MLP's
// log-likelihood and the Gaussian formulas, the splits (k random 75/25), the pool, every
// derivative a hypergradient uses against finite differences (gradient, H v, mixed (d2L/dtheta dh)^T v,
// dQ/dtheta, dQ/dh) on a linear model and a small tanh MLP, and HOAG / the unrolled reverse pass
// through these problems against finite differences of Q(h).
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <set>

#include "msweep/core/error.hpp"
#include "msweep/core/random.hpp"
#include "msweep/models/hyperprior/criteria.hpp"

namespace msweep {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

struct Data {
  MatrixXd X;
  VectorXd y;
};

Data regression(Index m, Index features, std::uint64_t seed) {
  RandomStream rng(seed);
  Data d{MatrixXd(m, features), VectorXd(m)};
  for (Index i = 0; i < d.X.size(); ++i) d.X.data()[i] = rng.normal();
  for (Index i = 0; i < m; ++i) d.y[i] = d.X(i, 0) - 0.5 * d.X(i, features - 1) + 0.3 * rng.normal();
  return d;
}

Mlp linear(Index features) { return Mlp(MlpOptions{{features, 1}, Activation::identity, Loss::mse, true, 1.0}); }
Mlp small_tanh(Index features) { return Mlp(MlpOptions{{features, 3, 1}, Activation::tanh, Loss::mse, true, 1.0}); }

VectorXd random_vector(Index n, std::uint64_t seed, double scale = 0.5) {
  RandomStream rng(seed);
  VectorXd v(n);
  for (Index i = 0; i < n; ++i) v[i] = scale * rng.normal();
  return v;
}

double relative_error(const VectorXd& a, const VectorXd& b) { return (a - b).norm() / (1.0 + b.norm()); }

// Every derivative of a BilevelProblem at (theta, h) against central differences.
void check_derivatives(BilevelProblem& problem, const VectorXd& theta, const VectorXd& h) {
  const double step = 1e-6;
  const Index n = theta.size();
  VectorXd gradient, hv, d_theta, d_h;
  problem.inner_loss(theta, h, &gradient);
  problem.criterion(theta, h, &d_theta, &d_h);
  VectorXd fd_gradient(n), fd_d_theta(n);
  for (Index k = 0; k < n; ++k) {
    VectorXd plus = theta, minus = theta;
    plus[k] += step;
    minus[k] -= step;
    fd_gradient[k] = (problem.inner_loss(plus, h, nullptr) - problem.inner_loss(minus, h, nullptr)) / (2 * step);
    fd_d_theta[k] = (problem.criterion(plus, h, nullptr, nullptr) - problem.criterion(minus, h, nullptr, nullptr)) / (2 * step);
  }
  EXPECT_LT(relative_error(gradient, fd_gradient), 1e-6) << "inner gradient";
  EXPECT_LT(relative_error(d_theta, fd_d_theta), 1e-6) << "dQ/dtheta";

  // H v = d/dr grad L(theta + r v) and M^T v = d/dh (grad L(theta, h) . v).
  const VectorXd v = random_vector(n, 99);
  problem.inner_hessian_vector(theta, h, v, hv);
  VectorXd g_plus, g_minus;
  problem.inner_loss(theta + step * v, h, &g_plus);
  problem.inner_loss(theta - step * v, h, &g_minus);
  EXPECT_LT(relative_error(hv, (g_plus - g_minus) / (2 * step)), 1e-6) << "H v";
  const VectorXd mixed = problem.mixed_transpose_vector(theta, h, v);
  VectorXd fd_mixed(h.size()), fd_d_h(h.size());
  for (Index k = 0; k < h.size(); ++k) {
    VectorXd plus = h, minus = h;
    plus[k] += step;
    minus[k] -= step;
    problem.inner_loss(theta, plus, &g_plus);
    problem.inner_loss(theta, minus, &g_minus);
    fd_mixed[k] = (g_plus - g_minus).dot(v) / (2 * step);
    fd_d_h[k] = (problem.criterion(theta, plus, nullptr, nullptr) - problem.criterion(theta, minus, nullptr, nullptr)) / (2 * step);
  }
  EXPECT_LT(relative_error(mixed, fd_mixed), 1e-6) << "(d2L/dtheta dh)^T v";
  EXPECT_LT(relative_error(d_h, fd_d_h), 1e-6) << "dQ/dh";
}

// Central differences of h -> Q(theta_T(h), h), retraining from theta0 at every point.
VectorXd trained_criterion_gradient(BilevelProblem& problem, const VectorXd& theta0, const VectorXd& h,
                                    const InnerTraining& training, double step = 1e-5) {
  VectorXd fd(h.size());
  for (Index k = 0; k < h.size(); ++k) {
    VectorXd plus = h, minus = h;
    plus[k] += step;
    minus[k] -= step;
    fd[k] = (evaluate_hyperparameters(problem, theta0, plus, training) - evaluate_hyperparameters(problem, theta0, minus, training)) /
            (2 * step);
  }
  return fd;
}

TEST(PriorGroups, PerParameterPerLayerSingle) {
  const Mlp model = small_tanh(2);  // W1 3x2, b1 3, W2 1x3, b2 1: 13 parameters
  const auto per_parameter = prior_groups(model, PriorGrouping::per_parameter);
  EXPECT_EQ(group_count(per_parameter), 13);
  const auto per_layer = prior_groups(model, PriorGrouping::per_layer);
  EXPECT_EQ(group_count(per_layer), 2);
  EXPECT_EQ(std::count(per_layer.begin(), per_layer.end(), 0), 9);
  EXPECT_EQ(group_count(prior_groups(model, PriorGrouping::single)), 1);
}

TEST(CrossValidation, SplitsAreRandomSeventyFiveTwentyFive) {
  const Data d = regression(20, 3, 1);
  const Mlp model = linear(3);
  CrossValidationProblem problem(model, d.X, d.y, prior_groups(model, PriorGrouping::per_parameter), 4, 11);
  ASSERT_EQ(problem.folds(), 4);
  std::set<std::vector<Index>> distinct;
  for (int q = 0; q < 4; ++q) {
    const auto& train = problem.training_rows(q);
    const auto& val = problem.validation_rows(q);
    EXPECT_EQ(val.size(), 5u);
    EXPECT_EQ(train.size(), 15u);
    std::set<Index> all(train.begin(), train.end());
    all.insert(val.begin(), val.end());
    EXPECT_EQ(all.size(), 20u);
    distinct.insert(val);
  }
  EXPECT_GT(distinct.size(), 1u);
  CrossValidationProblem same(model, d.X, d.y, prior_groups(model, PriorGrouping::per_parameter), 4, 11);
  EXPECT_EQ(same.validation_rows(2), problem.validation_rows(2));
}

TEST(CrossValidation, ValuesMatchDirectComputation) {
  const Data d = regression(20, 3, 2);
  const Mlp model = linear(3);
  const auto groups = prior_groups(model, PriorGrouping::per_parameter);
  const int k = 3;
  CrossValidationProblem problem(model, d.X, d.y, groups, k, 5);
  const VectorXd theta = random_vector(problem.parameters(), 3);
  const VectorXd h = random_vector(problem.hyperparameters(), 4);
  double q_direct = 0.0, l_direct = 0.0;
  for (int q = 0; q < k; ++q) {
    const auto& train = problem.training_rows(q);
    const auto& val = problem.validation_rows(q);
    const VectorXd w = problem.fold_parameters(theta, q);
    const double val_ll = model.log_likelihood(w, d.X(val, Eigen::all), d.y(val));
    q_direct += (static_cast<double>(train.size()) / static_cast<double>(val.size())) * val_ll / k;
    l_direct -= model.log_likelihood(w, d.X(train, Eigen::all), d.y(train));
    for (Index j = 0; j < w.size(); ++j) {  // -ln N(w_j | 0, e^{2 h_j})
      const double sd = std::exp(h[j]);
      l_direct += 0.5 * (w[j] / sd) * (w[j] / sd) + std::log(sd) + 0.5 * std::log(2 * std::numbers::pi);
    }
  }
  EXPECT_NEAR(problem.criterion(theta, h, nullptr, nullptr), q_direct, 1e-10 * std::abs(q_direct));
  EXPECT_NEAR(problem.inner_loss(theta, h, nullptr), l_direct, 1e-10 * std::abs(l_direct));
}

TEST(EvidenceBound, ValueMatchesDirectComputationOnTheFixedPool) {
  const Data d = regression(15, 2, 6);
  const Mlp model = small_tanh(2);
  const auto groups = prior_groups(model, PriorGrouping::per_layer);
  EvidenceBoundProblem problem(model, d.X, d.y, groups, 100, 77);
  ASSERT_EQ(problem.pool().cols(), 100);
  ASSERT_EQ(problem.pool(), normal_pool(model.parameter_count(), 100, 77));
  const VectorXd theta = problem.initial_parameters(random_vector(model.parameter_count(), 8), -2.0);
  const VectorXd h = (VectorXd(2) << 0.2, -0.4).finished();
  const Index p = model.parameter_count();
  double expected_ll = 0.0;
  for (Index i = 0; i < 100; ++i) {
    const VectorXd w = theta.head(p) + std::exp(-2.0) * problem.pool().col(i);
    expected_ll += model.log_likelihood(w, d.X, d.y) / 100.0;
  }
  double kl = 0.0;  // sum_j KL(N(mu_j, s_j^2) || N(0, sigma_j^2))
  for (Index j = 0; j < p; ++j) {
    const double sigma = std::exp(h[groups[static_cast<std::size_t>(j)]]), s = std::exp(-2.0);
    kl += std::log(sigma / s) + (s * s + theta[j] * theta[j]) / (2 * sigma * sigma) - 0.5;
  }
  const double elbo = problem.criterion(theta, h, nullptr, nullptr);
  EXPECT_NEAR(elbo, expected_ll - kl, 1e-10 * std::abs(elbo));
  EXPECT_DOUBLE_EQ(problem.inner_loss(theta, h, nullptr), -elbo);
}

TEST(CrossValidation, DerivativesMatchFiniteDifferences) {
  const Data d = regression(16, 2, 9);
  for (const Mlp& model : {linear(2), small_tanh(2)}) {
    CrossValidationProblem problem(model, d.X, d.y, prior_groups(model, PriorGrouping::per_layer), 2, 3);
    check_derivatives(problem, random_vector(problem.parameters(), 10), random_vector(problem.hyperparameters(), 12, 0.3));
  }
}

TEST(EvidenceBound, DerivativesMatchFiniteDifferences) {
  const Data d = regression(12, 2, 13);
  for (const Mlp& model : {linear(2), small_tanh(2)}) {
    EvidenceBoundProblem problem(model, d.X, d.y, prior_groups(model, PriorGrouping::per_parameter), 7, 5);
    VectorXd theta = random_vector(problem.parameters(), 14);
    theta.tail(model.parameter_count()).array() -= 1.0;
    check_derivatives(problem, theta, random_vector(problem.hyperparameters(), 15, 0.3));
  }
}

// HOAG on the convex CV problem of a linear model, the inner loop run to its minimizer.
TEST(CrossValidation, HoagMatchesFiniteDifferencesAtConvergence) {
  const Data d = regression(20, 3, 16);
  const Mlp model = linear(3);
  CrossValidationProblem problem(model, d.X, d.y, prior_groups(model, PriorGrouping::per_parameter), 2, 17);
  const VectorXd theta0 = problem.initial_parameters(VectorXd::Zero(model.parameter_count()));
  const VectorXd h = random_vector(problem.hyperparameters(), 18, 0.3);
  const InnerTraining converge{5000, 0.02};
  VectorXd theta;
  evaluate_hyperparameters(problem, theta0, h, converge, &theta);
  const Hypergradient g = hoag_hypergradient(problem, theta, h, 1e-12);
  const VectorXd fd = trained_criterion_gradient(problem, theta0, h, converge);
  EXPECT_LT(relative_error(g.gradient, fd), 1e-5) << g.gradient.transpose() << " vs " << fd.transpose();
}

// The exact reverse pass through 20 steps of the ELBO's training of a tanh MLP.
TEST(EvidenceBound, UnrolledHypergradientMatchesFiniteDifferences) {
  const Data d = regression(12, 2, 19);
  const Mlp model = small_tanh(2);
  EvidenceBoundProblem problem(model, d.X, d.y, prior_groups(model, PriorGrouping::per_layer), 10, 20);
  const VectorXd theta0 = problem.initial_parameters(random_vector(model.parameter_count(), 21));
  const VectorXd h = (VectorXd(2) << 0.1, -0.3).finished();
  const InnerTraining training{20, 0.01};
  std::vector<VectorXd> trajectory;
  VectorXd theta = theta0;
  ASSERT_TRUE(train_inner(problem, h, theta, training, &trajectory).usable());
  const Hypergradient g = unrolled_hypergradient(problem, h, trajectory, theta, training);
  const VectorXd fd = trained_criterion_gradient(problem, theta0, h, training);
  EXPECT_LT(relative_error(g.gradient, fd), 1e-6) << g.gradient.transpose() << " vs " << fd.transpose();
}

TEST(Criteria, BadArgumentsThrow) {
  const Data d = regression(10, 2, 22);
  const Mlp model = linear(2);
  EXPECT_THROW(CrossValidationProblem(model, d.X, d.y, {0, 0}, 2, 1), ArgumentError);  // 3 parameters
  EXPECT_THROW(CrossValidationProblem(model, d.X, d.y, {0, 0, 0}, 0, 1), ArgumentError);
  EXPECT_THROW(EvidenceBoundProblem(model, d.X, d.y, {0, 0, 0}, 0, 1), ArgumentError);
  CrossValidationProblem problem(model, d.X, d.y, {0, 0, 0}, 2, 1);
  EXPECT_THROW(problem.inner_loss(VectorXd::Zero(3), VectorXd::Zero(1), nullptr), ArgumentError);
}

}  // namespace
}  // namespace msweep
