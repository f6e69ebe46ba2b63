// The task grid: the Cartesian product of named axes. A task id is the row-major index
// over the axes (the last axis varies fastest), so ids and coordinates convert both ways
// without storing the grid.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "msweep/core/task.hpp"

namespace msweep {

struct Axis {
  std::string name;
  std::vector<std::string> labels;  // one per value, e.g. "RM+LSTAT" or "0"
};

// Labels "0", "1", ..., "n-1".
std::vector<std::string> index_labels(std::size_t n);

class TaskGrid {
 public:
  TaskGrid() = default;
  explicit TaskGrid(std::vector<Axis> axes);  // throws ArgumentError on empty or duplicate axes

  const std::vector<Axis>& axes() const { return axes_; }
  std::optional<std::size_t> find_axis(std::string_view name) const;
  std::size_t axis_index(std::string_view name) const;  // throws ArgumentError if absent
  TaskId size() const { return size_; }

  std::vector<std::uint32_t> coordinates(TaskId id) const;
  void coordinates(TaskId id, std::span<std::uint32_t> out) const;
  TaskId id_of(std::span<const std::uint32_t> coordinates) const;

 private:
  std::vector<Axis> axes_;
  std::vector<TaskId> strides_;
  TaskId size_ = 0;
};

// The standard axes structure, fold, restart, run (sizes from the job) followed by the
// experiment's own axes.
std::vector<Axis> standard_axes(std::vector<std::string> structure_labels, std::int64_t folds,
                                std::int64_t restarts, std::int64_t runs, std::vector<Axis> extra = {});

}  // namespace msweep
