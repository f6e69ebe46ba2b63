// Shuffled-epoch minibatches (see minibatch.hpp).
#include "msweep/optim/minibatch.hpp"

#include <numeric>

#include "msweep/core/error.hpp"

namespace msweep {

MinibatchSampler::MinibatchSampler(Eigen::Index objects, Eigen::Index batch_size, std::uint64_t seed)
    : rng_(seed), order_(static_cast<std::size_t>(objects)), batch_size_(batch_size), position_(0) {
  require(objects >= 1, "MinibatchSampler::MinibatchSampler", "objects", ">= 1");
  require(batch_size >= 0, "MinibatchSampler::MinibatchSampler", "batch_size", ">= 0 (0: full batch)");
  std::iota(order_.begin(), order_.end(), Eigen::Index{0});
  full_batch_ = batch_size == 0 || batch_size >= objects;
  if (full_batch_) batch_size_ = objects;
  position_ = order_.size();  // forces a shuffle on the first call
}

std::span<const Eigen::Index> MinibatchSampler::next() {
  if (full_batch_) return order_;
  if (position_ >= order_.size()) {
    rng_.shuffle(order_.begin(), order_.end());
    position_ = 0;
  }
  const std::size_t count = std::min(static_cast<std::size_t>(batch_size_), order_.size() - position_);
  std::span<const Eigen::Index> batch(order_.data() + position_, count);
  position_ += count;
  return batch;
}

}  // namespace msweep
