// Stochastic optimizers on a convex least-squares quadratic: descent, freeze masks (frozen
// entries bitwise unchanged), callbacks, statuses, determinism and state continuation; the
// minibatch sampler; the gradient-variance tracker against a direct computation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <set>

#include "msweep/optim/first_order.hpp"
#include "msweep/optim/gradient_variance.hpp"
#include "msweep/optim/minibatch.hpp"

namespace msweep {
namespace {

// f(w) = (1/m) sum_i (x_i^T w - y_i)^2: a convex quadratic that is a mean over objects.
struct LeastSquares {
  Eigen::MatrixXd X;
  Eigen::VectorXd y;
  bool poison = false;  // returns NaN to test the diverged status

  Eigen::Index parameters() const { return X.cols(); }
  Eigen::Index objects() const { return X.rows(); }
  double evaluate(const Eigen::VectorXd& w) const { return poison ? std::nan("") : (X * w - y).squaredNorm() / objects(); }
  void gradient(const Eigen::VectorXd& w, Eigen::VectorXd& g) const { evaluate_with_gradient(w, g); }
  double evaluate_with_gradient(const Eigen::VectorXd& w, Eigen::VectorXd& g) const {
    const Eigen::VectorXd r = X * w - y;
    g = 2.0 / static_cast<double>(objects()) * X.transpose() * r;
    return poison ? std::nan("") : r.squaredNorm() / static_cast<double>(objects());
  }
  void hessian_vector(const Eigen::VectorXd&, const Eigen::VectorXd& v, Eigen::VectorXd& hv) const {
    hv = 2.0 / static_cast<double>(objects()) * X.transpose() * (X * v);
  }
  double evaluate(const Eigen::VectorXd& w, std::span<const Eigen::Index> rows) const {
    Eigen::VectorXd g;
    return evaluate_with_gradient(w, rows, g);
  }
  double evaluate_with_gradient(const Eigen::VectorXd& w, std::span<const Eigen::Index> rows, Eigen::VectorXd& g) const {
    g = Eigen::VectorXd::Zero(w.size());
    double total = 0.0;
    for (auto i : rows) {
      const double r = X.row(i).dot(w) - y(i);
      total += r * r;
      g += 2.0 * r * X.row(i).transpose();
    }
    const double b = static_cast<double>(rows.size());
    g /= b;
    return poison ? std::nan("") : total / b;
  }
};
static_assert(TwiceDifferentiableObjective<LeastSquares>);
static_assert(StochasticObjective<LeastSquares>);

LeastSquares make_problem(std::uint64_t seed, Eigen::Index m = 60, Eigen::Index n = 5) {
  RandomStream rng(seed);
  LeastSquares f;
  f.X.resize(m, n);
  f.y.resize(m);
  for (Eigen::Index i = 0; i < f.X.size(); ++i) f.X.data()[i] = rng.normal();
  for (Eigen::Index i = 0; i < m; ++i) f.y(i) = rng.normal();
  return f;
}

double optimum(const LeastSquares& f) {
  const Eigen::VectorXd w = f.X.colPivHouseholderQr().solve(f.y);
  return f.evaluate(w);
}

bool bitwise_equal(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(Optimizers, SgdAndAdamDecreaseAConvexQuadratic) {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto f = make_problem(seed);
    const Eigen::VectorXd start = Eigen::VectorXd::Constant(5, 2.0);
    const double best = optimum(f), initial = f.evaluate(start);

    Eigen::VectorXd w = start;
    SgdOptions sgd_options;
    sgd_options.max_iterations = 2000;
    sgd_options.batch_size = 10;
    sgd_options.learning_rate = 0.01;
    sgd_options.momentum = 0.9;
    sgd_options.seed = seed;
    const auto s = sgd(f, w, sgd_options);
    EXPECT_EQ(s.termination, Termination::budget_spent);
    EXPECT_EQ(s.iterations, 2000);
    EXPECT_DOUBLE_EQ(s.objective, f.evaluate(w));
    EXPECT_LT(s.objective - best, 0.05 * (initial - best));

    w = start;
    AdamOptions adam_options;
    adam_options.max_iterations = 3000;
    adam_options.batch_size = 0;  // full batch: converges to the optimum
    adam_options.learning_rate = 0.05;
    const auto a = adam(f, w, adam_options);
    EXPECT_LT(a.objective - best, 1e-6 * (initial - best));
    EXPECT_GT(a.seconds, 0.0);
  }
}

TEST(Optimizers, FrozenEntriesStayBitwiseUnchanged) {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto f = make_problem(seed);
    Eigen::VectorXd start(5);
    RandomStream rng(seed + 100);
    for (Eigen::Index j = 0; j < 5; ++j) start(j) = rng.normal();
    Eigen::Array<bool, Eigen::Dynamic, 1> trainable(5);
    trainable << true, false, true, false, false;

    AdamOptions a;
    a.max_iterations = 200;
    a.batch_size = 7;
    a.seed = seed;
    a.learning_rate = 0.05;
    a.trainable = trainable;
    Eigen::VectorXd w = start;
    adam(f, w, a);
    SgdOptions s;
    s.max_iterations = 200;
    s.momentum = 0.5;
    s.trainable = trainable;
    Eigen::VectorXd u = start;
    sgd(f, u, s);
    for (Eigen::Index j = 0; j < 5; ++j) {
      if (trainable(j)) {
        EXPECT_NE(w(j), start(j));
        EXPECT_NE(u(j), start(j));
      } else {
        EXPECT_TRUE(bitwise_equal(w(j), start(j))) << j;
        EXPECT_TRUE(bitwise_equal(u(j), start(j))) << j;
      }
    }
  }
}

TEST(Optimizers, CallbackStopsAndSeesEveryIteration) {
  auto f = make_problem(1);
  Eigen::VectorXd w = Eigen::VectorXd::Zero(5);
  AdamOptions o;
  o.max_iterations = 100;
  o.batch_size = 20;  // divides the 60 objects
  std::vector<Eigen::Index> seen;
  const auto summary = adam(f, w, o, [&](const IterationState& s) {
    seen.push_back(s.iteration);
    EXPECT_EQ(s.batch.size(), 20u);
    EXPECT_EQ(s.gradient.size(), 5);
    return s.iteration == 10;
  });
  EXPECT_EQ(summary.termination, Termination::stopped);
  EXPECT_EQ(summary.iterations, 9);  // the step of iteration 10 is not applied
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(seen.back(), 10);
  EXPECT_FALSE(summary.message.empty());
}

TEST(Optimizers, NonFiniteObjectiveIsAStatusNotAnException) {
  auto f = make_problem(2);
  f.poison = true;
  Eigen::VectorXd w = Eigen::VectorXd::Ones(5);
  SgdOptions o;
  const auto summary = sgd(f, w, o);
  EXPECT_EQ(summary.termination, Termination::numerical_failure);
  EXPECT_EQ(summary.iterations, 0);
  EXPECT_EQ(w, Eigen::VectorXd::Ones(5));
  EXPECT_EQ(std::string(to_string(summary.termination)), "numerical_failure");
  EXPECT_FALSE(summary.usable());
}

TEST(Optimizers, GradientToleranceGivesConverged) {
  auto f = make_problem(3);
  Eigen::VectorXd w = Eigen::VectorXd::Zero(5);
  AdamOptions o;
  o.batch_size = 0;
  o.max_iterations = 100000;
  o.learning_rate = 0.05;
  o.gradient_tolerance = 1e-8;
  const auto summary = adam(f, w, o);
  EXPECT_EQ(summary.termination, Termination::converged);
  EXPECT_LT(summary.iterations, 100000);
}

TEST(Optimizers, BadArgumentsThrowNamingTheFunction) {
  auto f = make_problem(4);
  Eigen::VectorXd w = Eigen::VectorXd::Zero(4);  // wrong size
  AdamOptions o;
  try {
    adam(f, w, o);
    FAIL() << "expected ArgumentError";
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("adam: w"), std::string::npos) << e.what();
  }
  w = Eigen::VectorXd::Zero(5);
  o.trainable = Eigen::Array<bool, Eigen::Dynamic, 1>::Constant(3, true);
  EXPECT_THROW(adam(f, w, o), ArgumentError);
  SgdOptions s;
  s.momentum = 1.0;
  EXPECT_THROW(sgd(f, w, s), ArgumentError);
}

