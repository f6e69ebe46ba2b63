#include "job_setup.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "msweep/core/error.hpp"
#include "msweep/store/output_lock.hpp"

namespace msweep::app {
namespace {

// What the user can do about an existing output file that does not fit the job.
std::string way_out(const Incompatibility& mismatch, bool forced) {
  const std::string elsewhere = "write to a new file with -o NEW.h5, or delete or rename the old one";
  if (mismatch.rule == Incompatibility::Rule::shard) return "cannot resume";
  if (mismatch.force_accepts && !forced) return "use --resume --force to continue it anyway, or " + elsewhere;
  return elsewhere;
}

// What the wanted identity comes from, for messages: the job file, and the --set overrides
// when there are any (a changed key may come from either).
// An error's text without its leading "PATH: ", for messages that name the path themselves.
std::string reason_without_path(const std::exception& error, const std::string& path) {
  std::string reason = error.what();
  if (reason.rfind(path + ": ", 0) == 0) reason.erase(0, path.size() + 2);
  return reason;
}

std::string job_source(const JobSpec& spec) {
  std::string source = spec.path;
  for (std::size_t i = 0; i < spec.overrides.size(); ++i) source += (i == 0 ? " with --set " : ", ") + spec.overrides[i];
  return source;
}

}  // namespace

PreparedJob prepare_job(const std::string& job_path, const std::vector<std::string>& overrides, const DataSource& source) {
  PreparedJob job;
  job.spec = load_job(job_path, overrides);
  job.experiment = make_experiment(job.spec, source);
  job.spec.reject_unknown_keys();
  ResultLayout& layout = job.layout;
  layout.job_name = job.spec.name;
  layout.experiment = job.spec.kind;
  layout.job_path = job.spec.path;
  layout.job_text = job.spec.text;
  layout.resolved_job = job.spec.resolved_json();  // complete: the experiment has read its keys
  layout.overrides = job.spec.overrides;
  layout.inputs = job.experiment->inputs();  // the data files' fingerprints: part of the job's identity
  layout.job_seed = job.spec.seed;
  layout.axes = job.experiment->grid().axes();
  layout.metrics = job.experiment->metrics();
  layout.arrays = job.experiment->arrays();
  return job;
}

void check_output_file_name(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path output(path);
  const std::string name = output.filename().string();
  // "dir/", "dir/." and "dir/.." name directories even when they do not exist yet.
  if (fs::is_directory(output, ec) || name.empty() || name == "." || name == "..")
    throw InputError(path + ": output path is a directory (expected the path of a results file, e.g. results/job.h5)");
}

namespace {

// Same file: equivalent() when both exist, else the same absolute normalized path.
bool same_file(const std::string& a, const std::string& b) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) {
    const bool same = fs::equivalent(a, b, ec);
    if (!ec) return same;
  }
  const fs::path left = fs::weakly_canonical(fs::absolute(a, ec), ec);
  const fs::path right = fs::weakly_canonical(fs::absolute(b, ec), ec);
  return left.lexically_normal() == right.lexically_normal();
}

}  // namespace

void check_output_spares_inputs(const std::string& output, const std::vector<ReadFile>& read) {
  const std::pair<std::string, std::string> written[] = {
      {output, ""}, {journal_path(output), " (its journal " + journal_path(output) + ")"},
      {lock_path(output), " (its lock file " + lock_path(output) + ")"}};
  for (const auto& [path, beside] : written)
    for (const auto& file : read)
      if (same_file(path, file.path))
        throw InputError(output + ": the output" + beside + " would replace " + file.path + ", " + file.role +
                         " (expected a results file path that is not one of the files read)");
}

std::vector<ReadFile> files_read_by(const PreparedJob& job) {
  std::vector<ReadFile> read = {{job.spec.path, "the job file"}};
  for (const auto& input : job.layout.inputs) read.push_back({input.path, "a data file of the job"});
  return read;
}

std::vector<std::string> create_parent_directories(const std::string& output) {
  namespace fs = std::filesystem;
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path dir = fs::absolute(output, ec).parent_path(); !dir.empty() && !fs::exists(dir, ec); dir = dir.parent_path()) {
    missing.push_back(dir);
    if (dir == dir.parent_path()) break;
  }
  // missing[0] is the deepest: create from the back, undo from the deepest made.
  std::vector<std::string> made;
  for (std::size_t i = missing.size(); i-- > 0;) {
    if (fs::create_directory(missing[i], ec) || !ec) {
      made.push_back(missing[i].string());
      continue;
    }
    const std::string reason = ec.message();
    remove_created_directories(made);
    throw InputError(output + ": cannot create the directory " + missing[i].string() + ": " + reason);
  }
  return made;
}

