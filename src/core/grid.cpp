#include "msweep/core/grid.hpp"

#include <set>

#include "msweep/core/error.hpp"

namespace msweep {

std::vector<std::string> index_labels(std::size_t n) {
  std::vector<std::string> labels;
  labels.reserve(n);
  for (std::size_t i = 0; i < n; ++i) labels.push_back(std::to_string(i));
  return labels;
}

Axis Axis::indexed(std::string axis_name, std::uint64_t count, std::string job_key) {
  Axis axis(std::move(axis_name), {}, std::move(job_key));
  axis.count_ = count;
  return axis;
}

Axis Axis::generated(std::string axis_name, std::uint64_t count, LabelFunction label_of, std::string job_key) {
  Axis axis = indexed(std::move(axis_name), count, std::move(job_key));
  axis.label_of_ = std::move(label_of);
  return axis;
}

std::string Axis::label(std::uint64_t i) const {
  if (!labels.empty()) return labels[i];
  return label_of_ ? label_of_(i) : std::to_string(i);
}

std::vector<std::string> Axis::all_labels() const {
  if (!labels.empty()) return labels;
  if (!label_of_) return index_labels(static_cast<std::size_t>(count_));
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(count_));
  for (std::uint64_t i = 0; i < count_; ++i) out.push_back(label_of_(i));
  return out;
}

bool Axis::same_labels(const Axis& other) const {
  if (size() != other.size()) return false;
  if (labels.empty() && other.labels.empty() && !label_of_ && !other.label_of_) return true;  // both "0".."n-1"
  for (std::uint64_t i = 0; i < size(); ++i)
    if (label(i) != other.label(i)) return false;
  return true;
}

TaskGrid::TaskGrid(std::vector<Axis> axes) : axes_(std::move(axes)) {
  require(!axes_.empty(), "TaskGrid", "axes", "at least one axis");
  std::set<std::string> names;
  for (const auto& axis : axes_) {
    require(axis.size() > 0, "TaskGrid", "axes", "a non-empty axis '" + axis.name + "'");
    require(names.insert(axis.name).second, "TaskGrid", "axes", "unique axis names ('" + axis.name + "' twice)");
  }
  // Checked product in axis order, so the axis named is the one that takes the grid past the
  // cap. Every factor is at least 1 and the running product at most 2^32, so nothing wraps
  // before the comparison (the cap also keeps every coordinate inside uint32).
  TaskId product = 1;
  for (const auto& axis : axes_) {
    if (axis.size() > kMaxGridTasks / product)
      throw GridTooLarge(axis, "the grid would have more than 2^32 (" + std::to_string(kMaxGridTasks) + ") tasks once axis '" +
                                   axis.name + "' (" + std::to_string(axis.size()) + " values) multiplies the " +
                                   std::to_string(product) + " tasks of the axes before it; make it or them smaller");
    product *= axis.size();
  }
  strides_.assign(axes_.size(), 1);
  size_ = 1;
  for (std::size_t i = axes_.size(); i-- > 0;) {
    strides_[i] = size_;
    size_ *= axes_[i].size();
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
    require(coordinates[i] < axes_[i].size(), "TaskGrid::id_of", "coordinates", "values inside each axis");
    id += coordinates[i] * strides_[i];
  }
  return id;
}

std::vector<Axis> standard_axes(Axis structure, std::int64_t folds, std::int64_t restarts, std::int64_t runs,
                                std::vector<Axis> extra) {
  std::vector<Axis> axes;
  structure.name = "structure";
  axes.push_back(std::move(structure));
  axes.push_back(Axis::indexed("fold", static_cast<std::uint64_t>(folds), "folds"));
  axes.push_back(Axis::indexed("restart", static_cast<std::uint64_t>(restarts), "restarts"));
  axes.push_back(Axis::indexed("run", static_cast<std::uint64_t>(runs), "runs"));
  for (auto& axis : extra) axes.push_back(std::move(axis));
  return axes;
}

}  // namespace msweep
