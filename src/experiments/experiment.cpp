// The parts every kind shares (experiment.hpp): the standard options and the task view.
#include "msweep/experiments/experiment.hpp"

#include "msweep/core/error.hpp"

namespace msweep {

StandardOptions standard_options(const JobSpec& spec) { return {spec.seed, spec.folds, spec.restarts, spec.runs}; }

TaskView::TaskView(const TaskGrid& grid, std::span<const std::uint32_t> coordinates) : grid_(&grid), coordinates_(coordinates) {
  require(coordinates.size() == grid.axes().size() && coordinates.size() >= kStandardAxes, "TaskView", "coordinates",
          "one per axis of the grid (structure, fold, restart, run first)");
}

std::uint32_t TaskView::extra(std::size_t index) const {
  require(kStandardAxes + index < coordinates_.size(), "TaskView::extra", "index", "one of the kind's own axes");
  return coordinates_[kStandardAxes + index];
}

std::uint32_t TaskView::axis(std::string_view name) const { return coordinates_[grid_->axis_index(name)]; }

TaskOutput run_at(const Experiment& experiment, std::span<const std::uint32_t> coordinates) {
  return experiment.run(TaskView(experiment.grid(), coordinates));
}

}  // namespace msweep
