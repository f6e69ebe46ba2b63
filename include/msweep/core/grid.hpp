// The task grid: the Cartesian product of named axes. A task id is the row-major index
// over the axes (the last axis varies fastest), so ids and coordinates convert both ways
// without storing the grid.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "msweep/core/error.hpp"
#include "msweep/core/task.hpp"

namespace msweep {

// The largest grid msweep accepts. The run keeps one bit per task (which are stored), merge
// one 32-bit owner per task, and a results file one row per task: 2^32 tasks already means
// 512 MiB of bitmap and hundreds of GB of rows. Documented in docs/job-spec.md.
inline constexpr std::uint64_t kMaxGridTasks = std::uint64_t{1} << 32;

// Makes the label of value i of a generated axis. Must be a pure function of i.
using LabelFunction = std::function<std::string(std::uint64_t)>;

// One axis: explicit labels ("RM+LSTAT", "K=3"...), or labels computed on demand: "0".."count-1"
// for an index axis, or a LabelFunction of the index for a generated one (subset-evidence's
// 2^20 subsets "x0+x3+..." are a function of the subset's index). Computed labels cost no memory
// on any rank; only the results file gets them all.
struct Axis {
  Axis() = default;
  Axis(std::string axis_name, std::vector<std::string> axis_labels, std::string job_key = {})
      : name(std::move(axis_name)), key(std::move(job_key)), labels(std::move(axis_labels)) {}
  static Axis indexed(std::string axis_name, std::uint64_t count, std::string job_key = {});
  static Axis generated(std::string axis_name, std::uint64_t count, LabelFunction label_of, std::string job_key = {});

  std::string name;
  std::string key;  // the [sweep] key that sets this axis, named when the grid is too large
  std::vector<std::string> labels;  // explicit labels; empty for an index or generated axis

  std::uint64_t size() const { return labels.empty() ? count_ : labels.size(); }
  std::string label(std::uint64_t i) const;
  std::vector<std::string> all_labels() const;  // materialized: for writing the results file
  bool same_labels(const Axis& other) const;

 private:
  std::uint64_t count_ = 0;
  LabelFunction label_of_;  // generated axes only
};

// Labels "0", "1", ..., "n-1".
std::vector<std::string> index_labels(std::size_t n);

// The grid's axes multiply to more than kMaxGridTasks tasks; `axis` is the first axis at
// which the running product passes the cap (the job layer turns it into file:line of its key).
class GridTooLarge : public ArgumentError {
 public:
  GridTooLarge(const Axis& axis, const std::string& message) : ArgumentError(message), axis_(axis.name), key_(axis.key) {}
  const std::string& axis() const { return axis_; }
  const std::string& key() const { return key_; }

 private:
  std::string axis_, key_;
};

class TaskGrid {
 public:
  TaskGrid() = default;
  // Throws ArgumentError on empty or duplicate axes, GridTooLarge over kMaxGridTasks tasks.
  explicit TaskGrid(std::vector<Axis> axes);

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

// The standard axes structure, fold, restart, run (sizes from the job, keys [sweep] folds,
// restarts, runs) followed by the experiment's own axes.
std::vector<Axis> standard_axes(Axis structure, std::int64_t folds, std::int64_t restarts, std::int64_t runs,
                                std::vector<Axis> extra = {});

}  // namespace msweep
