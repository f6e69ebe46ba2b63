// Gradient-variance tracking and the orders and masks of the parameter-ordering experiment.
#include "msweep/optim/gradient_variance.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "msweep/core/error.hpp"

namespace msweep {

GradientVarianceTracker::GradientVarianceTracker(Eigen::Index parameters, RandomStream& rng) : variance_(parameters) {
  require(parameters >= 1, "GradientVarianceTracker::GradientVarianceTracker", "parameters", ">= 1");
  for (Eigen::Index j = 0; j < parameters; ++j) variance_(j) = rng.uniform();
}

void GradientVarianceTracker::update(const Eigen::Ref<const Eigen::VectorXd>& g_first, const Eigen::Ref<const Eigen::VectorXd>& g_batch) {
  require(g_first.size() == variance_.size() && g_batch.size() == variance_.size(), "GradientVarianceTracker::update",
          "g_first, g_batch", std::to_string(variance_.size()) + " entries");
  ++updates_;
  const double k = 1.0 / static_cast<double>(updates_);
  variance_ = (1.0 - k) * variance_.array() + k * (g_first - g_batch).array().square();
}

std::vector<Eigen::Index> ascending_order(const Eigen::Ref<const Eigen::VectorXd>& values) {
  std::vector<Eigen::Index> order(static_cast<std::size_t>(values.size()));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return values(a) < values(b); });
  return order;
}

std::vector<Eigen::Index> random_order(Eigen::Index parameters, RandomStream& rng) {
  require(parameters >= 0, "random_order", "parameters", ">= 0");
  std::vector<Eigen::Index> order(static_cast<std::size_t>(parameters));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  rng.shuffle(order.begin(), order.end());
  return order;
}

Eigen::Index frozen_count(double fraction, Eigen::Index parameters) {
  require(fraction >= 0.0 && fraction <= 1.0, "frozen_count", "fraction", "in [0, 1]");
  require(parameters >= 0, "frozen_count", "parameters", ">= 0");
  return static_cast<Eigen::Index>(std::llround(fraction * static_cast<double>(parameters)));
}

Eigen::Array<bool, Eigen::Dynamic, 1> trainable_mask(std::span<const Eigen::Index> order, Eigen::Index frozen) {
  const auto p = static_cast<Eigen::Index>(order.size());
  require(frozen >= 0 && frozen <= p, "trainable_mask", "frozen", "in [0, order.size()]");
  Eigen::Array<bool, Eigen::Dynamic, 1> trainable = Eigen::Array<bool, Eigen::Dynamic, 1>::Constant(p, true);
  for (Eigen::Index rank = 0; rank < frozen; ++rank) {
    const Eigen::Index j = order[static_cast<std::size_t>(rank)];
    require(j >= 0 && j < p, "trainable_mask", "order", "a permutation of 0..size-1");
    trainable(j) = false;
  }
  return trainable;
}

}  // namespace msweep
