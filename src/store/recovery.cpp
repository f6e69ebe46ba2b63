// Recovery of a results file after an interruption or a kill: resume (drop rows past the
// commit mark, restore rows the journal holds beyond it), rebuild (a file HDF5 cannot open,
// from its journal) and seed_journal (a resumed file that has none). Prints nothing: what
// was recovered is returned in the writer's RecoveryReport.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>

#include "durable.hpp"
#include "msweep/core/error.hpp"
#include "msweep/core/random.hpp"
#include "msweep/core/timer.hpp"
#include "summaries.hpp"
#include "results_file.hpp"
#include "writer_state.hpp"

namespace msweep {

using namespace store_detail;

namespace {

constexpr std::size_t kBlockRows = 65536;

// The header of the journal at `journal`, or nothing when it is missing or its header is
// damaged (a damaged header holds nothing we can trust).
std::optional<JournalHeader> journal_header_if_readable(const std::string& journal) {
  std::error_code ec;
  if (!std::filesystem::exists(journal, ec)) return std::nullopt;
  try {
    return read_journal_header(journal);
  } catch (const InputError&) {
    return std::nullopt;
  }
}

// What must agree between a stored row and its journal copy (the error text is not read
// back for the check, and a failed task's metrics are NaN in the file, absent in the journal).
std::uint64_t row_fingerprint(const TaskResult& row) {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  auto mix = [&h](std::uint64_t value) {
    h ^= value + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  };
  auto bits = [](double value) {
    std::uint64_t out = 0;
    std::memcpy(&out, &value, sizeof out);
    return out;
  };
  mix(row.id);
  mix(static_cast<std::uint64_t>(row.status));
  mix(bits(row.wall_seconds));
  mix(static_cast<std::uint64_t>(static_cast<std::uint32_t>(row.rank)));
  if (row.status == TaskStatus::ok)
    for (double value : row.metrics) mix(bits(value));
  return h;
}

// The digest `digest` extended by `row`: equal digests mean equal sequences of rows (up to
// a 64-bit collision, the same odds as the fingerprint comparison itself).
std::uint64_t chain_digest(std::uint64_t digest, const TaskResult& row) {
  return mix64(digest ^ mix64(row_fingerprint(row) + 0x9e3779b97f4a7c15ULL));
}

// The check when the journal does not hold the stored rows in the file's order: every stored
// row must be in the journal with the same values, in any order. Holds 16 bytes per stored
// row while it runs. Fills `restore` (and marks `seen`) with the journal's rows the file
// lacks; returns the damage found, or "".
std::string check_rows_by_fingerprint(const OpenedFile& opened, const std::string& path, const std::string& journal,
                                      const ResultLayout& layout, std::vector<bool>& seen, std::vector<TaskResult>& restore) {
  struct Fingerprint {
    TaskId id;
    std::uint64_t value;
    bool operator<(const Fingerprint& other) const { return id < other.id; }
  };
  std::vector<Fingerprint> fingerprints;
  fingerprints.reserve(opened.state.rows_committed);
  read_task_rows(opened.file, opened.layout, opened.state.rows_committed, path, kBlockRows, false, false,
                 [&](std::vector<TaskRow>& block) {
                   for (const auto& row : block) fingerprints.push_back({row.result.id, row_fingerprint(row.result)});
                 });
  std::sort(fingerprints.begin(), fingerprints.end());
  std::vector<bool> confirmed(fingerprints.size(), false);
  scan_journal(journal, [&](TaskResult&& row) {
    if (row.id >= seen.size() || !in_shard(layout, row.id)) return;
    if (const auto found = std::lower_bound(fingerprints.begin(), fingerprints.end(), Fingerprint{row.id, 0});
        found != fingerprints.end() && found->id == row.id) {
      if (row_fingerprint(row) == found->value) confirmed[static_cast<std::size_t>(found - fingerprints.begin())] = true;
      return;
    }
    if (seen[row.id]) return;
    seen[row.id] = true;
    restore.push_back(std::move(row));
  });
  const auto missing = std::find(confirmed.begin(), confirmed.end(), false);
  if (missing == confirmed.end()) return "";
  const auto count = std::count(confirmed.begin(), confirmed.end(), false);
  const TaskId first = fingerprints[static_cast<std::size_t>(missing - confirmed.begin())].id;
  return path + ": " + std::to_string(count) + " stored row" + (count == 1 ? "" : "s") + " not in " + journal +
         " or different there (first: task " + std::to_string(first) + ")";
}

}  // namespace

bool rebuildable_from_journal(const std::string& path, const ResultLayout& layout) {
  h5::silence_library_errors();
  std::error_code ec;
  if (!std::filesystem::exists(journal_path(path), ec)) return false;
  if (std::filesystem::exists(path, ec)) {
    try {
      ResultReader intact(path);
      return false;  // the file opens: resume uses it (and restores from the journal only what it lacks)
    } catch (const FileInUseError&) {
      throw;  // held by another process: in use, not damaged
    } catch (const FormatVersionError&) {
      throw;  // another msweep's format: not damaged, never rebuilt
    } catch (const LeftOpenError&) {
      return false;  // a killed resume's mark: resume's writable open clears it
    } catch (const InputError&) {
      // Damaged: the journal decides, below.
    }
  }
  try {
    return read_journal_header(journal_path(path)).job_hash == job_identity(layout);
  } catch (const InputError&) {
    return false;
  }
}

void ResultWriter::State::seed_journal() {
  // Written beside the old journal and renamed over it when complete: a kill meanwhile
  // leaves the old one (or none) in place, never a half-seeded one.
  journal = JournalWriter::create_unpublished(journal_path(path), journal_header_of(layout));
  read_task_rows(file, layout, committed, path, kBlockRows, true, true, [&](std::vector<TaskRow>& block) {
    for (const auto& row : block) journal.add(row.result);
    journal.commit();
  });
  journal.publish();
}

// Rebuilds a results file HDF5 cannot open (or whose rows fail their checks) from its
// journal. Safe against a kill at any
// step: the journal is only read; the damaged file is moved aside (never deleted: it may
// still matter to someone); the new file is built under PATH.rebuilding and renamed into
// place only when complete. A kill before the rename leaves no PATH and the journal intact,
// so the next resume rebuilds again; after it, the next resume finds an intact file.
ResultWriter ResultWriter::rebuild(OutputLock lock, const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                                   const WriterOptions& options, const std::string& open_error) {
  RecoveryReport report;
  report.rebuilt = true;
  report.journal = journal_path(path);
  report.stale_lock = lock.stale_note();
  const JournalHeader header = read_journal_header(report.journal);
  if (header.shard_index != layout.shard_index || header.shard_count != layout.shard_count)
    throw InputError(report.journal + ": journal of shard " + std::to_string(header.shard_index) + "/" +
                     std::to_string(header.shard_count) + ", not of the requested shard " + std::to_string(layout.shard_index) +
                     "/" + std::to_string(layout.shard_count));
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::string aside = path + ".damaged";
    for (int n = 2; std::filesystem::exists(aside, ec); ++n) aside = path + ".damaged-" + std::to_string(n);
    std::filesystem::rename(path, aside, ec);
    if (ec) throw StoreError(path + ": cannot move the damaged results file aside: " + ec.message());
    report.damage = open_error;
    report.damaged_copy = aside;
  } else {
    report.damage = path + ": missing";
  }

