// The results file of one job (docs/results-format.md): created or resumed by the master
// rank's ResultWriter, read by ResultReader for inspect, resume, merge and summaries.
// Knows the task grid's axes and the declared metric and array names, nothing of models or MPI.
// The pieces live in one file each: layout (identity, schema, compatibility), row_codec,
// summaries, writer (create, append, flush, finish), recovery (resume, rebuild), reader.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "msweep/core/summary.hpp"
#include "msweep/core/task.hpp"
#include "msweep/store/layout.hpp"
#include "msweep/store/output_lock.hpp"

namespace msweep {

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
  std::string attribute(const std::string& name) const;  // string root attributes (created, hosts...)
  bool has_attribute(const std::string& name) const;
  // The run's state (/state) as it was when the file was opened.
  RunStatus status() const;
  const std::string& updated() const;   // ISO 8601 UTC of the last flush
  const std::string& finished() const;  // empty while running
  double wall_seconds() const;
  std::uint64_t summarized_rows() const;  // committed rows /summaries covers (0: none)
  std::int64_t ranks() const;

  // Calls visit for blocks of up to block_rows committed rows, in file order (the first
  // max_rows of them only, when given). Each row's result.arrays is filled only when with_arrays.
  void for_each_block(const std::function<void(const std::vector<TaskRow>&)>& visit, std::size_t block_rows = 65536,
                      bool with_arrays = false, std::uint64_t max_rows = static_cast<std::uint64_t>(-1)) const;
  // The failed tasks among the committed rows, from /summaries' failed counts when they are
  // current (one field of one row per group: no pass over the task rows), else nothing.
  std::optional<std::uint64_t> failed_count_from_summaries() const;
  // All committed rows of one declared array, row-major (rows x shape...).
  std::vector<double> read_array(const std::string& name) const;
  // Committed rows [first, first + rows) of one declared array.
  std::vector<double> read_array(const std::string& name, std::uint64_t first, std::uint64_t rows) const;
  // Mean/std/count over run and fold of every metric, per remaining coordinates: the stored
  // /summaries when the writer wrote them (of its first summarized_rows() rows: all of them
  // when summaries_current()), else computed from the rows.
  SummaryTable summarize() const;
  bool summaries_current() const;
  SummaryTable summarize_from_rows() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct WriterOptions {
  std::size_t flush_rows = 0;     // flush after this many buffered rows (0: only by time)
  double flush_seconds = 2.0;     // flush when the oldest buffered row is this old
  // Rewrite /summaries at the first flush this long after the last time, so a live or killed
  // file can be inspected without reading its rows (when the summaries stream: see
  // docs/results-format.md). 0: at every flush.
  double summary_seconds = 30.0;
  // Keep PATH.journal (docs/results-format.md): every flush first appends its rows there and
  // fsyncs, so resume can rebuild a results file HDF5 can no longer open. Off for merge,
  // whose output is rebuilt from its inputs instead.
  bool journal = true;
  // Take PATH.lock (output_lock.hpp) for the writer's lifetime. Off only for files under a
  // temporary name whose final name the caller has locked (merge's and rebuild's).
  bool lock = true;
};

// The journal of a results file: PATH + ".journal".
std::string journal_path(const std::string& results_path);

// True when `path` cannot be opened as a results file but its journal belongs to the job
// with this identity (job_identity: text and input data): ResultWriter::resume will then
// rebuild the file from the journal.
bool rebuildable_from_journal(const std::string& path, const ResultLayout& layout);

// What resume had to recover: rows restored from the journal, and whether the whole file
// was rebuilt from it (then `damage` says why the file could not be used, and
// `damaged_copy` where it was moved aside; empty when the file was missing).
struct RecoveryReport {
  std::uint64_t rows_restored = 0;
  bool rebuilt = false;
  std::string damage, damaged_copy;
  std::string journal;  // the journal the rows came from
  std::string stale_lock;  // non-empty when a stale PATH.lock was taken over (says whose)
};

// The single writer of a results file. append() buffers; flush() makes buffered rows
// durable in two steps (write rows + H5Fflush, then advance rows_committed + H5Fflush), so a
// kill at any moment leaves a readable file whose committed rows are all complete.
class ResultWriter {
 public:
  // Both take PATH.lock first (unless options.lock is off) and throw FileInUseError (status
  // 2, nothing touched) while another live msweep holds it.
  // Creates a new file; refuses an existing one unless overwrite (then it is replaced).
  static ResultWriter create(const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                             const WriterOptions& options, bool overwrite);
  // Reopens a file of the same job to add the missing tasks; rows past rows_committed (a
  // batch cut short by a kill) are dropped, and rows the journal holds beyond them are
  // restored. A file HDF5 cannot open is moved aside to PATH.damaged and rebuilt from the
  // journal. Rows are checked first: each committed row's id must lie in the grid (once) and in
  // its shard, and when the journal is usable every row must be in it with the same values;
  // a file that fails is rebuilt from the journal like an unreadable one (rows the journal
  // lacks are dropped). A file HDF5 refuses because another process holds it is in use, not
  // damaged (FileInUseError). Throws InputError if the layout is not compatible
  // (check_compatible; force waives the job identity). What had to be recovered is in
  // recovery(); the store prints nothing.
  static ResultWriter resume(const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                             const WriterOptions& options, bool force);

  ~ResultWriter();
  ResultWriter(ResultWriter&&) noexcept;

  // Tasks already stored (committed, or restored from the journal) when the writer was
  // opened: one bit per task id of the grid (empty after create), never a list of ids.
  const std::vector<bool>& stored_tasks() const;
  // The same bits, handed over once (stored_tasks() is empty afterwards): the run keeps its
  // own bit per task, and the writer need not hold a second copy for the whole run.
  std::vector<bool> take_stored_tasks();
  // What resume restored from the journal (nothing for create).
  const RecoveryReport& recovery() const;
  std::uint64_t rows_committed() const;
  std::uint64_t rows_buffered() const;

  void append(const std::vector<TaskResult>& results);
  bool flush_due() const;
  void flush();
  // Flushes, writes summaries and the final status (complete or interrupted), closes.
  // After complete the file is fsync'd and its journal removed (it is no longer needed).
  SummaryTable finish(RunStatus status, double wall_seconds);

 private:
  struct State;
  explicit ResultWriter(std::unique_ptr<State> state);
  // resume() once PATH.lock is held.
  static ResultWriter resume_holding(OutputLock lock, const std::string& path, const ResultLayout& layout,
                                     const RunProvenance& run, const WriterOptions& options, bool force);
  // resume() of a file HDF5 cannot open, or whose rows fail their checks: rebuilt from PATH.journal.
  static ResultWriter rebuild(OutputLock lock, const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                              const WriterOptions& options, const std::string& open_error);
  std::unique_ptr<State> state_;
};

}  // namespace msweep
