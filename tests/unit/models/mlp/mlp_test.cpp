// Multilayer perceptron: parameter layout, seeded initialization, losses, and the hand-written
// gradient and R-operator Hessian-vector product against central finite differences over many
// seeds, every activation and both losses (logistic and softmax cross-entropy).
#include "msweep/models/mlp/mlp.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "msweep/core/error.hpp"
#include "msweep/optim/objective.hpp"

namespace msweep {
namespace {

static_assert(TwiceDifferentiableObjective<MlpObjective>);
static_assert(StochasticObjective<MlpObjective>);

const Activation kActivations[] = {Activation::identity, Activation::tanh, Activation::relu, Activation::sigmoid,
                                   Activation::softplus};

struct Problem {
  Mlp model;
  Eigen::MatrixXd X;
  Eigen::VectorXd y;
  Eigen::VectorXd w;
};

// A random network with random data; `outputs` 1 with cross-entropy is the logistic case.
Problem random_problem(std::uint64_t seed, Activation activation, Loss loss, Eigen::Index outputs, bool bias,
                       std::vector<Eigen::Index> hidden = {4, 3}) {
  RandomStream rng(seed);
  MlpOptions options;
  options.layers = {3};
  for (auto h : hidden) options.layers.push_back(h);
  options.layers.push_back(outputs);
  options.activation = activation;
  options.loss = loss;
  options.bias = bias;
  Mlp model(options);
  const Eigen::Index m = 7;
  Eigen::MatrixXd X(m, 3);
  for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = rng.normal();
  Eigen::VectorXd y(m);
  const Eigen::Index classes = outputs == 1 ? 2 : outputs;
  for (Eigen::Index i = 0; i < m; ++i)
    y(i) = loss == Loss::mse ? rng.normal() : static_cast<double>(rng.below(static_cast<std::uint64_t>(classes)));
  Eigen::VectorXd w(model.parameter_count());
  for (Eigen::Index j = 0; j < w.size(); ++j) w(j) = rng.normal(0.0, 0.7);
  return {model, X, y, w};
}

struct Case {
  Loss loss;
  Eigen::Index outputs;
  const char* name;
};
const Case kCases[] = {{Loss::mse, 1, "mse"}, {Loss::cross_entropy, 1, "logistic"}, {Loss::cross_entropy, 4, "softmax"}};

TEST(Mlp, ParameterCountsOfThePaperTable) {
  auto count = [](std::vector<Eigen::Index> layers, bool bias, Loss loss = Loss::mse) {
    MlpOptions o;
    o.layers = std::move(layers);
    o.bias = bias;
    o.loss = loss;
    return Mlp(o).parameter_count();
  };
  EXPECT_EQ(count({13, 20, 1}, true), 301);
  EXPECT_EQ(count({784, 10, 10}, true, Loss::cross_entropy), 7960);
  EXPECT_EQ(count({200, 20, 1}, true), 4041);
  EXPECT_EQ(count({200, 1}, false, Loss::cross_entropy), 200);
  EXPECT_EQ(count({200, 1}, false), 200);
  MlpOptions o;
  o.layers = {13, 20, 1};
  EXPECT_EQ(Mlp(o).label(), "13-20-1");
}

TEST(Mlp, LayerViewsFollowTheDocumentedLayout) {
  MlpOptions o;
  o.layers = {2, 3, 1};
  Mlp model(o);
  Eigen::VectorXd w(model.parameter_count());
  std::iota(w.data(), w.data() + w.size(), 0.0);
  // W_1 (3 x 2, column-major) = entries 0..5, b_1 = 6..8, W_2 (1 x 3) = 9..11, b_2 = 12.
  EXPECT_EQ(model.weights(w, 1)(1, 0), 1.0);
  EXPECT_EQ(model.weights(w, 1)(0, 1), 3.0);
  EXPECT_EQ(model.biases(w, 1)(2), 8.0);
  EXPECT_EQ(model.weights(w, 2)(0, 2), 11.0);
  EXPECT_EQ(model.biases(w, 2)(0), 12.0);
  EXPECT_EQ(model.weight_offset(2), 9);
}

TEST(Mlp, InvalidOptionsAndDataAreRejected) {
  MlpOptions o;
  o.layers = {3};
  EXPECT_THROW(Mlp{o}, ArgumentError);
  o.layers = {3, 2};  // mse needs one output
  EXPECT_THROW(Mlp{o}, ArgumentError);
  o.loss = Loss::cross_entropy;
  Mlp model(o);
  Eigen::MatrixXd X = Eigen::MatrixXd::Zero(2, 3);
  Eigen::VectorXd y(2);
  y << 0, 2;  // class 2 of 2
  EXPECT_THROW(MlpObjective(model, X, y), ArgumentError);
  y << 0, 0.5;
  EXPECT_THROW(MlpObjective(model, X, y), ArgumentError);
  y << 0, 1;
  EXPECT_THROW(MlpObjective(model, Eigen::MatrixXd::Zero(2, 4), y), ArgumentError);
  MlpObjective f(model, X, y);
  Eigen::VectorXd g(3);
  EXPECT_THROW(f.evaluate_with_gradient(Eigen::VectorXd::Zero(3), g), ArgumentError);
  EXPECT_THROW(activation_from_string("gelu"), ArgumentError);
  EXPECT_EQ(activation_from_string("softplus"), Activation::softplus);
  EXPECT_EQ(loss_from_string("cross-entropy"), Loss::cross_entropy);
}

TEST(Mlp, InitializationIsSeededAndGlorotBounded) {
  MlpOptions o;
  o.layers = {13, 20, 1};
  Mlp model(o);
  RandomStream a(5), b(5), c(6);
  const Eigen::VectorXd wa = model.initial_parameters(a), wb = model.initial_parameters(b), wc = model.initial_parameters(c);
  EXPECT_EQ(wa, wb);
  EXPECT_NE(wa, wc);
  EXPECT_LE(model.weights(wa, 1).cwiseAbs().maxCoeff(), std::sqrt(6.0 / 33.0));
  EXPECT_LE(model.weights(wa, 2).cwiseAbs().maxCoeff(), std::sqrt(6.0 / 21.0));
  EXPECT_EQ(model.biases(wa, 1).squaredNorm(), 0.0);
  EXPECT_GT(model.weights(wa, 1).cwiseAbs().maxCoeff(), 0.0);
}

TEST(Mlp, GradientMatchesCentralDifferences) {
  // Central differences with h = 1e-6 err by O(h^2 f''') + O(eps f / h) ~ 1e-9 here.
  for (const auto& c : kCases)
    for (auto activation : kActivations)
      for (bool bias : {true, false})
        for (std::uint64_t seed = 0; seed < 12; ++seed) {
          SCOPED_TRACE(std::string(c.name) + " " + to_string(activation) + (bias ? " bias" : " no-bias") + " seed " +
                       std::to_string(seed));
          auto p = random_problem(seed, activation, c.loss, c.outputs, bias);
          MlpObjective f(p.model, p.X, p.y);
          Eigen::VectorXd g(p.w.size());
          const double value = f.evaluate_with_gradient(p.w, g);
          EXPECT_NEAR(value, f.evaluate(p.w), 1e-14 * (1.0 + std::abs(value)));
          const double h = 1e-6;
          for (Eigen::Index j = 0; j < p.w.size(); ++j) {
            Eigen::VectorXd plus = p.w, minus = p.w;
            plus(j) += h;
            minus(j) -= h;
            const double fd = (f.evaluate(plus) - f.evaluate(minus)) / (2 * h);
            ASSERT_NEAR(g(j), fd, 1e-6 * (1.0 + std::abs(fd))) << "parameter " << j;
          }
        }
}

TEST(Mlp, HessianVectorMatchesDifferencesOfGradients) {
  // H v ~ (g(w + h v) - g(w - h v)) / 2h, error O(h^2) ~ 1e-10 for smooth activations.
  for (const auto& c : kCases)
    for (auto activation : kActivations)
      for (std::uint64_t seed = 0; seed < 12; ++seed) {
        SCOPED_TRACE(std::string(c.name) + " " + to_string(activation) + " seed " + std::to_string(seed));
        auto p = random_problem(seed, activation, c.loss, c.outputs, seed % 2 == 0);
        MlpObjective f(p.model, p.X, p.y);
        RandomStream rng(1000 + seed);
        Eigen::VectorXd v(p.w.size());
        for (Eigen::Index j = 0; j < v.size(); ++j) v(j) = rng.normal();
        Eigen::VectorXd hv(p.w.size()), g_plus(p.w.size()), g_minus(p.w.size());
        f.hessian_vector(p.w, v, hv);
        const double h = 1e-5;
        f.gradient(p.w + h * v, g_plus);
        f.gradient(p.w - h * v, g_minus);
        const Eigen::VectorXd fd = (g_plus - g_minus) / (2 * h);
        for (Eigen::Index j = 0; j < v.size(); ++j) ASSERT_NEAR(hv(j), fd(j), 1e-6 * (1.0 + std::abs(fd(j)))) << "entry " << j;
      }
}

TEST(Mlp, HessianIsSymmetric) {
  // u^T H v = v^T H u for the exact R-operator (up to rounding).
  for (auto activation : kActivations)
    for (std::uint64_t seed = 0; seed < 10; ++seed) {
      SCOPED_TRACE(to_string(activation) + " seed " + std::to_string(seed));
      auto p = random_problem(seed, activation, Loss::cross_entropy, 3, true, {5});
      MlpObjective f(p.model, p.X, p.y);
      RandomStream rng(seed + 77);
      Eigen::VectorXd u(p.w.size()), v(p.w.size()), hu(p.w.size()), hv(p.w.size());
      for (Eigen::Index j = 0; j < u.size(); ++j) {
        u(j) = rng.normal();
        v(j) = rng.normal();
      }
      f.hessian_vector(p.w, u, hu);
      f.hessian_vector(p.w, v, hv);
      EXPECT_NEAR(u.dot(hv), v.dot(hu), 1e-12 * (1.0 + std::abs(u.dot(hv))));
    }
}

TEST(Mlp, LinearModelMatchesClosedForms) {
  // Zero hidden layers with MSE: L = |Xw - y|^2 / m, grad = 2 X^T (Xw - y) / m, H = 2 X^T X / m.
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto p = random_problem(seed, Activation::tanh, Loss::mse, 1, false, {});
    MlpObjective f(p.model, p.X, p.y);
    const double m = static_cast<double>(p.y.size());
    Eigen::VectorXd g(p.w.size()), hv(p.w.size());
    const double value = f.evaluate_with_gradient(p.w, g);
    const Eigen::VectorXd r = p.X * p.w - p.y;
    EXPECT_NEAR(value, r.squaredNorm() / m, 1e-12);
    EXPECT_LT((g - 2.0 / m * p.X.transpose() * r).norm(), 1e-12);
    const Eigen::VectorXd v = Eigen::VectorXd::LinSpaced(p.w.size(), -1.0, 1.0);
    f.hessian_vector(p.w, v, hv);
    EXPECT_LT((hv - 2.0 / m * p.X.transpose() * (p.X * v)).norm(), 1e-12);
    EXPECT_LT((p.model.predict(p.w, p.X) - p.X * p.w).norm(), 1e-12);
  }
}

TEST(Mlp, LogisticModelMatchesClosedForms) {
  // Zero hidden layers with one logit: grad = X^T (sigmoid(Xw) - y) / m, H = X^T diag(p(1-p)) X / m.
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto p = random_problem(seed, Activation::tanh, Loss::cross_entropy, 1, false, {});
    MlpObjective f(p.model, p.X, p.y);
    const double m = static_cast<double>(p.y.size());
    const Eigen::ArrayXd prob = (1.0 + (-(p.X * p.w).array()).exp()).inverse();
    Eigen::VectorXd g(p.w.size()), hv(p.w.size());
    const double value = f.evaluate_with_gradient(p.w, g);
    const double direct = -(p.y.array() * prob.log() + (1.0 - p.y.array()) * (1.0 - prob).log()).sum() / m;
    EXPECT_NEAR(value, direct, 1e-12);
    EXPECT_LT((g - p.X.transpose() * (prob.matrix() - p.y) / m).norm(), 1e-12);
    const Eigen::VectorXd v = Eigen::VectorXd::LinSpaced(p.w.size(), -1.0, 1.0);
    f.hessian_vector(p.w, v, hv);
    const Eigen::VectorXd weighted = (prob * (1.0 - prob)).matrix().asDiagonal() * (p.X * v);
    EXPECT_LT((hv - p.X.transpose() * weighted / m).norm(), 1e-12);
  }
}