  const std::string building = path + ".rebuilding";
  {
    WriterOptions building_options = options;
    building_options.journal = false;  // PATH.journal already holds every row
    building_options.lock = false;     // PATH.lock covers PATH.rebuilding
    building_options.flush_rows = kBlockRows;
    ResultWriter writer = ResultWriter::create(building, layout, run, building_options, true);
    std::vector<bool> seen(grid_task_count(layout), false);
    scan_journal(report.journal, [&](TaskResult&& row) {
      if (row.id >= seen.size() || seen[row.id] || !in_shard(layout, row.id)) return;
      seen[row.id] = true;
      ++report.rows_restored;
      writer.append({std::move(row)});
    });
    writer.finish(RunStatus::interrupted, 0.0);
  }
  replace_durably(building, path, "the rebuilt results file");
  ResultWriter writer = resume_holding(std::move(lock), path, layout, run, options, false);
  writer.state_->recovery = report;
  return writer;
}

ResultWriter ResultWriter::resume(const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                                  const WriterOptions& options, bool force) {
  h5::silence_library_errors();
  // Before the file is opened for writing, moved aside or rebuilt: never under a live writer.
  OutputLock lock = options.lock ? OutputLock::acquire(path) : OutputLock();
  return resume_holding(std::move(lock), path, layout, run, options, force);
}

