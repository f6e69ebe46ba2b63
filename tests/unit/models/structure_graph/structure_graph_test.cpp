// Structure-graph model: parsing and vertex numbering, the reverse pass and every ELBO term's
// gradient (through the Gumbel-softmax sample and the reparameterized q(w)) against central
// finite differences over many seeds and structures, the structural KL against the concrete
// densities written out, the limit c -> 0 recovering the discrete vertex, and the search's
// determinism and vertex mode.
#include "msweep/models/structure_graph/structure_graph.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "msweep/core/error.hpp"
#include "msweep/core/math.hpp"
#include "msweep/core/random.hpp"

namespace msweep {
namespace {

StructureGraphOptions synthetic_graph() {
  StructureGraphOptions o;
  o.inputs = 4;
  o.widths = {1};
  o.edges = {parse_edge("1<-0: const tanh:1 tanh")};
  return o;
}

// Two hidden nodes and skip edges, every kind of basis: 4^5 vertices.
StructureGraphOptions layered_graph(Eigen::Index inputs = 3) {
  StructureGraphOptions o;
  o.inputs = inputs;
  o.widths = {2, 3, 1};
  for (const char* e : {"1<-0: zero linear tanh relu", "2<-0: zero linear tanh:2 relu", "2<-1: zero linear tanh relu",
                        "3<-1: zero linear tanh const", "3<-2: zero linear:2 tanh relu"})
    o.edges.push_back(parse_edge(e));
  return o;
}

Eigen::VectorXd normal_vector(RandomStream& rng, Eigen::Index n, double sd = 1.0) {
  Eigen::VectorXd v(n);
  for (Eigen::Index i = 0; i < n; ++i) v[i] = sd * rng.normal();
  return v;
}
Eigen::MatrixXd normal_matrix(RandomStream& rng, Eigen::Index rows, Eigen::Index cols) {
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j) m.col(j) = normal_vector(rng, rows);
  return m;
}

TEST(StructureGraphParse, BasesEdgesAndErrors) {
  EXPECT_EQ(parse_basis("tanh:1"), (BasisSpec{BasisKind::tanh, 1}));
  EXPECT_EQ(basis_name(parse_basis("relu")), "relu");
  EXPECT_EQ(basis_name(parse_basis("linear:3")), "linear:3");
  EXPECT_THROW(parse_basis("sigmoid"), ArgumentError);
  EXPECT_THROW(parse_basis("const:2"), ArgumentError);
  EXPECT_THROW(parse_basis("tanh:0"), ArgumentError);
  const EdgeSpec e = parse_edge(" 3<-1:  zero  linear ");
  EXPECT_EQ(e.target, 3);
  EXPECT_EQ(e.source, 1);
  ASSERT_EQ(e.bases.size(), 2u);
  EXPECT_THROW(parse_edge("3-1: zero"), ArgumentError);
  EXPECT_THROW(parse_edge("3<-1:"), ArgumentError);
  StructureGraphOptions bad = synthetic_graph();
  bad.edges[0].bases[1].inputs = 9;  // more inputs than node 0 has
  EXPECT_THROW(StructureGraph{bad}, ArgumentError);
  bad = synthetic_graph();
  bad.widths = {2};  // output wider than 1
  EXPECT_THROW(StructureGraph{bad}, ArgumentError);
}

TEST(StructureGraphVertices, MixedRadixRoundTripAndLabels) {
  const StructureGraph graph(layered_graph());
  EXPECT_EQ(graph.vertex_count(), 1024u);
  EXPECT_EQ(graph.bases(), 20);
  for (std::uint64_t v : {0ull, 1ull, 5ull, 517ull, 1023ull}) {
    const auto choices = graph.vertex_choices(v);
    EXPECT_EQ(graph.vertex_index(choices), v);
    EXPECT_DOUBLE_EQ(graph.vertex_gamma(v).sum(), 5.0);
  }
  EXPECT_EQ(graph.vertex_label(0), "zero|zero|zero|zero|zero");
  EXPECT_EQ(graph.vertex_label(1), "zero|zero|zero|zero|linear:2");  // the last edge varies fastest
  EXPECT_EQ(graph.vertex_label(1023), "relu|relu|relu|const|relu");
  // Synthetic graph: const has 1 weight, tanh:1 has 2, tanh of 4 inputs 5.
  const StructureGraph synthetic(synthetic_graph());
  EXPECT_EQ(synthetic.weights(), 8);
  EXPECT_EQ(synthetic.vertex_weights(1).count(), 2);
}

// Central differences of F(w, gamma) = c^T f(X; w, gamma) against backward().
TEST(StructureGraphBackward, MatchesFiniteDifferencesOverSeedsAndStructures) {
  for (int structure = 0; structure < 2; ++structure) {
    const StructureGraph graph(structure == 0 ? synthetic_graph() : layered_graph());
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
      RandomStream rng(seed * 7919 + static_cast<std::uint64_t>(structure));
      const Eigen::MatrixXd X = normal_matrix(rng, 6, graph.options().inputs);
      const Eigen::VectorXd w = normal_vector(rng, graph.weights(), 0.7);
      const Eigen::VectorXd gamma = gumbel_softmax(graph, normal_vector(rng, graph.bases()), gumbel_draws(graph.bases(), rng), 1.0);
      const Eigen::VectorXd c = normal_vector(rng, X.rows());
      StructureGraph::Workspace ws;
      graph.forward(X, w, gamma, ws);
      Eigen::VectorXd d_w = Eigen::VectorXd::Zero(graph.weights()), d_gamma = Eigen::VectorXd::Zero(graph.bases());
      graph.backward(w, gamma, ws, c, d_w, d_gamma);
      const double h = 1e-6;
      auto F = [&](const Eigen::VectorXd& ww, const Eigen::VectorXd& gg) { return c.dot(graph.predict(X, ww, gg)); };
      for (Eigen::Index j = 0; j < graph.weights(); ++j) {
        Eigen::VectorXd up = w, down = w;
        up[j] += h;
        down[j] -= h;
        EXPECT_NEAR(d_w[j], (F(up, gamma) - F(down, gamma)) / (2 * h), 1e-6 * (1.0 + std::abs(d_w[j]))) << "seed " << seed << " w " << j;
      }
      for (Eigen::Index b = 0; b < graph.bases(); ++b) {
        Eigen::VectorXd up = gamma, down = gamma;
        up[b] += h;
        down[b] -= h;
        EXPECT_NEAR(d_gamma[b], (F(w, up) - F(w, down)) / (2 * h), 1e-6 * (1.0 + std::abs(d_gamma[b]))) << "seed " << seed << " gamma " << b;
      }
    }
  }
}