void remove_created_directories(const std::vector<std::string>& made) {
  std::error_code ec;
  for (auto dir = made.rbegin(); dir != made.rend(); ++dir)
    if (!std::filesystem::remove(*dir, ec)) return;  // not empty (or gone): keep it and those above
}

OutputMode check_output(const std::string& path, const PreparedJob& job, bool resume, bool force) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path output(path);
  check_output_file_name(path);
  check_output_spares_inputs(path, files_read_by(job));
  const bool journal = fs::exists(journal_path(path), ec);
  if (resume && journal && rebuildable_from_journal(path, job.layout)) {
    // The file is missing or HDF5 cannot open it, but its journal holds this job's rows.
    if (access(journal_path(path).c_str(), R_OK) != 0) throw InputError(journal_path(path) + ": journal is not readable");
    return OutputMode::resume;
  }
  if (fs::exists(output, ec)) {
    if (resume) {
      // Validate now, before MPI starts, by the rules resume applies (store/layout.hpp). A file
      // a killed resume left open outside SWMR mode cannot be read here; resume itself checks it.
      std::optional<Incompatibility> mismatch;
      try {
        mismatch = check_compatible(ResultReader(path).layout(), job.layout, job_source(job.spec), {.same_job = !force});
      } catch (const LeftOpenError&) {
      } catch (const FileInUseError&) {
        throw;
      } catch (const FormatVersionError&) {
        throw;  // not damaged: its own message says what to do
      } catch (const InputError& error) {
        // Damaged, and (checked above) no journal of this job can rebuild it.
        throw InputError(path + ": " + reason_without_path(error, path) + "; no journal of this job to rebuild it from (" +
                         journal_path(path) + "): write to a new file with -o NEW.h5, or replace it with --force (without --resume)");
      }
      if (mismatch) throw InputError(path + ": " + mismatch->reason + "; " + way_out(*mismatch, force));
      if (access(path.c_str(), W_OK) != 0) throw InputError(path + ": results file is not writable");
      return OutputMode::resume;
    }
    if (!force) {
      // Say at once when the file holds another job, instead of sending the user to
      // --resume (which would refuse it) and --force (which may refuse it too).
      std::optional<Incompatibility> mismatch;
      try {
        mismatch = check_compatible(ResultReader(path).layout(), job.layout, job_source(job.spec));
      } catch (const LeftOpenError&) {
      } catch (const FileInUseError&) {
      } catch (const FormatVersionError&) {
        // readable, just not here: the plain message below fits
      } catch (const InputError& error) {
        // Damaged: --resume helps only when a journal of this job can rebuild it.
        throw InputError(path + ": output file exists but " + reason_without_path(error, path) + "; " +
                         (journal && rebuildable_from_journal(path, job.layout)
                              ? "use --resume to rebuild it from its journal " + journal_path(path) + ", or "
                              : std::string()) +
                         "write to a new file with -o NEW.h5, or replace it with --force");
      }
      if (mismatch && mismatch->rule != Incompatibility::Rule::shard)
        throw InputError(path + ": output file exists and " + mismatch->reason + "; " + way_out(*mismatch, false));
      throw InputError(path + ": output file exists (use --resume to continue it, or --force to replace it)");
    }
    if (access(path.c_str(), W_OK) != 0) throw InputError(path + ": existing output file is not writable");
    return OutputMode::replace;
  }
  // A journal without its file holds finished tasks: only --resume (rebuild) or --force may touch it.
  if (journal && !force && resume)  // --resume was given, and the journal cannot rebuild this job's file
    throw InputError(journal_path(path) + ": a journal exists but " + path +
                     " does not, and the journal cannot rebuild it (it is damaged or belongs to another job); "
                     "use --force to discard it");
  if (journal && !force)
    throw InputError(journal_path(path) + ": a journal of finished tasks exists but " + path +
                     " does not; use --resume to rebuild the file from it (or --force to discard it)");
  // The nearest existing ancestor must be a writable directory; missing ones are made later.
  fs::path ancestor = fs::absolute(output, ec).parent_path();
  while (!ancestor.empty() && !fs::exists(ancestor, ec)) ancestor = ancestor.parent_path();
  if (!fs::is_directory(ancestor, ec))
    throw InputError(path + ": cannot create the output file: " + ancestor.string() + " is not a directory");
  if (access(ancestor.c_str(), W_OK) != 0)
    throw InputError(path + ": cannot create the output file: directory " + ancestor.string() + " is not writable");
  return resume ? OutputMode::resume_or_create : OutputMode::create;
}