ResultWriter ResultWriter::resume_holding(OutputLock lock, const std::string& path, const ResultLayout& layout,
                                          const RunProvenance& run, const WriterOptions& options, bool force) {
  OpenedFile opened;
  try {
    opened = open_results(path, true);
  } catch (const FileInUseError&) {
    throw;  // another process holds HDF5's lock on it: in use, not damaged
  } catch (const FormatVersionError&) {
    throw;  // another msweep's format: not damaged, never rebuilt
  } catch (const InputError& error) {
    // Only a journal of this very job may stand in for the file (force cannot vouch for it).
    if (options.journal && rebuildable_from_journal(path, layout))
      return rebuild(std::move(lock), path, layout, run, options, error.what());
    throw;
  }
  if (const auto mismatch = check_compatible(opened.layout, layout, layout.job_path, {.same_job = !force})) {
    std::string action = "cannot resume";
    if (mismatch->force_accepts) action = "use --force to resume it anyway";
    throw InputError(path + ": " + mismatch->reason + "; " + action);
  }
  const std::string stored_identity = job_identity(opened.layout);
  const std::string journal = journal_path(path);
  const auto header = options.journal ? journal_header_if_readable(journal) : std::nullopt;
  const bool same_shard = header && header->shard_index == layout.shard_index && header->shard_count == layout.shard_count;
  // usable: the journal of the rows in this file; rebuildable: of the job being run.
  const bool usable = same_shard && header->job_hash == stored_identity;
  const bool rebuildable = same_shard && header->job_hash == job_identity(layout);

  // The rows are checked before anything is written. HDF5 is not fsync'd per flush: after a
  // crash the commit mark can survive while rows do not (an all-zero row reads as an ok
  // task 0), and a kill while HDF5 evicted metadata can leave rows that make no sense.
  const TaskGrid grid(layout.axes);
  // One bit per task of the grid: stored in the file (then restored from the journal too).
  std::vector<bool> seen(grid.size(), false);
  // The journal holds the file's rows in the file's order (both are written in commit order,
  // the journal first), then any the kill kept from the file. So the stored rows are checked
  // against the journal's first ones by one order-dependent digest of each side: nothing per
  // row is held (at 131M rows a sorted list of fingerprints took 2 GB). When the digests
  // differ, a per-row comparison that ignores order decides (check_rows_by_fingerprint).
  std::uint64_t file_digest = 0;
  // The summaries go on from the stored rows, taken in file order like everything after them.
  std::optional<SummaryBuilder> summary = streaming_summary(layout);
  std::string damage;
  try {
    std::uint64_t at = 0;
    read_task_rows(opened.file, opened.layout, opened.state.rows_committed, path, kBlockRows, false, false,
                   [&](std::vector<TaskRow>& block) {
                     for (const auto& row : block) {
                       const TaskId id = row.result.id;
                       if (id >= seen.size() || seen[id] || !in_shard(layout, id)) {
                         const std::string where = path + ": damaged rows (row " + std::to_string(at) + ", task " + std::to_string(id);
                         if (id >= seen.size() || seen[id]) throw StoreError(where + ": out of the grid or stored twice)");
                         throw StoreError(where + ": not of shard " + std::to_string(layout.shard_index) + "/" +
                                          std::to_string(layout.shard_count) + ")");
                       }
                       ++at;
                       if (usable) file_digest = chain_digest(file_digest, row.result);
                       seen[id] = true;
                       if (summary) summary->add(row.coordinates, row.result.status == TaskStatus::ok, row.result.metrics);
                     }
                   });
  } catch (const StoreError& error) {
    damage = error.what();
  }

  // Every stored row must be in the journal with the same values; journal rows the file
  // lacks (a kill between the journal and the commit mark) are restored.
  std::vector<TaskResult> restore;
  JournalScan scan;
  if (usable && damage.empty()) {
    const std::uint64_t committed = opened.state.rows_committed;
    std::uint64_t journal_rows = 0, journal_digest = 0;
    scan = scan_journal(journal, [&](TaskResult&& row) {
      if (row.id >= seen.size() || !in_shard(layout, row.id)) return;
      if (journal_rows < committed) {
        journal_digest = chain_digest(journal_digest, row);
        ++journal_rows;
        return;
      }
      if (seen[row.id]) return;
      seen[row.id] = true;
      restore.push_back(std::move(row));
    });
    if (journal_rows < committed || journal_digest != file_digest) {
      for (const auto& row : restore) seen[row.id] = false;
      restore.clear();
      damage = check_rows_by_fingerprint(opened, path, journal, layout, seen, restore);
    }
  }
  if (!damage.empty()) {
    if (!rebuildable)
      throw InputError(damage + "; no journal of this job to rebuild it from (" + journal + "): cannot resume");
    opened.file.reset();  // closed before the file is moved aside
    return rebuild(std::move(lock), path, layout, run, options, damage);
  }

  auto state = std::make_unique<State>(path, layout, options, std::move(opened.file), opened.state);
  state->recovery.stale_lock = lock.stale_note();
  state->lock = std::move(lock);
  state->stored = std::move(seen);  // the file's rows and those restored below
  state->summary = std::move(summary);
  State& s = *state;
  // Rows past the commit mark come from a batch a kill cut short: drop them.
  h5::set_extent(s.tasks, s.committed, path + ": /tasks");
  for (auto& array : s.arrays) h5::set_extent(array, s.committed, path + ": /arrays");
  if (force) write_identity_attributes(s.file, path, layout);
  write_run_attributes(s.file, path, run);
  s.run_state.status = RunStatus::running;
  s.run_state.finished.clear();
  s.run_state.updated = iso8601_utc(unix_time_now());
  s.state_dataset.write(s.run_state);
  h5::flush(s.file, path);
  ResultWriter writer(std::move(state));
  if (!options.journal) {
    s.start_swmr();
    return writer;
  }

  // The journal was fsync'd before each HDF5 flush, so it may hold rows the kill kept
  // from the file: restore them instead of running those tasks again.
  if (usable) {
    s.recovery.journal = journal;
    for (const auto& row : restore) {
      s.buffer(row);
      ++s.recovery.rows_restored;
    }
  }
  writer.flush();  // restored rows are already in the journal (none is open yet): HDF5 only
  const bool finished = s.committed >= shard_task_count(layout);
  if (usable && stored_identity == job_identity(layout) && header->version == kJournalVersion)
    s.journal = JournalWriter::reopen(journal, scan.valid_bytes);
  else if (!finished)  // no journal, an older format, or one under the old job text (--force): start one from the file
    s.seed_journal();
  s.start_swmr();
  return writer;
}

}  // namespace msweep
