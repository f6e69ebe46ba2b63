// LinearMixture: monotone variational EM, recovery of known mixtures and circles, finite
// responsibilities for outliers, argument checks and determinism. Randomized tests loop seeds
// and print the failing one.
#include "msweep/models/mixture/mixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "msweep/core/error.hpp"
#include "msweep/data/curves.hpp"
#include "msweep/optim/first_order.hpp"
#include "msweep/optim/objective.hpp"

namespace msweep {
namespace {

struct Method {
  const char* name;
  bool prior, learn_means, regularizer;
};
constexpr Method kMethods[] = {{"no-prior", false, true, false}, {"prior", true, false, false}, {"prior-regularizer", true, true, true}};

MixtureOptions circle_options(const Method& method, GateKind gate) {
  MixtureOptions o;
  o.experts = 2;
  o.gate = gate;
  if (method.prior) o.prior_means = (Eigen::MatrixXd(2, 3) << 0, 0, 0.1, 0, 0, 2).finished();
  o.learn_prior_means = method.learn_means;
  if (method.regularizer) o.regularizer = Eigen::Vector3d(0.01, 0.01, 1.0).asDiagonal();
  o.max_iterations = 50;
  o.tolerance = 0.0;
  return o;
}

Dataset circle_data(std::uint64_t seed, ImageNoise noise) {
  RandomStream rng(seed);
  CircleImageOptions options;
  options.noise = noise;
  return circle_regression(make_circle_image(options, rng).points);
}

void expect_monotone(const std::vector<double>& trace) {
  for (std::size_t t = 1; t < trace.size(); ++t)
    ASSERT_GE(trace[t], trace[t - 1] - 1e-9 * std::max(1.0, std::abs(trace[t - 1]))) << "iteration " << t + 1;
}

TEST(LinearMixture, BoundNeverDecreasesWithConstantGate) {
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const auto noise = static_cast<ImageNoise>(seed % 3);
    const Dataset data = circle_data(seed, noise);
    for (const auto& method : kMethods) {
      SCOPED_TRACE(method.name);
      LinearMixture mixture(circle_options(method, GateKind::dirichlet));
      RandomStream rng(seed + 1000);
      const auto summary = mixture.fit(data.X, data.y, rng);
      ASSERT_TRUE(summary.usable()) << summary.message;
      ASSERT_EQ(summary.bound_trace.size(), static_cast<std::size_t>(summary.iterations));
      expect_monotone(summary.bound_trace);
    }
  }
}

TEST(LinearMixture, BoundNeverDecreasesWithFixedSoftmaxGate) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Dataset data = circle_data(seed, ImageNoise::noisy_radius);
    for (const auto& method : kMethods) {
      SCOPED_TRACE(method.name);
      auto options = circle_options(method, GateKind::softmax);
      options.gate_steps = 0;
      options.gate_init_scale = 3.0;  // a fixed but non-uniform gate
      LinearMixture mixture(options);
      RandomStream rng(seed + 2000);
      const auto summary = mixture.fit(data.X, data.y, rng);
      expect_monotone(summary.bound_trace);
    }
  }
}

TEST(LinearMixture, BoundNeverDecreasesWhileTrainingTheGate) {
  // Gate steps are kept only when they raise the gate's part of the bound.
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Dataset data = circle_data(seed, ImageNoise::uniform);
    LinearMixture mixture(circle_options(kMethods[2], GateKind::softmax));
    RandomStream rng(seed + 3000);
    expect_monotone(mixture.fit(data.X, data.y, rng).bound_trace);
  }
}

TEST(LinearMixture, BoundNeverDecreasesWithManyFeatures) {
  // d = 10 > 8 takes the unpacked path of the E step and the posterior update.
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomStream data_rng(seed);
    const int n = 200, d = 10;
    Eigen::MatrixXd X(n, d);
    Eigen::VectorXd y(n);
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < d; ++j) X(i, j) = data_rng.normal();
      y(i) = (i % 2 ? 1.0 : -1.0) * X(i, 0) + 0.1 * data_rng.normal();
    }
    for (const auto& method : kMethods) {
      SCOPED_TRACE(method.name);
      MixtureOptions options;
      options.learn_prior_means = method.learn_means;
      if (method.regularizer) options.regularizer = Eigen::MatrixXd::Identity(d, d);
      options.max_iterations = 40;
      options.tolerance = 0.0;
      LinearMixture mixture(options);
      RandomStream rng(seed + 4000);
      const auto summary = mixture.fit(X, y, rng);
      ASSERT_TRUE(summary.usable()) << summary.brief();
      expect_monotone(summary.bound_trace);
    }
  }
}

