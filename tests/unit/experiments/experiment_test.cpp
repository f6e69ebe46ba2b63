// The task view the engine hands to run(): standard axes by name, the kind's own by index or name.
#include "msweep/experiments/experiment.hpp"

#include <gtest/gtest.h>

#include "msweep/core/error.hpp"

namespace msweep {
namespace {

TEST(TaskView, NamesTheStandardAxesAndTheKindsOwn) {
  const TaskGrid grid(standard_axes({"structure", {"a", "b"}}, 3, 2, 4, {{"method", {"x", "y"}}, {"noise", {"n0", "n1", "n2"}}}));
  const std::vector<std::uint32_t> c = {1, 2, 1, 3, 0, 2};
  const TaskView task(grid, c);
  EXPECT_EQ(task.structure(), 1u);
  EXPECT_EQ(task.fold(), 2u);
  EXPECT_EQ(task.restart(), 1u);
  EXPECT_EQ(task.run(), 3u);
  EXPECT_EQ(task.extra(0), 0u);
  EXPECT_EQ(task.extra(1), 2u);
  EXPECT_EQ(task.axis("noise"), 2u);
  EXPECT_THROW(task.extra(2), ArgumentError);
  EXPECT_THROW(task.axis("order"), ArgumentError);
  const std::vector<std::uint32_t> short_coordinates = {1, 2, 1, 3};
  EXPECT_THROW(TaskView(grid, short_coordinates), ArgumentError);
}

}  // namespace
}  // namespace msweep
