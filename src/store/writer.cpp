// ResultWriter: create a results file, buffer results, flush them durably, finish.
// (Resume and rebuild are in recovery.cpp.)
#include <filesystem>
#include <limits>
#include <utility>

#include "durable.hpp"
#include "fault_injection.hpp"
#include "msweep/core/error.hpp"
#include "results_file.hpp"
#include "summaries.hpp"
#include "writer_state.hpp"

namespace msweep {

using namespace store_detail;

JournalHeader journal_header_of(const ResultLayout& layout) {
  return {job_identity(layout), layout.shard_index, layout.shard_count};
}

std::string journal_path(const std::string& results_path) { return results_path + ".journal"; }

ResultWriter::State::State(const std::string& path_, const ResultLayout& layout_, const WriterOptions& options_, h5::Handle file_,
                           const RunState& run_state_)
    : path(path_),
      layout(layout_),
      grid(layout_.axes),
      options(options_),
      codec(std::make_unique<RowCodec>(layout_, path_)),
      row_transfer(codec->row_size(), path_ + ": /tasks"),
      file(std::move(file_)),
      committed(run_state_.rows_committed),
      run_state(run_state_) {
  tasks = h5::open_dataset(file, "tasks", path);
  state_dataset = RunStateDataset(file, path);
  h5::Handle group = h5::open_group(file, "arrays", path);
  for (const auto& array : layout.arrays) {
    arrays.push_back(h5::open_dataset(group, array.name, path));
    array_elements.push_back(elements_of(array));
  }
  array_rows.assign(layout.arrays.size(), {});
  coordinates.resize(layout.axes.size());
}

void ResultWriter::State::buffer(const TaskResult& result) {
  if (buffered == 0) oldest_buffered.reset();
  const bool ok = result.status == TaskStatus::ok;
  if (ok && result.metrics.size() != layout.metrics.size())
    throw StoreError(path + ": task " + std::to_string(result.id) + " returned " + std::to_string(result.metrics.size()) +
                     " metrics, the experiment declared " + std::to_string(layout.metrics.size()));
  if (result.id >= grid.size()) throw StoreError(path + ": task id " + std::to_string(result.id) + " outside the grid");
  grid.coordinates(result.id, coordinates);
  // Flushed rows are committed in the order they are buffered: the summaries see file order.
  if (summary) summary->add(coordinates, ok, result.metrics);
  // No error text is a null string, not "": HDF5 1.10 stores every non-null variable-length
  // string as an object in a global heap, rewritten as the heap grows. That cost ~600 bytes
  // per row in small flushes, and SWMR readers caught heap collections reaching past the end
  // of the file they knew ("actual len exceeds EOA"); null strings touch no heap.
  const char* error = result.error.empty() ? nullptr : errors.emplace_back(result.error).c_str();
  const std::size_t at = rows.size();
  rows.resize(at + codec->row_size());
  codec->encode(rows.data() + at, result, error);
  for (std::size_t a = 0; a < arrays.size(); ++a) {
    auto& out = array_rows[a];
    const std::size_t n = array_elements[a];
    if (ok && a < result.arrays.size() && result.arrays[a].size() == n)
      out.insert(out.end(), result.arrays[a].begin(), result.arrays[a].end());
    else if (ok)
      throw StoreError(path + ": task " + std::to_string(result.id) + " returned array " + layout.arrays[a].name +
                       " with the wrong number of values");
    else
      out.insert(out.end(), n, std::numeric_limits<double>::quiet_NaN());
  }
  ++buffered;
}

void ResultWriter::State::start_swmr() {
  h5::flush(file, path);
  h5::start_swmr_write(file, path);
}

void ResultWriter::State::write_streamed_summaries() {
  write_summaries(file, *summary, path);
  run_state.summarized_rows = committed;
  state_dataset.write(run_state);
  since_summaries.reset();
}

ResultWriter::ResultWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
ResultWriter::~ResultWriter() = default;
ResultWriter::ResultWriter(ResultWriter&&) noexcept = default;

ResultWriter ResultWriter::create(const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                                  const WriterOptions& options, bool overwrite) {
  h5::silence_library_errors();
  // Before anything at PATH is touched: a second writer must not replace a live file.
  OutputLock lock = options.lock ? OutputLock::acquire(path) : OutputLock();
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    if (!overwrite) throw InputError(path + ": output file exists (use --resume to continue it, or --force to replace it)");
    std::filesystem::remove(path, ec);
    if (ec) throw InputError(path + ": cannot remove the existing output file: " + ec.message());
  }
  // The skeleton is built under a temporary name and renamed into place once flushed and
  // closed: a kill during creation leaves no file at `path` rather than a damaged one.
  const std::string creating = path + ".creating";
  std::filesystem::remove(creating, ec);
  const RowCodec codec(layout, path);
  h5::Handle file;
  try {
    file = h5::create_file(creating);
  } catch (const StoreError& error) {
    throw InputError(path + ": cannot create the output file: " + error.what());
  }
  write_skeleton(file, path, layout, run, codec.type(), codec.row_size());
  file.close(creating);
  replace_durably(creating, path, "the new results file");

