// The results file of one job (docs/results-format.md): created or resumed by the master
// rank's ResultWriter, read by ResultReader for inspect, resume, merge and summaries.
// Knows the task grid's axes and the declared metric and array names, nothing of models or MPI.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "msweep/core/summary.hpp"
#include "msweep/core/task.hpp"
#include "msweep/spec/grid.hpp"

namespace msweep {

inline constexpr std::int64_t kResultsFormatVersion = 1;

struct ArrayLayout {
  std::string name;
  std::vector<std::uint64_t> shape;  // per task
  std::string description;
};

// Everything that fixes the file's schema; it must be identical to resume or merge into it.
struct ResultLayout {
  std::string job_name, experiment, job_path, job_text;
  // The value every key of the job had, defaults included (JobSpec::resolved_json), written as
  // the root attribute resolved_job when not empty; files written before it have none.
  std::string resolved_job;
  std::uint64_t job_seed = 0;
  std::vector<Axis> axes;
  std::vector<std::string> metric_names, metric_descriptions;
  std::vector<ArrayLayout> arrays;
  // The file holds shard shard_index of shard_count: the tasks whose id % shard_count ==
  // shard_index (0 of 1: the whole grid). Resume refuses another shard; merge ignores it.
  std::uint64_t shard_index = 0, shard_count = 1;
};

// Whether task `id` belongs to the layout's shard, and how many tasks the shard holds.
inline bool in_shard(const ResultLayout& layout, TaskId id) { return id % layout.shard_count == layout.shard_index; }
std::uint64_t shard_task_count(const ResultLayout& layout);

// 16 hex digits of FNV-1a 64 over the job text: how resume and merge recognise a job.
std::string job_hash(const std::string& job_text);

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

// One stored task row (arrays are read separately, by name).
struct StoredRow {
  TaskId id = 0;
  std::vector<std::uint32_t> coordinates;
  TaskStatus status = TaskStatus::ok;
  std::string error;
  double wall_seconds = 0.0;
  std::int32_t rank = 0;
  std::vector<double> metrics;
};

// Read access, safe on files that are complete, interrupted, or were killed mid-write:
// only the first rows_committed rows are ever returned.
class ResultReader {
 public:
  // Throws InputError (naming the file and what was expected) for a missing file, a file that
  // is not HDF5, not an msweep results file, or of another format version.
  explicit ResultReader(const std::string& path);
  ~ResultReader();
  ResultReader(ResultReader&&) noexcept;

  const std::string& path() const;
  const ResultLayout& layout() const;
  std::uint64_t task_count() const;
  std::uint64_t rows_committed() const;
  std::string attribute(const std::string& name) const;  // string root attributes (status, created...)
  bool has_attribute(const std::string& name) const;
  std::int64_t ranks() const;

  // Calls visit for blocks of up to block_rows committed rows, in file order.
  void for_each_block(const std::function<void(const std::vector<StoredRow>&)>& visit, std::size_t block_rows = 65536) const;
  // All committed rows of one declared array, row-major (rows x shape...).
  std::vector<double> read_array(const std::string& name) const;
  // Committed rows [first, first + rows) of one declared array.
  std::vector<double> read_array(const std::string& name, std::uint64_t first, std::uint64_t rows) const;
  // Mean/std/count over run and fold of every metric, per remaining coordinates.
  SummaryTable summarize() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct WriterOptions {
  std::size_t flush_rows = 0;     // flush after this many buffered rows (0: only by time)
  double flush_seconds = 2.0;     // flush when the oldest buffered row is this old
  // Keep PATH.journal (docs/results-format.md): every flush first appends its rows there and
  // fsyncs, so resume can rebuild a results file HDF5 can no longer open. Off for merge,
  // whose output is rebuilt from its inputs instead.
  bool journal = true;
};

// The journal of a results file: PATH + ".journal".
std::string journal_path(const std::string& results_path);

// True when `path` cannot be opened as a results file but its journal belongs to the job
// with this text: ResultWriter::resume will then rebuild the file from the journal.
bool rebuildable_from_journal(const std::string& path, const std::string& job_text);

// The single writer of a results file. append() buffers; flush() makes buffered rows
// durable in two steps (write rows + H5Fflush, then advance rows_committed + H5Fflush), so a
// kill at any moment leaves a readable file whose committed rows are all complete.
class ResultWriter {
 public:
  // Creates a new file; refuses an existing one unless overwrite (then it is replaced).
  static ResultWriter create(const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                             const WriterOptions& options, bool overwrite);
  // Reopens a file of the same job to add the missing tasks; rows past rows_committed (a
  // batch cut short by a kill) are dropped, and rows the journal holds beyond them are
  // restored. A file HDF5 cannot open is moved aside to PATH.damaged and rebuilt from the
  // journal. Throws InputError if the job or the shard differs (the job: unless force).
  static ResultWriter resume(const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                             const WriterOptions& options, bool force);

  ~ResultWriter();
  ResultWriter(ResultWriter&&) noexcept;

  // Ids already stored (committed, or restored from the journal) when the writer was opened.
  const std::vector<TaskId>& stored_ids() const;
  // Rows restored from the journal by resume (0 when the file was intact), and whether the
  // whole file had to be rebuilt from it.
  std::uint64_t rows_restored() const;
  bool rebuilt() const;
  std::uint64_t rows_committed() const;
  std::uint64_t rows_buffered() const;

  void append(const std::vector<TaskResult>& results);
  bool flush_due() const;
  void flush();
  // Flushes, writes summaries and the final status ("complete" or "interrupted"), closes.
  // After "complete" the file is fsync'd and its journal removed (it is no longer needed).
  SummaryTable finish(const std::string& status, double wall_seconds);

 private:
  struct State;
  explicit ResultWriter(std::unique_ptr<State> state);
  // resume() of a file HDF5 cannot open: rebuilt from PATH.journal.
  static ResultWriter rebuild(const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                              const WriterOptions& options, const std::string& open_error);
  std::unique_ptr<State> state_;
};

}  // namespace msweep
