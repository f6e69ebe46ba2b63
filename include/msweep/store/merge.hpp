// Merging results files of one job (typically the shards of a Slurm job array) into one
// file whose rows, per task, are exactly those of the inputs: the same bytes a single run
// would have stored. Store layer: knows files and rows, not MPI.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "msweep/core/summary.hpp"
#include "msweep/core/task.hpp"
#include "msweep/store/layout.hpp"

namespace msweep {

struct MergeReport {
  std::uint64_t task_count = 0;     // tasks in the job's grid
  std::uint64_t rows = 0;           // rows in the merged file
  std::uint64_t missing = 0;        // grid tasks no input holds
  std::vector<TaskId> missing_examples;  // the first few missing ids
  std::vector<std::string> unfinished_inputs;  // inputs whose status is not "complete"
  RunStatus status = RunStatus::interrupted;  // complete when nothing is missing
  std::string job_path;             // the job file the inputs name (for the resume hint)
  std::string stale_lock;           // non-empty when a stale OUTPUT.lock was taken over (says whose)
  SummaryTable summary;
};

// Checks that every input is a readable results file of the same job (job hash and schema)
// and that no task is stored twice, then writes `output` (refused if it exists unless
// overwrite): all committed rows, summaries recomputed, status complete only if no task is
// missing. The output is built under OUTPUT.merging and renamed into place at the end, so
// an existing file is never half-replaced (it is fsync'd before the rename). OUTPUT.lock is
// held throughout (FileInUseError while another msweep writes OUTPUT). Throws InputError
// naming the offending file.
MergeReport merge_results(const std::vector<std::string>& inputs, const std::string& output, bool overwrite);

}  // namespace msweep