TEST(Optimizers, SameSeedIsBitwiseDeterministic) {
  auto f = make_problem(5);
  AdamOptions o;
  o.batch_size = 8;
  o.seed = 99;
  Eigen::VectorXd a = Eigen::VectorXd::Zero(5), b = a;
  adam(f, a, o);
  adam(f, b, o);
  EXPECT_EQ(a, b);
  o.seed = 100;
  Eigen::VectorXd c = Eigen::VectorXd::Zero(5);
  adam(f, c, o);
  EXPECT_NE(a, c);
}

TEST(Optimizers, FirstStepsFollowTheFormulas) {
  // Adam's first step is w - lr g / (|g| + eps) (bias corrections cancel); SGD with momentum mu
  // takes steps lr g_1, then lr (mu g_1 + g_2).
  auto f = make_problem(9);
  const Eigen::VectorXd start = Eigen::VectorXd::LinSpaced(5, -1.0, 1.0);
  Eigen::VectorXd g1(5), g2(5);
  f.evaluate_with_gradient(start, g1);
  AdamOptions a;
  a.batch_size = 0;
  a.max_iterations = 1;
  a.learning_rate = 0.1;
  Eigen::VectorXd w = start;
  adam(f, w, a);
  const Eigen::VectorXd expected = start.array() - 0.1 * g1.array() / (g1.array().abs() + 1e-8);
  EXPECT_LT((w - expected).cwiseAbs().maxCoeff(), 1e-15);

  SgdOptions s;
  s.batch_size = 0;
  s.max_iterations = 2;
  s.learning_rate = 0.01;
  s.momentum = 0.9;
  w = start;
  sgd(f, w, s);
  const Eigen::VectorXd after_one = start - 0.01 * g1;
  f.evaluate_with_gradient(after_one, g2);
  EXPECT_LT((w - (after_one - 0.01 * (0.9 * g1 + g2))).cwiseAbs().maxCoeff(), 1e-15);
}

