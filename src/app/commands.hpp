// The msweep subcommands. Each returns the process exit status (docs/cli.md).
#pragma once
#include <string>
#include <vector>

#include "msweep/core/error.hpp"

namespace msweep::app {

struct RunOptions {
  std::string job_path;
  std::vector<std::string> overrides;  // --set section.key=value, applied over the job file
  std::string output_path;   // empty: [output] path of the job
  bool resume = false;       // continue an existing output file (create it if absent)
  bool force = false;        // replace an existing output (without --resume), or resume another job's file
  bool quiet = false;        // no progress line
  double progress_seconds = 10.0;
  int batches_in_flight = 3;
  double batch_seconds = 0.02;
  double stop_grace_seconds = 30.0;
  std::string shard;         // "I/N", "auto" (from the Slurm array), or empty: the whole grid
  double worker_timeout_seconds = 0.0;  // 0: wait for workers forever
};

struct MergeOptions {
  std::vector<std::string> inputs;
  std::string output_path;
  bool force = false;        // replace an existing output file
  bool quiet = false;
};

struct InspectOptions {
  std::string results_path;
  bool summary = false;      // the summary table
  std::size_t rows = 0;      // the first N task rows
  bool status_only = false;  // one word: running, complete or interrupted (for scripts)
  bool json = false;         // one JSON object: status, shard, task counts, provenance (for scripts)
};

int plan(const std::string& job_path, const std::vector<std::string>& overrides);
int run(RunOptions options, int& argc, char**& argv);
int inspect(const InspectOptions& options);
int merge(const MergeOptions& options);

// True on the rank that should talk to the user: rank 0, known from the launcher's
// environment even before MPI is initialized (so input errors print once, not N times).
bool is_primary_rank();

}  // namespace msweep::app
