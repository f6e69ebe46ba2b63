// Variational EM for mixtures of linear experts (see the header for the model).
// Each step maximizes the same bound over one block, in this order per iteration:
// q(Z) | q(W), gate; q(W) | q(Z), w0, A, b; q(pi) | q(Z); w0 | A; A | w0; b; V (kept only if better).
#include "msweep/models/mixture/mixture.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "msweep/core/error.hpp"
#include "msweep/core/timer.hpp"

namespace msweep {
namespace {

constexpr double kLog2Pi = 1.8378770664093454835606594728112;  // ln(2 pi)

// ln sum_k exp(a_ik) per row, shifted by the row maximum so huge negative entries stay finite.
Eigen::VectorXd row_log_sum_exp(const Eigen::MatrixXd& a) {
  Eigen::VectorXd out(a.rows());
  for (Eigen::Index i = 0; i < a.rows(); ++i) {
    const double top = a.row(i).maxCoeff();
    out(i) = std::isfinite(top) ? top + std::log((a.row(i).array() - top).exp().sum()) : top;
  }
  return out;
}

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

// Adam moments of the gate parameters, kept across M steps of one fit.
struct GateAdam {
  SoftmaxGate first, second;
  int step = 0;
};

// A few full-batch Adam ascent steps on F(V); returns the best V seen (the start included),
// so the gate's share of the bound never goes down.
void train_gate(SoftmaxGate& gate, GateAdam& adam, const Eigen::MatrixXd& X, const Eigen::MatrixXd& R, const MixtureOptions& options) {
  constexpr double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  if (adam.step == 0) {
    adam.first.hidden_weights = Eigen::MatrixXd::Zero(gate.hidden_weights.rows(), gate.hidden_weights.cols());
    adam.first.output_weights = Eigen::MatrixXd::Zero(gate.output_weights.rows(), gate.output_weights.cols());
    adam.second = adam.first;
  }
  SoftmaxGate best = gate, current = gate, gradient;
  double best_value = -std::numeric_limits<double>::infinity();
  for (int s = 0; s <= options.gate_steps; ++s) {
    const double value = gate_objective(current, X, R, s < options.gate_steps ? &gradient : nullptr);
    if (value > best_value) {
      best_value = value;
      best = current;
    }
    if (s == options.gate_steps || !std::isfinite(value)) break;
    ++adam.step;
    const double c1 = 1.0 - std::pow(beta1, adam.step), c2 = 1.0 - std::pow(beta2, adam.step);
    auto update = [&](Eigen::MatrixXd& param, Eigen::MatrixXd& m, Eigen::MatrixXd& v, const Eigen::MatrixXd& g) {
      m = beta1 * m + (1.0 - beta1) * g;
      v = beta2 * v + (1.0 - beta2) * g.cwiseAbs2();
      param.array() += options.gate_learning_rate * (m.array() / c1) / ((v.array() / c2).sqrt() + epsilon);  // ascent
    };
    update(current.hidden_weights, adam.first.hidden_weights, adam.second.hidden_weights, gradient.hidden_weights);
    update(current.output_weights, adam.first.output_weights, adam.second.output_weights, gradient.output_weights);
  }
  gate = best;
}

}  // namespace

double digamma(double x) {
  require(x > 0.0, "digamma", "x", "a positive number");
  double result = 0.0;
  while (x < 10.0) {
    result -= 1.0 / x;
    x += 1.0;
  }
  const double f = 1.0 / (x * x);
  return result + std::log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

const char* to_string(MixtureStatus status) {
  switch (status) {
    case MixtureStatus::converged: return "converged";
    case MixtureStatus::max_iterations: return "max_iterations";
    case MixtureStatus::numerical_failure: return "numerical_failure";
  }
  return "unknown";
}

Eigen::MatrixXd SoftmaxGate::log_probabilities(const Eigen::Ref<const Eigen::MatrixXd>& X) const {
  require(X.cols() == hidden_weights.rows(), "SoftmaxGate::log_probabilities", "X", "one column per gate input");
  const Eigen::Index n = X.rows(), h = hidden_weights.cols();
  Eigen::MatrixXd augmented(n, h + 1);
  augmented << logistic(X * hidden_weights), Eigen::VectorXd::Ones(n);
  Eigen::MatrixXd log_p = augmented * output_weights;
  log_p.colwise() -= row_log_sum_exp(log_p);
  return log_p;
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
  const bool regularized = options_.learn_prior_means && options_.regularizer.size() > 0 && K > 1;
  Eigen::MatrixXd xi_inverse;
  double xi_log_det = 0.0;
  if (regularized) {
    Eigen::LLT<Eigen::MatrixXd> llt(options_.regularizer);
    require(llt.info() == Eigen::Success, fn, "options.regularizer", "a positive definite matrix");
    xi_inverse = llt.solve(Eigen::MatrixXd::Identity(d, d));
    xi_log_det = log_det(llt);
  }

  prior_means_.assign(K, Eigen::VectorXd::Zero(d));
  if (options_.prior_means.size())
    for (int k = 0; k < K; ++k) prior_means_[k] = options_.prior_means.row(k).transpose();
  prior_covariances_.assign(K, A0);
  means_.resize(K);
  for (int k = 0; k < K; ++k) means_[k] = initial_means.row(k).transpose();
  covariances_.assign(K, A0);
  noise_precision_ = options_.noise_precision;
  const double mu = options_.dirichlet_concentration;
  const Eigen::VectorXd prior_dirichlet = Eigen::VectorXd::Constant(K, mu);
  dirichlet_ = Eigen::VectorXd::Constant(K, mu + static_cast<double>(n) / K);
  if (options_.gate == GateKind::softmax) {
    gate_.hidden_weights.resize(d, options_.gate_hidden);
    const double scale = options_.gate_init_scale / std::sqrt(static_cast<double>(d));
    for (Eigen::Index i = 0; i < gate_.hidden_weights.size(); ++i) gate_.hidden_weights.data()[i] = scale * rng.normal();
    gate_.output_weights = Eigen::MatrixXd::Zero(options_.gate_hidden + 1, K);
  } else {
    gate_ = SoftmaxGate{};
  }
  GateAdam adam;

  // For small d every statistic the updates need is a weighted sum over objects of the features
  // [x_j x_l (j <= l), x y, y^2, 1]: one (P + d + 2) x N x K product per iteration replaces K
  // passes over the data, and x_i^T B_k x_i becomes a product with the packed B_k.
  const Eigen::Index pairs = d * (d + 1) / 2;
  const bool packed = d <= kPackedMaxFeatures;
  Eigen::MatrixXd features, packed_covariances, stats, means_by_row(d, K);
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

  Eigen::MatrixXd log_rho(n, K), R(n, K), weighted;
  std::vector<Eigen::MatrixXd> scatter(K, Eigen::MatrixXd(d, d)), prior_precision(K);
  std::vector<Eigen::VectorXd> cross(K);
  Eigen::VectorXd target_sums(K), counts(K), energy(K);
  const Eigen::ArrayXd y2 = y.array().square();
  double previous_bound = -std::numeric_limits<double>::infinity();
  summary.status = MixtureStatus::max_iterations;

  for (int iteration = 1; iteration <= options_.max_iterations; ++iteration) {
    const double b = noise_precision_;
    // E step, q(Z): ln rho_ik = ln pi_k(x_i) - b/2 ((y_i - x_i^T m_k)^2 + x_i^T B_k x_i); O(N K d^2).
    for (int k = 0; k < K; ++k) means_by_row.col(k) = means_[k];
    const Eigen::ArrayXXd residual = X.lazyProduct(means_by_row).array().colwise() - y.array();
    Eigen::ArrayXXd spread(n, K);
    if (packed) {
      for (int k = 0; k < K; ++k) {
        Eigen::Index col = 0;
        for (Eigen::Index j = 0; j < d; ++j)
          for (Eigen::Index l = j; l < d; ++l) packed_covariances(col++, k) = (j == l ? 1.0 : 2.0) * covariances_[k](j, l);
      }
      spread = features.leftCols(pairs).lazyProduct(packed_covariances).array();
    } else {
      for (int k = 0; k < K; ++k) spread.col(k) = ((X * covariances_[k]).array() * X.array()).rowwise().sum();
    }
    log_rho = log_gate_probabilities(X);
    log_rho.array() -= 0.5 * b * (residual.square() + spread);
    // Normalize by log-sum-exp: shift each row by its maximum, K vectorized exp per object.
    const Eigen::VectorXd top = log_rho.rowwise().maxCoeff();
    if (!top.allFinite()) {
      summary.status = MixtureStatus::numerical_failure;
      summary.message = "non-finite responsibilities at iteration " + std::to_string(iteration);
      break;
    }
    log_rho.colwise() -= top;  // now ln rho_ik - max_k ln rho_ik <= 0
    R = log_rho.array().exp().matrix();
    const Eigen::ArrayXd norm = R.rowwise().sum().array();  // in [1, K]
    R.array().colwise() /= norm;
    // H[q(Z)] = -sum_ik z_ik ln z_ik = -sum_ik z_ik shifted_ik + sum_i ln norm_i (rows of z sum to 1).
    const double entropy = -(R.array() * log_rho.array()).sum() + sum_of_logs(norm, K);

    // q(W): B_k = (A_k^-1 + b sum_i z_ik x_i x_i^T)^-1, m_k = B_k (A_k^-1 w0_k + b sum_i z_ik x_i y_i).
    // Coefficient-wise (lazy) products: with a handful of columns GEMM packing costs more than it saves.
    if (packed) stats.noalias() = features.transpose().lazyProduct(R);
    for (int k = 0; k < K; ++k) {
      if (packed) {
        Eigen::Index col = 0;
        for (Eigen::Index j = 0; j < d; ++j)
          for (Eigen::Index l = j; l < d; ++l, ++col) scatter[k](j, l) = scatter[k](l, j) = stats(col, k);
        cross[k] = stats.col(k).segment(pairs, d);
        target_sums(k) = stats(pairs + d, k);
        counts(k) = stats(pairs + d + 1, k);
      } else {
        weighted = X.array().colwise() * R.col(k).array();
        scatter[k].noalias() = X.transpose() * weighted;
        cross[k] = weighted.transpose() * y;
        target_sums(k) = (R.col(k).array() * y2).sum();
        counts(k) = R.col(k).sum();
      }
      prior_precision[k] = spd_inverse(prior_covariances_[k], "A_k");
      const Eigen::MatrixXd precision = prior_precision[k] + b * scatter[k];
      const auto llt = robust_llt(precision, "posterior precision");
      covariances_[k] = llt.solve(Eigen::MatrixXd::Identity(d, d));
      means_[k] = llt.solve(prior_precision[k] * prior_means_[k] + b * cross[k]);
    }
    // q(pi) = Dir(mu + g), g_k = sum_i z_ik.
    if (options_.gate == GateKind::dirichlet) dirichlet_ = prior_dirichlet + counts;

    // M step. w0 | A: without the regularizer w0_k = E w_k; with it the joint stationary point of
    // [A_k^-1 + (K-1) Xi^-1] w0_k - Xi^-1 sum_{k' != k} w0_k' = A_k^-1 E w_k (one K d system).
    if (options_.learn_prior_means) {
      if (!regularized) {
        for (int k = 0; k < K; ++k) prior_means_[k] = means_[k];
      } else {
        Eigen::MatrixXd system = Eigen::MatrixXd::Zero(K * d, K * d);
        Eigen::VectorXd rhs(K * d);
        for (int k = 0; k < K; ++k) {
          for (int l = 0; l < K; ++l)
            system.block(k * d, l * d, d, d) = k == l ? Eigen::MatrixXd(prior_precision[k] + (K - 1) * xi_inverse) : Eigen::MatrixXd(-xi_inverse);
          rhs.segment(k * d, d) = prior_precision[k] * means_[k];
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
    // then 1/b = 1/N sum_k E_k.
    for (int k = 0; k < K; ++k)
      energy(k) = std::max(0.0, target_sums(k) - 2.0 * means_[k].dot(cross[k]) + means_[k].dot(scatter[k] * means_[k])) +
                  (covariances_[k].cwiseProduct(scatter[k])).sum();
    if (options_.learn_noise_precision) {
      const double total = energy.sum();
      noise_precision_ = total > 0.0 ? std::min(static_cast<double>(n) / total, options_.max_noise_precision) : options_.max_noise_precision;
    }
    if (options_.gate == GateKind::softmax && options_.gate_steps > 0) train_gate(gate_, adam, X, R, options_);

    // The bound: E ln p(y|Z,W) + E ln p(Z|pi) + E ln p(pi) - E ln q(pi) + H[q(Z)] - sum_k KL(q(w_k)||p(w_k)) [+ ln p(W0)].
    const double bn = noise_precision_;
    double bound = 0.5 * static_cast<double>(n) * (std::log(bn) - kLog2Pi) - 0.5 * bn * energy.sum() + entropy;
    if (options_.gate == GateKind::dirichlet) {
      const double psi_total = digamma(dirichlet_.sum());
      for (int k = 0; k < K; ++k) bound += counts(k) * (digamma(dirichlet_(k)) - psi_total);
      bound -= dirichlet_kl(dirichlet_, prior_dirichlet);
    } else {
      bound += (R.array() * gate_.log_probabilities(X).array()).sum();
    }
    for (int k = 0; k < K; ++k) bound -= gaussian_kl(means_[k], covariances_[k], prior_means_[k], prior_covariances_[k]);
    if (regularized)
      for (int k = 0; k < K; ++k)
        for (int l = k + 1; l < K; ++l) {
          const Eigen::VectorXd eps = prior_means_[k] - prior_means_[l];
          bound -= 0.5 * (static_cast<double>(d) * kLog2Pi + xi_log_det + eps.dot(xi_inverse * eps));
        }

    responsibilities_ = R;  // z_ik of this iteration's E step
    summary.iterations = iteration;
    if (!std::isfinite(bound)) {
      summary.status = MixtureStatus::numerical_failure;
      summary.message = "the variational bound became non-finite at iteration " + std::to_string(iteration);
      break;
    }
    summary.bound_trace.push_back(bound);
    if (options_.trace_log_likelihood) summary.log_likelihood_trace.push_back(log_likelihood(X, y));
    summary.final_bound = bound;
    if (std::abs(bound - previous_bound) <= options_.tolerance * std::max(1.0, std::abs(bound))) {
      summary.status = MixtureStatus::converged;
      break;
    }
    previous_bound = bound;
  }

  if (options_.gate == GateKind::dirichlet) {
    mixing_weights_ = dirichlet_ / dirichlet_.sum();
  } else {
    mixing_weights_ = gate_.log_probabilities(X).array().exp().colwise().mean().transpose();
  }
  summary.final_log_likelihood = log_likelihood(X, y);
  if (summary.status == MixtureStatus::converged)
    summary.message = "bound changed by less than the tolerance after " + std::to_string(summary.iterations) + " iterations";
  else if (summary.status == MixtureStatus::max_iterations)
    summary.message = "iteration budget of " + std::to_string(options_.max_iterations) + " spent before the bound converged";
  summary.seconds = timer.seconds();
  return summary;
}

Eigen::MatrixXd LinearMixture::log_gate_probabilities(const Eigen::Ref<const Eigen::MatrixXd>& X) const {
  const int K = options_.experts;
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
  for (int k = 0; k < options_.experts; ++k) {
    const Eigen::ArrayXd residual = y.array() - (X * means_[k]).array();
    const Eigen::ArrayXd spread = ((X * covariances_[k]).array() * X.array()).rowwise().sum();
    log_rho.col(k).array() -= 0.5 * noise_precision_ * (residual.square() + spread);
  }
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
  Eigen::VectorXd out = Eigen::VectorXd::Zero(X.rows());
  for (int k = 0; k < options_.experts; ++k) out.array() += weights.col(k).array() * (X * means_[k]).array();
  return out;
}

double LinearMixture::log_likelihood(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& y) const {
  check_fitted("LinearMixture::log_likelihood");
  require(X.cols() == means_[0].size(), "LinearMixture::log_likelihood", "X", "one column per feature of the fitted data");
  require(y.size() == X.rows(), "LinearMixture::log_likelihood", "y", "one target per row of X");
  Eigen::MatrixXd log_terms(X.rows(), options_.experts);
  if (options_.gate == GateKind::softmax) {
    log_terms = gate_.log_probabilities(X);
  } else {
    const Eigen::VectorXd expected = dirichlet_ / dirichlet_.sum();
    log_terms = expected.array().log().matrix().transpose().replicate(X.rows(), 1);
  }
  const double b = noise_precision_;
  for (int k = 0; k < options_.experts; ++k)
    log_terms.col(k).array() += 0.5 * (std::log(b) - kLog2Pi) - 0.5 * b * (y.array() - (X * means_[k]).array()).square();
  return row_log_sum_exp(log_terms).sum();
}

}  // namespace msweep