TEST(Optimizers, AdamStateContinuesExactly) {
  // Full batch makes the batches independent of the sampler seed: 60 + 40 steps with a carried
  // state must equal 100 steps in one call, bit for bit.
  auto f = make_problem(6);
  AdamOptions o;
  o.batch_size = 0;
  o.learning_rate = 0.01;
  o.max_iterations = 100;
  Eigen::VectorXd once = Eigen::VectorXd::Zero(5), twice = once;
  adam(f, once, o);
  AdamState state;
  o.max_iterations = 60;
  adam(f, twice, o, state);
  o.max_iterations = 40;
  adam(f, twice, o, state);
  EXPECT_EQ(state.step, 100);
  EXPECT_EQ(once, twice);
}

TEST(Optimizers, EarlyStoppingOnAValidationSet) {
  // Training starts at the validation optimum, so validation loss only rises as w fits the
  // training set: the first check is the best and three more checks end the run.
  auto train = make_problem(7);
  LeastSquares validation = make_problem(8);
  validation.y = validation.X * Eigen::VectorXd::Constant(5, 0.3);
  Eigen::VectorXd w = Eigen::VectorXd::Constant(5, 0.3);  // the validation optimum
  AdamOptions o;
  o.max_iterations = 5000;
  o.learning_rate = 0.01;
  EarlyStopping stopper(validation, 10, 3);
  const auto summary = adam(train, w, o, std::ref(stopper));
  EXPECT_EQ(summary.termination, Termination::stopped);
  EXPECT_EQ(summary.iterations, 39);  // checks at 10 (best), 20, 30, 40: three without improvement
  EXPECT_EQ(stopper.best_iteration(), 10);
  EXPECT_EQ(stopper.best(), validation.evaluate(stopper.best_w()));
  EXPECT_THROW(EarlyStopping(validation, 0, 3), ArgumentError);
}

TEST(FullBatch, RunsADeterministicObjectiveAsOneObject) {
  // The whole-function path: every step sees f and grad f at all objects, so the steps are
  // plain full-batch Adam steps on f (a scalar first step checks the formula).
  LeastSquares f = make_problem(11);
  FullBatch<LeastSquares> full(f);
  static_assert(StochasticObjective<FullBatch<LeastSquares>>);
  EXPECT_EQ(full.objects(), 1);
  EXPECT_EQ(full.parameters(), f.parameters());
  Eigen::VectorXd w = Eigen::VectorXd::Zero(f.parameters()), g;
  f.evaluate_with_gradient(w, g);
  AdamOptions options;
  options.max_iterations = 1;
  options.learning_rate = 0.1;
  const Eigen::VectorXd w0 = w;
  const OptimSummary first = adam(full, w, options);
  EXPECT_EQ(first.initial_objective, f.evaluate(w0));
  for (Eigen::Index j = 0; j < w.size(); ++j)  // m_hat = g, v_hat = g^2: the step is lr * g / (|g| + eps)
    EXPECT_NEAR(w(j), -0.1 * g(j) / (std::abs(g(j)) + 1e-8), 1e-12);
  options.max_iterations = 3000;
  options.learning_rate = 0.01;
  const OptimSummary summary = adam(full, w, options);
  EXPECT_TRUE(summary.usable()) << summary.brief();
  EXPECT_NEAR(summary.objective, optimum(f), 1e-6);
}

