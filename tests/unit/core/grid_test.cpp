// The task grid: ids and coordinates convert both ways, row-major (core/grid.hpp).
#include "msweep/core/grid.hpp"

#include <gtest/gtest.h>

#include "msweep/core/error.hpp"

namespace msweep {
namespace {

TEST(TaskGrid, RowMajorRoundTrip) {
  TaskGrid grid({{"a", index_labels(3)}, {"b", index_labels(4)}, {"c", index_labels(5)}});
  EXPECT_EQ(grid.size(), 60u);
  for (TaskId id = 0; id < grid.size(); ++id) {
    const auto c = grid.coordinates(id);
    EXPECT_EQ(grid.id_of(c), id);
  }
  EXPECT_EQ(grid.coordinates(1), (std::vector<std::uint32_t>{0, 0, 1}));  // last axis fastest
  EXPECT_EQ(grid.coordinates(5), (std::vector<std::uint32_t>{0, 1, 0}));
  EXPECT_THROW(TaskGrid({{"a", index_labels(2)}, {"a", index_labels(2)}}), ArgumentError);
}

TEST(TaskGrid, StandardAxesComeFirst) {
  const auto axes = standard_axes({"a", "b"}, 2, 1, 3, {{"extra", index_labels(4)}});
  ASSERT_EQ(axes.size(), 5u);
  EXPECT_EQ(axes[0].name, "structure");
  EXPECT_EQ(axes[0].labels, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(axes[3].name, "run");
  EXPECT_EQ(axes[3].labels.size(), 3u);
  EXPECT_EQ(axes[4].name, "extra");
  EXPECT_EQ(TaskGrid(axes).size(), 2u * 2 * 1 * 3 * 4);
}

}  // namespace
}  // namespace msweep
