// The mean-field Gaussian variational family q(w) = N(mean, diag exp(2 log_std)) shared by every
// experiment that bounds the evidence (docs/science.md: multistart evidence, structure
// selection, hyperparameter optimization): one implementation of the reparameterized sample, its
// backward pass, the entropy, and the KL divergence to a zero-mean Gaussian prior
// N(0, diag exp(2 prior_log_std)) with the derivatives hypergradient methods need.
//
// Standard deviations are carried as logarithms so every real value is a valid point (the
// optimizers see an unconstrained vector) and the prior's scale is a hyperparameter on the same
// footing. Everything is per parameter; a caller with one prior scale per parameter group maps
// groups to parameters (expand_groups) and sums per-parameter derivatives back (sum_groups).
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <span>

namespace msweep {

struct DiagGaussian {
  Eigen::VectorXd mean;
  Eigen::VectorXd log_std;  // ln s_j; s_j = exp(log_std_j)
  Eigen::Index size() const { return mean.size(); }
};

// A distribution with the given mean and one common standard deviation.
DiagGaussian diag_gaussian(const Eigen::Ref<const Eigen::VectorXd>& mean, double log_std);

// w = mean + exp(log_std) .* eps, eps ~ N(0, I) supplied by the caller (a seeded stream or a
// fixed pool of draws, so the sample is a deterministic function of the coordinates).
void reparameterized_sample(const DiagGaussian& q, const Eigen::Ref<const Eigen::VectorXd>& eps,
                            Eigen::Ref<Eigen::VectorXd> w);

// Chain rule through the sample: given dF/dw at w = mean + s .* eps, ADDS dF/dmean = dF/dw and
// dF/dlog_std = dF/dw .* eps .* s to the two gradient vectors (accumulating over Monte Carlo draws).
void accumulate_sample_gradient(const DiagGaussian& q, const Eigen::Ref<const Eigen::VectorXd>& eps,
                                const Eigen::Ref<const Eigen::VectorXd>& d_w, Eigen::Ref<Eigen::VectorXd> d_mean,
                                Eigen::Ref<Eigen::VectorXd> d_log_std);

// Differential entropy H(q) = sum_j log_std_j + p/2 (1 + ln 2 pi); dH/dlog_std = 1.
double entropy(const DiagGaussian& q);

// KL(q || N(0, diag exp(2 h))) = sum_j [ (s_j^2 + mean_j^2) / (2 e^{2 h_j}) - 1/2 + h_j - ln s_j ].
// The optional outputs (sized by the callee) receive the gradient with respect to the mean,
// log_std and the prior's log std h.
struct KlGradient {
  Eigen::VectorXd d_mean, d_log_std, d_prior_log_std;
};
double kl_to_prior(const DiagGaussian& q, const Eigen::Ref<const Eigen::VectorXd>& prior_log_std,
                   KlGradient* gradient = nullptr);

// Mixed second derivatives d2 KL / d(mean_j) d(h_j) and d2 KL / d(log_std_j) d(h_j). The KL is a
// sum of per-parameter terms, so each mixed Hessian block is diagonal and these vectors are
// their diagonals: what HOAG and DrMAD multiply with to turn a parameter-space adjoint into a
// hypergradient.
struct KlMixedDerivatives {
  Eigen::VectorXd mean_prior, log_std_prior;
};
KlMixedDerivatives kl_mixed_derivatives(const DiagGaussian& q, const Eigen::Ref<const Eigen::VectorXd>& prior_log_std);

// Per-parameter values from per-group values: out_j = group_values[group_of[j]].
Eigen::VectorXd expand_groups(const Eigen::Ref<const Eigen::VectorXd>& group_values, std::span<const Eigen::Index> group_of);
// Per-group sums of per-parameter values (the adjoint of expand_groups).
Eigen::VectorXd sum_groups(const Eigen::Ref<const Eigen::VectorXd>& values, std::span<const Eigen::Index> group_of,
                           Eigen::Index groups);

// A fixed pool of standard normal draws (draws x size, one draw per column), generated from one
// seed: the ELBO estimated over the same pool at every outer iteration is a deterministic,
// smooth function of the variational and prior parameters (the hyperparameter seed's protocol).
Eigen::MatrixXd normal_pool(Eigen::Index size, Eigen::Index draws, std::uint64_t seed);

}  // namespace msweep