TEST(MinibatchSampler, EpochsArePermutations) {
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    MinibatchSampler sampler(10, 4, seed);
    for (int epoch = 0; epoch < 3; ++epoch) {
      std::multiset<Eigen::Index> seen;
      for (std::size_t expected : {4u, 4u, 2u}) {
        const auto batch = sampler.next();
        ASSERT_EQ(batch.size(), expected);
        seen.insert(batch.begin(), batch.end());
      }
      std::multiset<Eigen::Index> all;
      for (Eigen::Index i = 0; i < 10; ++i) all.insert(i);
      EXPECT_EQ(seen, all);
    }
  }
  MinibatchSampler full(6, 0, 1);
  EXPECT_EQ(full.next().size(), 6u);
  EXPECT_EQ(full.next()[5], 5);
}

TEST(GradientVariance, RunningMeanMatchesDirectComputation) {
  // With k_t = 1/t the recursion is the running mean of (g_1 - g_S)^2 over t updates.
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomStream rng(seed);
    const Eigen::Index p = 7;
    GradientVarianceTracker tracker(p, rng);
    EXPECT_GE(tracker.variance().minCoeff(), 0.0);
    EXPECT_LT(tracker.variance().maxCoeff(), 1.0);
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(p);
    for (int t = 1; t <= 50; ++t) {
      Eigen::VectorXd g1(p), gs(p);
      for (Eigen::Index j = 0; j < p; ++j) {
        g1(j) = rng.normal(0.0, static_cast<double>(j + 1));
        gs(j) = rng.normal();
      }
      tracker.update(g1, gs);
      sum += (g1 - gs).cwiseAbs2();
      const Eigen::VectorXd direct = sum / t;
      ASSERT_LT(((tracker.variance() - direct).array().abs() / direct.array()).maxCoeff(), 1e-12) << "t = " << t;
    }
    EXPECT_EQ(tracker.updates(), 50);
  }
}

TEST(GradientVariance, OrdersAndMasksFollowThePaperText) {
  Eigen::VectorXd c(3);
  c << 0.3, 0.2, 0.25;  // the paper's example: order [2, 3, 1] (1-based)
  const auto order = ascending_order(c);
  EXPECT_EQ(order, (std::vector<Eigen::Index>{1, 2, 0}));
  // alpha_j = 0 (frozen) for rank_j <= zeta: the smallest variances freeze first.
  const auto one = trainable_mask(order, 1);
  EXPECT_FALSE(one(1));
  EXPECT_TRUE(one(0));
  EXPECT_TRUE(one(2));
  EXPECT_EQ(trainable_mask(order, 0).count(), 3);
  EXPECT_EQ(trainable_mask(order, 3).count(), 0);
  EXPECT_THROW(trainable_mask(order, 4), ArgumentError);
  Eigen::VectorXd ties(4);
  ties << 1.0, 0.0, 1.0, 0.0;
  EXPECT_EQ(ascending_order(ties), (std::vector<Eigen::Index>{1, 3, 0, 2}));
  EXPECT_EQ(frozen_count(0.05, 301), 15);
  EXPECT_EQ(frozen_count(1.0, 301), 301);
  EXPECT_EQ(frozen_count(0.0, 301), 0);
  EXPECT_THROW(frozen_count(1.5, 3), ArgumentError);
}

TEST(GradientVariance, RandomOrderIsASeededPermutation) {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomStream a(seed), b(seed);
    const auto order = random_order(50, a);
    EXPECT_EQ(order, random_order(50, b));
    auto sorted = order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<Eigen::Index> identity(50);
    std::iota(identity.begin(), identity.end(), Eigen::Index{0});
    EXPECT_EQ(sorted, identity);
    EXPECT_NE(order, identity);
  }
}

TEST(GradientVariance, TrackerCallbackFollowsAdam) {
  // The callback evaluates g_1 on the first object of each minibatch; check one step by hand.
  const LeastSquares f = make_problem(3, 20, 3);
  RandomStream rng(5);
  Eigen::VectorXd w(f.parameters());
  for (Eigen::Index j = 0; j < w.size(); ++j) w(j) = rng.normal();
  const Eigen::VectorXd start = w;
  RandomStream c0(4);
  GradientVarianceTracker tracker(f.parameters(), c0);
  AdamOptions o;
  o.max_iterations = 1;
  o.batch_size = 5;
  o.seed = 8;
  adam(f, w, o, track_gradient_variance(f, tracker));
  EXPECT_EQ(tracker.updates(), 1);
  MinibatchSampler sampler(20, 5, 8);
  const auto batch = sampler.next();
  Eigen::VectorXd g1(f.parameters()), gs(f.parameters());
  f.evaluate_with_gradient(start, batch.first(1), g1);
  f.evaluate_with_gradient(start, batch, gs);
  EXPECT_EQ(tracker.variance(), Eigen::VectorXd((g1 - gs).cwiseAbs2()));
}

}  // namespace
}  // namespace msweep