// The closed form used for KL(q(Gamma) || p(Gamma)) at a sample against ln q(x) - ln p(x) with
// the concrete density (Maddison et al. 2017) written out at x = softmax((a + G) / c).
TEST(StructureKl, EqualsConcreteDensityRatioAtTheSample) {
  const StructureGraph graph(layered_graph());
  auto log_concrete = [](const Eigen::ArrayXd& log_alpha, const Eigen::ArrayXd& x, double c) {
    const double K = static_cast<double>(x.size());
    return std::lgamma(K) + (K - 1) * std::log(c) + (log_alpha - (c + 1) * x.log()).sum() -
           K * log_sum_exp((log_alpha - c * x.log()).eval());
  };
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    RandomStream rng(seed);
    const Eigen::VectorXd a = normal_vector(rng, graph.bases(), 1.5), G = gumbel_draws(graph.bases(), rng);
    for (double c : {0.5, 1.0, 3.0}) {
      const Eigen::VectorXd x = gumbel_softmax(graph, a, G, c);
      double expected = 0.0;
      for (Eigen::Index e = 0; e < graph.edges(); ++e) {
        const Eigen::Index o = graph.basis_offset(e), K = graph.choices(e);
        expected += log_concrete(a.segment(o, K).array(), x.segment(o, K).array(), c) -
                    log_concrete(Eigen::ArrayXd::Zero(K), x.segment(o, K).array(), c);
      }
      EXPECT_NEAR(structure_kl_sample(graph, a, G), expected, 1e-8 * (1.0 + std::abs(expected))) << "seed " << seed << " c " << c;
    }
  }
}

