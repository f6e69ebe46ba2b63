#include "msweep/farm/task_space.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include "msweep/core/error.hpp"

namespace msweep {

TaskSpace::TaskSpace(TaskId first, TaskId stride, std::uint64_t count)
    : first_(first), stride_(stride), count_(count), done_((count + 63) / 64, 0), undispatched_(count) {
  require(stride > 0, "TaskSpace", "stride", "a positive stride");
  require(count == 0 || (count - 1) <= (std::numeric_limits<TaskId>::max() - first) / stride, "TaskSpace", "count",
          "ids that fit in 64 bits");
}

std::optional<std::uint64_t> TaskSpace::position_of(TaskId id) const {
  if (id < first_ || (id - first_) % stride_ != 0) return std::nullopt;
  const std::uint64_t position = (id - first_) / stride_;
  if (position >= count_) return std::nullopt;
  return position;
}

bool TaskSpace::mark_done(std::uint64_t position) {
  std::uint64_t& word = done_[position / 64];
  const std::uint64_t bit = std::uint64_t{1} << (position % 64);
  if (word & bit) return false;
  word |= bit;
  ++done_count_;
  if (position >= cursor_) --undispatched_;
  return true;
}

// Scans a word at a time: a fresh run (no bit set) or a long stored stretch costs count / 64
// word reads in all, however the batches fall.
std::uint64_t TaskSpace::next_with_bit(std::uint64_t from, bool value) const {
  if (from >= count_) return count_;
  std::uint64_t index = from / 64;
  // Bits below `from` in the first word are masked out (as if they did not match).
  std::uint64_t word = (value ? done_[index] : ~done_[index]) & (~std::uint64_t{0} << (from % 64));
  while (word == 0) {
    if (++index == done_.size()) return count_;
    word = value ? done_[index] : ~done_[index];
  }
  const std::uint64_t found = index * 64 + static_cast<std::uint64_t>(std::countr_zero(word));
  return found < count_ ? found : count_;  // the last word's padding reads as pending
}

std::vector<PositionRange> TaskSpace::take(std::uint64_t max_tasks, std::size_t max_ranges) {
  std::vector<PositionRange> ranges;
  std::uint64_t taken = 0;
  while (taken < max_tasks && ranges.size() < max_ranges) {
    const std::uint64_t begin = next_with_bit(cursor_, false);
    if (begin == count_) {
      cursor_ = count_;
      break;
    }
    const std::uint64_t end = std::min(next_with_bit(begin, true), begin + (max_tasks - taken));
    ranges.push_back({begin, end});
    taken += end - begin;
    cursor_ = end;
  }
  undispatched_ -= taken;
  return ranges;
}

}  // namespace msweep