std::string describe_existing_output(const std::string& path, const PreparedJob& job) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string journal = journal_path(path);
  if (!fs::exists(path, ec))
    return fs::exists(journal, ec) ? "absent, but its journal " + journal +
                                         " exists: --resume rebuilds the file from it (if it holds this job), --force discards it"
                                   : "";
  const std::string replace = "-o NEW.h5 writes elsewhere, or --force replaces it";
  if (const std::string holder = live_lock_holder(path); !holder.empty())
    return "exists, being written by another msweep (" + holder + "; lock " + lock_path(path) +
           "): run refuses it until that one ends; -o NEW.h5 writes elsewhere";
  try {
    const ResultReader existing(path);
    if (const auto mismatch = check_compatible(existing.layout(), job.layout, job_source(job.spec)))
      return "exists and " + mismatch->reason + "; " +
             (mismatch->force_accepts ? "--resume --force continues it anyway, " : std::string()) + replace;
    const std::string stored = std::to_string(existing.rows_committed()) + " of " + std::to_string(existing.task_count()) +
                               " tasks stored, status " + run_status_name(existing.status());
    if (existing.status() == RunStatus::complete) return "exists, same job, complete: " + stored + "; " + replace;
    return "exists, same job: " + stored + "; --resume continues it, --force starts over";
  } catch (const LeftOpenError&) {
    return "exists, left open by a run that was killed while resuming it: --resume continues it";
  } catch (const InputError& error) {
    return "exists but cannot be read as this job's results: " + reason_without_path(error, path) + "; " +
           (fs::exists(journal, ec) ? "--resume rebuilds it from its journal if that holds this job; " : "") + replace;
  }
}

void apply_shard(const std::string& shard, PreparedJob& job) {
  if (shard.empty()) return;
  auto number = [&](const std::string& text, const std::string& what) -> std::uint64_t {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 18)
      throw InputError("--shard " + shard + ": " + what + " '" + text + "' is not a non-negative integer");
    return std::stoull(text);
  };
  std::uint64_t index = 0, count = 1;
  if (shard == "auto") {
    auto env = [&](const char* name) -> std::string {
      const char* value = std::getenv(name);
      if (!value) throw InputError(std::string("--shard auto: ") + name + " is not set (not inside a Slurm job array?)");
      return value;
    };
    const std::uint64_t id = number(env("SLURM_ARRAY_TASK_ID"), "SLURM_ARRAY_TASK_ID");
    const std::uint64_t min = number(env("SLURM_ARRAY_TASK_MIN"), "SLURM_ARRAY_TASK_MIN");
    const char* step_text = std::getenv("SLURM_ARRAY_TASK_STEP");
    const std::uint64_t step = step_text ? number(step_text, "SLURM_ARRAY_TASK_STEP") : 1;
    count = number(env("SLURM_ARRAY_TASK_COUNT"), "SLURM_ARRAY_TASK_COUNT");
    if (step == 0 || id < min || (id - min) % step != 0)
      throw InputError("--shard auto: SLURM_ARRAY_TASK_ID " + std::to_string(id) + " is not on the array's range");
    // Arrays with gaps (--array=0,3,7) cannot be mapped to shards: their COUNT misses the gaps.
    index = (id - min) / step;
  } else {
    const auto slash = shard.find('/');
    if (slash == std::string::npos) throw InputError("--shard " + shard + ": expected I/N (e.g. 0/4) or auto");
    index = number(shard.substr(0, slash), "index");
    count = number(shard.substr(slash + 1), "count");
  }
  if (count == 0 || index >= count)
    throw InputError("--shard " + shard + ": expected 0 <= I < N, got " + std::to_string(index) + "/" + std::to_string(count));
  if (count > job.experiment->grid().size())
    throw InputError("--shard " + shard + ": " + std::to_string(count) + " shards for a grid of only " +
                     std::to_string(job.experiment->grid().size()) + " tasks");
  job.layout.shard_index = index;
  job.layout.shard_count = count;
}

}  // namespace msweep::app