TEST(StructureKl, MonteCarloMeanIsZeroAtThePriorAndPositiveAway) {
  const StructureGraph graph(synthetic_graph());
  RandomStream rng(3);
  const Eigen::VectorXd prior = Eigen::VectorXd::Zero(graph.bases());
  Eigen::VectorXd away(graph.bases());
  away << 2.0, -1.0, 0.0;
  double at_prior = 0.0, at_away = 0.0;
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    const Eigen::VectorXd G = gumbel_draws(graph.bases(), rng);
    at_prior += structure_kl_sample(graph, prior, G) / draws;
    at_away += structure_kl_sample(graph, away, G) / draws;
  }
  EXPECT_DOUBLE_EQ(structure_kl_sample(graph, prior, gumbel_draws(3, rng)), 0.0);  // a = a0: ln q = ln p exactly
  EXPECT_NEAR(at_prior, 0.0, 1e-12);
  EXPECT_GT(at_away, 0.1);
}

// Every term's gradient in theta = [mu, ln s, a] against central differences on fixed draws,
// relaxed (Gumbel-softmax) and at fixed vertices, over many seeds, both graphs, both likelihoods.
TEST(StructureElboGradients, MatchFiniteDifferencesOverSeedsStructuresAndVertices) {
  for (int structure = 0; structure < 2; ++structure) {
    const StructureGraph graph(structure == 0 ? synthetic_graph() : layered_graph());
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
      RandomStream rng(seed * 104729 + static_cast<std::uint64_t>(structure));
      const Eigen::MatrixXd X = normal_matrix(rng, 7, graph.options().inputs);
      StructureElboOptions options;
      if (seed % 3 == 0) options.likelihood = StructureLikelihood::bernoulli;  // seeds 3 (relaxed) and 6 (a vertex)
      Eigen::VectorXd y = normal_vector(rng, 7);
      if (seed % 3 == 0) y = (y.array() > 0.0).cast<double>();
      options.noise_std = 0.7;
      options.prior_log_std = rng.uniform(-1.0, 1.0);
      options.temperature = rng.uniform(0.3, 3.0);
      options.gamma_floor = 0.05;
      if (seed % 2 == 0) options.vertex = rng.below(graph.vertex_count());
      const StructureElbo elbo(graph, X, y, options);
      const Eigen::Index S = 2;
      const Eigen::MatrixXd eps = normal_matrix(rng, graph.weights(), S);
      Eigen::MatrixXd gumbel(graph.bases(), S);
      for (Eigen::Index s = 0; s < S; ++s) gumbel.col(s) = gumbel_draws(graph.bases(), rng);
      Eigen::VectorXd theta(elbo.parameters());
      theta << normal_vector(rng, graph.weights(), 0.5), normal_vector(rng, graph.weights(), 0.3).array() - 1.0,
          normal_vector(rng, graph.bases());
      ElboGradients g;
      elbo.estimate(theta, eps, gumbel, &g);
      const double h = 1e-6;
      for (Eigen::Index i = 0; i < theta.size(); ++i) {
        Eigen::VectorXd up = theta, down = theta;
        up[i] += h;
        down[i] -= h;
        const ElboTerms tu = elbo.estimate(up, eps, gumbel), td = elbo.estimate(down, eps, gumbel);
        const auto check = [&](double analytic, double plus, double minus, const char* term) {
          EXPECT_NEAR(analytic, (plus - minus) / (2 * h), 2e-6 * (1.0 + std::abs(analytic)))
              << term << " seed " << seed << " structure " << structure << " theta " << i;
        };
        check(g.data[i], tu.data, td.data, "data");
        check(g.parametric[i], tu.parametric, td.parametric, "parametric");
        check(g.structural[i], tu.structural, td.structural, "structural");
      }
    }
  }
}

