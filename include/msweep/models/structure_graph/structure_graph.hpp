// A computation-graph model whose structure is a point on a product of simplices
// (docs/science.md, structure selection; Bakhteev and Strijov): node 0 is the input x, every
// other node j has a width d_j and f_j(x) = sum over edges (j <- k) of sum_h gamma_jkh g_jkh(f_k(x));
// the last node (width 1) is the model's output. Each edge carries K basis functions g (zero,
// a constant, linear, tanh or ReLU of an affine map of the source node, optionally reading only
// its first r components: "tanh:1" is tanh(w x_0 + b)), and gamma_jk is a point on the
// (K-1)-simplex. A vertex of the product of simplices (one basis per edge) is a discrete
// structure; there are prod K_e of them, numbered in mixed radix with the last edge fastest.
//
// The variational side: q(w) = N(mu, diag s^2) (models/variational), q(Gamma) a product of
// Gumbel-softmax (concrete) distributions with logits a_e and temperature c, the prior
// p(Gamma) the same with zero logits, the prior w | Gamma ~ N(0, gamma^2 A^-1): a weight of basis
// h has prior variance (gamma_h^2 + floor^2) e^{2 h_A} (the floor keeps the KL finite when a
// sampled gamma_h is near zero; at a vertex the unused bases are dropped instead). The ELBO
//   E_q ln p(y | X, w, Gamma) - KL(q(Gamma) || p(Gamma)) - E_Gamma KL(q(w) || p(w | Gamma))
// is estimated on S reparameterized draws (eps for w, Gumbel noise G for Gamma), and all three
// terms' gradients with respect to theta = [mu, ln s, a] are derived by hand (checked against
// finite differences in tests/unit/models/structure_graph).
//
// The KL between the concrete distributions q and p (same temperature) at the reparameterized
// sample x = softmax((a + G) / c) is, per edge (Maddison et al. 2017's density, simplified):
//   ln q(x) - ln p(x) = sum_k (a_k - a0_k) - K LSE(-G) + K LSE(a0 - a - G),
// independent of c; its gradient in a is 1 - K softmax(a0 - a - G).
//
// Costs: one forward and backward pass is O(m * sum over bases of d_target * r); the KL terms
// are O(P + sum K_e).
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "msweep/core/random.hpp"
#include "msweep/core/termination.hpp"
#include "msweep/models/variational/diag_gaussian.hpp"

namespace msweep {

enum class BasisKind { zero, constant, linear, tanh, relu };

struct BasisSpec {
  BasisKind kind = BasisKind::zero;
  Eigen::Index inputs = 0;  // reads the first `inputs` components of the source node; 0: all
  bool operator==(const BasisSpec&) const = default;
};
// "zero", "const", "linear", "tanh", "relu", each but zero and const optionally ":r" (r >= 1).
// Throws ArgumentError naming the text otherwise.
BasisSpec parse_basis(std::string_view text);
std::string basis_name(const BasisSpec& basis);

struct EdgeSpec {
  Eigen::Index target = 1, source = 0;  // f_target += <gamma, g>(f_source); source < target
  std::vector<BasisSpec> bases;         // K >= 1 choices
};
// "2<-0: zero linear tanh relu". Throws ArgumentError naming the text when malformed.
EdgeSpec parse_edge(std::string_view text);

struct StructureGraphOptions {
  Eigen::Index inputs = 1;            // width of node 0 (the features)
  std::vector<Eigen::Index> widths;   // widths of nodes 1..N; the last (the output) must be 1
  std::vector<EdgeSpec> edges;        // every node 1..N must be the target of at least one edge
};

// The graph: parameter layout, forward and reverse passes for a given Gamma and w.
class StructureGraph {
 public:
  // Throws ArgumentError for a malformed graph (source >= target, a basis reading more inputs
  // than its source node has, a node without incoming edges, an output wider than 1).
  explicit StructureGraph(StructureGraphOptions options);

  const StructureGraphOptions& options() const { return options_; }
  Eigen::Index weights() const { return weight_count_; }                 // P
  Eigen::Index edges() const { return static_cast<Eigen::Index>(options_.edges.size()); }
  Eigen::Index choices(Eigen::Index edge) const;                         // K_e
  Eigen::Index bases() const { return static_cast<Eigen::Index>(basis_edge_.size()); }  // sum K_e: logits
  Eigen::Index basis_offset(Eigen::Index edge) const { return edge_offset_[static_cast<std::size_t>(edge)]; }
  std::span<const Eigen::Index> basis_of_weight() const { return basis_of_weight_; }  // global basis per weight
  std::uint64_t vertex_count() const { return vertex_count_; }           // prod K_e

  // The basis chosen on each edge at vertex `index` (mixed radix, the last edge fastest).
  std::vector<Eigen::Index> vertex_choices(std::uint64_t index) const;
  std::uint64_t vertex_index(std::span<const Eigen::Index> choices) const;
  // "tanh|linear|zero|...": generated on demand, never stored per vertex.
  std::string vertex_label(std::uint64_t index) const;
  // Gamma at a vertex: one-hot per edge (bases() entries).
  Eigen::VectorXd vertex_gamma(std::uint64_t index) const;
  // 1 for the weights of the bases a vertex uses, 0 for the others.
  Eigen::Array<bool, Eigen::Dynamic, 1> vertex_weights(std::uint64_t index) const;