TEST(Mlp, CrossEntropyIsStableForHugeLogits) {
  // Logits of +-1000 overflow exp(); log-sum-exp keeps the loss exact: -ln softmax = 0 or 2000.
  MlpOptions o;
  o.layers = {1, 2};
  o.loss = Loss::cross_entropy;
  o.bias = false;
  Mlp model(o);
  Eigen::VectorXd w(2);
  w << 1000.0, -1000.0;
  Eigen::MatrixXd X(2, 1);
  X << 1.0, 1.0;
  Eigen::VectorXd y(2);
  y << 0, 1;
  EXPECT_DOUBLE_EQ(model.loss(w, X, y), 1000.0);  // (0 + 2000) / 2
  const Eigen::MatrixXd p = model.predict(w, X);
  EXPECT_TRUE(p.allFinite());
  EXPECT_DOUBLE_EQ(p(0, 0), 1.0);
  o.layers = {1, 1};  // logistic
  Mlp logistic(o);
  Eigen::VectorXd w1(1);
  w1 << 800.0;
  EXPECT_DOUBLE_EQ(logistic.loss(w1, X, y), 400.0);  // -ln sigmoid(800) ~ 0, -ln(1 - sigmoid(800)) = 800
  EXPECT_DOUBLE_EQ(logistic.log_likelihood(w1, X, y), -800.0);
}