// c -> 0: the Gumbel-softmax sample is the vertex argmax(a + G), and the relaxed data term on
// that draw is the vertex's data term on the same eps.
TEST(GumbelSoftmax, ZeroTemperatureLimitRecoversTheDiscreteVertex) {
  const StructureGraph graph(layered_graph());
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    RandomStream rng(seed);
    const Eigen::VectorXd a = normal_vector(rng, graph.bases()), G = gumbel_draws(graph.bases(), rng);
    const std::uint64_t vertex = most_probable_vertex(graph, a + G);
    const Eigen::VectorXd gamma = gumbel_softmax(graph, a, G, 1e-4);
    EXPECT_LT((gamma - graph.vertex_gamma(vertex)).lpNorm<Eigen::Infinity>(), 1e-12) << "seed " << seed;

    const Eigen::MatrixXd X = normal_matrix(rng, 5, graph.options().inputs);
    const Eigen::VectorXd y = normal_vector(rng, 5);
    StructureElboOptions relaxed, fixed;
    relaxed.temperature = 1e-4;
    fixed.vertex = vertex;
    Eigen::VectorXd theta(2 * graph.weights() + graph.bases());
    theta << normal_vector(rng, graph.weights()), Eigen::VectorXd::Constant(graph.weights(), -2.0), a;
    const Eigen::MatrixXd eps = normal_matrix(rng, graph.weights(), 1);
    const double relaxed_data = StructureElbo(graph, X, y, relaxed).estimate(theta, eps, G).data;
    const double vertex_data = StructureElbo(graph, X, y, fixed).estimate(theta, eps, G).data;
    EXPECT_NEAR(relaxed_data, vertex_data, 1e-8 * (1.0 + std::abs(vertex_data))) << "seed " << seed;
  }
}

TEST(GumbelSoftmax, EdgeProbabilitiesEntropyAndMostProbableVertex) {
  const StructureGraph graph(synthetic_graph());
  Eigen::VectorXd a(3);
  a << 0.0, 0.0, 0.0;
  EXPECT_NEAR(structure_entropy(graph, a), std::log(3.0), 1e-12);
  a << -1.0, 3.0, 0.5;
  EXPECT_EQ(most_probable_vertex(graph, a), 1u);
  EXPECT_NEAR(edge_probabilities(graph, a).sum(), 1.0, 1e-12);
}

TEST(SearchStructure, DeterministicAnnealedScheduleAndVertexMode) {
  const StructureGraph graph(synthetic_graph());
  RandomStream rng(11);
  Eigen::MatrixXd X = normal_matrix(rng, 50, 4);
  X.col(3).setOnes();
  Eigen::VectorXd y(50);
  for (Eigen::Index i = 0; i < 50; ++i) y[i] = std::tanh(X(i, 0)) + 0.5 * rng.normal();
  StructureSearchOptions options;
  options.iterations = 300;
  options.noise_std = 0.5;
  options.learning_rate = 0.05;
  const auto first = search_structure(graph, X, y, options, 1, 2);
  const auto again = search_structure(graph, X, y, options, 1, 2);
  EXPECT_EQ(first.theta, again.theta);
  EXPECT_EQ(first.terms.data, again.terms.data);
  EXPECT_TRUE(first.usable());
  EXPECT_NE(search_structure(graph, X, y, options, 1, 3).theta, first.theta);

  options.annealed = true;
  options.temperature = 2.0;
  options.final_temperature = 0.2;
  EXPECT_DOUBLE_EQ(scheduled_temperature(options, 1), 2.0);
  EXPECT_NEAR(scheduled_temperature(options, options.iterations), 0.2, 1e-12);

  // Vertex mode: the unused weights and the logits do not move; no structure terms.
  options.vertex = 1;  // tanh:1
  const auto vertex = search_structure(graph, X, y, options, 1, 2);
  const auto active = graph.vertex_weights(1);
  Eigen::VectorXd start_mean(graph.weights());
  RandomStream init(1);
  for (Eigen::Index j = 0; j < graph.weights(); ++j) start_mean[j] = options.init_std * init.normal();
  for (Eigen::Index j = 0; j < graph.weights(); ++j)
    if (!active[j]) {
      EXPECT_EQ(vertex.theta[j], start_mean[j]);
    }
  EXPECT_TRUE(vertex.theta.tail(graph.bases()).isZero());
  EXPECT_EQ(vertex.terms.structural, 0.0);
  // The true structure tanh(x0) fits better than the constant.
  options.vertex = 0;
  EXPECT_GT(vertex.terms.data, search_structure(graph, X, y, options, 1, 2).terms.data);
}

}  // namespace
}  // namespace msweep