  // The node values of one forward pass, kept for the backward pass.
  struct Workspace {
    std::vector<Eigen::MatrixXd> nodes;        // f_j, objects x d_j
    std::vector<Eigen::MatrixXd> basis_out;    // g_h(f_k) per global basis (empty for zero)
    std::vector<Eigen::MatrixXd> pre;          // affine map before the nonlinearity
  };
  // f(x) for every row of X (objects x inputs); gamma has bases() entries, w weights().
  Eigen::VectorXd forward(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& w,
                          const Eigen::Ref<const Eigen::VectorXd>& gamma, Workspace& workspace) const;
  Eigen::VectorXd predict(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& w,
                          const Eigen::Ref<const Eigen::VectorXd>& gamma) const;
  // Given dF/df (one entry per object) after forward(), ADDS dF/dw and dF/dgamma (not for bases
  // whose gamma is exactly 0: a fixed vertex's unused choices are skipped in both passes).
  void backward(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::VectorXd>& gamma,
                const Workspace& workspace, const Eigen::Ref<const Eigen::VectorXd>& d_output,
                Eigen::Ref<Eigen::VectorXd> d_w, Eigen::Ref<Eigen::VectorXd> d_gamma) const;

 private:
  template <class Visit>
  void visit_bases_into(std::size_t node, const Eigen::Ref<const Eigen::VectorXd>& gamma, Visit&& visit) const;

  StructureGraphOptions options_;
  std::vector<Eigen::Index> edge_offset_;     // first global basis of each edge
  std::vector<Eigen::Index> basis_edge_;      // edge of each global basis
  std::vector<Eigen::Index> weight_offset_;   // first weight of each global basis
  std::vector<Eigen::Index> basis_inputs_;    // r per global basis (resolved)
  std::vector<Eigen::Index> basis_of_weight_;
  Eigen::Index weight_count_ = 0;
  std::uint64_t vertex_count_ = 1;
};

// Gumbel(0, 1) draws -ln(-ln U), one per entry.
Eigen::VectorXd gumbel_draws(Eigen::Index size, RandomStream& rng);
// gamma_e = softmax((a_e + G_e) / c) on every edge.
Eigen::VectorXd gumbel_softmax(const StructureGraph& graph, const Eigen::Ref<const Eigen::VectorXd>& logits,
                               const Eigen::Ref<const Eigen::VectorXd>& gumbel, double temperature);
// Chain rule through the sample: ADDS dF/da = J^T dF/dgamma, J_e = (diag gamma_e - gamma_e gamma_e^T) / c.
void accumulate_gumbel_softmax_gradient(const StructureGraph& graph, const Eigen::Ref<const Eigen::VectorXd>& gamma,
                                        double temperature, const Eigen::Ref<const Eigen::VectorXd>& d_gamma,
                                        Eigen::Ref<Eigen::VectorXd> d_logits);
// ln q(Gamma) - ln p(Gamma) at the reparameterized sample of noise G (formula in the header
// comment), prior logits zero; ADDS its gradient in the logits when d_logits is given.
double structure_kl_sample(const StructureGraph& graph, const Eigen::Ref<const Eigen::VectorXd>& logits,
                           const Eigen::Ref<const Eigen::VectorXd>& gumbel, Eigen::VectorXd* d_logits = nullptr);
// Per-edge categorical probabilities softmax(a_e) (the c -> 0 limit of q(Gamma)).
Eigen::VectorXd edge_probabilities(const StructureGraph& graph, const Eigen::Ref<const Eigen::VectorXd>& logits);
// Structural complexity: sum over edges of the entropy of softmax(a_e), in nats.
double structure_entropy(const StructureGraph& graph, const Eigen::Ref<const Eigen::VectorXd>& logits);
// The most probable vertex of q(Gamma): argmax a_e on every edge (first on ties).
std::uint64_t most_probable_vertex(const StructureGraph& graph, const Eigen::Ref<const Eigen::VectorXd>& logits);

// The meta weights of the generalized bilevel problem (docs/science.md): the structure logits
// ascend Q = l_LL E ln p - l_CQ KL(q(w) || p(w | Gamma)) - KL(q(Gamma) || p(Gamma)), the
// variational parameters of w ascend L = E ln p - l_CL KL(q(w) || p(w | Gamma)). (1, 1, 1) is
// the plain ELBO.
struct MetaWeights {
  double likelihood = 1.0;        // l_LL
  double complexity_upper = 1.0;  // l_CQ
  double complexity_lower = 1.0;  // l_CL
};

// The likelihood p(y | X, w, Gamma): Gaussian y ~ N(f(x), sigma^2) (regression), or Bernoulli
// y ~ Bernoulli(sigmoid(f(x))) with y in {0, 1} (two classes: f is the log-odds).
enum class StructureLikelihood { gaussian, bernoulli };

struct StructureElboOptions {
  StructureLikelihood likelihood = StructureLikelihood::gaussian;
  double noise_std = 1.0;          // sigma of the Gaussian likelihood y ~ N(f(x), sigma^2)
  double prior_log_std = 0.0;      // h_A = ln of A^-1/2 (one scalar: A = e^{-2 h_A} I)
  double gamma_floor = 1e-3;       // prior variance (gamma^2 + floor^2) e^{2 h_A}
  double temperature = 1.0;        // c
  std::optional<std::uint64_t> vertex;  // Gamma fixed at this vertex: no structure terms
};

// The three terms of the ELBO on one set of draws, each an average over the S draws.
struct ElboTerms {
  double data = 0.0;        // E ln p(y | X, w, Gamma)
  double parametric = 0.0;  // E_Gamma KL(q(w) || p(w | Gamma)): parametric complexity
  double structural = 0.0;  // KL(q(Gamma) || p(Gamma)) (0 at a fixed vertex)
  double elbo() const { return data - parametric - structural; }
};
// Gradients of each term with respect to theta = [mu (P), ln s (P), a (sum K_e)].
struct ElboGradients {
  Eigen::VectorXd data, parametric, structural;
};

// theta = [mu, ln s, a]: the flat vector the optimizer moves.
class StructureElbo {
 public:
  StructureElbo(const StructureGraph& graph, Eigen::MatrixXd X, Eigen::VectorXd y, StructureElboOptions options);

