// A parsed job file: the generic keys every job has, and a ConfigTable per section for
// the keys an experiment reads itself. Parsing touches neither MPI nor HDF5 nor numerics.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "msweep/spec/config.hpp"

namespace msweep {

struct JobSpec {
  std::string path;        // as given on the command line
  std::string text;        // the whole file, stored verbatim in the results, then the overrides as comments
  std::vector<std::string> overrides;  // --set section.key=value, in order, applied over the file
  std::string name;        // [job] name
  std::string kind;        // [job] experiment
  std::uint64_t seed = 0;  // [job] seed
  std::int64_t folds = 1, restarts = 1, runs = 1;  // [sweep] standard axis sizes
  std::string output_path;                         // [output] path
  std::int64_t store_batch_rows = 0;               // [output] flush_rows (0: automatic)
  double flush_seconds = 2.0;                      // [output] flush_seconds
  double summary_seconds = 30.0;                   // [output] summary_seconds

  ConfigTable job, data, model, sweep, output;

  // Reports the first key of any section that neither the spec nor the experiment read.
  void reject_unknown_keys() const;
  // Every key the spec and the experiment read, with the value used (defaults included), as
  // JSON: {"job": {...}, "data": {...}, "model": {...}, "sweep": {...}, "output": {...}}.
  // Complete once the experiment is built; stored as the results file's resolved_job.
  std::string resolved_json() const;
};

// Reads and validates the generic part of a job file, with `overrides` ("section.key=value",
// the command line's --set) applied over the file's keys. Throws InputError (file:line:
// message, or "--set section.key=value: message" for an override).
JobSpec load_job(const std::string& path, const std::vector<std::string>& overrides = {});
JobSpec parse_job(const std::string& text, const std::string& path, const std::vector<std::string>& overrides = {});

}  // namespace msweep