// Random responsibilities (rows summing to 1) and gate inputs for the gate objective tests.
struct GateProblem {
  Eigen::MatrixXd X, R;
  SoftmaxGate gate;
};

GateProblem gate_problem(std::uint64_t seed, int n, int d, int h, int K) {
  RandomStream rng(seed);
  GateProblem p;
  p.X.resize(n, d);
  p.R.resize(n, K);
  for (Eigen::Index i = 0; i < p.X.size(); ++i) p.X.data()[i] = rng.normal();
  for (Eigen::Index i = 0; i < p.R.size(); ++i) p.R.data()[i] = rng.uniform() + 0.01;
  p.R.array().colwise() /= p.R.rowwise().sum().array();
  p.gate.hidden_weights.resize(d, h);
  p.gate.output_weights.resize(h + 1, K);
  for (Eigen::Index i = 0; i < p.gate.hidden_weights.size(); ++i) p.gate.hidden_weights.data()[i] = rng.normal();
  for (Eigen::Index i = 0; i < p.gate.output_weights.size(); ++i) p.gate.output_weights.data()[i] = 0.5 * rng.normal();
  return p;
}

static_assert(DifferentiableObjective<SoftmaxGateObjective>);
static_assert(StochasticObjective<FullBatch<SoftmaxGateObjective>>);

TEST(SoftmaxGateObjective, IsMinusTheMeanWeightedLogGateProbability) {
  const GateProblem p = gate_problem(1, 30, 3, 4, 3);
  SoftmaxGateObjective objective(p.X, p.R, 4);
  EXPECT_EQ(objective.parameters(), 3 * 4 + 5 * 3);
  const Eigen::VectorXd w = objective.flatten(p.gate);
  const SoftmaxGate back = objective.unflatten(w);
  EXPECT_EQ(back.hidden_weights, p.gate.hidden_weights);
  EXPECT_EQ(back.output_weights, p.gate.output_weights);
  const double expected = -(p.R.array() * p.gate.log_probabilities(p.X).array()).sum() / 30.0;
  EXPECT_NEAR(objective.evaluate(w), expected, 1e-13);
}

TEST(SoftmaxGateObjective, GradientMatchesFiniteDifferences) {
  const GateProblem p = gate_problem(2, 25, 3, 4, 3);
  SoftmaxGateObjective objective(p.X, p.R, 4);
  Eigen::VectorXd w = objective.flatten(p.gate), gradient;
  const double value = objective.evaluate_with_gradient(w, gradient);
  EXPECT_EQ(value, objective.evaluate(w));
  ASSERT_EQ(gradient.size(), w.size());
  const double h = 1e-6;
  for (Eigen::Index j = 0; j < w.size(); ++j) {
    Eigen::VectorXd up = w, down = w;
    up(j) += h;
    down(j) -= h;
    const double numeric = (objective.evaluate(up) - objective.evaluate(down)) / (2.0 * h);
    EXPECT_NEAR(gradient(j), numeric, 1e-7) << "parameter " << j;
  }
}

TEST(SoftmaxGateObjective, AdamFullBatchRaisesTheGateObjective) {
  // What train_gate does each M step: optim's adam() over the whole data set.
  const GateProblem p = gate_problem(3, 60, 3, 8, 2);
  SoftmaxGateObjective objective(p.X, p.R, 8);
  FullBatch<SoftmaxGateObjective> full_batch(objective);
  Eigen::VectorXd w = objective.flatten(p.gate);
  const double start = objective.evaluate(w);
  AdamOptions options;
  options.max_iterations = 200;
  options.batch_size = 0;
  options.learning_rate = 0.05;
  AdamState state;
  const OptimSummary summary = adam(full_batch, w, options, state);
  EXPECT_TRUE(summary.usable()) << summary.brief();
  EXPECT_EQ(summary.iterations, 200);
  EXPECT_EQ(state.step, 200);
  EXPECT_EQ(summary.initial_objective, start);
  EXPECT_LT(summary.objective, start - 0.01);
  EXPECT_EQ(summary.objective, objective.evaluate(w));
}

