// The entropy of a cloud of optimization starts carried through gradient steps (docs/science.md,
// "Multistart variational evidence"; Bakhteev and Strijov 2018). Starts w^g ~ N(0, s0^2 I) are
// samples of q(w); a gradient step w <- w - lr grad L(w) maps the cloud through
// T(w) = w - lr grad L(w), whose Jacobian is J = I - lr H (H the Hessian of the minibatch loss at
// w), so the cloud's entropy changes by E_q ln|det J|. Per start, with one probe r0 ~ N(0, I):
//
//   ln|det J| = tr ln J >= tr[(J - I) - (J - I)^2] = tr(-2 I + 3 J - J^2)
//             = E_r0 r0 . (-2 r0 + 3 r1 - r2),   r1 = J r0, r2 = J r1,
//
// using ln x >= (x - 1) - (x - 1)^2, which holds for every eigenvalue x of J above ~0.32, that
// is while lr * eig(H) < ~0.68 (kMaxStepCurvature). Two Hessian-vector products per start and
// step; the cloud's increment is the mean over starts, so starts can be computed apart and
// combined afterwards (combine_cloud_entropy).
//
// Langevin steps add eps ~ N(0, 2 lr I) after the map; the entropy power inequality then gives
// S <- D/2 ln(exp(2 S / D) + exp(2 S_eps / D)) with S_eps the entropy of the noise.
//
// Numerics only: no MPI, HDF5 or TOML. The Hessian-vector product is any callable
// hvp(const VectorXd& v, VectorXd& out) computing out = H v (models/mlp's R-operator).
#pragma once
#include <Eigen/Dense>
#include <span>
#include <vector>

#include "msweep/core/random.hpp"

namespace msweep {

// The largest lr * eig(H) for which the lower bound ln x >= (x - 1) - (x - 1)^2 holds at
// x = 1 - lr * eig(H) (the bound fails below x ~ 0.3178).
inline constexpr double kMaxStepCurvature = 0.68;

// Entropy of N(0, s0^2 I) in D dimensions: D/2 (1 + ln 2 pi) + D ln s0.
double gaussian_entropy(Eigen::Index dimension, double std);

// The entropy increment estimate r0 . (-2 r0 + 3 r1 - r2) for one probe r0 and step size lr,
// with r1 = r0 - lr H r0 and r2 = r1 - lr H r1 (two calls of hvp). `scratch` holds three
// vectors of r0's size between calls so a step allocates nothing once sizes settle.
struct EntropyScratch {
  Eigen::VectorXd r1, r2, hv;
};
template <class Hvp>
double entropy_increment(Hvp&& hvp, double lr, const Eigen::Ref<const Eigen::VectorXd>& r0, EntropyScratch& scratch) {
  scratch.hv.resize(r0.size());
  hvp(r0, scratch.hv);
  scratch.r1 = r0 - lr * scratch.hv;
  hvp(scratch.r1, scratch.hv);
  scratch.r2 = scratch.r1 - lr * scratch.hv;
  return r0.dot(-2.0 * r0 + 3.0 * scratch.r1 - scratch.r2);
}

// The exact quantities the estimate is checked against, for a Hessian small enough to form:
// tr(-2 I + 3 J - J^2) (the bound the estimate is unbiased for) and ln|det J|, J = I - lr H.
double exact_increment_bound(const Eigen::Ref<const Eigen::MatrixXd>& hessian, double lr);
double exact_log_abs_det_jacobian(const Eigen::Ref<const Eigen::MatrixXd>& hessian, double lr);

// Power iteration for the eigenvalue of H of largest magnitude (signed: its Rayleigh quotient),
// from `start` (nonzero), `iterations` products. What the warning metric compares, times lr,
// with kMaxStepCurvature.
template <class Hvp>
double top_eigenvalue(Hvp&& hvp, Eigen::VectorXd start, int iterations) {
  Eigen::VectorXd hv(start.size());
  double value = 0.0;
  for (int k = 0; k < iterations; ++k) {
    const double norm = start.norm();
    if (!(norm > 0.0)) return 0.0;  // H v = 0: every direction tried has zero curvature
    start /= norm;
    hvp(start, hv);
    value = start.dot(hv);
    start.swap(hv);
  }
  return value;
}

// Langevin noise eps ~ N(0, 2 lr I): its entropy D/2 (1 + ln(2 pi 2 lr)), and the entropy power
// inequality S <- D/2 ln(exp(2 S / D) + exp(2 S_eps / D)), evaluated without overflow.
double langevin_noise_entropy(Eigen::Index dimension, double lr);
double add_independent_noise(double entropy, double noise_entropy, Eigen::Index dimension);

// The cloud's entropy after each of the T steps, from the starts' per-step increments
// (increments[g][t], every start of length T): S_0 = initial, S_{t+1} = S_t + mean_g increments[g][t],
// followed by the entropy power step when `langevin` (noise_entropy from langevin_noise_entropy).
// Returns T + 1 values, S_0 first. The Langevin recursion is not linear in the increments, which
// is why starts store their per-step increments and not a running sum.
std::vector<double> combine_cloud_entropy(double initial, std::span<const std::span<const double>> increments, bool langevin,
                                          double noise_entropy, Eigen::Index dimension);

}  // namespace msweep
