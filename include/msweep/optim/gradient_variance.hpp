// Parameter ordering by gradient variance (docs/science.md#parameter-ordering-by-gradient-variance, after Grabovoy, Bakhteev and
// Strijov): a running diagonal of the gradient covariance, the order it induces, the freeze
// masks of the ordering experiment and the random-order baseline.
//
// C_t = (1 - k_t) C_{t-1} + k_t (g_{1,t} - g_{S,t})^2 with k_t = 1/t, g_S the minibatch gradient
// and g_1 the gradient on the first object of the minibatch; C_0 ~ Uniform(0, 1). Since k_1 = 1
// the initial draw is forgotten at the first update: it only orders parameters when t0 = 0.
#pragma once
#include <Eigen/Dense>
#include <span>
#include <vector>

#include "msweep/core/random.hpp"
#include "msweep/optim/first_order.hpp"
#include "msweep/optim/objective.hpp"

namespace msweep {

class GradientVarianceTracker {
 public:
  GradientVarianceTracker(Eigen::Index parameters, RandomStream& rng);  // draws C_0 ~ U(0, 1)

  // One iteration t <- t + 1: C_t = (1 - 1/t) C_{t-1} + (1/t) (g_first - g_batch)^2; O(p).
  void update(const Eigen::Ref<const Eigen::VectorXd>& g_first, const Eigen::Ref<const Eigen::VectorXd>& g_batch);

  const Eigen::VectorXd& variance() const { return variance_; }  // diag C_t
  Eigen::Index updates() const { return updates_; }              // t

 private:
  Eigen::VectorXd variance_;
  Eigen::Index updates_ = 0;
};

// Indices sorted by ascending value, ties by index (rank_j = position of j + 1); O(p log p).
std::vector<Eigen::Index> ascending_order(const Eigen::Ref<const Eigen::VectorXd>& values);

// A uniformly random order of 0..parameters-1 (the baseline), drawn from `rng`.
std::vector<Eigen::Index> random_order(Eigen::Index parameters, RandomStream& rng);

// zeta = round(fraction * parameters), the number frozen at a fraction of the grid.
Eigen::Index frozen_count(double fraction, Eigen::Index parameters);

// The mask alpha of the paper's text: alpha_j = 0 (frozen) for rank_j <= zeta, i.e. for the first
// `frozen` entries of `order`, and 1 (trained) otherwise. (The printed formula (2.7) swaps 0 and 1.)
Eigen::Array<bool, Eigen::Dynamic, 1> trainable_mask(std::span<const Eigen::Index> order, Eigen::Index frozen);

// A callback for sgd()/adam() that feeds `tracker` at every iteration: g_1 costs one extra
// single-object gradient per step. `f` and `tracker` must outlive the optimizer call.
template <StochasticObjective F>
IterationCallback track_gradient_variance(F& f, GradientVarianceTracker& tracker) {
  return [&f, &tracker, g_first = Eigen::VectorXd(f.parameters())](const IterationState& state) mutable {
    f.evaluate_with_gradient(state.w, state.batch.first(1), g_first);
    tracker.update(g_first, state.gradient);
    return false;
  };
}

}  // namespace msweep