// Two lines y = w_k^T [x, 1] with assignments drawn at random: the best of a few restarts
// recovers both weight vectors.
TEST(LinearMixture, RecoversKnownMixtureOfLines) {
  const Eigen::Vector2d w1(2.0, 1.0), w2(-1.5, -0.5);
  for (std::uint64_t seed = 0; seed < 25; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomStream data_rng(seed);
    const int n = 300;
    Eigen::MatrixXd X(n, 2);
    Eigen::VectorXd y(n);
    int first = 0;
    for (int i = 0; i < n; ++i) {
      X(i, 0) = data_rng.uniform(-2, 2);
      X(i, 1) = 1.0;
      const bool one = data_rng.uniform() < 0.4;
      first += one;
      y(i) = X.row(i).dot(one ? w1 : w2) + 0.1 * data_rng.normal();
    }
    MixtureOptions options;
    options.max_iterations = 200;
    options.tolerance = 1e-10;
    LinearMixture best;
    double best_bound = -INFINITY;
    for (int restart = 0; restart < 5; ++restart) {
      LinearMixture mixture(options);
      RandomStream rng(derive_seed(seed, "init", {{"restart", static_cast<std::uint64_t>(restart)}}));
      const auto summary = mixture.fit(X, y, rng);
      if (summary.final_bound > best_bound) best_bound = summary.final_bound, best = mixture;
    }
    const bool swapped = (best.means()[0] - w1).norm() > (best.means()[1] - w1).norm();
    EXPECT_LT((best.means()[swapped ? 1 : 0] - w1).norm(), 0.05);
    EXPECT_LT((best.means()[swapped ? 0 : 1] - w2).norm(), 0.05);
    EXPECT_NEAR(best.mixing_weights()(swapped ? 1 : 0), first / double(n), 0.03);
    EXPECT_NEAR(1.0 / std::sqrt(best.noise_precision()), 0.1, 0.02);
  }
}

// The informative prior guides EM to the two concentric circles far more often than the
// uninformative start from the same random draws (paired by seed).
TEST(LinearMixture, PriorFindsConcentricCircles) {
  const int seeds = 40;
  int recovered[2] = {0, 0};
  for (int with_prior = 0; with_prior < 2; ++with_prior)
    for (std::uint64_t seed = 0; seed < seeds; ++seed) {
      SCOPED_TRACE("seed " + std::to_string(seed));
      const Dataset data = circle_data(seed, ImageNoise::none);
      LinearMixture mixture(circle_options(kMethods[with_prior], GateKind::dirichlet));
      RandomStream rng(seed + 4000);
      mixture.fit(data.X, data.y, rng);
      const Circle a = circle_from_weights(mixture.means()[0]), b = circle_from_weights(mixture.means()[1]);
      const double small = std::min(a.r, b.r), large = std::max(a.r, b.r);
      const double centre = a.x0 * a.x0 + a.y0 * a.y0 + b.x0 * b.x0 + b.y0 * b.y0;
      recovered[with_prior] += std::abs(small - 0.5) < 0.05 && std::abs(large - 1.5) < 0.05 && centre < 0.01;
    }
  std::printf("concentric circles recovered in %d of %d seeds without prior, %d with\n", recovered[0], seeds, recovered[1]);
  EXPECT_GE(recovered[1], seeds * 7 / 10);
  EXPECT_GE(recovered[1], recovered[0] + seeds / 5);
}

TEST(LinearMixture, RegularizerTiesPriorCentres) {
  // Xi = diag(0.01, 0.01, 1): the centre components of w0 are pulled together across experts,
  // the radius component hardly at all.
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Dataset data = circle_data(seed, ImageNoise::noisy_radius);
    auto options = circle_options(kMethods[2], GateKind::dirichlet);
    options.learn_prior_covariance = false;  // A = I keeps the tie's effect measurable
    LinearMixture mixture(options);
    RandomStream rng(seed + 5000);
    mixture.fit(data.X, data.y, rng);
    const Eigen::VectorXd w0_gap = mixture.prior_means()[0] - mixture.prior_means()[1];
    const Eigen::VectorXd m_gap = mixture.means()[0] - mixture.means()[1];
    EXPECT_LT(w0_gap.head(2).norm(), 0.05 * m_gap.head(2).norm() + 1e-12);
    EXPECT_GT(std::abs(w0_gap(2)), 0.2 * std::abs(m_gap(2)));
  }
}

