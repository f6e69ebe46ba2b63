// Variational EM for mixtures of linear experts (see the header for the model).
// Each step maximizes the same bound over one block, in this order per iteration:
// q(Z) | q(W), gate; q(W) | q(Z), w0, A, b; q(pi) | q(Z); w0 | A; A | w0; b; V (best point kept).
// fit() runs them as e_step, update_posteriors (q(W), q(pi)), update_priors (w0, A, b, V) and
// bound over one EmWorkspace.
#include "msweep/models/mixture/mixture.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "msweep/core/error.hpp"
#include "msweep/core/math.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/optim/first_order.hpp"

namespace msweep {
namespace {

constexpr double kLog2Pi = 1.8378770664093454835606594728112;  // ln(2 pi)
// Floor of a per-expert b_k = g_k / E_k: an expert that lost all its points (g_k = 0) keeps a
// finite ln b_k in the E step instead of -inf.
constexpr double kMinNoisePrecision = 1e-12;

double log_det(const Eigen::LLT<Eigen::MatrixXd>& llt) {
  return 2.0 * llt.matrixLLT().diagonal().array().log().sum();
}

// Cholesky of a symmetric matrix that should be positive definite; when rounding has made it
// (near) singular, e.g. A_k = B_k + d d^T with a huge outlier-driven d, a growing multiple of
// the identity is added until it factors, so far outliers degrade the fit instead of aborting it.
Eigen::LLT<Eigen::MatrixXd> robust_llt(const Eigen::MatrixXd& S, const char* what) {
  Eigen::LLT<Eigen::MatrixXd> llt(S);
  if (llt.info() == Eigen::Success) return llt;
  const double scale = std::max(S.diagonal().cwiseAbs().maxCoeff(), 1e-300);
  for (double jitter = 1e-12; jitter <= 1.0; jitter *= 10.0) {
    llt.compute(S + jitter * scale * Eigen::MatrixXd::Identity(S.rows(), S.cols()));
    if (llt.info() == Eigen::Success) return llt;
  }
  throw ArgumentError(std::string("LinearMixture::fit: ") + what + ": expected a positive definite matrix");
}

Eigen::MatrixXd spd_inverse(const Eigen::MatrixXd& S, const char* what) {
  return robust_llt(S, what).solve(Eigen::MatrixXd::Identity(S.rows(), S.cols()));
}

// KL(N(m, B) || N(w0, A)) = 1/2 [tr(A^-1 B) + (m - w0)^T A^-1 (m - w0) - d + ln|A| - ln|B|], O(d^3).
double gaussian_kl(const Eigen::VectorXd& m, const Eigen::MatrixXd& B, const Eigen::VectorXd& w0, const Eigen::MatrixXd& A) {
  const auto a_llt = robust_llt(A, "A_k"), b_llt = robust_llt(B, "B_k");
  const Eigen::VectorXd diff = m - w0;
  const double trace = a_llt.solve(B).trace();
  const double mahalanobis = diff.dot(a_llt.solve(diff));
  return 0.5 * (trace + mahalanobis - static_cast<double>(m.size()) + log_det(a_llt) - log_det(b_llt));
}

// KL(Dir(a) || Dir(b)) = ln G(a0) - sum ln G(a_k) - ln G(b0) + sum ln G(b_k) + sum (a_k - b_k)(psi(a_k) - psi(a0)).
double dirichlet_kl(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  const double a0 = a.sum(), b0 = b.sum(), psi_a0 = digamma(a0);
  double kl = std::lgamma(a0) - std::lgamma(b0);
  for (Eigen::Index k = 0; k < a.size(); ++k)
    kl += std::lgamma(b(k)) - std::lgamma(a(k)) + (a(k) - b(k)) * (digamma(a(k)) - psi_a0);
  return kl;
}

// Largest d for which fit() packs the per-object products x_j x_l into one feature matrix.
constexpr Eigen::Index kPackedMaxFeatures = 8;

// sum_i ln v_i for v_i in [1, max_value] with one log per chunk of objects: a chunk's product
// stays below 2^1000, so the N logs of the entropy term cost N / chunk instead.
double sum_of_logs(const Eigen::ArrayXd& v, double max_value) {
  const Eigen::Index chunk =
      max_value > 1.0 ? std::max<Eigen::Index>(1, static_cast<Eigen::Index>(1000.0 / std::log2(max_value))) : v.size();
  double total = 0.0;
  for (Eigen::Index start = 0; start < v.size(); start += chunk)
    total += std::log(v.segment(start, std::min(chunk, v.size() - start)).prod());
  return total;
}

Eigen::MatrixXd logistic(const Eigen::MatrixXd& a) { return (1.0 + (-a.array()).exp()).inverse().matrix(); }

// Mean weighted log gate probability F(V) = 1/N sum_ik r_ik ln pi_k(x_i, V) and, when asked,
// its gradient by backpropagation through both layers. O(N h (d + K)).
double gate_objective(const SoftmaxGate& gate, const Eigen::MatrixXd& X, const Eigen::MatrixXd& R, SoftmaxGate* gradient) {
  const Eigen::Index n = X.rows(), h = gate.hidden_weights.cols();
  const Eigen::MatrixXd hidden = logistic(X * gate.hidden_weights);
  Eigen::MatrixXd augmented(n, h + 1);
  augmented << hidden, Eigen::VectorXd::Ones(n);
  Eigen::MatrixXd log_p = augmented * gate.output_weights;
  log_p.colwise() -= row_log_sum_exp(log_p);
  const double value = (R.array() * log_p.array()).sum() / static_cast<double>(n);
  if (gradient) {
    // d/d logits of sum_k r_ik ln softmax_k = r_ik - pi_ik sum_k r_ik = r_ik - pi_ik (rows of R sum to 1).
    const Eigen::MatrixXd delta = (R.array() - log_p.array().exp()).matrix() / static_cast<double>(n);
    gradient->output_weights = augmented.transpose() * delta;
    const Eigen::MatrixXd back = (delta * gate.output_weights.topRows(h).transpose()).array() * hidden.array() * (1.0 - hidden.array());
    gradient->hidden_weights = X.transpose() * back;
  }
  return value;
}

// A few full-batch adam() ascent steps on F(V) (descent on -F), continuing the moments in
// `state` across the M steps of one fit; returns the best V seen (the start included), so the
// gate's share of the bound never goes down.
void train_gate(SoftmaxGate& gate, AdamState& state, const Eigen::MatrixXd& X, const Eigen::MatrixXd& R, const MixtureOptions& options) {
  SoftmaxGateObjective objective(X, R, gate.hidden_weights.cols());
  FullBatch<SoftmaxGateObjective> full_batch(objective);
  AdamOptions adam_options;
  adam_options.max_iterations = options.gate_steps;
  adam_options.batch_size = 0;
  adam_options.learning_rate = options.gate_learning_rate;
  adam_options.evaluate_final = true;  // the last point is a candidate too
  Eigen::VectorXd w = objective.flatten(gate), best = w;
  double best_value = std::numeric_limits<double>::infinity();  // of -F
  const auto keep_best = [&](const IterationState& at) {
    if (at.batch_objective < best_value) {
      best_value = at.batch_objective;
      best = at.w;
    }
    return false;
  };
  const OptimSummary summary = adam(full_batch, w, adam_options, state, keep_best);
  if (summary.objective < best_value) best = w;  // NaN (a diverged step) never wins
  gate = objective.unflatten(best);
}

}  // namespace

Eigen::MatrixXd SoftmaxGate::log_probabilities(const Eigen::Ref<const Eigen::MatrixXd>& X) const {
  require(X.cols() == hidden_weights.rows(), "SoftmaxGate::log_probabilities", "X", "one column per gate input");
  const Eigen::Index n = X.rows(), h = hidden_weights.cols();
  Eigen::MatrixXd augmented(n, h + 1);
  augmented << logistic(X * hidden_weights), Eigen::VectorXd::Ones(n);
  Eigen::MatrixXd log_p = augmented * output_weights;
  log_p.colwise() -= row_log_sum_exp(log_p);
  return log_p;
}

SoftmaxGateObjective::SoftmaxGateObjective(const Eigen::MatrixXd& X, const Eigen::MatrixXd& R, Eigen::Index hidden)
    : X_(X), R_(R), hidden_(hidden) {
  require(hidden >= 1, "SoftmaxGateObjective", "hidden", "at least 1");
  require(R.rows() == X.rows() && R.cols() >= 1, "SoftmaxGateObjective", "R", "one row per row of X and at least one column");
}

Eigen::VectorXd SoftmaxGateObjective::flatten(const SoftmaxGate& gate) const {
  require(gate.hidden_weights.rows() == X_.cols() && gate.hidden_weights.cols() == hidden_ &&
              gate.output_weights.rows() == hidden_ + 1 && gate.output_weights.cols() == R_.cols(),
          "SoftmaxGateObjective::flatten", "gate", "V2 d x h and V1 (h + 1) x K");
  Eigen::VectorXd w(parameters());
  w << gate.hidden_weights.reshaped(), gate.output_weights.reshaped();
  return w;
}

SoftmaxGate SoftmaxGateObjective::unflatten(const Eigen::VectorXd& w) const {
  require(w.size() == parameters(), "SoftmaxGateObjective::unflatten", "w", "parameters() entries");
  const Eigen::Index hidden_size = X_.cols() * hidden_;
  SoftmaxGate gate;
  gate.hidden_weights = w.head(hidden_size).reshaped(X_.cols(), hidden_);
  gate.output_weights = w.tail(w.size() - hidden_size).reshaped(hidden_ + 1, R_.cols());
  return gate;
}

double SoftmaxGateObjective::evaluate(const Eigen::VectorXd& w) {
  point_ = unflatten(w);
  return -gate_objective(point_, X_, R_, nullptr);
}

void SoftmaxGateObjective::gradient(const Eigen::VectorXd& w, Eigen::VectorXd& gradient) { evaluate_with_gradient(w, gradient); }

double SoftmaxGateObjective::evaluate_with_gradient(const Eigen::VectorXd& w, Eigen::VectorXd& gradient) {
  point_ = unflatten(w);
  const double value = gate_objective(point_, X_, R_, &gradient_);
  gradient.resize(w.size());
  gradient << -gradient_.hidden_weights.reshaped(), -gradient_.output_weights.reshaped();
  return -value;
}

std::vector<GaussianPosterior> expert_posteriors(const LinearMixture& mixture) {
  require(mixture.fitted(), "expert_posteriors", "mixture", "a fitted LinearMixture");
  std::vector<GaussianPosterior> out;
  for (int k = 0; k < mixture.experts(); ++k)
    out.push_back({mixture.means()[static_cast<std::size_t>(k)], mixture.covariances()[static_cast<std::size_t>(k)],
                   mixture.mixing_weights()(k)});
  return out;
}

LinearMixture::LinearMixture(MixtureOptions options) : options_(std::move(options)) {
  const char* fn = "LinearMixture";
  require(options_.experts >= 1, fn, "options.experts", "at least 1");
  require(options_.noise_precision > 0 && std::isfinite(options_.noise_precision), fn, "options.noise_precision", "a positive number");
  require(options_.max_noise_precision >= options_.noise_precision, fn, "options.max_noise_precision", "at least options.noise_precision");
  require(options_.dirichlet_concentration > 0, fn, "options.dirichlet_concentration", "a positive number");
  require(options_.gate_hidden >= 1, fn, "options.gate_hidden", "at least 1");
  require(options_.gate_steps >= 0, fn, "options.gate_steps", "a non-negative count");
  require(options_.gate_learning_rate > 0, fn, "options.gate_learning_rate", "a positive number");
  require(options_.gate_init_scale >= 0, fn, "options.gate_init_scale", "a non-negative number");
  require(options_.initial_scale >= 0, fn, "options.initial_scale", "a non-negative number");
  require(options_.max_iterations >= 1, fn, "options.max_iterations", "at least 1");
  require(options_.tolerance >= 0, fn, "options.tolerance", "a non-negative number");
  require(options_.prior_means.size() == 0 || options_.prior_means.rows() == options_.experts, fn, "options.prior_means",
          "one row per expert (or empty)");
  require(options_.prior_covariance.rows() == options_.prior_covariance.cols(), fn, "options.prior_covariance", "a square matrix");
  require(options_.regularizer.rows() == options_.regularizer.cols(), fn, "options.regularizer", "a square matrix");
}

void LinearMixture::check_fitted(const char* function) const {
  require(fitted(), function, "this", "a fitted LinearMixture (call fit first)");
}

MixtureSummary LinearMixture::fit(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& y,
                                  RandomStream& rng) {
  // m_k = w0_k + initial_scale * z_k: a draw around the prior, where the same z_k for every
  // prior setting keeps comparisons between methods paired.
  Eigen::MatrixXd initial(options_.experts, X.cols());
  for (Eigen::Index k = 0; k < initial.rows(); ++k)
    for (Eigen::Index j = 0; j < initial.cols(); ++j) initial(k, j) = options_.initial_scale * rng.normal();
  if (options_.prior_means.size() && options_.prior_means.cols() == X.cols()) initial += options_.prior_means;
  return fit(X, y, initial, rng);
}

// What the steps of one fit() share: the data, constants of the options, the packed statistics
// and the scratch of the current iteration.
struct LinearMixture::EmWorkspace {
  const Eigen::Ref<const Eigen::MatrixXd>& X;
  const Eigen::Ref<const Eigen::VectorXd>& y;
  Eigen::Index n, d;
  int K;
  int C;                             // components: K experts (+ the background, last)
  bool log_density_terms;            // ln p(y|k) needs its 0.5 (ln b_k - ln 2 pi): b_k differ or a background competes
  Eigen::ArrayXd y2;                 // y_i^2
  Eigen::VectorXd prior_dirichlet;   // (mu, ..., mu), one per component
  bool regularized = false;          // ln p(W0) with Xi in the bound and the w0 update
  Eigen::MatrixXd xi_inverse;
  double xi_log_det = 0.0;
  Eigen::MatrixXd gate_inputs;       // a copy of X for the softmax gate's objective
  AdamState gate_adam;               // Adam moments of the gate, kept across M steps

