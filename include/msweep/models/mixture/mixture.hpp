// Multimodels (docs/science.md#mixtures-of-linear-experts): K local linear experts y ~ N(w_k^T x, 1/b) with Gaussian
// priors w_k ~ N(w0_k, A_k), combined either by constant weights with a Dirichlet prior
// (mixture of models) or by the two-layer softmax gate pi(x, V) = softmax(V1^T sigma(V2^T x))
// (mixture of experts). Trained by variational EM with q(Z) q(W) (q(pi)); the optional prior
// regularizer eps_kk' = w0_k - w0_k' ~ N(0, Xi) ties the prior means across experts.
//
// Every step is a coordinate ascent on one variational lower bound (plus ln p(W0) with the
// regularizer), so with a constant gate the traced bound never decreases; the softmax gate is
// trained by a few full-batch steps of optim's adam() per M step, and the best point seen is kept
// (the start included), so the gate's part of the bound never goes down and the trace stays
// monotone there too.
// Cost per EM iteration: O(N K d^2 + K d^3), plus O(epochs N h (d + K)) for the softmax gate.
#pragma once
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "msweep/core/gaussian.hpp"
#include "msweep/core/random.hpp"
#include "msweep/core/termination.hpp"

namespace msweep {

enum class GateKind {
  dirichlet,  // mixture of models: constant weights pi ~ Dir(mu, ..., mu)
  softmax,    // mixture of experts: pi(x, V) = softmax(V1^T [sigma(V2^T x); 1])
};

struct MixtureOptions {
  int experts = 2;                     // K
  GateKind gate = GateKind::dirichlet;

  // Priors w_k ~ N(w0_k, A_k). Sizes are checked against the data at fit().
  Eigen::MatrixXd prior_means;         // K x d, row k = w0_k; empty: zeros
  Eigen::MatrixXd prior_covariance;    // d x d, the initial A_k of every expert; empty: identity
  bool learn_prior_means = false;      // M step re-estimates w0_k (with the regularizer when given)
  bool learn_prior_covariance = true;  // M step re-estimates A_k = E[(w_k - w0_k)(w_k - w0_k)^T]
  // Xi (d x d, a covariance: small entries tie that component across experts); empty: no
  // regularizer. Only used when learn_prior_means.
  Eigen::MatrixXd regularizer;

  double noise_precision = 1.0;        // initial b (of every expert)
  bool learn_noise_precision = true;
  // One noise precision b_k per expert (y ~ N(w_k^T x, 1/b_k), b_k = g_k / E_k in the M step)
  // instead of one b shared by all: a thin curve's expert then stays sharp when another expert
  // absorbs spread-out points.
  bool per_expert_noise = false;
  // An extra component for background points: a uniform density 1 / (max y - min y) over the
  // targets' range (the data's bounding box, conditional on the features, which every component
  // shares), with its own mixing weight (one more Dirichlet entry or gate output, listed last).
  bool background = false;
  double max_noise_precision = 1e12;   // b is capped here so an expert owning a few exact points stays finite

  double dirichlet_concentration = 1.0;  // mu of the symmetric Dirichlet prior (dirichlet gate)

  int gate_hidden = 8;                 // h, hidden units of the softmax gate (logistic sigma)
  int gate_steps = 20;                 // full-batch Adam steps per M step (0 keeps the gate fixed)
  double gate_learning_rate = 0.05;    // Adam step size on the mean weighted log gate probability
  double gate_init_scale = 1.0;        // V2 ~ N(0, scale^2 / d) at the start; V1 starts at zero (uniform gate)

  double initial_scale = 1.0;          // initial posterior means m_k = w0_k + scale * z_k, z_k ~ N(0, I)
  int max_iterations = 100;            // EM iteration budget
  bool trace_log_likelihood = false;   // also record the plug-in log-likelihood per iteration (one more pass over the data)
  double tolerance = 1e-8;             // converged when |L_t - L_{t-1}| <= tolerance * max(1, |L_t|)
};

// What fit() reports (Ceres style). termination: converged (bound change below the tolerance),
// budget_spent (max_iterations first: a status, not an error) or numerical_failure
// (responsibilities or the bound became non-finite; the fit holds that iteration's state).
struct MixtureSummary : FitSummary {
  double final_bound = 0.0;                 // variational lower bound (+ ln p(W0) with the regularizer), nats
  double final_log_likelihood = 0.0;        // plug-in sum_i ln sum_k pi_k(x_i) N(y_i | x_i^T m_k, 1/b) at the end
  std::vector<double> bound_trace;          // one entry per iteration
  std::vector<double> log_likelihood_trace; // one entry per iteration when options.trace_log_likelihood
};

// Two-layer softmax gate; V2 is d x h, V1 is (h + 1) x K (the last row a bias).
struct SoftmaxGate {
  Eigen::MatrixXd hidden_weights;  // V2
  Eigen::MatrixXd output_weights;  // V1
  // ln pi(x_i, V), N x K, by log-sum-exp. O(N h (d + K)).
  Eigen::MatrixXd log_probabilities(const Eigen::Ref<const Eigen::MatrixXd>& X) const;
};

// The gate's M-step objective for optim's optimizers: -F(V) with
// F(V) = 1/N sum_ik r_ik ln pi_k(x_i, V), the mean weighted log gate probability, as a function
// of the flat parameters w = [vec(V2); vec(V1)] (column-major). Meets DifferentiableObjective;
// wrap it in FullBatch for adam(). Holds references to X and R. O(N h (d + K)) per evaluation.
class SoftmaxGateObjective {
 public:
  // X: N x d gate inputs; R: N x K responsibilities (rows sum to 1); hidden: h.
  SoftmaxGateObjective(const Eigen::MatrixXd& X, const Eigen::MatrixXd& R, Eigen::Index hidden);