TEST(LinearMixture, ResponsibilitiesStayFiniteForFarOutliers) {
  const Dataset data = circle_data(7, ImageNoise::none);
  Eigen::MatrixXd X = data.X;
  Eigen::VectorXd y = data.y;
  X.conservativeResize(X.rows() + 2, Eigen::NoChange);
  y.conservativeResize(y.size() + 2);
  X.row(X.rows() - 2) << 1e6, -1e6, 1.0;
  y(y.size() - 2) = 2e12;
  X.row(X.rows() - 1) << 3.0, 3.0, 1.0;
  y(y.size() - 1) = -1e9;
  for (const auto& method : kMethods)
    for (auto gate : {GateKind::dirichlet, GateKind::softmax}) {
      SCOPED_TRACE(method.name);
      LinearMixture mixture(circle_options(method, gate));
      RandomStream rng(11);
      const auto summary = mixture.fit(X, y, rng);
      EXPECT_TRUE(mixture.responsibilities().allFinite());
      EXPECT_NEAR(mixture.responsibilities().rowwise().sum().minCoeff(), 1.0, 1e-12);
      EXPECT_TRUE(mixture.responsibilities(X, y).allFinite());
      EXPECT_TRUE(std::isfinite(summary.final_bound)) << summary.message;
    }
}

TEST(LinearMixture, SameSeedGivesBitwiseEqualFits) {
  const Dataset data = circle_data(3, ImageNoise::uniform);
  for (auto gate : {GateKind::dirichlet, GateKind::softmax}) {
    LinearMixture a(circle_options(kMethods[2], gate)), b(circle_options(kMethods[2], gate));
    RandomStream ra(5), rb(5);
    const auto sa = a.fit(data.X, data.y, ra), sb = b.fit(data.X, data.y, rb);
    EXPECT_EQ(sa.bound_trace, sb.bound_trace);
    for (int k = 0; k < 2; ++k) EXPECT_EQ(a.means()[k], b.means()[k]);
  }
}

TEST(LinearMixture, SoftmaxGateSeparatesRegions) {
  // y = |x|: expert one fits x < 0, expert two x > 0; only an object-dependent gate tells them apart.
  RandomStream data_rng(1);
  const int n = 200;
  Eigen::MatrixXd X(n, 2);
  Eigen::VectorXd y(n);
  for (int i = 0; i < n; ++i) {
    X(i, 0) = data_rng.uniform(-2, 2);
    X(i, 1) = 1;
    y(i) = std::abs(X(i, 0)) + 0.05 * data_rng.normal();
  }
  MixtureOptions options;
  options.gate = GateKind::softmax;
  options.max_iterations = 100;
  LinearMixture moe(options);
  RandomStream rng(2);
  const auto summary = moe.fit(X, y, rng);
  options.gate = GateKind::dirichlet;
  LinearMixture mom(options);
  RandomStream rng2(2);
  const auto constant = mom.fit(X, y, rng2);
  EXPECT_GT(summary.final_log_likelihood, constant.final_log_likelihood);
  const Eigen::Vector2d left(-1.5, 1), right(1.5, 1);
  const Eigen::MatrixXd gate = moe.log_gate(Eigen::MatrixXd((Eigen::MatrixXd(2, 2) << left.transpose(), right.transpose()).finished())).array().exp();
  EXPECT_GT(std::abs(gate(0, 0) - gate(1, 0)), 0.8);
}

TEST(LinearMixture, TerminationAndMessage) {
  const Dataset data = circle_data(1, ImageNoise::none);
  auto options = circle_options(kMethods[1], GateKind::dirichlet);
  options.max_iterations = 2;
  options.trace_log_likelihood = true;
  LinearMixture short_fit(options);
  RandomStream rng(1);
  const auto s = short_fit.fit(data.X, data.y, rng);
  EXPECT_EQ(s.termination, Termination::budget_spent);
  EXPECT_EQ(s.iterations, 2);
  ASSERT_EQ(s.log_likelihood_trace.size(), 2u);
  EXPECT_EQ(s.log_likelihood_trace.back(), s.final_log_likelihood);
  EXPECT_FALSE(s.message.empty());
  options.max_iterations = 1000;
  options.tolerance = 1e-6;
  LinearMixture long_fit(options);
  RandomStream rng2(1);
  const auto l = long_fit.fit(data.X, data.y, rng2);
  EXPECT_EQ(l.termination, Termination::converged) << l.message;
  EXPECT_LT(l.iterations, 1000);
  EXPECT_STREQ(to_string(l.termination), "converged");
}

