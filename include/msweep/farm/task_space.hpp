// The tasks of one run as the farm sees them: positions 0..count-1 of an arithmetic run of
// task ids (position p is task first + p * stride; a shard runs every stride-th id), and one
// bit per position saying the task is done (stored by an earlier run, or its result came back).
//
// This is all the per-task state any rank holds: the master 1 bit per task; workers nothing,
// since work travels as ranges of positions and a worker derives each id from (first, stride).
// Dispatch walks the positions once, in order, skipping done ones, and hands out runs of
// consecutive pending positions, so a fresh run is one range per message and a resumed one
// splits only where earlier runs left holes.
#pragma once
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "msweep/core/task.hpp"

namespace msweep {

// A run of consecutive positions [begin, end).
struct PositionRange {
  std::uint64_t begin = 0, end = 0;
  std::uint64_t size() const { return end - begin; }
  bool operator==(const PositionRange&) const = default;
};

class TaskSpace {
 public:
  TaskSpace() = default;
  // Positions 0..count-1, none done. Throws ArgumentError when stride is 0 or the last id
  // would pass 2^64.
  TaskSpace(TaskId first, TaskId stride, std::uint64_t count);

  TaskId first() const { return first_; }
  TaskId stride() const { return stride_; }
  std::uint64_t count() const { return count_; }
  TaskId id_at(std::uint64_t position) const { return first_ + position * stride_; }
  // The position of a task of this space; nullopt when the id is not one of them.
  std::optional<std::uint64_t> position_of(TaskId id) const;

  bool done(std::uint64_t position) const { return (done_[position / 64] >> (position % 64)) & 1U; }
  // Marks the task done; false (and nothing changes) when it already was.
  bool mark_done(std::uint64_t position);
  std::uint64_t done_count() const { return done_count_; }
  std::uint64_t pending_count() const { return count_ - done_count_; }

  // Dispatch: the pending positions not yet handed out, in order. take() moves the cursor
  // past at most `max_tasks` pending positions, returned as at most `max_ranges` ranges of
  // consecutive pending positions (fewer tasks when the ranges run out first). Empty at the end.
  std::vector<PositionRange> take(std::uint64_t max_tasks, std::size_t max_ranges);
  // Pending positions at or after the cursor (not yet handed out).
  std::uint64_t undispatched() const { return undispatched_; }

 private:
  std::uint64_t next_with_bit(std::uint64_t from, bool value) const;  // count_ when none

  TaskId first_ = 0, stride_ = 1;
  std::uint64_t count_ = 0, done_count_ = 0;
  std::vector<std::uint64_t> done_;  // bit p of word p / 64
  std::uint64_t cursor_ = 0, undispatched_ = 0;
};

}  // namespace msweep
