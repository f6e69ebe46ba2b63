// Seeded minibatch order for stochastic optimizers: shuffled epochs without replacement,
// drawn with RandomStream so the sequence of batches is the same on every platform.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <span>
#include <vector>

#include "msweep/core/random.hpp"

namespace msweep {

class MinibatchSampler {
 public:
  // batch_size 0 or >= objects gives the full batch every time (in index order, no shuffling).
  MinibatchSampler(Eigen::Index objects, Eigen::Index batch_size, std::uint64_t seed);

  // The next batch: consecutive slices of a permutation redrawn at each epoch start; the last
  // slice of an epoch is shorter when batch_size does not divide objects.
  std::span<const Eigen::Index> next();
  Eigen::Index batch_size() const { return batch_size_; }

 private:
  RandomStream rng_;
  std::vector<Eigen::Index> order_;
  Eigen::Index batch_size_;
  std::size_t position_;
  bool full_batch_;
};

}  // namespace msweep
