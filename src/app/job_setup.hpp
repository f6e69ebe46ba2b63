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

// A file the command reads, which its output must never replace: `role` says what it is
// ("the job file", "a data file of the job", "an input of the merge") for the message.
struct ReadFile {
  std::string path;
  std::string role;
};

// Throws InputError when `output`, or a file written beside it (its journal, its lock), is one
// of `read`: the same file (std::filesystem::equivalent), or the same absolute normalized path
// when one does not exist yet. --force must not turn a job's data or job file into HDF5.
void check_output_spares_inputs(const std::string& output, const std::vector<ReadFile>& read);

// The files `job` reads: its job file and its data files (the inputs of its identity).
std::vector<ReadFile> files_read_by(const PreparedJob& job);

// Makes the missing directories above `output` and returns them, the shallowest first (for
// remove_created_directories). Creation can fail though check_output found the nearest
// existing one writable (a read-only or special file system, a name too long): then the
// directories made here are removed again and the error is bad input (status 2: nothing
// was created).
std::vector<std::string> create_parent_directories(const std::string& output);

// Removes the directories create_parent_directories made, from the deepest, while empty.
void remove_created_directories(const std::vector<std::string>& made);

OutputMode check_output(const std::string& path, const PreparedJob& job, bool resume, bool force);

// What `run` would meet at `path`, for plan: empty when nothing is there, else a clause such as
// "exists, same job: 3 of 8 tasks stored; --resume continues it" or "exists and belongs to
// another job (...); ..." (by check_compatible, the rule run applies), or that it is unreadable.
// Reads only; writes nothing.
std::string describe_existing_output(const std::string& path, const PreparedJob& job);

// "I/N" (0 <= I < N), or "auto": from SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN,
// SLURM_ARRAY_TASK_STEP and SLURM_ARRAY_TASK_COUNT of a Slurm job array. Sets the shard of
// job.layout; throws InputError naming the option.
void apply_shard(const std::string& shard, PreparedJob& job);

}  // namespace msweep::app