TEST(Mlp, PredictionsAreProbabilitiesAndLikelihoodsAgree) {
  for (std::uint64_t seed = 0; seed < 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto p = random_problem(seed, Activation::relu, Loss::cross_entropy, 4, true);
    const Eigen::MatrixXd probabilities = p.model.predict(p.w, p.X);
    EXPECT_LT((probabilities.rowwise().sum().array() - 1.0).abs().maxCoeff(), 1e-12);
    double log_lik = 0.0;
    for (Eigen::Index i = 0; i < p.y.size(); ++i) log_lik += std::log(probabilities(i, static_cast<Eigen::Index>(p.y(i))));
    EXPECT_NEAR(p.model.log_likelihood(p.w, p.X, p.y), log_lik, 1e-10);
    auto r = random_problem(seed, Activation::tanh, Loss::mse, 1, true);
    const double m = static_cast<double>(r.y.size());
    const double rss = (r.model.predict(r.w, r.X).col(0) - r.y).squaredNorm();
    EXPECT_NEAR(r.model.log_likelihood(r.w, r.X, r.y, 2.0), -rss / 4.0 - m / 2.0 * std::log(4.0 * M_PI), 1e-10);
  }
}

TEST(Mlp, MinibatchByRowsAndByBlockAgreeWithDirectEvaluation) {
  auto p = random_problem(3, Activation::tanh, Loss::cross_entropy, 4, true);
  MlpObjective f(p.model, p.X, p.y);
  Eigen::VectorXd g_rows(p.w.size()), g_block(p.w.size()), g_direct(p.w.size());
  const std::vector<Eigen::Index> rows = {2, 3, 4};
  const double by_rows = f.evaluate_with_gradient(p.w, rows, g_rows);
  const double by_block = f.evaluate_with_gradient(p.w, 2, 3, g_block);
  MlpObjective sub(p.model, p.X.middleRows(2, 3), p.y.segment(2, 3));
  const double direct = sub.evaluate_with_gradient(p.w, g_direct);
  EXPECT_EQ(by_rows, direct);
  EXPECT_EQ(by_block, direct);
  EXPECT_EQ(g_rows, g_direct);
  EXPECT_EQ(g_block, g_direct);
  EXPECT_EQ(f.evaluate(p.w, rows), direct);
  // Permuting the rows changes nothing but rounding.
  const std::vector<Eigen::Index> shuffled = {4, 2, 3};
  EXPECT_NEAR(f.evaluate(p.w, shuffled), direct, 1e-14);
  const std::vector<Eigen::Index> bad = {0, 7};
  EXPECT_THROW(f.evaluate(p.w, bad), ArgumentError);
}

