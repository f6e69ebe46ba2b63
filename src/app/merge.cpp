// msweep merge: combine results files of one job (the shards of a job array) into one file.
#include <cstdio>

#include "commands.hpp"
#include "job_setup.hpp"
#include "msweep/store/merge.hpp"

namespace msweep::app {

int merge(const MergeOptions& options) {
  check_output_file_name(options.output_path);
  std::vector<ReadFile> read;
  for (const auto& input : options.inputs) read.push_back({input, "an input of the merge"});
  check_output_spares_inputs(options.output_path, read);
  // Like run -o: missing directories above the output are made, and removed again on failure.
  const std::vector<std::string> made = create_parent_directories(options.output_path);
  MergeReport report;
  try {
    report = merge_results(options.inputs, options.output_path, options.force);
  } catch (...) {
    remove_created_directories(made);
    throw;
  }
  if (!report.stale_lock.empty()) std::fprintf(stderr, "msweep: %s\n", report.stale_lock.c_str());
  for (const auto& input : report.unfinished_inputs)
    std::fprintf(stderr, "msweep: warning: %s did not finish (status is not complete); its committed rows are merged\n", input.c_str());
  if (!options.quiet)
    std::printf("msweep: merged %zu file%s into %s: %llu of %llu tasks, %llu missing, status %s\n", options.inputs.size(),
                options.inputs.size() == 1 ? "" : "s", options.output_path.c_str(), static_cast<unsigned long long>(report.rows),
                static_cast<unsigned long long>(report.task_count), static_cast<unsigned long long>(report.missing),
                run_status_name(report.status));
  if (report.missing == 0) return 0;
  std::string examples;
  for (TaskId id : report.missing_examples) examples += (examples.empty() ? "" : ", ") + std::to_string(id);
  std::fprintf(stderr, "msweep: %s: %llu task%s missing (ids %s%s); run them with: msweep run %s -o %s --resume\n",
               options.output_path.c_str(), static_cast<unsigned long long>(report.missing), report.missing == 1 ? "" : "s",
               examples.c_str(), report.missing > report.missing_examples.size() ? ", ..." : "", report.job_path.c_str(),
               options.output_path.c_str());
  return static_cast<int>(ExitStatus::interrupted);
}

}  // namespace msweep::app
