// TaskSpace: dispatch hands out every pending position exactly once, in ranges bounded in
// number, whatever the done bits of a resume look like.
#include "msweep/farm/task_space.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "msweep/core/error.hpp"

namespace msweep {
namespace {

// Drains the space with batches of `batch` tasks, checking each batch's shape; returns the
// positions in dispatch order.
std::vector<std::uint64_t> drain(TaskSpace& space, std::uint64_t batch, std::size_t max_ranges) {
  std::vector<std::uint64_t> positions;
  for (;;) {
    const std::uint64_t before = space.undispatched();
    const auto ranges = space.take(batch, max_ranges);
    if (ranges.empty()) {
      EXPECT_EQ(before, 0u);
      break;
    }
    EXPECT_LE(ranges.size(), max_ranges);
    std::uint64_t taken = 0;
    for (const auto& range : ranges) {
      EXPECT_LT(range.begin, range.end);
      for (std::uint64_t p = range.begin; p < range.end; ++p) positions.push_back(p);
      taken += range.size();
    }
    EXPECT_LE(taken, batch);
    EXPECT_EQ(space.undispatched(), before - taken);
  }
  return positions;
}

TEST(TaskSpace, FreshRunIsOneRangePerBatch) {
  TaskSpace space(0, 1, 1000);
  EXPECT_EQ(space.take(300, 64), (std::vector<PositionRange>{{0, 300}}));
  EXPECT_EQ(space.take(300, 64), (std::vector<PositionRange>{{300, 600}}));
  EXPECT_EQ(space.take(1000, 64), (std::vector<PositionRange>{{600, 1000}}));
  EXPECT_TRUE(space.take(10, 64).empty());
  EXPECT_EQ(space.undispatched(), 0u);
}

// A resumed grid of 7 structures x 5 folds x 3 runs (ids vary fastest along run, then fold):
// done tasks scattered at random, batches of odd sizes so ranges cross fold and run boundaries.
// Every pending task comes out exactly once, in order, and no done one.
TEST(TaskSpace, EveryPendingTaskOnceAfterResume) {
  for (const std::uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::uint64_t count = 7 * 5 * 3;
    TaskSpace space(0, 1, count);
    std::mt19937_64 rng(seed);
    std::set<std::uint64_t> done;
    for (int i = 0; i < 40; ++i) {
      const std::uint64_t p = rng() % count;
      EXPECT_EQ(space.mark_done(p), done.insert(p).second);
    }
    EXPECT_EQ(space.done_count(), done.size());
    EXPECT_EQ(space.undispatched(), count - done.size());
    const auto positions = drain(space, 4 + seed, 3);
    std::vector<std::uint64_t> expected;
    for (std::uint64_t p = 0; p < count; ++p)
      if (!done.count(p)) expected.push_back(p);
    EXPECT_EQ(positions, expected);
  }
}

// Holes after every other task: a batch is cut by the range limit, never by skipping a task.
TEST(TaskSpace, RangeLimitBoundsTheMessage) {
  TaskSpace space(0, 1, 10000);
  for (std::uint64_t p = 0; p < 10000; p += 2) space.mark_done(p);
  const auto first = space.take(8192, 64);
  ASSERT_EQ(first.size(), 64u);
  EXPECT_EQ(first.front(), (PositionRange{1, 2}));
  EXPECT_EQ(first.back(), (PositionRange{127, 128}));
  const auto positions = drain(space, 8192, 64);
  EXPECT_EQ(positions.size(), 5000u - 64u);
  EXPECT_EQ(positions.front(), 129u);
}

// Word boundaries of the bitset: runs of done tasks that end or start at multiples of 64,
// and a count that is not a multiple of 64.
TEST(TaskSpace, BitsetWordBoundaries) {
  TaskSpace space(0, 1, 200);
  for (std::uint64_t p = 60; p < 130; ++p) space.mark_done(p);
  space.mark_done(199);
  EXPECT_EQ(space.take(1000, 64), (std::vector<PositionRange>{{0, 60}, {130, 199}}));
  EXPECT_TRUE(space.take(1000, 64).empty());
}

// A shard's space: ids first + p * stride; ids of other shards are not its tasks.
TEST(TaskSpace, ShardIds) {
  TaskSpace space(2, 5, 4);  // ids 2, 7, 12, 17
  EXPECT_EQ(space.id_at(3), 17u);
  EXPECT_EQ(space.position_of(12), std::optional<std::uint64_t>(2));
  EXPECT_FALSE(space.position_of(13));
  EXPECT_FALSE(space.position_of(0));
  EXPECT_FALSE(space.position_of(22));
  EXPECT_THROW(TaskSpace(0, 0, 1), ArgumentError);
  EXPECT_THROW(TaskSpace(~TaskId{0} - 4, 5, 3), ArgumentError);
}

// Completion marked after dispatch (results arriving) leaves the undispatched count alone;
// a second mark of the same task is refused.
TEST(TaskSpace, MarkingDispatchedTasks) {
  TaskSpace space(0, 1, 10);
  EXPECT_EQ(space.take(4, 64), (std::vector<PositionRange>{{0, 4}}));
  EXPECT_TRUE(space.mark_done(2));
  EXPECT_FALSE(space.mark_done(2));
  EXPECT_EQ(space.undispatched(), 6u);
  EXPECT_TRUE(space.mark_done(7));  // not yet dispatched: skipped later
  EXPECT_EQ(space.undispatched(), 5u);
  EXPECT_EQ(space.take(100, 64), (std::vector<PositionRange>{{4, 7}, {8, 10}}));
  EXPECT_EQ(space.pending_count(), 8u);
}

}  // namespace
}  // namespace msweep