// The noise-model options: per-expert b_k, the uniform background component, and both.
struct NoiseModel {
  const char* name;
  bool per_expert, background;
};
constexpr NoiseModel kNoiseModels[] = {{"per-expert", true, false}, {"shared+background", false, true}, {"per-expert+background", true, true}};

MixtureOptions with_noise_model(MixtureOptions options, const NoiseModel& model) {
  options.per_expert_noise = model.per_expert;
  options.background = model.background;
  return options;
}

TEST(LinearMixture, BoundNeverDecreasesWithPerExpertNoiseOrBackground) {
  for (std::uint64_t seed = 0; seed < 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Dataset data = circle_data(seed, static_cast<ImageNoise>(seed % 3));
    for (const auto& model : kNoiseModels)
      for (const auto& method : kMethods) {
        SCOPED_TRACE(std::string(model.name) + " " + method.name);
        LinearMixture mixture(with_noise_model(circle_options(method, GateKind::dirichlet), model));
        RandomStream rng(seed + 6000);
        const auto summary = mixture.fit(data.X, data.y, rng);
        ASSERT_TRUE(summary.usable()) << summary.message;
        expect_monotone(summary.bound_trace);
        if (seed % 8 == 0) {  // the softmax gate with K + 1 outputs: fixed, then trained
          for (int steps : {0, 20}) {
            auto options = with_noise_model(circle_options(method, GateKind::softmax), model);
            options.gate_steps = steps;
            options.gate_init_scale = 3.0;
            LinearMixture gated(options);
            RandomStream gate_rng(seed + 7000);
            expect_monotone(gated.fit(data.X, data.y, gate_rng).bound_trace);
          }
        }
      }
  }
}

TEST(LinearMixture, PerExpertNoiseWithOneExpertIsTheSharedNoise) {
  // With K = 1 every point is the one expert's (g_1 = N), so b_1 = N / E_1 = b and both bounds agree.
  const Dataset data = circle_data(2, ImageNoise::noisy_radius);
  auto options = circle_options(kMethods[0], GateKind::dirichlet);
  options.experts = 1;
  options.prior_means.resize(0, 0);
  LinearMixture shared(options);
  options.per_expert_noise = true;
  LinearMixture per_expert(options);
  RandomStream a(3), b(3);
  const auto sa = shared.fit(data.X, data.y, a), sb = per_expert.fit(data.X, data.y, b);
  ASSERT_EQ(sa.bound_trace.size(), sb.bound_trace.size());
  for (std::size_t t = 0; t < sa.bound_trace.size(); ++t) EXPECT_NEAR(sa.bound_trace[t], sb.bound_trace[t], 1e-8 * std::abs(sa.bound_trace[t]));
  EXPECT_NEAR(shared.noise_precision(), per_expert.noise_precision(), 1e-9 * shared.noise_precision());
  EXPECT_LT((shared.means()[0] - per_expert.means()[0]).norm(), 1e-9);
}

