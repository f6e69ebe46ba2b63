// msweep plan: validate a job and show what it would run, without MPI and without writing:
// the data's shape and split sizes, the values used for every key (defaults included), the
// grid, and estimates of run time (from timing a few tasks here) and of the results file size.
// Nothing here is per task: the grid is described by its axes, so plan stays cheap for any size.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "commands.hpp"
#include "job_setup.hpp"
#include "msweep/core/progress.hpp"
#include "msweep/core/text_table.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/store/layout.hpp"

namespace msweep::app {
namespace {

std::string format_bytes(double bytes) {
  char text[32];
  if (bytes < 1e6) std::snprintf(text, sizeof text, "%.0f kB", bytes / 1e3);
  else if (bytes < 1e9) std::snprintf(text, sizeof text, "%.1f MB", bytes / 1e6);
  else std::snprintf(text, sizeof text, "%.2f GB", bytes / 1e9);
  return text;
}

// Times up to `max_samples` tasks spread evenly over the grid (ids i * size / samples), for at
// most `budget_seconds`; returns the per-task seconds measured.
std::vector<double> time_sample_tasks(const Experiment& experiment, std::size_t max_samples, double budget_seconds) {
  const TaskId size = experiment.grid().size();
  const std::size_t samples = static_cast<std::size_t>(std::min<TaskId>(size, max_samples));
  std::vector<double> seconds;
  WallTimer budget;
  for (std::size_t i = 0; i < samples && budget.seconds() < budget_seconds; ++i) {
    const TaskId id = static_cast<TaskId>(static_cast<double>(i) * static_cast<double>(size) / static_cast<double>(samples));
    seconds.push_back(execute_task(experiment, id, 0).wall_seconds);
  }
  return seconds;
}

// Keys an axis sets per task (resolved_job says "per task: ..."): one table per axis, a row per
// label with the value of each key it sets.
void print_per_task_keys(const Experiment& experiment) {
  const std::vector<PerTaskKey> keys = experiment.per_task_keys();
  std::vector<std::string> axes;
  for (const auto& key : keys)
    if (std::find(axes.begin(), axes.end(), key.axis) == axes.end()) axes.push_back(key.axis);
  for (const auto& name : axes) {
    const Axis& axis = experiment.grid().axes()[experiment.grid().axis_index(name)];
    std::vector<std::string> header = {name};
    std::vector<const PerTaskKey*> set;
    for (const auto& key : keys)
      if (key.axis == name) {
        header.push_back(key.key);
        set.push_back(&key);
      }
    TextTable table(std::move(header), std::vector<TextTable::Align>(set.size() + 1, TextTable::Align::left));
    for (std::uint64_t i = 0; i < axis.size(); ++i) {
      std::vector<std::string> row = {axis.label(i)};
      for (const PerTaskKey* key : set) row.push_back(key->values.at(i));
      table.add_row(std::move(row));
    }
    std::printf("keys set per task by the %s axis ([sweep] %s), one row per label:\n%s", name.c_str(), axis.key.c_str(),
                table.str("  ").c_str());
  }
}

}  // namespace

int plan(const PlanOptions& options) {
  PreparedJob job = prepare_job(options.job_path, options.overrides);
  const TaskGrid& grid = job.experiment->grid();
  std::printf("job %s: experiment %s, seed %llu\n", job.spec.name.c_str(), job.spec.kind.c_str(),
              static_cast<unsigned long long>(job.spec.seed));
  if (const std::string data = job.experiment->describe_data(); !data.empty()) std::printf("%s", data.c_str());
  std::printf("values used (defaults included; stored as the results file's resolved_job):\n");
  for (const ConfigTable* table : {&job.spec.job, &job.spec.data, &job.spec.model, &job.spec.sweep, &job.spec.output})
    std::printf("  [%s] %s\n", table->section().c_str(), table->resolved_json().c_str());
  std::printf("axes (row-major, last fastest):\n");
  TextTable axes({"axis", "size", "labels"}, {TextTable::Align::left, TextTable::Align::right, TextTable::Align::left});
  for (const auto& axis : grid.axes()) {
    std::string sample;
    for (std::uint64_t i = 0; i < axis.size() && i < 4; ++i) sample += (i ? ", " : "") + axis.label(i);
    if (axis.size() > 4) sample += ", ... " + axis.label(axis.size() - 1);
    axes.add_row({axis.name, std::to_string(axis.size()), sample});
  }
  std::printf("%s", axes.str("  ").c_str());
  print_per_task_keys(*job.experiment);
  std::printf("tasks: %llu\n", static_cast<unsigned long long>(grid.size()));
  std::printf("metrics (%zu):", job.layout.metrics.size());
  for (const auto& metric : job.layout.metrics) std::printf(" %s", metric.name.c_str());
  std::printf("\narrays (%zu):", job.layout.arrays.size());
  for (const auto& array : job.layout.arrays) {
    std::string shape;
    for (auto d : array.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    std::printf(" %s[%s]", array.name.c_str(), shape.c_str());
  }
  const double tasks = static_cast<double>(grid.size());
  const FileSizeEstimate size = estimate_file_size(job.layout, grid.size());
  std::printf("\nestimate: results file about %s (rows of %.0f bytes a task, plus whole HDF5 chunks, summaries and metadata; a journal "
              "of about %s lies beside it while the run is unfinished)\n",
              format_bytes(size.bytes).c_str(), size.row_bytes, format_bytes(size.journal_bytes).c_str());
  if (options.estimate) {
    // The mean, not the median: the total is a sum, and a kind's first task on a split pays for
    // work (caches) that later tasks share.
    const std::vector<double> seconds = time_sample_tasks(*job.experiment, 8, 3.0);
    double mean = 0;
    for (double s : seconds) mean += s / static_cast<double>(seconds.size());
    std::printf("estimate: run time about %s of task time on one worker (mean %.3g s per task over %zu sample tasks "
                "timed here; divide by the number of workers, ranks - 1 under mpirun; a loaded machine is slower)\n",
                ProgressReporter::format_duration(mean * tasks).c_str(), mean, seconds.size());
  }
  const std::string output = options.output_path.empty() ? job.spec.output_path : options.output_path;
  const std::string existing = describe_existing_output(output, job);
  std::printf("output: %s%s\n", output.c_str(), existing.empty() ? "" : (" (" + existing + ")").c_str());
  return 0;
}

}  // namespace msweep::app
