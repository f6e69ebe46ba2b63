// The msweep subcommands. Each returns the process exit status (docs/cli.md).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "msweep/core/error.hpp"

namespace msweep::app {

struct PlanOptions {
  std::string job_path;
  bool estimate = true;      // time a few sample tasks for the run-time estimate
  std::vector<std::string> overrides;  // --set SECTION.KEY=VALUE, applied over the file
  std::string output_path;   // -o as run would get it; empty: [output] path of the job
};

struct RunOptions {
  std::string job_path;
  std::vector<std::string> overrides;  // --set section.key=value, applied over the job file
  std::string output_path;   // empty: [output] path of the job
  bool resume = false;       // continue an existing output file (create it if absent)
  bool force = false;        // replace an existing output (without --resume), or resume another job's file
  bool quiet = false;        // no progress line (--progress none)
  std::string progress = "auto";  // auto | bar | lines | none (core/progress.hpp)
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
  bool summary = false;      // the summary table (runs as the unit of replication)
  std::size_t top = 0;       // with summary: only the first K groups (0: all)
  std::string sort_by;       // with summary: sort groups by this metric's mean
  std::string order;         // "ascending", "descending", or empty: guessed from the metric's name
  std::string csv_path;      // with summary: write it as CSV to this file ("-": stdout) instead of the table
  std::size_t rows = 0;      // the first N task rows
  std::int64_t width = -1;   // with summary: fit the table in this many columns (0: never split; -1: the terminal's)
  bool status_only = false;  // one word: running, complete or interrupted (for scripts)
  bool json = false;         // one JSON object: status, shard, task counts, provenance (for scripts)
};

int plan(const PlanOptions& options);
int run(RunOptions options, int& argc, char**& argv);
int inspect(const InspectOptions& options);
int merge(const MergeOptions& options);

// True on the rank that should talk to the user: rank 0, known from the launcher's
// environment even before MPI is initialized (so input errors print once, not N times).
bool is_primary_rank();

}  // namespace msweep::app