TEST(LinearMixture, BackgroundComponentTakesTheUniformPointsAndFreesTheCircles) {
  // 200 uniform points over two circles, the prior, the best bound of 5 restarts (as the
  // experiment's analysis picks): with a shared b no seed finds both circles (one expert spreads
  // over the background); with b_k and the background component the background takes the
  // uniform points and the experts stay on the circles.
  const int seeds = 20, restarts = 5;
  int found[2] = {0, 0};
  double background_share_of_noise = 0.0, background_share_of_circles = 0.0;
  for (std::uint64_t seed = 0; seed < seeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomStream data_rng(seed);
    CircleImageOptions image_options;
    image_options.noise = ImageNoise::uniform;
    const PointImage image = make_circle_image(image_options, data_rng);
    const Dataset data = circle_regression(image.points);
    for (int with_background = 0; with_background < 2; ++with_background) {
      auto options = circle_options(kMethods[1], GateKind::dirichlet);
      options.per_expert_noise = options.background = with_background == 1;
      LinearMixture best(options);
      double best_bound = -std::numeric_limits<double>::infinity();
      for (int restart = 0; restart < restarts; ++restart) {
        LinearMixture mixture(options);
        RandomStream rng(seed * restarts + static_cast<std::uint64_t>(restart) + 8000);
        const auto summary = mixture.fit(data.X, data.y, rng);
        ASSERT_TRUE(summary.usable()) << summary.message;
        if (summary.final_bound > best_bound) {
          best_bound = summary.final_bound;
          best = mixture;
        }
      }
      const Circle a = circle_from_weights(best.means()[0]), b = circle_from_weights(best.means()[1]);
      const double radii = std::min(std::pow(a.r - 0.5, 2) + std::pow(b.r - 1.5, 2), std::pow(a.r - 1.5, 2) + std::pow(b.r - 0.5, 2));
      found[with_background] += radii + a.x0 * a.x0 + a.y0 * a.y0 + b.x0 * b.x0 + b.y0 * b.y0 < 0.01;
      if (with_background) {
        const Eigen::MatrixXd& R = best.responsibilities();
        ASSERT_EQ(R.cols(), 3);
        double noise = 0.0, curve = 0.0;
        int noise_points = 0;
        for (Eigen::Index i = 0; i < R.rows(); ++i)
          if (image.labels[static_cast<std::size_t>(i)] < 0) {
            noise += R(i, 2);
            ++noise_points;
          } else {
            curve += R(i, 2);
          }
        background_share_of_noise += noise / noise_points / seeds;
        background_share_of_circles += curve / static_cast<double>(R.rows() - noise_points) / seeds;
      }
    }
  }
  std::printf("circles among uniform points found in %d of %d seeds with a shared b, %d with b_k and the background; "
              "background takes %.2f of the uniform points' and %.3f of the circles' responsibility\n",
              found[0], seeds, found[1], background_share_of_noise, background_share_of_circles);
  EXPECT_LE(found[0], seeds / 5);
  EXPECT_GE(found[1], seeds * 9 / 10);
  EXPECT_GT(background_share_of_noise, 0.7);
  EXPECT_LT(background_share_of_circles, 0.1);  // jittered circle points far from a sharp expert are partly background
}

TEST(LinearMixture, BackgroundIsOneMoreComponentEverywhere) {
  const Dataset data = circle_data(4, ImageNoise::uniform);
  for (auto gate : {GateKind::dirichlet, GateKind::softmax}) {
    LinearMixture mixture(with_noise_model(circle_options(kMethods[1], gate), kNoiseModels[2]));
    RandomStream rng(9);
    const auto summary = mixture.fit(data.X, data.y, rng);
    ASSERT_TRUE(summary.usable()) << summary.message;
    EXPECT_EQ(mixture.components(), 3);
    ASSERT_EQ(mixture.mixing_weights().size(), 3);
    EXPECT_NEAR(mixture.mixing_weights().sum(), 1.0, 1e-12);
    EXPECT_EQ(mixture.noise_precisions().size(), 2);
    const Eigen::MatrixXd R = mixture.responsibilities(data.X, data.y);
    ASSERT_EQ(R.cols(), 3);
    EXPECT_NEAR(R.rowwise().sum().minCoeff(), 1.0, 1e-12);
    EXPECT_NEAR(R.rowwise().sum().maxCoeff(), 1.0, 1e-12);
    EXPECT_TRUE(mixture.predict(data.X).allFinite());
    EXPECT_TRUE(std::isfinite(mixture.log_likelihood(data.X, data.y)));
    if (gate == GateKind::dirichlet) {
      EXPECT_EQ(mixture.dirichlet_posterior().size(), 3);
    }
  }
}

TEST(LinearMixture, NoiseModelsAreBitwiseDeterministic) {
  const Dataset data = circle_data(5, ImageNoise::uniform);
  for (const auto& model : kNoiseModels)
    for (auto gate : {GateKind::dirichlet, GateKind::softmax}) {
      SCOPED_TRACE(model.name);
      const auto options = with_noise_model(circle_options(kMethods[2], gate), model);
      LinearMixture a(options), b(options);
      RandomStream ra(6), rb(6);
      const auto sa = a.fit(data.X, data.y, ra), sb = b.fit(data.X, data.y, rb);
      EXPECT_EQ(sa.bound_trace, sb.bound_trace);
      EXPECT_EQ(a.noise_precisions(), b.noise_precisions());
      EXPECT_EQ(a.responsibilities(), b.responsibilities());
      for (int k = 0; k < 2; ++k) EXPECT_EQ(a.means()[k], b.means()[k]);
    }
}

