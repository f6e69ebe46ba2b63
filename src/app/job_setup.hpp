// Everything `plan` and `run` do before any MPI work: parse and validate the job, build the
// experiment (loading its data), and check the output path. Every rank does this alone and
// reaches the same verdict, so a bad input ends every rank with exit status 2 and the
// primary rank prints one line.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "msweep/experiments/experiment.hpp"
#include "msweep/spec/job.hpp"
#include "msweep/store/results.hpp"

namespace msweep::app {

struct PreparedJob {
  JobSpec spec;
  std::unique_ptr<Experiment> experiment;
  ResultLayout layout;
};

// `overrides`: --set section.key=value, applied over the file (JobSpec::overrides); `load_data`
// `source` obtains the data (run passes NodeSharedData's: one copy per node).
PreparedJob prepare_job(const std::string& job_path, const std::vector<std::string>& overrides = {},
                        const DataSource& source = {});

enum class OutputMode { create, replace, resume, resume_or_create };

// Validates the output path for the requested mode without creating anything: refuses an
// existing file without --resume/--force, a directory, an unwritable location, and (with
// --resume) a file that is not a results file of this job and shard. A file HDF5 cannot
// open passes with --resume when its journal belongs to this job (resume rebuilds it).
// Throws InputError when `path` names a directory (existing, or ending in '/', '.' or '..').
void check_output_file_name(const std::string& path);

OutputMode check_output(const std::string& path, const PreparedJob& job, bool resume, bool force);

// "I/N" (0 <= I < N), or "auto": from SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN,
// SLURM_ARRAY_TASK_STEP and SLURM_ARRAY_TASK_COUNT of a Slurm job array. Sets the shard of
// job.layout; throws InputError naming the option.
void apply_shard(const std::string& shard, PreparedJob& job);

}  // namespace msweep::app