  // In SWMR mode from the moment the file has its name: readers are never refused.
  h5::Handle reopened = h5::open_file(path, true, true);
  const RunState run_state = read_run_state(reopened, path);
  auto state = std::make_unique<State>(path, layout, options, std::move(reopened), run_state);
  state->recovery.stale_lock = lock.stale_note();
  state->lock = std::move(lock);
  state->summary = streaming_summary(layout);
  if (options.journal) state->journal = JournalWriter::create(journal_path(path), journal_header_of(layout));
  return ResultWriter(std::move(state));
}

const std::vector<bool>& ResultWriter::stored_tasks() const { return state_->stored; }
std::vector<bool> ResultWriter::take_stored_tasks() { return std::exchange(state_->stored, {}); }
std::uint64_t ResultWriter::rows_committed() const { return state_->committed; }
std::uint64_t ResultWriter::rows_buffered() const { return state_->buffered; }
const RecoveryReport& ResultWriter::recovery() const { return state_->recovery; }

void ResultWriter::append(const std::vector<TaskResult>& results) {
  State& s = *state_;
  for (const auto& result : results) {
    s.buffer(result);
    if (s.journal) s.journal.add(result);
  }
  if (s.options.flush_rows > 0 && s.buffered >= s.options.flush_rows) flush();
}

bool ResultWriter::flush_due() const {
  return state_->buffered > 0 && state_->oldest_buffered.seconds() >= state_->options.flush_seconds;
}

void ResultWriter::flush() {
  State& s = *state_;
  if (s.buffered == 0) return;
  // Step 0: the journal record, fsync'd. From here on the rows survive whatever happens to
  // the HDF5 file (a resume restores them from the journal).
  if (s.journal) s.journal.commit();
  // Step 1: the rows themselves, made durable before anything points at them.
  h5::write_rows(s.tasks, s.codec->type(), s.committed, s.buffered, s.rows.data(), s.path + ": /tasks", &s.row_transfer);
  for (std::size_t a = 0; a < s.arrays.size(); ++a)
    h5::write_rows(s.arrays[a], H5T_NATIVE_DOUBLE, s.committed, s.buffered, s.array_rows[a].data(), s.path + ": /arrays");
  fault_point("flush.rows");  // test-only (fault_injection.hpp)
  h5::flush(s.file, s.path);
  // Step 2: the commit mark (/state's rows_committed). A kill before this flush leaves the
  // old mark, and the rows written in step 1 are ignored by readers and dropped by resume.
  // `committed` advances only once the mark is durable: if any step throws, the rows stay
  // buffered and a retry (finish() flushes again) writes them at the same offset, never a
  // second time further on.
  RunState next = s.run_state;
  next.rows_committed = s.committed + s.buffered;
  next.updated = iso8601_utc(unix_time_now());
  fault_point("flush.mark");
  s.state_dataset.write(next);
  fault_point("flush.mark_flush");
  h5::flush(s.file, s.path);
  s.run_state = next;
  s.committed = next.rows_committed;
  s.rows.clear();
  s.errors.clear();
  for (auto& buffer : s.array_rows) buffer.clear();
  s.buffered = 0;
  // Step 3, now and then: the summaries of every committed row, for live and killed files.
  // They are a convenience, not a commitment (resume recomputes them from the rows).
  if (s.summary && s.since_summaries.seconds() >= s.options.summary_seconds) {
    s.write_streamed_summaries();
    h5::flush(s.file, s.path);
  }
}

SummaryTable ResultWriter::finish(RunStatus status, double wall_seconds) {
  State& s = *state_;
  require(status != RunStatus::running, "ResultWriter::finish", "status", "complete or interrupted");
  flush();
  // Summaries are those of the stored rows in file order (streamed as they were committed,
  // or computed from the file when they could not stream), so resume and merge agree with
  // a plain run. Written a block of groups at a time, and the accumulators released before
  // the table is read back for the caller: the master never holds two copies of them.
  if (s.summary)
    write_summaries(s.file, *s.summary, s.path);
  else
    for_each_summary_window(s.file, s.layout, s.committed, s.path,
                            [&](const SummaryBuilder& window) { write_summaries(s.file, window, s.path); });
  s.summary.reset();
  s.run_state.summarized_rows = s.committed;
  s.run_state.status = status;
  s.run_state.finished = iso8601_utc(unix_time_now());
  s.run_state.updated = s.run_state.finished;
  s.run_state.wall_seconds = wall_seconds;
  s.state_dataset.write(s.run_state);
  h5::flush(s.file, s.path);
  SummaryTable table = read_summaries(s.file, s.layout, s.path);
  s.tasks.reset();
  s.arrays.clear();
  s.state_dataset.close();
  s.file.close(s.path);
  if (s.journal) {
    s.journal.close();
    // A complete file no longer needs its journal (which would double the disk used); an
    // interrupted one keeps it for the next resume.
    if (status == RunStatus::complete) {
      sync_file(s.path);
      std::error_code ec;
      std::filesystem::remove(journal_path(s.path), ec);
      if (ec) throw StoreError(journal_path(s.path) + ": cannot remove the journal of the complete file: " + ec.message());
    }
  }
  s.lock.release();
  return table;
}

}  // namespace msweep
