// What fixes a results file's identity and schema (docs/results-format.md): the job, the
// task grid's axes, the declared metrics and arrays, and the shard. A file may be resumed
// or merged only into a layout it is compatible with, and check_compatible() is the one
// place that rule and its messages live (run's output check, resume and merge all call it):
// a new part of the identity (say, a hash of the data) is added to ResultLayout and to
// check_compatible, and every caller enforces it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "msweep/core/grid.hpp"
#include "msweep/core/inputs.hpp"
#include "msweep/core/task.hpp"

namespace msweep {

// 3: /tasks rows carry no coordinates (they follow from the id and /axes). 2: written in SWMR mode (HDF5 1.10 format); the values a run changes (rows_committed,
// status, updated, finished, wall_seconds) are the one row of /state, not root attributes;
// /summaries exists from creation and is rewritten as the run goes. 1: before that.
inline constexpr std::int64_t kResultsFormatVersion = 3;

// A results file of a format version this msweep does not read: not damaged, so never
// rebuilt from its journal; status 2 with one line naming both versions.
class FormatVersionError : public InputError {
 public:
  using InputError::InputError;
};

// A results file a writer holds (or a killed writer left) open outside SWMR mode, as resume
// does while it checks the rows: SWMR readers cannot open it, a writer can (and clears the
// mark). Not damage: resume goes on, inspect says so and exits 2.
class LeftOpenError : public InputError {
 public:
  using InputError::InputError;
};

// Everything that fixes the file's schema and identity.
struct ResultLayout {
  std::string job_name, experiment, job_path, job_text;
  // The value every key of the job had, defaults included (JobSpec::resolved_json), written as
  // the root attribute resolved_job when not empty; files written before it have none.
  std::string resolved_job;
  // The --set overrides applied over the job file, in order (job_text ends with them too);
  // written as the root attribute `overrides` (a JSON list of strings).
  std::vector<std::string> overrides;
  // The files the data were read from, written as the root attribute `inputs` (JSON).
  // inputs_recorded is false for a file written before msweep recorded them: its data
  // cannot be checked.
  std::vector<InputFile> inputs;
  bool inputs_recorded = true;
  std::uint64_t job_seed = 0;
  std::vector<Axis> axes;
  std::vector<MetricInfo> metrics;
  std::vector<ArrayInfo> arrays;
  // The file holds shard shard_index of shard_count: the tasks whose id % shard_count ==
  // shard_index (0 of 1: the whole grid). Resume refuses another shard; merge ignores it.
  std::uint64_t shard_index = 0, shard_count = 1;
};

std::vector<std::string> metric_names(const ResultLayout& layout);

// Rows per chunk of /tasks (rows of `row_bytes`) and of an array (of `elements` doubles per
// row): about 128 KiB and 256 KiB per chunk, large enough for fast appends, small enough for
// partial reads. HDF5 allocates whole chunks, so a file holds at least one chunk of each.
std::uint64_t task_chunk_rows(std::uint64_t row_bytes);
std::uint64_t array_chunk_rows(std::uint64_t elements);

// What a results file of `layout` holding `rows` task rows takes on disk, from the store's
// own layout (whole chunks of /tasks and of every array, /summaries, the axis labels, the job
// text and resolved job, HDF5's metadata); texts of failed tasks' errors are not counted.
// For `msweep plan`: tests/e2e/test_size_estimate.py holds it within 0.8x-1.25x of real runs.
struct FileSizeEstimate {
  double bytes = 0;         // the whole file
  double row_bytes = 0;     // per task: its /tasks row and its arrays' values
  double journal_bytes = 0; // the journal beside an unfinished file: the rows, no chunk padding
};
FileSizeEstimate estimate_file_size(const ResultLayout& layout, std::uint64_t rows);
// Tasks in the whole grid (the product of the axis sizes).
std::uint64_t grid_task_count(const ResultLayout& layout);

// Whether task `id` belongs to the layout's shard, and how many tasks the shard holds.
inline bool in_shard(const ResultLayout& layout, TaskId id) { return id % layout.shard_count == layout.shard_index; }
std::uint64_t shard_task_count(const ResultLayout& layout);

// 16 hex digits of FNV-1a 64 over the job text.
std::string job_hash(const std::string& job_text);
// How resume, merge and the journal recognise a job: stored as the file's `job_hash`
// attribute and in the journal header. The hash of the job text (overrides included) and,
// when the data were read from files, of their fingerprints.
std::string job_identity(const ResultLayout& layout);

struct RunProvenance {
  // A constructor, not an aggregate, so that {ranks, hosts} stays complete without `cluster`.
  RunProvenance(int ranks_ = 1, std::string hosts_ = {}, std::vector<std::pair<std::string, std::string>> cluster_ = {})
      : ranks(ranks_), hosts(std::move(hosts_)), cluster(std::move(cluster_)) {}
  int ranks = 1;
  std::string hosts;  // comma-separated, unique
  // More string root attributes describing where this run ran (e.g. the batch system's job
  // id and which rank ran on which host), rewritten like the others by every resume.
  std::vector<std::pair<std::string, std::string>> cluster;
};

// The file's `status` attribute; stored as the text of run_status_name().
enum class RunStatus { running, complete, interrupted };
const char* run_status_name(RunStatus status);
// Throws InputError naming `context` for a text that is no status.
RunStatus parse_run_status(const std::string& text, const std::string& context);

// The rules of compatibility between a stored layout and the one a caller wants to write.
// Each caller says which rules it waives; the schema (axes with their labels, metric
// names, array names and shapes) is never waived.
// The input data's contents are never waived: a file holds results of one data set.
struct CompatibilityRules {
  // Job identity. resume --force relaxes it to: only keys that cannot change a task's numbers
  // (key_changes_results) or the text's comments changed; a file without input records is
  // then accepted too (the user vouches for its data).
  bool same_job = true;
  bool same_shard = true;  // waived by merge, which combines the shards
};

struct Incompatibility {
  enum class Rule { inputs, job, schema, shard };
  Rule rule;
  // What differs, to follow "PATH: " in a message, e.g. "belongs to another job (changed:
  // job.seed 1 -> 2)"; callers append what the user can do about it.
  std::string reason;
  // Whether resume --force would accept the difference (same_job = false).
  bool force_accepts = false;
};

// The job keys ("section.key (old -> new)") whose values differ between two resolved_job
// texts; empty when either text is empty.
std::vector<std::string> changed_job_keys(const std::string& stored_resolved, const std::string& wanted_resolved);

// The first rule `stored` breaks against `wanted`, or nothing when compatible.
// `wanted_source` names where `wanted` comes from (a job file, or the first merge input).
std::optional<Incompatibility> check_compatible(const ResultLayout& stored, const ResultLayout& wanted,
                                                const std::string& wanted_source, const CompatibilityRules& rules = {});

}  // namespace msweep
