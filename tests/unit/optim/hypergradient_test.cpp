// Hypergradients on a small ridge problem with two prior groups, checked against central finite
// differences of Q(h): greedy (one step, exact), the unrolled reverse pass (exact through T
// steps), DrMAD (exact at T = 1, bounded error on a short trajectory), HOAG (inner loop run to
// convergence). The outer loop: ascent, limits with clipping, divergence as a status,
// calibration, determinism; the convergence and best-so-far summaries.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "msweep/core/error.hpp"
#include "msweep/core/random.hpp"
#include "msweep/optim/hypergradient.hpp"

namespace msweep {
namespace {

using Eigen::Index;
using Eigen::VectorXd;

// L(w, h) = 1/2 ||X w - y||^2 + sum_j [w_j^2 e^{-2 h_g(j)} / 2 + h_g(j)] (Gaussian prior, ln sigma = h);
// Q(w, h) = -1/2 ||X_v w - y_v||^2 - c ||h||^2 (the h term exercises the direct partial dQ/dh).
struct RidgeProblem final : BilevelProblem {
  Eigen::MatrixXd X, Xv;
  VectorXd y, yv;
  std::vector<Index> group_of{0, 0, 1, 1};
  double c = 0.01;

  RidgeProblem() {
    RandomStream rng(7);
    X.resize(12, 4);
    Xv.resize(6, 4);
    y.resize(12);
    yv.resize(6);
    for (Index i = 0; i < X.size(); ++i) X.data()[i] = rng.normal();
    for (Index i = 0; i < Xv.size(); ++i) Xv.data()[i] = rng.normal();
    const VectorXd w_true = (VectorXd(4) << 1.0, -0.5, 0.05, 0.0).finished();
    y = X * w_true;
    yv = Xv * w_true;
    for (Index i = 0; i < y.size(); ++i) y[i] += 0.5 * rng.normal();
    for (Index i = 0; i < yv.size(); ++i) yv[i] += 0.5 * rng.normal();
  }
  VectorXd precision(const VectorXd& h) const {
    VectorXd out(4);
    for (Index j = 0; j < 4; ++j) out[j] = std::exp(-2.0 * h[group_of[static_cast<std::size_t>(j)]]);
    return out;
  }
  Index parameters() const override { return 4; }
  Index hyperparameters() const override { return 2; }
  double inner_loss(const VectorXd& w, const VectorXd& h, VectorXd* gradient) override {
    const VectorXd r = X * w - y, a = precision(h);
    if (gradient) *gradient = X.transpose() * r + a.cwiseProduct(w);
    return 0.5 * r.squaredNorm() + 0.5 * a.dot(w.cwiseAbs2()) + 2.0 * h.sum();
  }
  void inner_hessian_vector(const VectorXd&, const VectorXd& h, const VectorXd& v, VectorXd& out) override {
    out = X.transpose() * (X * v) + precision(h).cwiseProduct(v);
  }
  VectorXd mixed_transpose_vector(const VectorXd& w, const VectorXd& h, const VectorXd& v) override {
    const VectorXd per = -2.0 * precision(h).cwiseProduct(w).cwiseProduct(v);
    return (VectorXd(2) << per[0] + per[1], per[2] + per[3]).finished();
  }
  double criterion(const VectorXd& w, const VectorXd& h, VectorXd* d_w, VectorXd* d_h) override {
    const VectorXd r = Xv * w - yv;
    if (d_w) *d_w = -Xv.transpose() * r;
    if (d_h) *d_h = -2.0 * c * h;
    return -0.5 * r.squaredNorm() - c * h.squaredNorm();
  }
};

// Central differences of a scalar function of h.
template <class F>
VectorXd finite_difference(F&& f, const VectorXd& h, double step = 1e-5) {
  VectorXd out(h.size());
  for (Index k = 0; k < h.size(); ++k) {
    VectorXd plus = h, minus = h;
    plus[k] += step;
    minus[k] -= step;
    out[k] = (f(plus) - f(minus)) / (2.0 * step);
  }
  return out;
}

const VectorXd h0 = (VectorXd(2) << 0.3, -0.7).finished();
const VectorXd w0 = (VectorXd(4) << 0.1, 0.2, -0.1, 0.3).finished();

TEST(Hypergradient, GreedyIsTheExactDerivativeOfTheOneStepLookahead) {
  RidgeProblem problem;
  const double lr = 0.02;
  const Hypergradient g = greedy_hypergradient(problem, w0, h0, lr);
  const VectorXd fd = finite_difference(
      [&](const VectorXd& h) {
        VectorXd gradient;
        problem.inner_loss(w0, h, &gradient);
        return problem.criterion(w0 - lr * gradient, h, nullptr, nullptr);
      },
      h0);
  EXPECT_LT((g.gradient - fd).norm(), 1e-7 * (1.0 + fd.norm())) << g.gradient.transpose() << " vs " << fd.transpose();
}

TEST(Hypergradient, UnrolledReversePassMatchesFiniteDifferencesThroughTheTraining) {
  RidgeProblem problem;
  const InnerTraining training{30, 0.02};
  std::vector<VectorXd> trajectory;
  VectorXd theta = w0;
  ASSERT_TRUE(train_inner(problem, h0, theta, training, &trajectory).usable());
  ASSERT_EQ(trajectory.size(), 30u);
  const Hypergradient g = unrolled_hypergradient(problem, h0, trajectory, theta, training);
  const VectorXd fd = finite_difference([&](const VectorXd& h) { return evaluate_hyperparameters(problem, w0, h, training); }, h0);
  EXPECT_LT((g.gradient - fd).norm(), 1e-7 * (1.0 + fd.norm())) << g.gradient.transpose() << " vs " << fd.transpose();
  EXPECT_EQ(g.solver_iterations, 30);
}

TEST(Hypergradient, DrmadIsExactOnOneStepAndCloseOnAShortTrajectory) {
  RidgeProblem problem;
  // T = 1 without skipping: the straight line's only point is theta_0 itself.
  const InnerTraining one{1, 0.02};
  VectorXd theta = w0;
  train_inner(problem, h0, theta, one);
  const Hypergradient g1 = drmad_hypergradient(problem, h0, w0, theta, one, 0.0);
  const VectorXd fd1 = finite_difference([&](const VectorXd& h) { return evaluate_hyperparameters(problem, w0, h, one); }, h0);
  EXPECT_LT((g1.gradient - fd1).norm(), 1e-7 * (1.0 + fd1.norm()));

  // A short trajectory with small steps (lr lambda_max T ~ 1) is nearly straight: the line
  // misplaces theta_t by O((lr lambda T)^2), and the hypergradient stays within 2% of the exact
  // one (measured 0.47%; with lr = 0.01 the trajectory bends and the error reaches 9.7%).
  const InnerTraining shortrun{10, 0.002};
  std::vector<VectorXd> trajectory;
  theta = w0;
  train_inner(problem, h0, theta, shortrun, &trajectory);
  const Hypergradient exact = unrolled_hypergradient(problem, h0, trajectory, theta, shortrun);
  const Hypergradient drmad = drmad_hypergradient(problem, h0, w0, theta, shortrun, 0.0);
  RecordProperty("drmad_relative_error", std::to_string((drmad.gradient - exact.gradient).norm() / exact.gradient.norm()));
  EXPECT_LT((drmad.gradient - exact.gradient).norm(), 0.02 * exact.gradient.norm())
      << drmad.gradient.transpose() << " vs " << exact.gradient.transpose();
  // Skipping the first 5% of 10 steps drops one reverse step.
  EXPECT_EQ(drmad_hypergradient(problem, h0, w0, theta, shortrun, 0.05).solver_iterations, 9);
}

TEST(Hypergradient, HoagMatchesFiniteDifferencesAtTheInnerMinimum) {
  RidgeProblem problem;
  const InnerTraining converge{4000, 0.02};  // to the minimizer to machine precision
  VectorXd theta = w0;
  train_inner(problem, h0, theta, converge);
  VectorXd gradient;
  problem.inner_loss(theta, h0, &gradient);
  ASSERT_LT(gradient.norm(), 1e-10);
  const Hypergradient g = hoag_hypergradient(problem, theta, h0, 1e-12);
  EXPECT_LT(g.relative_residual, 1e-12);
  EXPECT_FALSE(g.negative_curvature);
  const VectorXd fd =
      finite_difference([&](const VectorXd& h) { return evaluate_hyperparameters(problem, w0, h, converge); }, h0);
  EXPECT_LT((g.gradient - fd).norm(), 1e-6 * (1.0 + fd.norm())) << g.gradient.transpose() << " vs " << fd.transpose();
  // A loose tolerance stops CG early but still returns an estimate.
  EXPECT_LE(hoag_hypergradient(problem, theta, h0, 0.5).solver_iterations, g.solver_iterations);
}

TEST(Hypergradient, EveryMethodRaisesTheCriterionWithinTheLimits) {
  for (const auto method : {HypergradientMethod::greedy, HypergradientMethod::hoag, HypergradientMethod::drmad}) {
    RidgeProblem problem;
    HpoOptions options;
    options.method = method;
    options.outer_iterations = 15;
    options.inner = {200, 0.02};
    options.step_size = method == HypergradientMethod::greedy ? 0.01 : 0.5;
    options.limits = {-2.5, 3.0};
    const HpoSummary run = optimize_hyperparameters(problem, w0, (VectorXd(2) << 2.0, 2.0).finished(), options);
    SCOPED_TRACE(to_string(method));
    ASSERT_TRUE(run.usable()) << run.brief();
    EXPECT_EQ(run.criterion.size(), 15u);
    EXPECT_GT(run.best_criterion, run.criterion.front());
    EXPECT_TRUE((run.h.array() >= -2.5).all() && (run.h.array() <= 3.0).all());
    EXPECT_EQ(run.best_criterion, run.criterion[static_cast<std::size_t>(run.best_iteration)]);
    // Bitwise deterministic.
    const HpoSummary again = optimize_hyperparameters(problem, w0, (VectorXd(2) << 2.0, 2.0).finished(), options);
    EXPECT_EQ(0, std::memcmp(again.criterion.data(), run.criterion.data(), run.criterion.size() * sizeof(double)));
  }
}

TEST(Hypergradient, ClippingDividesTheStepSize) {
  RidgeProblem problem;
  HpoOptions options;
  options.method = HypergradientMethod::hoag;
  options.outer_iterations = 5;
  options.inner = {100, 0.02};
  options.step_size = 1e3;  // every step leaves the limits
  options.max_step_reductions = 2;
  const HpoSummary run = optimize_hyperparameters(problem, w0, h0, options);
  EXPECT_TRUE(run.usable());
  EXPECT_EQ(run.step_reductions, 2);
  EXPECT_DOUBLE_EQ(run.step_size, 10.0);
  EXPECT_TRUE((run.h.array() >= options.limits.low).all() && (run.h.array() <= options.limits.high).all());
}

TEST(Hypergradient, DivergenceIsAStatusNotACrash) {
  RidgeProblem problem;
  HpoOptions options;
  options.outer_iterations = 3;
  options.inner = {500, 5.0};  // far beyond 2 / lambda_max
  HpoSummary run;
  ASSERT_NO_THROW(run = optimize_hyperparameters(problem, w0, h0, options));
  EXPECT_EQ(run.termination, Termination::numerical_failure);
  EXPECT_EQ(run.criterion.size(), 1u);
  EXPECT_TRUE(std::isnan(run.criterion[0]));
  EXPECT_TRUE(std::isnan(evaluate_hyperparameters(problem, w0, h0, options.inner)));
  EXPECT_THROW(optimize_hyperparameters(problem, w0, VectorXd(3), options), ArgumentError);
}

TEST(Hypergradient, CalibrationPicksTheBestCandidate) {
  RidgeProblem problem;
  HpoOptions options;
  options.inner = {100, 0.02};
  const StepCalibration c = calibrate_step_size(problem, w0, (VectorXd(2) << 2.0, 2.0).finished(), options, 3, -2, 0);
  ASSERT_EQ(c.candidates.size(), 12u);
  EXPECT_DOUBLE_EQ(c.candidates.front(), 7.5);
  EXPECT_DOUBLE_EQ(c.candidates.back(), 0.01);
  Index winner = -1;
  for (std::size_t i = 0; i < c.candidates.size(); ++i)
    if (c.candidates[i] == c.step_size) winner = static_cast<Index>(i);
  ASSERT_GE(winner, 0);
  for (const double q : c.best_criteria) {
    if (std::isfinite(q)) {
      EXPECT_LE(q, c.best_criteria[static_cast<std::size_t>(winner)]);
    }
  }
}

TEST(Hypergradient, ConvergenceAndBestSoFar) {
  EXPECT_EQ(iterations_to_fraction({}), -1);
  EXPECT_EQ(iterations_to_fraction({1.0, 1.0}), 0);
  EXPECT_EQ(iterations_to_fraction({0.0, 0.5, 0.995, 1.0, 0.9}), 2);
  EXPECT_EQ(iterations_to_fraction({0.0, 0.5, 0.98, 1.0}), 3);
  const auto best = best_so_far({std::nan(""), 2.0, 1.0, 3.0});
  EXPECT_TRUE(std::isnan(best[0]));
  EXPECT_EQ(best[1], 2.0);
  EXPECT_EQ(best[2], 2.0);
  EXPECT_EQ(best[3], 3.0);
}

}  // namespace
}  // namespace msweep
