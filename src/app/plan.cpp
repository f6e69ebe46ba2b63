// msweep plan: validate a job and show what it would run, without MPI and without writing.
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "job_setup.hpp"

namespace msweep::app {

int plan(const std::string& job_path) {
  PreparedJob job = prepare_job(job_path);
  const TaskGrid& grid = job.experiment->grid();
  std::printf("job %s: experiment %s, seed %llu\n", job.spec.name.c_str(), job.spec.kind.c_str(),
              static_cast<unsigned long long>(job.spec.seed));
  std::printf("axes (row-major, last fastest):\n");
  for (const auto& axis : grid.axes()) {
    std::string sample;
    for (std::uint64_t i = 0; i < axis.size() && i < 4; ++i) sample += (i ? ", " : "") + axis.label(i);
    if (axis.size() > 4) sample += ", ... " + axis.label(axis.size() - 1);
    std::printf("  %-10s %8llu  %s\n", axis.name.c_str(), static_cast<unsigned long long>(axis.size()), sample.c_str());
  }
  std::printf("tasks: %llu\n", static_cast<unsigned long long>(grid.size()));
  std::printf("metrics (%zu):", job.layout.metrics.size());
  for (const auto& metric : job.layout.metrics) std::printf(" %s", metric.name.c_str());
  std::printf("\narrays (%zu):", job.layout.arrays.size());
  for (const auto& array : job.layout.arrays) {
    std::string shape;
    for (auto d : array.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    std::printf(" %s[%s]", array.name.c_str(), shape.c_str());
  }
  std::error_code ec;
  const bool exists = std::filesystem::exists(job.spec.output_path, ec);
  std::printf("\noutput: %s%s\n", job.spec.output_path.c_str(), exists ? " (exists: run needs --resume or --force)" : "");
  return 0;
}

}  // namespace msweep::app