  Eigen::Index parameters() const { return X_.cols() * hidden_ + (hidden_ + 1) * R_.cols(); }
  double evaluate(const Eigen::VectorXd& w);
  void gradient(const Eigen::VectorXd& w, Eigen::VectorXd& gradient);
  double evaluate_with_gradient(const Eigen::VectorXd& w, Eigen::VectorXd& gradient);

  // Between the flat vector and the two weight matrices.
  Eigen::VectorXd flatten(const SoftmaxGate& gate) const;
  SoftmaxGate unflatten(const Eigen::VectorXd& w) const;

 private:
  const Eigen::MatrixXd& X_;
  const Eigen::MatrixXd& R_;
  Eigen::Index hidden_;
  SoftmaxGate point_, gradient_;  // scratch: w as matrices, dF/dV
};

class LinearMixture {
 public:
  explicit LinearMixture(MixtureOptions options = {});  // throws ArgumentError on invalid options

  // Initial posterior means m_k = w0_k + initial_scale * z_k (z_k ~ N(0, I); the same draws for any
  // prior, so fits differing only in their prior start from paired points) and the gate come from `rng`.
  MixtureSummary fit(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& y,
                     RandomStream& rng);
  // Starts from the given K x d posterior means; `rng` only initializes a softmax gate.
  MixtureSummary fit(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& y,
                     const Eigen::Ref<const Eigen::MatrixXd>& initial_means, RandomStream& rng);

  const MixtureOptions& options() const { return options_; }
  bool fitted() const { return !means_.empty(); }
  int experts() const { return options_.experts; }
  const std::vector<Eigen::VectorXd>& means() const { return means_; }              // m_k
  const std::vector<Eigen::MatrixXd>& covariances() const { return covariances_; }  // B_k
  const std::vector<Eigen::VectorXd>& prior_means() const { return prior_means_; }  // w0_k
  const std::vector<Eigen::MatrixXd>& prior_covariances() const { return prior_covariances_; }  // A_k
  // b; with per_expert_noise the pooled precision sum_k g_k / sum_k (g_k / b_k) over the experts.
  double noise_precision() const { return noise_precision_; }
  const Eigen::VectorXd& noise_precisions() const { return noise_precisions_; }  // b_k per expert
  // Components: the K experts, then the background when options.background (K + 1 entries in
  // dirichlet_posterior, mixing_weights, responsibilities and the gate's columns).
  int components() const { return options_.experts + (options_.background ? 1 : 0); }
  const Eigen::VectorXd& dirichlet_posterior() const { return dirichlet_; }  // mu + g_k (dirichlet gate)
  const SoftmaxGate& gate() const { return gate_; }
  // E pi_k for the dirichlet gate; the mean of pi(x_i, V) over the training objects for softmax
  // (one entry per component: the background last).
  const Eigen::VectorXd& mixing_weights() const { return mixing_weights_; }
  // The responsibilities z_ik of the last E step (N x components(), rows sum to 1).
  const Eigen::MatrixXd& responsibilities() const { return responsibilities_; }

  // ln pi_k(x_i), N x K: E ln pi_k under q(pi) broadcast for the dirichlet gate.
  Eigen::MatrixXd log_gate(const Eigen::Ref<const Eigen::MatrixXd>& X) const;
  // Responsibilities for new data with the fitted q(W), b and gate, by log-sum-exp. O(N K d^2).
  Eigen::MatrixXd responsibilities(const Eigen::Ref<const Eigen::MatrixXd>& X,
                                   const Eigen::Ref<const Eigen::VectorXd>& y) const;
  // sum_k pi_k(x) x^T m_k over the experts (weights renormalized over them when there is a background).
  Eigen::VectorXd predict(const Eigen::Ref<const Eigen::MatrixXd>& X) const;
  // Plug-in mixture log-likelihood sum_i ln sum_k pi_k(x_i) N(y_i | x_i^T m_k, 1/b).
  double log_likelihood(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& y) const;

 private:
  // The data, its packed statistics and the scratch one fit() shares between its steps (after
  // mlpack's EMFit): each step below reads and writes the model's state and this workspace.
  struct EmWorkspace;
  // q(Z): the responsibilities and their entropy; false when they are non-finite.
  bool e_step(EmWorkspace& ws) const;
  // q(W) from the responsibilities, and q(pi) for the dirichlet gate.
  void update_posteriors(EmWorkspace& ws);
  // M step: the prior means w0, prior covariances A, noise precision b and the softmax gate.
  void update_priors(EmWorkspace& ws);
  // The variational lower bound (+ ln p(W0) with the regularizer) at the current state.
  double bound(const EmWorkspace& ws) const;

  void check_fitted(const char* function) const;
  Eigen::MatrixXd log_gate_probabilities(const Eigen::Ref<const Eigen::MatrixXd>& X) const;

  MixtureOptions options_;
  std::vector<Eigen::VectorXd> means_, prior_means_;
  std::vector<Eigen::MatrixXd> covariances_, prior_covariances_;
  double noise_precision_ = 1.0;
  Eigen::VectorXd noise_precisions_;      // b_k (all equal unless per_expert_noise)
  double log_background_density_ = 0.0;  // -ln(max y - min y) of the fitted targets
  Eigen::VectorXd dirichlet_, mixing_weights_;
  SoftmaxGate gate_;
  Eigen::MatrixXd responsibilities_;
};

// The experts of a fitted mixture for the s-score (criteria/s_score.hpp): q(w_k) = N(m_k, B_k)
// with its mixing weight. Throws ArgumentError when the mixture is not fitted.
std::vector<GaussianPosterior> expert_posteriors(const LinearMixture& mixture);

}  // namespace msweep