TEST(Mlp, ProductsAfterAGradientAtThePointReuseItsPassesBitForBit) {
  // A minibatch product at the w and rows of the last gradient skips the forward pass; it must
  // give the bits of a product computed from scratch, and a changed w, changed rows or a call in
  // between that overwrites the workspace must not reuse stale passes.
  for (const auto& c : kCases)
    for (auto activation : kActivations)
      for (std::uint64_t seed = 0; seed < 4; ++seed) {
        SCOPED_TRACE(std::string(c.name) + " " + to_string(activation) + " seed " + std::to_string(seed));
        auto p = random_problem(seed, activation, c.loss, c.outputs, seed % 2 == 0);
        RandomStream rng(77 + seed);
        Eigen::VectorXd u(p.w.size()), v(p.w.size()), g(p.w.size()), hu(p.w.size()), hv(p.w.size());
        for (Eigen::Index j = 0; j < u.size(); ++j) u(j) = rng.normal(), v(j) = rng.normal();
        const std::vector<Eigen::Index> rows = {1, 4, 5}, other = {0, 2, 6};
        auto from_scratch = [&](const Eigen::VectorXd& w, const Eigen::VectorXd& x, const std::vector<Eigen::Index>& r) {
          MlpObjective once(p.model, p.X, p.y);
          Eigen::VectorXd out(p.w.size());
          once.hessian_vector(w, x, r, out);
          return out;
        };
        MlpObjective f(p.model, p.X, p.y);
        f.evaluate_with_gradient(p.w, rows, g);
        f.hessian_vector(p.w, u, rows, hu);
        f.hessian_vector(p.w, v, rows, hv);
        EXPECT_EQ(hu, from_scratch(p.w, u, rows));
        EXPECT_EQ(hv, from_scratch(p.w, v, rows));
        f.hessian_vector(p.w, v, other, hv);
        EXPECT_EQ(hv, from_scratch(p.w, v, other));
        const Eigen::VectorXd moved = p.w + 1e-3 * u;
        f.hessian_vector(moved, v, other, hv);
        EXPECT_EQ(hv, from_scratch(moved, v, other));
        f.evaluate_with_gradient(p.w, rows, g);
        f.evaluate(p.w);  // the whole set overwrites the workspace
        f.hessian_vector(p.w, u, rows, hu);
        EXPECT_EQ(hu, from_scratch(p.w, u, rows));
      }
}

}  // namespace
}  // namespace msweep