TEST(LinearMixture, LearningPriorMeansWithTheirCovariancesFreezesTheFit) {
  // Why "prior + regularizer" finds the concentric circles less often than "prior" (issue 15).
  // Re-estimating w0_k and A_k together sets w0_k = m_k and A_k = B_k (untied) after the first
  // M step: the prior becomes the last posterior, KL(q || p) = 0, and every later iteration is
  // pulled back to where the first one landed. The tie Xi (centres only) cannot undo that; with
  // A fixed, re-estimating w0 (tied or not) costs nothing against the fixed prior.
  struct Variant {
    const char* name;
    bool learn_means, tie, learn_covariance;
  };
  const Variant variants[] = {{"prior", false, false, true},         {"prior-learned", true, false, true},
                              {"prior-regularizer", true, true, true}, {"prior, A fixed", false, false, false},
                              {"prior-learned, A fixed", true, false, false}, {"prior-regularizer, A fixed", true, true, false}};
  const int seeds = 100;
  int found[6] = {};
  double covariance_trace[6] = {};
  for (int v = 0; v < 6; ++v)
    for (std::uint64_t seed = 0; seed < seeds; ++seed) {
      const Dataset data = circle_data(seed, ImageNoise::none);
      auto options = circle_options(kMethods[1], GateKind::dirichlet);
      options.learn_prior_means = variants[v].learn_means;
      if (variants[v].tie) options.regularizer = Eigen::Vector3d(0.01, 0.01, 1.0).asDiagonal();
      options.learn_prior_covariance = variants[v].learn_covariance;
      LinearMixture mixture(options);
      RandomStream rng(seed + 777);  // the same initial draws for every variant
      mixture.fit(data.X, data.y, rng);
      const Circle a = circle_from_weights(mixture.means()[0]), b = circle_from_weights(mixture.means()[1]);
      const double radii = std::min(std::pow(a.r - 0.5, 2) + std::pow(b.r - 1.5, 2), std::pow(a.r - 1.5, 2) + std::pow(b.r - 0.5, 2));
      found[v] += radii + a.x0 * a.x0 + a.y0 * a.y0 + b.x0 * b.x0 + b.y0 * b.y0 < 0.01;
      covariance_trace[v] += mixture.prior_covariances()[0].trace() / seeds;
    }
  for (int v = 0; v < 6; ++v) std::printf("%-28s found %3d of %d, mean tr A_1 %.3g\n", variants[v].name, found[v], seeds, covariance_trace[v]);
  EXPECT_LT(covariance_trace[1], 1e-2);                 // untied: A collapses onto B
  EXPECT_GE(found[0], found[1] + seeds / 10);           // re-estimating w0 with A costs >= 10 points
  EXPECT_LE(std::abs(found[2] - found[1]), seeds / 10);  // the tie neither causes nor repairs it
  for (int v = 4; v < 6; ++v) EXPECT_LE(std::abs(found[v] - found[3]), seeds / 20);  // with A fixed: no cost
}

TEST(LinearMixture, RejectsBadArguments) {
  MixtureOptions bad;
  bad.experts = 0;
  EXPECT_THROW(LinearMixture{bad}, ArgumentError);
  bad = {};
  bad.prior_means = Eigen::MatrixXd::Zero(3, 2);
  EXPECT_THROW(LinearMixture{bad}, ArgumentError);
  bad = {};
  bad.background = true;
  LinearMixture flat(bad);  // a background over targets of zero range: density 1, still finite
  RandomStream flat_rng(2);
  EXPECT_TRUE(std::isfinite(flat.fit(Eigen::MatrixXd::Ones(4, 2), Eigen::VectorXd::Ones(4), flat_rng).final_bound));
  LinearMixture mixture;
  RandomStream rng(1);
  EXPECT_THROW(mixture.fit(Eigen::MatrixXd::Ones(4, 2), Eigen::VectorXd::Ones(3), rng), ArgumentError);
  EXPECT_THROW(mixture.predict(Eigen::MatrixXd::Ones(2, 2)), ArgumentError);
  try {
    mixture.fit(Eigen::MatrixXd::Ones(4, 2), Eigen::VectorXd::Ones(3), rng);
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("LinearMixture::fit: y"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace msweep
