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
  const auto axes = standard_axes({"structure", {"a", "b"}}, 2, 1, 3, {{"extra", index_labels(4)}});
  ASSERT_EQ(axes.size(), 5u);
  EXPECT_EQ(axes[0].name, "structure");
  EXPECT_EQ(axes[0].labels, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(axes[3].name, "run");
  EXPECT_EQ(axes[3].key, "runs");
  EXPECT_EQ(axes[3].size(), 3u);
  EXPECT_EQ(axes[3].all_labels(), index_labels(3));
  EXPECT_EQ(axes[4].name, "extra");
  EXPECT_EQ(TaskGrid(axes).size(), 2u * 2 * 1 * 3 * 4);
}

// An index axis computes its labels: a 100-million-value axis costs nothing until written.
TEST(TaskGrid, IndexAxesAreNotMaterialized) {
  const Axis huge = Axis::indexed("structure", 100'000'000, "structures");
  EXPECT_TRUE(huge.labels.empty());
  EXPECT_EQ(huge.size(), 100'000'000u);
  EXPECT_EQ(huge.label(99'999'999), "99999999");
  EXPECT_TRUE(Axis::indexed("x", 3).same_labels(Axis("x", index_labels(3))));
  EXPECT_FALSE(Axis::indexed("x", 3).same_labels(Axis("x", {"0", "1", "a"})));
  EXPECT_FALSE(Axis::indexed("x", 3).same_labels(Axis::indexed("x", 4)));
}

// The product is checked axis by axis: the axis that takes it past the cap is named, whether
// the product would stay below 2^64, pass 2^63 or wrap past 2^64.
// A generated axis computes each label from its index when asked; nothing is held per value.
TEST(TaskGrid, GeneratedAxisLabelsOnDemand) {
  std::uint64_t calls = 0;
  const Axis squares = Axis::generated("structure", std::uint64_t{1} << 24, [&calls](std::uint64_t i) {
    ++calls;
    return "s" + std::to_string(i * i);
  }, "structures");
  EXPECT_EQ(squares.size(), std::uint64_t{1} << 24);
  EXPECT_TRUE(squares.labels.empty());
  EXPECT_EQ(calls, 0u);
  EXPECT_EQ(squares.label(12), "s144");
  EXPECT_EQ(calls, 1u);
  const Axis small = Axis::generated("x", 3, [](std::uint64_t i) { return "s" + std::to_string(i * i); });
  EXPECT_EQ(small.all_labels(), (std::vector<std::string>{"s0", "s1", "s4"}));
  EXPECT_TRUE(small.same_labels(Axis("x", {"s0", "s1", "s4"})));
  EXPECT_TRUE(Axis("x", {"s0", "s1", "s4"}).same_labels(small));
  EXPECT_FALSE(small.same_labels(Axis::indexed("x", 3)));
  EXPECT_FALSE(Axis::indexed("x", 3).same_labels(small));
}

TEST(TaskGrid, ProductOverTheCapNamesTheAxis) {
  const std::uint64_t big = 100'000'000;
  EXPECT_EQ(TaskGrid({Axis::indexed("a", 65536), Axis::indexed("b", 65536)}).size(), kMaxGridTasks);
  try {
    TaskGrid({Axis::indexed("a", 65536, "as"), Axis::indexed("b", 65537, "bs")});
    FAIL() << "no GridTooLarge";
  } catch (const GridTooLarge& e) {
    EXPECT_EQ(e.axis(), "b");
    EXPECT_EQ(e.key(), "bs");
  }
  for (std::uint64_t last : {std::uint64_t{2}, std::uint64_t{1} << 40, std::uint64_t{1} << 63}) {
    try {
      TaskGrid({Axis::indexed("s", big), Axis::indexed("f", 1000), Axis::indexed("r", last)});
      FAIL() << "no GridTooLarge";
    } catch (const GridTooLarge& e) {
      EXPECT_EQ(e.axis(), "f");
    }
  }
}

}  // namespace
}  // namespace msweep
