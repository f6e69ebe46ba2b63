#include "msweep/core/grid.hpp"

#include <limits>
#include <set>

#include "msweep/core/error.hpp"

namespace msweep {

std::vector<std::string> index_labels(std::size_t n) {
  std::vector<std::string> labels;
  labels.reserve(n);
  for (std::size_t i = 0; i < n; ++i) labels.push_back(std::to_string(i));
  return labels;
}

TaskGrid::TaskGrid(std::vector<Axis> axes) : axes_(std::move(axes)) {
  require(!axes_.empty(), "TaskGrid", "axes", "at least one axis");
  std::set<std::string> names;
  for (const auto& axis : axes_) {
    require(!axis.labels.empty(), "TaskGrid", "axes", "a non-empty axis '" + axis.name + "'");
    require(axis.labels.size() <= std::numeric_limits<std::uint32_t>::max(), "TaskGrid", "axes", "axes under 2^32 values");
    require(names.insert(axis.name).second, "TaskGrid", "axes", "unique axis names ('" + axis.name + "' twice)");
  }
  strides_.assign(axes_.size(), 1);
  size_ = 1;
  for (std::size_t i = axes_.size(); i-- > 0;) {
    strides_[i] = size_;
    const TaskId n = axes_[i].labels.size();
    require(size_ <= std::numeric_limits<TaskId>::max() / n, "TaskGrid", "axes", "fewer than 2^64 tasks");
    size_ *= n;
  }
}

std::optional<std::size_t> TaskGrid::find_axis(std::string_view name) const {
  for (std::size_t i = 0; i < axes_.size(); ++i)
    if (axes_[i].name == name) return i;
  return std::nullopt;
}

std::size_t TaskGrid::axis_index(std::string_view name) const {
  auto index = find_axis(name);
  require(index.has_value(), "TaskGrid::axis_index", "name", "an axis of the grid, got '" + std::string(name) + "'");
  return *index;
}

void TaskGrid::coordinates(TaskId id, std::span<std::uint32_t> out) const {
  for (std::size_t i = 0; i < axes_.size(); ++i) {
    out[i] = static_cast<std::uint32_t>(id / strides_[i]);
    id %= strides_[i];
  }
}

std::vector<std::uint32_t> TaskGrid::coordinates(TaskId id) const {
  require(id < size_, "TaskGrid::coordinates", "id", "an id below the grid size");
  std::vector<std::uint32_t> out(axes_.size());
  coordinates(id, out);
  return out;
}

TaskId TaskGrid::id_of(std::span<const std::uint32_t> coordinates) const {
  require(coordinates.size() == axes_.size(), "TaskGrid::id_of", "coordinates", "one per axis");
  TaskId id = 0;
  for (std::size_t i = 0; i < axes_.size(); ++i) {
    require(coordinates[i] < axes_[i].labels.size(), "TaskGrid::id_of", "coordinates", "values inside each axis");
    id += coordinates[i] * strides_[i];
  }
  return id;
}

std::vector<Axis> standard_axes(std::vector<std::string> structure_labels, std::int64_t folds, std::int64_t restarts,
                                std::int64_t runs, std::vector<Axis> extra) {
  std::vector<Axis> axes;
  axes.push_back({"structure", std::move(structure_labels)});
  axes.push_back({"fold", index_labels(static_cast<std::size_t>(folds))});
  axes.push_back({"restart", index_labels(static_cast<std::size_t>(restarts))});
  axes.push_back({"run", index_labels(static_cast<std::size_t>(runs))});
  for (auto& axis : extra) axes.push_back(std::move(axis));
  return axes;
}

}  // namespace msweep
