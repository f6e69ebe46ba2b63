// Recovery of a results file after an interruption or a kill: resume (drop rows past the
// commit mark, restore rows the journal holds beyond it), rebuild (a file HDF5 cannot open,
// from its journal) and seed_journal (a resumed file that has none). Prints nothing: what
// was recovered is returned in the writer's RecoveryReport.
#include <filesystem>
#include <optional>

#include "msweep/core/error.hpp"
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

}  // namespace

bool rebuildable_from_journal(const std::string& path, const ResultLayout& layout) {
  h5::silence_library_errors();
  std::error_code ec;
  if (!std::filesystem::exists(journal_path(path), ec)) return false;
  if (std::filesystem::exists(path, ec)) {
    try {
      ResultReader intact(path);
      return false;  // the file opens: resume uses it (and restores from the journal only what it lacks)
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
  journal = JournalWriter::create(journal_path(path), journal_header_of(layout));
  read_task_rows(file, layout, committed, path, kBlockRows, true, true, [&](std::vector<TaskRow>& block) {
    for (const auto& row : block) journal.add(row.result);
    journal.commit();
  });
}

// Rebuilds a results file HDF5 cannot open from its journal. Safe against a kill at any
// step: the journal is only read; the damaged file is moved aside (never deleted: it may
// still matter to someone); the new file is built under PATH.rebuilding and renamed into
// place only when complete. A kill before the rename leaves no PATH and the journal intact,
// so the next resume rebuilds again; after it, the next resume finds an intact file.
ResultWriter ResultWriter::rebuild(const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                                   const WriterOptions& options, const std::string& open_error) {
  RecoveryReport report;
  report.rebuilt = true;
  report.journal = journal_path(path);
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
  sync_file(building);
  std::filesystem::rename(building, path, ec);
  if (ec) throw StoreError(path + ": cannot move the rebuilt results file into place: " + ec.message());
  ResultWriter writer = resume(path, layout, run, options, false);
  writer.state_->recovery = report;
  return writer;
}

ResultWriter ResultWriter::resume(const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                                  const WriterOptions& options, bool force) {
  h5::silence_library_errors();
  OpenedFile opened;
  try {
    opened = open_results(path, true);
  } catch (const InputError& error) {
    // Only a journal of this very job may stand in for the file (force cannot vouch for it).
    if (options.journal && rebuildable_from_journal(path, layout)) return rebuild(path, layout, run, options, error.what());
    throw;
  }
  if (const auto mismatch = check_compatible(opened.layout, layout, layout.job_path, {.same_job = !force})) {
    std::string action = "cannot resume";
    if (mismatch->force_accepts) action = "use --force to resume it anyway";
    throw InputError(path + ": " + mismatch->reason + "; " + action);
  }
  const std::string stored_identity = job_identity(opened.layout);

  std::vector<bool> seen(grid_task_count(layout), false);
  std::vector<TaskId> stored;
  try {
    // A file HDF5 opens can still be damaged inside (a kill while HDF5 evicted metadata):
    // unreadable rows, or ids that make no sense. The journal then stands in, as above.
    read_task_rows(opened.file, opened.layout, opened.rows_committed, path, kBlockRows, false, false,
                   [&](std::vector<TaskRow>& block) {
                     for (const auto& row : block) {
                       const TaskId id = row.result.id;
                       if (id >= seen.size() || seen[id])
                         throw StoreError(path + ": damaged rows (task id " + std::to_string(id) + " out of the grid or stored twice)");
                       stored.push_back(id);
                       seen[id] = true;
                     }
                   });
  } catch (const StoreError& error) {
    const auto header = journal_header_if_readable(journal_path(path));
    if (!options.journal || !header || header->job_hash != job_identity(layout)) throw;
    opened.file.reset();  // closed before the file is moved aside
    return rebuild(path, layout, run, options, error.what());
  }
  auto state = std::make_unique<State>(path, layout, options, std::move(opened.file), opened.rows_committed);
  state->stored = std::move(stored);
  State& s = *state;
  // Rows past the commit mark come from a batch a kill cut short: drop them.
  h5::set_extent(s.tasks, s.committed, path + ": /tasks");
  for (auto& array : s.arrays) h5::set_extent(array, s.committed, path + ": /arrays");
  if (force) write_identity_attributes(s.file, path, layout);
  write_run_attributes(s.file, path, run);
  h5::flush(s.file, path);
  ResultWriter writer(std::move(state));
  if (!options.journal) return writer;

  // The journal was fsync'd before each HDF5 flush, so it may hold rows the kill kept
  // from the file: restore them instead of running those tasks again.
  const std::string journal = journal_path(path);
  const auto header = journal_header_if_readable(journal);
  const bool usable = header && header->job_hash == stored_identity && header->shard_index == layout.shard_index &&
                      header->shard_count == layout.shard_count;
  std::uint64_t valid_bytes = 0;
  if (usable) {
    s.recovery.journal = journal;
    valid_bytes = scan_journal(journal, [&](TaskResult&& row) {
                    if (row.id >= seen.size() || seen[row.id] || !in_shard(layout, row.id)) return;
                    seen[row.id] = true;
                    s.stored.push_back(row.id);
                    s.buffer(row);
                    ++s.recovery.rows_restored;
                  }).valid_bytes;
  }
  writer.flush();  // restored rows are already in the journal (none is open yet): HDF5 only
  const bool finished = s.committed >= shard_task_count(layout);
  if (usable && stored_identity == job_identity(layout))
    s.journal = JournalWriter::reopen(journal, valid_bytes);
  else if (!finished)  // no journal, or one under the old job text (--force): start one from the file
    s.seed_journal();
  return writer;
}

}  // namespace msweep