  // For small d every statistic the updates need is a weighted sum over objects of the features
  // [x_j x_l (j <= l), x y, y^2, 1]: one (P + d + 2) x N x K product per iteration replaces K
  // passes over the data, and x_i^T B_k x_i becomes a product with the packed B_k.
  Eigen::Index pairs;
  bool packed;
  Eigen::MatrixXd features, packed_covariances, stats, means_by_row;

  // This iteration: ln rho (shifted), responsibilities z_ik (N x C), H[q(Z)], the weighted
  // statistics sum_i z_ik x_i x_i^T, sum_i z_ik x_i y_i, sum_i z_ik y_i^2, g_k = sum_i z_ik (C
  // entries), A_k^-1 and E_k = sum_i z_ik E(y_i - x_i^T w_k)^2.
  Eigen::MatrixXd log_rho, R, weighted;
  double entropy = 0.0;
  std::vector<Eigen::MatrixXd> scatter, prior_precision;
  std::vector<Eigen::VectorXd> cross;
  Eigen::VectorXd target_sums, counts, energy;

  EmWorkspace(const Eigen::Ref<const Eigen::MatrixXd>& X_in, const Eigen::Ref<const Eigen::VectorXd>& y_in, const MixtureOptions& options)
      : X(X_in), y(y_in), n(X_in.rows()), d(X_in.cols()), K(options.experts), C(options.experts + (options.background ? 1 : 0)),
        log_density_terms(options.per_expert_noise || options.background), y2(y_in.array().square()),
        prior_dirichlet(Eigen::VectorXd::Constant(C, options.dirichlet_concentration)),
        pairs(d * (d + 1) / 2), packed(d <= kPackedMaxFeatures), means_by_row(d, K), log_rho(n, C), R(n, C),
        scatter(static_cast<std::size_t>(K), Eigen::MatrixXd(d, d)), prior_precision(static_cast<std::size_t>(K)),
        cross(static_cast<std::size_t>(K)), target_sums(K), counts(C), energy(K) {
    regularized = options.learn_prior_means && options.regularizer.size() > 0 && K > 1;
    if (regularized) {
      Eigen::LLT<Eigen::MatrixXd> llt(options.regularizer);
      require(llt.info() == Eigen::Success, "LinearMixture::fit", "options.regularizer", "a positive definite matrix");
      xi_inverse = llt.solve(Eigen::MatrixXd::Identity(d, d));
      xi_log_det = log_det(llt);
    }
    if (options.gate == GateKind::softmax) gate_inputs = X;
    if (packed) {
      features.resize(n, pairs + d + 2);
      Eigen::Index col = 0;
      for (Eigen::Index j = 0; j < d; ++j)
        for (Eigen::Index l = j; l < d; ++l) features.col(col++) = X.col(j).cwiseProduct(X.col(l));
      features.middleCols(pairs, d) = X.array().colwise() * y.array();
      features.col(pairs + d) = y.array().square().matrix();
      features.col(pairs + d + 1).setOnes();
      packed_covariances.resize(pairs, K);
    }
  }
};

MixtureSummary LinearMixture::fit(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& y,
                                  const Eigen::Ref<const Eigen::MatrixXd>& initial_means, RandomStream& rng) {
  const char* fn = "LinearMixture::fit";
  const Eigen::Index n = X.rows(), d = X.cols();
  const int K = options_.experts;
  require(n > 0 && d > 0, fn, "X", "at least one object and one feature");
  require(y.size() == n, fn, "y", "one target per row of X");
  require(X.allFinite() && y.allFinite(), fn, "X, y", "finite values");
  require(initial_means.rows() == K && initial_means.cols() == d && initial_means.allFinite(), fn, "initial_means",
          "finite, one row per expert and one column per feature");
  require(options_.prior_means.size() == 0 || options_.prior_means.cols() == d, fn, "options.prior_means", "one column per feature");
  require(options_.prior_covariance.size() == 0 || options_.prior_covariance.rows() == d, fn, "options.prior_covariance", "d x d");
  require(options_.regularizer.size() == 0 || options_.regularizer.rows() == d, fn, "options.regularizer", "d x d");

  WallTimer timer;
  MixtureSummary summary;
  const Eigen::MatrixXd A0 = options_.prior_covariance.size() ? Eigen::MatrixXd(options_.prior_covariance) : Eigen::MatrixXd::Identity(d, d);
  require(Eigen::LLT<Eigen::MatrixXd>(A0).info() == Eigen::Success, fn, "options.prior_covariance", "a positive definite matrix");
  EmWorkspace ws(X, y, options_);

  prior_means_.assign(K, Eigen::VectorXd::Zero(d));
  if (options_.prior_means.size())
    for (int k = 0; k < K; ++k) prior_means_[k] = options_.prior_means.row(k).transpose();
  prior_covariances_.assign(K, A0);
  means_.resize(K);
  for (int k = 0; k < K; ++k) means_[k] = initial_means.row(k).transpose();
  covariances_.assign(K, A0);
  noise_precision_ = options_.noise_precision;
  noise_precisions_ = Eigen::VectorXd::Constant(K, options_.noise_precision);
  const double target_range = y.maxCoeff() - y.minCoeff();
  log_background_density_ = target_range > 0.0 ? -std::log(target_range) : 0.0;
  dirichlet_ = Eigen::VectorXd::Constant(ws.C, options_.dirichlet_concentration + static_cast<double>(n) / ws.C);
  if (options_.gate == GateKind::softmax) {
    gate_.hidden_weights.resize(d, options_.gate_hidden);
    const double scale = options_.gate_init_scale / std::sqrt(static_cast<double>(d));
    for (Eigen::Index i = 0; i < gate_.hidden_weights.size(); ++i) gate_.hidden_weights.data()[i] = scale * rng.normal();
    gate_.output_weights = Eigen::MatrixXd::Zero(options_.gate_hidden + 1, ws.C);
  } else {
    gate_ = SoftmaxGate{};
  }

  double previous_bound = -std::numeric_limits<double>::infinity();
  summary.termination = Termination::budget_spent;
  for (int iteration = 1; iteration <= options_.max_iterations; ++iteration) {
    if (!e_step(ws)) {
      summary.termination = Termination::numerical_failure;
      summary.message = "non-finite responsibilities at iteration " + std::to_string(iteration);
      break;
    }
    update_posteriors(ws);
    update_priors(ws);
    const double value = bound(ws);

    responsibilities_ = ws.R;  // z_ik of this iteration's E step
    summary.iterations = iteration;
    if (!std::isfinite(value)) {
      summary.termination = Termination::numerical_failure;
      summary.message = "the variational bound became non-finite at iteration " + std::to_string(iteration);
      break;
    }
    summary.bound_trace.push_back(value);
    if (options_.trace_log_likelihood) summary.log_likelihood_trace.push_back(log_likelihood(X, y));
    summary.final_bound = value;
    if (std::abs(value - previous_bound) <= options_.tolerance * std::max(1.0, std::abs(value))) {
      summary.termination = Termination::converged;
      break;
    }
    previous_bound = value;
  }

  if (options_.per_expert_noise) {  // the pooled precision: total expert count over sum_k g_k / b_k
    const Eigen::ArrayXd g = ws.counts.head(K).array();
    const double spread = (g / noise_precisions_.array()).sum();
    noise_precision_ = spread > 0.0 ? g.sum() / spread : noise_precisions_.maxCoeff();
  }
  if (options_.gate == GateKind::dirichlet) {
    mixing_weights_ = dirichlet_ / dirichlet_.sum();
  } else {
    mixing_weights_ = gate_.log_probabilities(X).array().exp().colwise().mean().transpose();
  }
  summary.final_log_likelihood = log_likelihood(X, y);
  if (summary.termination == Termination::converged)
    summary.message = "bound changed by less than the tolerance after " + std::to_string(summary.iterations) + " iterations";
  else if (summary.termination == Termination::budget_spent)
    summary.message = "iteration budget of " + std::to_string(options_.max_iterations) + " spent before the bound converged";
  summary.seconds = timer.seconds();
  return summary;
}

// q(Z): ln rho_ik = ln pi_k(x_i) - b_k/2 ((y_i - x_i^T m_k)^2 + x_i^T B_k x_i) [+ (ln b_k - ln 2 pi)/2
// when b_k differ or a background competes], the background's ln rho_i = ln pi_bg + ln(1 / range y),
// normalized by log-sum-exp; O(N K d^2).
bool LinearMixture::e_step(EmWorkspace& ws) const {
  const Eigen::Index n = ws.n, d = ws.d;
  const int K = ws.K;
  for (int k = 0; k < K; ++k) ws.means_by_row.col(k) = means_[k];
  const Eigen::ArrayXXd residual = ws.X.lazyProduct(ws.means_by_row).array().colwise() - ws.y.array();
  Eigen::ArrayXXd spread(n, K);
  if (ws.packed) {
    for (int k = 0; k < K; ++k) {
      Eigen::Index col = 0;
      for (Eigen::Index j = 0; j < d; ++j)
        for (Eigen::Index l = j; l < d; ++l) ws.packed_covariances(col++, k) = (j == l ? 1.0 : 2.0) * covariances_[k](j, l);
    }
    spread = ws.features.leftCols(ws.pairs).lazyProduct(ws.packed_covariances).array();
  } else {
    for (int k = 0; k < K; ++k) spread.col(k) = ((ws.X * covariances_[k]).array() * ws.X.array()).rowwise().sum();
  }
  ws.log_rho = log_gate_probabilities(ws.X);
  if (!options_.per_expert_noise) {
    ws.log_rho.leftCols(K).array() -= 0.5 * noise_precision_ * (residual.square() + spread);
  } else {
    for (int k = 0; k < K; ++k) ws.log_rho.col(k).array() -= 0.5 * noise_precisions_(k) * (residual.col(k).square() + spread.col(k));
  }
  if (ws.log_density_terms)
    for (int k = 0; k < K; ++k) ws.log_rho.col(k).array() += 0.5 * (std::log(noise_precisions_(k)) - kLog2Pi);
  if (options_.background) ws.log_rho.col(K).array() += log_background_density_;
  // Normalize by log-sum-exp: shift each row by its maximum, K vectorized exp per object.
  const Eigen::VectorXd top = ws.log_rho.rowwise().maxCoeff();
  if (!top.allFinite()) return false;
  ws.log_rho.colwise() -= top;  // now ln rho_ik - max_k ln rho_ik <= 0
  ws.R = ws.log_rho.array().exp().matrix();
  const Eigen::ArrayXd norm = ws.R.rowwise().sum().array();  // in [1, C]
  ws.R.array().colwise() /= norm;
  // H[q(Z)] = -sum_ik z_ik ln z_ik = -sum_ik z_ik shifted_ik + sum_i ln norm_i (rows of z sum to 1).
  ws.entropy = -(ws.R.array() * ws.log_rho.array()).sum() + sum_of_logs(norm, ws.C);
  return true;
}

// q(W): B_k = (A_k^-1 + b_k sum_i z_ik x_i x_i^T)^-1, m_k = B_k (A_k^-1 w0_k + b_k sum_i z_ik x_i y_i);
// q(pi) = Dir(mu + g), g_k = sum_i z_ik (the background's too). O(N K d^2 + K d^3).
void LinearMixture::update_posteriors(EmWorkspace& ws) {
  const Eigen::Index d = ws.d, pairs = ws.pairs;
  // Coefficient-wise (lazy) products: with a handful of columns GEMM packing costs more than it saves.
  if (ws.packed) ws.stats.noalias() = ws.features.transpose().lazyProduct(ws.R);
  for (int k = 0; k < ws.K; ++k) {
    if (ws.packed) {
      Eigen::Index col = 0;
      for (Eigen::Index j = 0; j < d; ++j)
        for (Eigen::Index l = j; l < d; ++l, ++col) ws.scatter[k](j, l) = ws.scatter[k](l, j) = ws.stats(col, k);
      ws.cross[k] = ws.stats.col(k).segment(pairs, d);
      ws.target_sums(k) = ws.stats(pairs + d, k);
      ws.counts(k) = ws.stats(pairs + d + 1, k);
    } else {
      ws.weighted = ws.X.array().colwise() * ws.R.col(k).array();
      ws.scatter[k].noalias() = ws.X.transpose() * ws.weighted;
      ws.cross[k] = ws.weighted.transpose() * ws.y;
      ws.target_sums(k) = (ws.R.col(k).array() * ws.y2).sum();
      ws.counts(k) = ws.R.col(k).sum();
    }
    const double b = noise_precisions_(k);
    ws.prior_precision[k] = spd_inverse(prior_covariances_[k], "A_k");
    const Eigen::MatrixXd precision = ws.prior_precision[k] + b * ws.scatter[k];
    const auto llt = robust_llt(precision, "posterior precision");
    covariances_[k] = llt.solve(Eigen::MatrixXd::Identity(d, d));
    means_[k] = llt.solve(ws.prior_precision[k] * prior_means_[k] + b * ws.cross[k]);
  }
  if (options_.background) ws.counts(ws.K) = ws.R.col(ws.K).sum();
  if (options_.gate == GateKind::dirichlet) dirichlet_ = ws.prior_dirichlet + ws.counts;
}

// M step, in this order: w0 | A, A | w0, b, V.
void LinearMixture::update_priors(EmWorkspace& ws) {
  const Eigen::Index d = ws.d;
  const int K = ws.K;
  // w0 | A: without the regularizer w0_k = E w_k; with it the joint stationary point of
  // [A_k^-1 + (K-1) Xi^-1] w0_k - Xi^-1 sum_{k' != k} w0_k' = A_k^-1 E w_k (one K d system).
  if (options_.learn_prior_means) {
    if (!ws.regularized) {
      for (int k = 0; k < K; ++k) prior_means_[k] = means_[k];
    } else {
      Eigen::MatrixXd system = Eigen::MatrixXd::Zero(K * d, K * d);
      Eigen::VectorXd rhs(K * d);
      for (int k = 0; k < K; ++k) {
        for (int l = 0; l < K; ++l)
          system.block(k * d, l * d, d, d) =
              k == l ? Eigen::MatrixXd(ws.prior_precision[k] + (K - 1) * ws.xi_inverse) : Eigen::MatrixXd(-ws.xi_inverse);
        rhs.segment(k * d, d) = ws.prior_precision[k] * means_[k];
      }
      const Eigen::VectorXd solution = system.llt().solve(rhs);
      for (int k = 0; k < K; ++k) prior_means_[k] = solution.segment(k * d, d);
    }
  }
  // A | w0: A_k = E[(w_k - w0_k)(w_k - w0_k)^T] = B_k + (m_k - w0_k)(m_k - w0_k)^T.
  if (options_.learn_prior_covariance)
    for (int k = 0; k < K; ++k) {
      const Eigen::VectorXd diff = means_[k] - prior_means_[k];
      prior_covariances_[k] = covariances_[k] + diff * diff.transpose();
      prior_covariances_[k] = 0.5 * (prior_covariances_[k] + prior_covariances_[k].transpose()).eval();
    }
  // E_k = sum_i z_ik E(y_i - x_i^T w_k)^2 from the weighted statistics, O(K d^2);
  // then 1/b = 1/N sum_k E_k (N: the experts' count sum_k g_k with a background), or per
  // expert 1/b_k = E_k / g_k.
  for (int k = 0; k < K; ++k)
    ws.energy(k) =
        std::max(0.0, ws.target_sums(k) - 2.0 * means_[k].dot(ws.cross[k]) + means_[k].dot(ws.scatter[k] * means_[k])) +
        (covariances_[k].cwiseProduct(ws.scatter[k])).sum();
  if (options_.learn_noise_precision) {
    if (!options_.per_expert_noise) {
      const double total = ws.energy.sum();
      const double count = options_.background ? ws.counts.head(K).sum() : static_cast<double>(ws.n);
      noise_precision_ = total > 0.0 ? std::min(count / total, options_.max_noise_precision) : options_.max_noise_precision;
      noise_precisions_.setConstant(noise_precision_);
    } else {
      for (int k = 0; k < K; ++k)
        noise_precisions_(k) = ws.energy(k) > 0.0
                                   ? std::clamp(ws.counts(k) / ws.energy(k), kMinNoisePrecision, options_.max_noise_precision)
                                   : options_.max_noise_precision;
    }
  }
  if (options_.gate == GateKind::softmax && options_.gate_steps > 0) train_gate(gate_, ws.gate_adam, ws.gate_inputs, ws.R, options_);
}

// E ln p(y|Z,W) + E ln p(Z|pi) + E ln p(pi) - E ln q(pi) + H[q(Z)] - sum_k KL(q(w_k)||p(w_k)) [+ ln p(W0)].
double LinearMixture::bound(const EmWorkspace& ws) const {
  const int K = ws.K;
  double value = ws.entropy;
  if (!ws.log_density_terms) {  // one b, every point an expert's: sum_k g_k = N
    const double bn = noise_precision_;
    value += 0.5 * static_cast<double>(ws.n) * (std::log(bn) - kLog2Pi) - 0.5 * bn * ws.energy.sum();
  } else {
    for (int k = 0; k < K; ++k)
      value += 0.5 * ws.counts(k) * (std::log(noise_precisions_(k)) - kLog2Pi) - 0.5 * noise_precisions_(k) * ws.energy(k);
    if (options_.background) value += ws.counts(K) * log_background_density_;
  }
  if (options_.gate == GateKind::dirichlet) {
    const double psi_total = digamma(dirichlet_.sum());
    for (int k = 0; k < ws.C; ++k) value += ws.counts(k) * (digamma(dirichlet_(k)) - psi_total);
    value -= dirichlet_kl(dirichlet_, ws.prior_dirichlet);
  } else {
    value += (ws.R.array() * gate_.log_probabilities(ws.X).array()).sum();
  }
  for (int k = 0; k < K; ++k) value -= gaussian_kl(means_[k], covariances_[k], prior_means_[k], prior_covariances_[k]);
  if (ws.regularized)
    for (int k = 0; k < K; ++k)
      for (int l = k + 1; l < K; ++l) {
        const Eigen::VectorXd eps = prior_means_[k] - prior_means_[l];
        value -= 0.5 * (static_cast<double>(ws.d) * kLog2Pi + ws.xi_log_det + eps.dot(ws.xi_inverse * eps));
      }
  return value;
}

Eigen::MatrixXd LinearMixture::log_gate_probabilities(const Eigen::Ref<const Eigen::MatrixXd>& X) const {
  const int K = components();
  if (options_.gate == GateKind::softmax) return gate_.log_probabilities(X);
  // E ln pi_k = psi(mu + g_k) - psi(K mu + N), the same for every object.
  Eigen::RowVectorXd expected(K);
  const double psi_total = digamma(dirichlet_.sum());
  for (int k = 0; k < K; ++k) expected(k) = digamma(dirichlet_(k)) - psi_total;
  return expected.replicate(X.rows(), 1);
}

Eigen::MatrixXd LinearMixture::log_gate(const Eigen::Ref<const Eigen::MatrixXd>& X) const {
  check_fitted("LinearMixture::log_gate");
  require(X.cols() == means_[0].size(), "LinearMixture::log_gate", "X", "one column per feature of the fitted data");
  return log_gate_probabilities(X);
}

Eigen::MatrixXd LinearMixture::responsibilities(const Eigen::Ref<const Eigen::MatrixXd>& X,
                                                const Eigen::Ref<const Eigen::VectorXd>& y) const {
  check_fitted("LinearMixture::responsibilities");
  require(X.cols() == means_[0].size(), "LinearMixture::responsibilities", "X", "one column per feature of the fitted data");
  require(y.size() == X.rows(), "LinearMixture::responsibilities", "y", "one target per row of X");
  Eigen::MatrixXd log_rho = log_gate_probabilities(X);
  const bool log_density_terms = options_.per_expert_noise || options_.background;
  for (int k = 0; k < options_.experts; ++k) {
    const Eigen::ArrayXd residual = y.array() - (X * means_[k]).array();
    const Eigen::ArrayXd spread = ((X * covariances_[k]).array() * X.array()).rowwise().sum();
    const double b = noise_precisions_(k);
    log_rho.col(k).array() -= 0.5 * b * (residual.square() + spread);
    if (log_density_terms) log_rho.col(k).array() += 0.5 * (std::log(b) - kLog2Pi);
  }
  if (options_.background) log_rho.col(options_.experts).array() += log_background_density_;
  log_rho.colwise() -= row_log_sum_exp(log_rho);
  return log_rho.array().exp().matrix();
}

Eigen::VectorXd LinearMixture::predict(const Eigen::Ref<const Eigen::MatrixXd>& X) const {
  check_fitted("LinearMixture::predict");
  require(X.cols() == means_[0].size(), "LinearMixture::predict", "X", "one column per feature of the fitted data");
  Eigen::MatrixXd weights;
  if (options_.gate == GateKind::softmax)
    weights = gate_.log_probabilities(X).array().exp().matrix();
  else
    weights = mixing_weights_.transpose().replicate(X.rows(), 1);
  if (options_.background) {
    weights.conservativeResize(Eigen::NoChange, options_.experts);
    weights.array().colwise() /= weights.rowwise().sum().array();
  }
  Eigen::VectorXd out = Eigen::VectorXd::Zero(X.rows());
  for (int k = 0; k < options_.experts; ++k) out.array() += weights.col(k).array() * (X * means_[k]).array();
  return out;
}

double LinearMixture::log_likelihood(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& y) const {
  check_fitted("LinearMixture::log_likelihood");
  require(X.cols() == means_[0].size(), "LinearMixture::log_likelihood", "X", "one column per feature of the fitted data");
  require(y.size() == X.rows(), "LinearMixture::log_likelihood", "y", "one target per row of X");
  Eigen::MatrixXd log_terms(X.rows(), components());
  if (options_.gate == GateKind::softmax) {
    log_terms = gate_.log_probabilities(X);
  } else {
    const Eigen::VectorXd expected = dirichlet_ / dirichlet_.sum();
    log_terms = expected.array().log().matrix().transpose().replicate(X.rows(), 1);
  }
  for (int k = 0; k < options_.experts; ++k) {
    const double b = noise_precisions_(k);
    log_terms.col(k).array() += 0.5 * (std::log(b) - kLog2Pi) - 0.5 * b * (y.array() - (X * means_[k]).array()).square();
  }
  if (options_.background) log_terms.col(options_.experts).array() += log_background_density_;
  return row_log_sum_exp(log_terms).sum();
}

}  // namespace msweep