  Eigen::Index parameters() const { return 2 * graph_.weights() + graph_.bases(); }
  const StructureGraph& graph() const { return graph_; }
  StructureElboOptions& options() { return options_; }
  const StructureElboOptions& options() const { return options_; }

  // The terms on the draws eps (P x S) and gumbel (sum K_e x S), with their gradients when asked.
  ElboTerms estimate(const Eigen::Ref<const Eigen::VectorXd>& theta, const Eigen::Ref<const Eigen::MatrixXd>& eps,
                     const Eigen::Ref<const Eigen::MatrixXd>& gumbel, ElboGradients* gradients = nullptr) const;
  // The ascent direction of the bilevel problem: [d L / d(mu, ln s), d Q / da].
  Eigen::VectorXd ascent_direction(const ElboGradients& gradients, const MetaWeights& meta) const;

  // q(w) held in theta.
  DiagGaussian weights_distribution(const Eigen::Ref<const Eigen::VectorXd>& theta) const;

 private:
  const StructureGraph& graph_;
  Eigen::MatrixXd X_;
  Eigen::VectorXd y_;
  StructureElboOptions options_;
  std::vector<Eigen::Index> active_;  // weights in the KL (all, or a fixed vertex's)
  Eigen::VectorXd fixed_gamma_;
};

// The search (relaxed) or a vertex's training (options.vertex set): Adam over theta for
// `iterations` steps, S fresh draws per step, prior N(0, prior_variance) for the first
// broad_after share of the steps and N(0, broad_prior_variance) after (the original schedule),
// temperature fixed or annealed geometrically from `temperature` to `final_temperature`.
struct StructureSearchOptions {
  Eigen::Index iterations = 1000;
  Eigen::Index samples = 3;               // S Monte Carlo draws per step
  Eigen::Index final_samples = 64;        // draws for the reported terms at the end
  double learning_rate = 0.01;            // Adam
  double temperature = 1.0;               // c (the start when annealed)
  bool annealed = false;
  double final_temperature = 0.1;         // annealed: c at the last step
  double prior_variance = 1.0;            // A^-1 for the first part
  double broad_prior_variance = 22026.465794806718;  // e^10, after broad_after
  double broad_after = 0.5;               // share of the steps under the first prior
  StructureLikelihood likelihood = StructureLikelihood::gaussian;
  double noise_std = 1.0;                 // Gaussian likelihood only
  double gamma_floor = 1e-3;
  double init_std = 0.1;                  // mu_0 ~ N(0, init_std^2)
  double init_log_std = -3.0;             // ln s_0
  MetaWeights meta;
  std::optional<std::uint64_t> vertex;    // train this vertex with Gamma fixed
};

struct StructureSearchResult : FitSummary {
  Eigen::VectorXd theta;  // [mu, ln s, a] at the end
  ElboTerms terms;        // on final_samples draws, at the final temperature and prior
};

// Seeds: `init` draws mu_0, `noise` the draws of every step and of the final estimate. The
// result is a deterministic function of the data, the options and the two seeds.
StructureSearchResult search_structure(const StructureGraph& graph, const Eigen::Ref<const Eigen::MatrixXd>& X,
                                       const Eigen::Ref<const Eigen::VectorXd>& y, const StructureSearchOptions& options,
                                       std::uint64_t init_seed, std::uint64_t noise_seed);

// The temperature at step t (1-based) of `iterations` under the schedule.
double scheduled_temperature(const StructureSearchOptions& options, Eigen::Index t);

}  // namespace msweep
