// ResultLayout: identity, schema and compatibility of a results file, and its HDF5 form
// (root attributes, /axes, the declarations on /tasks and /arrays).
#include "msweep/store/layout.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>

#include "msweep/core/error.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/core/version.hpp"
#include "msweep/store/output_lock.hpp"
#include "results_file.hpp"
#include "summaries.hpp"

namespace msweep {
namespace {

constexpr const char* kFormatName = "msweep-results";

std::string shard_text(const ResultLayout& layout) {
  return std::to_string(layout.shard_index) + "/" + std::to_string(layout.shard_count);
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// Which part of the schema differs ("" when none): named so the user sees what changed.
std::string schema_difference(const ResultLayout& stored, const ResultLayout& wanted) {
  auto axis_names = [](const ResultLayout& layout) {
    std::vector<std::string> names;
    for (const auto& axis : layout.axes) names.push_back(axis.name);
    return names;
  };
  if (axis_names(stored) != axis_names(wanted))
    return "its axes (" + joined(axis_names(stored)) + ") differ from those of ";
  for (std::size_t i = 0; i < stored.axes.size(); ++i)
    if (!stored.axes[i].same_labels(wanted.axes[i])) return "the labels of its axis " + stored.axes[i].name + " differ from those of ";
  if (metric_names(stored) != metric_names(wanted))
    return "its metrics (" + joined(metric_names(stored)) + ") differ from those of ";
  auto arrays_of = [](const ResultLayout& layout) {
    std::vector<std::string> names;
    for (const auto& array : layout.arrays) {
      std::string shape;
      for (auto d : array.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
      names.push_back(array.name + "[" + shape + "]");
    }
    return names;
  };
  if (arrays_of(stored) != arrays_of(wanted)) return "its arrays (" + joined(arrays_of(stored)) + ") differ from those of ";
  return {};
}


// JSON as msweep writes it (resolved_job, inputs, overrides): just enough to read it back.
// Returns the raw text of the value starting at `at` (after spaces) and moves `at` past it.
std::string json_value(const std::string& text, std::size_t& at) {
  while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at;
  const std::size_t start = at;
  int depth = 0;
  bool in_string = false;
  for (; at < text.size(); ++at) {
    const char c = text[at];
    if (in_string) {
      if (c == '\\') ++at;
      else if (c == '"') {
        in_string = false;
        if (depth == 0) return text.substr(start, ++at - start);
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (depth == 0) break;  // the end of the enclosing container
      if (--depth == 0) return text.substr(start, ++at - start);
    } else if (c == ',' && depth == 0) {
      break;
    }
  }
  std::string value = text.substr(start, at - start);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  return value;
}

std::string json_unquote(const std::string& raw) {
  if (raw.size() < 2 || raw.front() != '"') return raw;
  std::string out;
  for (std::size_t i = 1; i + 1 < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 2 < raw.size()) {
      const char e = raw[++i];
      out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
    } else {
      out += raw[i];
    }
  }
  return out;
}

std::string json_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += std::string("\\") + c;
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20) out += ' ';
    else out += c;
  }
  return out + "\"";
}

// The items of a JSON array or the members of an object ({key, raw value}; key empty for arrays).
std::vector<std::pair<std::string, std::string>> json_items(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> items;
  std::size_t at = text.find_first_of("[{");
  if (at == std::string::npos) return items;
  const bool object = text[at] == '{';
  ++at;
  for (;;) {
    while (at < text.size() && (std::isspace(static_cast<unsigned char>(text[at])) || text[at] == ',')) ++at;
    if (at >= text.size() || text[at] == ']' || text[at] == '}') return items;
    std::string key;
    if (object) {
      key = json_unquote(json_value(text, at));
      at = text.find(':', at);
      if (at == std::string::npos) return items;
      ++at;
    }
    items.emplace_back(std::move(key), json_value(text, at));
  }
}

std::string inputs_json(const std::vector<InputFile>& inputs) {
  std::string out = "[";
  for (const auto& input : inputs)
    out += std::string(out.size() > 1 ? ", " : "") + "{\"path\": " + json_quote(input.path) + ", \"kind\": " + json_quote(input.kind) +
           ", \"bytes\": " + std::to_string(input.bytes) + ", \"digest\": " + json_quote(input.digest) + "}";
  return out + "]";
}

std::vector<InputFile> parse_inputs_json(const std::string& text) {
  std::vector<InputFile> inputs;
  for (const auto& [ignored, raw] : json_items(text)) {
    InputFile input;
    for (const auto& [key, value] : json_items(raw)) {
      if (key == "path") input.path = json_unquote(value);
      else if (key == "kind") input.kind = json_unquote(value);
      else if (key == "digest") input.digest = json_unquote(value);
      else if (key == "bytes") input.bytes = std::strtoull(value.c_str(), nullptr, 10);
    }
    inputs.push_back(std::move(input));
  }
  return inputs;
}

std::string strings_json(const std::vector<std::string>& strings) {
  std::string out = "[";
  for (const auto& text : strings) out += (out.size() > 1 ? ", " : "") + json_quote(text);
  return out + "]";
}

// "section.key" -> raw JSON value of a resolved_job text.
std::map<std::string, std::string> flat_job_keys(const std::string& resolved) {
  std::map<std::string, std::string> keys;
  for (const auto& [section, table] : json_items(resolved))
    for (const auto& [key, value] : json_items(table)) keys[section + "." + key] = value;
  return keys;
}

// Why the stored inputs differ from the wanted ones ("" when they do not). Content counts,
// not paths: a moved file with the same bytes is the same data.
std::string inputs_difference(const ResultLayout& stored, const ResultLayout& wanted, const std::string& wanted_source) {
  if (stored.inputs.size() != wanted.inputs.size()) {
    auto list = [](const std::vector<InputFile>& inputs) {
      std::string out;
      for (const auto& input : inputs) out += (out.empty() ? "" : ", ") + input.path;
      return out.empty() ? std::string("none") : out;
    };
    return "its data were read from " + std::to_string(stored.inputs.size()) + " file(s) (" + list(stored.inputs) + "), but " +
           wanted_source + " reads " + std::to_string(wanted.inputs.size()) + " (" + list(wanted.inputs) + ")";
  }
  for (std::size_t i = 0; i < stored.inputs.size(); ++i)
    if (!stored.inputs[i].same_content(wanted.inputs[i]))
      return "its input data changed: " + wanted.inputs[i].path + " is now " + std::to_string(wanted.inputs[i].bytes) + " bytes, " +
             wanted.inputs[i].digest + ", but the file's rows were computed from " + describe_input(stored.inputs[i]);
  return {};
}

}  // namespace

std::vector<std::string> metric_names(const ResultLayout& layout) {
  std::vector<std::string> names;
  for (const auto& metric : layout.metrics) names.push_back(metric.name);
  return names;
}

std::uint64_t grid_task_count(const ResultLayout& layout) {
  std::uint64_t n = 1;
  for (const auto& axis : layout.axes) n *= axis.size();
  return n;
}

std::uint64_t shard_task_count(const ResultLayout& layout) {
  const std::uint64_t total = grid_task_count(layout);
  return total / layout.shard_count + (layout.shard_index < total % layout.shard_count ? 1 : 0);
}

std::string job_hash(const std::string& job_text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : job_text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

std::string job_identity(const ResultLayout& layout) {
  // Files without input files keep the hash of the text alone, as before inputs were recorded.
  if (layout.inputs.empty()) return job_hash(layout.job_text);
  std::string identity = layout.job_text;
  for (const auto& input : layout.inputs) identity += '\0' + input.kind + ' ' + std::to_string(input.bytes) + ' ' + input.digest;
  return job_hash(identity);
}

std::vector<std::string> changed_job_keys(const std::string& stored_resolved, const std::string& wanted_resolved) {
  std::vector<std::string> changed;
  if (stored_resolved.empty() || wanted_resolved.empty()) return changed;
  auto shown = [](const std::string& value) {
    if (value.empty()) return std::string("(unset)");
    return value.size() <= 40 ? value : value.substr(0, 37) + "...";
  };
  auto stored = flat_job_keys(stored_resolved), wanted = flat_job_keys(wanted_resolved);
  for (const auto& [key, value] : wanted) stored.try_emplace(key);  // absent on one side: ""
  for (const auto& [key, value] : stored) {
    const std::string now = wanted.count(key) ? wanted.at(key) : std::string();
    if (value != now) changed.push_back(key + " " + shown(value) + " -> " + shown(now));
  }
  return changed;
}

const char* run_status_name(RunStatus status) {
  switch (status) {
    case RunStatus::running: return "running";
    case RunStatus::complete: return "complete";
    case RunStatus::interrupted: return "interrupted";
  }
  return "unknown";
}

RunStatus parse_run_status(const std::string& text, const std::string& context) {
  for (RunStatus status : {RunStatus::running, RunStatus::complete, RunStatus::interrupted})
    if (text == run_status_name(status)) return status;
  throw InputError(context + ": status '" + text + "' is not running, complete or interrupted (damaged file?)");
}

std::optional<Incompatibility> check_compatible(const ResultLayout& stored, const ResultLayout& wanted,
                                                const std::string& wanted_source, const CompatibilityRules& rules) {
  using Rule = Incompatibility::Rule;
  // The data first: no flag mixes rows computed from two data sets in one file.
  // Before 2026-11-27 a csv job with `[data] features` recorded no data files (the feature
  // selection dropped them): such a file says "none" where the job reads some, which is
  // "not recorded", not "other data", so --force may vouch for it as for older files.
  const bool stored_unrecorded = !stored.inputs_recorded || (stored.inputs.empty() && !wanted.inputs.empty());
  if (!stored_unrecorded && wanted.inputs_recorded) {
    if (const std::string difference = inputs_difference(stored, wanted, wanted_source); !difference.empty())
      return Incompatibility{Rule::inputs, difference, false};
  } else if (!stored.inputs.empty() || !wanted.inputs.empty()) {
    const ResultLayout& recorded = stored_unrecorded ? wanted : stored;
    const std::string reason = "was written before msweep recorded input data, so " +
                               (recorded.inputs.empty() ? std::string("its data") : describe_input(recorded.inputs.front())) +
                               (recorded.inputs.size() > 1 ? " and the others" : "") + " cannot be checked against it";
    if (rules.same_job) return Incompatibility{Rule::inputs, reason, true};
    // resume --force: the user vouches for the data; the keys are still checked below.
  }
  // The inputs are equal (or vouched for) here, so the identities differ when the texts do.
  if (stored.job_text != wanted.job_text) {
    const auto changed = changed_job_keys(stored.resolved_job, wanted.resolved_job);
    std::vector<std::string> result_keys;
    for (const auto& change : changed)
      if (key_changes_results(change.substr(0, change.find(' ')))) result_keys.push_back(change);
    const bool known = !stored.resolved_job.empty() && !wanted.resolved_job.empty();
    const bool force_accepts = known && result_keys.empty();
    std::string what = !known ? "job hash " + job_identity(stored) + ", but " + wanted_source + " has " + job_identity(wanted) +
                                    "; the file has no resolved_job to tell which keys changed"
                       : changed.empty() ? "only the job text's comments or layout differ from " + wanted_source
                                         : "changed in " + wanted_source + ": " + joined(changed);
    if (rules.same_job || !force_accepts) {
      std::string reason = "belongs to another job (" + what + ")";
      if (!rules.same_job)
        reason += "; --force accepts only changes to keys that cannot change a task's numbers (job.name, output.path, "
                  "output.flush_rows, output.flush_seconds, output.summary_seconds, comments), not to " +
                  (known ? joined(result_keys) : std::string("unknown keys"));
      return Incompatibility{Rule::job, reason, force_accepts};
    }
  }
  if (const std::string difference = schema_difference(stored, wanted); !difference.empty())
    return Incompatibility{Rule::schema, difference + wanted_source + " (written by another msweep version, or the job changed?)"};
  if (rules.same_shard && (stored.shard_index != wanted.shard_index || stored.shard_count != wanted.shard_count))
    return Incompatibility{Rule::shard, "holds shard " + shard_text(stored) + ", not the requested shard " + shard_text(wanted) +
                                            " (pass the same --shard as the run that created it)"};
  return std::nullopt;
}

namespace store_detail {

namespace {

// The fields of /state's one row, in order (docs/results-format.md).
enum StateField : std::size_t { kRowsCommitted, kStatus, kUpdated, kFinished, kWallSeconds, kSummarizedRows };

h5::CompoundType run_state_type(const std::string& context) {
  using Kind = h5::CompoundType::Kind;
  return h5::CompoundType({{"rows_committed", Kind::uint64},
                           {"status", Kind::text, true, 16},
                           {"updated", Kind::text, true, 32},
                           {"finished", Kind::text, true, 32},
                           {"wall_seconds", Kind::float64},
                           {"summarized_rows", Kind::uint64}},
                          context);
}

void create_run_state(const h5::Handle& file, const std::string& path) {
  const std::string context = path + ": /state";
  const h5::CompoundType type = run_state_type(context);
  h5::Handle dataset = h5::create_extendible(file, "state", type.id(), {}, 1, context);
  h5::set_extent(dataset, 1, context);
  RunState state;
  state.updated = iso8601_utc(unix_time_now());
  RunStateDataset(file, path).write(state);
}

}  // namespace

RunStateDataset::RunStateDataset(const h5::Handle& file, const std::string& path)
    : context_(path + ": /state"), type_(run_state_type(context_)), dataset_(h5::open_dataset(file, "state", path)) {}

RunState RunStateDataset::read() const {
  if (h5::row_count(dataset_, context_) != 1) throw StoreError(context_ + ": expected exactly one row");
  std::vector<unsigned char> row(type_.size());
  h5::read_rows(dataset_, type_.id(), 0, 1, row.data(), context_);
  RunState state;
  state.rows_committed = type_.get<std::uint64_t>(row.data(), kRowsCommitted);
  state.status = parse_run_status(type_.get_text(row.data(), kStatus), context_);
  state.updated = type_.get_text(row.data(), kUpdated);
  state.finished = type_.get_text(row.data(), kFinished);
  state.wall_seconds = type_.get<double>(row.data(), kWallSeconds);
  state.summarized_rows = type_.get<std::uint64_t>(row.data(), kSummarizedRows);
  return state;
}

void RunStateDataset::write(const RunState& state) const {
  std::vector<unsigned char> row(type_.size());
  type_.put(row.data(), kRowsCommitted, state.rows_committed);
  type_.put_text(row.data(), kStatus, run_status_name(state.status));
  type_.put_text(row.data(), kUpdated, state.updated);
  type_.put_text(row.data(), kFinished, state.finished);
  type_.put(row.data(), kWallSeconds, state.wall_seconds);
  type_.put(row.data(), kSummarizedRows, state.summarized_rows);
  h5::overwrite_rows(dataset_, type_.id(), 0, 1, row.data(), context_);
}

RunState read_run_state(const h5::Handle& file, const std::string& path) { return RunStateDataset(file, path).read(); }

std::uint64_t elements_of(const ArrayInfo& array) {
  return std::accumulate(array.shape.begin(), array.shape.end(), std::uint64_t{1}, std::multiplies<>());
}

OpenedFile open_results(const std::string& path, bool writable) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path + ": results file not found");
  if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": expected a results file (.h5), got a directory");
  // No HDF5 signature: a damaged results file and some other file look alike here, so the
  // message names both, and neither reading sends the user the wrong way.
  if (!h5::is_hdf5_file(path))
    throw InputError(path + ": not a readable HDF5 file: damaged, or not an msweep results file");
  OpenedFile opened;
  try {
    opened.file = h5::open_file(path, writable);
  } catch (const h5::FileLockedError&) {
    // In use, not damaged: name the msweep that holds it when there is one (not this
    // process: a writer opens its file holding the lock itself).
    const LockOwner owner = read_lock_owner(path);
    // HDF5's lock keeps readers out too; committed rows are safe to read without it.
    const std::string advice = "wait for it to finish or stop it (to read its committed rows meanwhile: HDF5_USE_FILE_LOCKING=FALSE)";
    if (owner.pid > 0 && owner.pid != static_cast<long>(::getpid()))
      throw FileInUseError(path + ": in use by another msweep (" + owner.describe() + "; lock " + lock_path(path) + "): " + advice);
    throw FileInUseError(path + ": in use by another process (it holds HDF5's lock on the file: a reader or writer still "
                         "has it open); close it and try again");
  } catch (const StoreError& error) {
    // A resume has the file open outside SWMR mode while it checks the rows and rewrites the
    // attributes (HDF5: "file is not already open for SWMR writing"): in use, not damaged.
    if (!writable && std::string(error.what()).find("not already open for SWMR writing") != std::string::npos)
      throw LeftOpenError(path + ": open for writing outside SWMR mode: a resume is checking its rows (read it again in a "
                                 "moment), or was killed doing so (then `msweep run --resume` repairs it)");
    throw InputError(path + ": cannot open the results file (corrupt, or held by a running writer?): " + error.what());
  }
  const h5::Handle& f = opened.file;
  if (!h5::has_attribute(f, "format") || h5::read_string_attribute(f, "format", path) != kFormatName)
    throw InputError(path + ": not an msweep results file (no format = \"msweep-results\" attribute)");
  const std::int64_t version = h5::read_int_attribute(f, "format_version", path);
  if (version != kResultsFormatVersion)
    throw FormatVersionError(path + ": results format version " + std::to_string(version) +
                             (version < kResultsFormatVersion ? " (written by an older msweep)" : " (written by a newer msweep)") +
                             ", but this msweep reads version " + std::to_string(kResultsFormatVersion) +
                             " only: read it with the msweep that wrote it (its msweep_version attribute), or run the job again");
  try {
    ResultLayout& layout = opened.layout;
    layout.job_name = h5::read_string_attribute(f, "job_name", path);
    layout.experiment = h5::read_string_attribute(f, "experiment", path);
    layout.job_path = h5::read_string_attribute(f, "job_path", path);
    layout.job_text = h5::read_string_attribute(f, "job_text", path);
    if (h5::has_attribute(f, "resolved_job")) layout.resolved_job = h5::read_string_attribute(f, "resolved_job", path);
    // Files written before inputs were recorded have no `inputs`: their data cannot be checked.
    layout.inputs_recorded = h5::has_attribute(f, "inputs");
    if (layout.inputs_recorded) layout.inputs = parse_inputs_json(h5::read_string_attribute(f, "inputs", path));
    if (h5::has_attribute(f, "overrides")) {
      for (const auto& [ignored, raw] : json_items(h5::read_string_attribute(f, "overrides", path)))
        layout.overrides.push_back(json_unquote(raw));
    }
    layout.job_seed = h5::read_uint_attribute(f, "job_seed", path);
    opened.task_count = h5::read_uint_attribute(f, "task_count", path);
    opened.state = read_run_state(f, path);
    // Files written before shards existed hold the whole grid.
    if (h5::has_attribute(f, "shard_count")) {
      layout.shard_index = h5::read_uint_attribute(f, "shard_index", path);
      layout.shard_count = h5::read_uint_attribute(f, "shard_count", path);
      if (layout.shard_count == 0 || layout.shard_index >= layout.shard_count)
        throw InputError(path + ": damaged msweep results file: shard attributes out of range");
    }
    h5::Handle axes = h5::open_group(f, "axes", path);
    for (const auto& name : h5::read_string_array_attribute(axes, "order", path + ": /axes"))
      layout.axes.push_back({name, h5::read_string_dataset(axes, name, path + ": /axes")});
    h5::Handle tasks = h5::open_dataset(f, "tasks", path);
    const auto names = h5::read_string_array_attribute(tasks, "metrics", path + ": /tasks");
    const auto descriptions = h5::read_string_array_attribute(tasks, "metric_descriptions", path + ": /tasks");
    if (descriptions.size() != names.size())
      throw InputError(path + ": damaged msweep results file: /tasks has " + std::to_string(names.size()) + " metrics but " +
                       std::to_string(descriptions.size()) + " metric descriptions");
    for (std::size_t m = 0; m < names.size(); ++m) layout.metrics.push_back({names[m], descriptions[m]});
    if (h5::row_count(tasks, path) < opened.state.rows_committed)
      throw InputError(path + ": /tasks has fewer rows than rows_committed says (damaged file)");
    h5::Handle arrays = h5::open_group(f, "arrays", path);
    for (const auto& name : h5::read_string_array_attribute(arrays, "order", path + ": /arrays")) {
      const std::string context = path + ": /arrays/" + name;
      h5::Handle dataset = h5::open_dataset(arrays, name, path + ": /arrays");
      const auto dims = h5::dataset_shape(dataset, context);
      ArrayInfo array{name, {}, h5::read_string_attribute(dataset, "description", context)};
      for (std::size_t d = 1; d < dims.size(); ++d) array.shape.push_back(dims[d]);
      if (h5::row_count(dataset, path) < opened.state.rows_committed)
        throw InputError(path + ": /arrays/" + name + " has fewer rows than rows_committed says (damaged file)");
      layout.arrays.push_back(std::move(array));
    }
  } catch (const StoreError& error) {
    throw InputError(path + ": damaged msweep results file: " + error.what());
  }
  return opened;
}

void write_run_attributes(const h5::Handle& file, const std::string& path, const RunProvenance& run) {
  h5::write_attribute(file, "ranks", static_cast<std::int64_t>(run.ranks), path);
  h5::write_attribute(file, "hosts", run.hosts.empty() ? std::string("unknown") : run.hosts, path);
  h5::write_attribute(file, "msweep_version", std::string(kVersion), path);
  for (const auto& [name, value] : run.cluster) h5::write_attribute(file, name, value, path);
}

void write_identity_attributes(const h5::Handle& f, const std::string& path, const ResultLayout& layout) {
  h5::write_attribute(f, "job_name", layout.job_name, path);
  h5::write_attribute(f, "job_path", layout.job_path, path);
  h5::write_attribute(f, "job_text", layout.job_text, path);
  h5::write_attribute(f, "job_hash", job_identity(layout), path);
  h5::write_attribute(f, "job_seed", layout.job_seed, path);
  if (!layout.resolved_job.empty()) h5::write_attribute(f, "resolved_job", layout.resolved_job, path);
  if (layout.inputs_recorded) h5::write_attribute(f, "inputs", inputs_json(layout.inputs), path);
  h5::write_attribute(f, "overrides", strings_json(layout.overrides), path);
}

}  // namespace store_detail

std::uint64_t task_chunk_rows(std::uint64_t row_bytes) { return std::clamp<std::uint64_t>(131072 / row_bytes, 64, 8192); }

std::uint64_t array_chunk_rows(std::uint64_t elements) {
  return std::clamp<std::uint64_t>(262144 / std::max<std::uint64_t>(1, elements * sizeof(double)), 1, 4096);
}

namespace store_detail {

void write_skeleton(const h5::Handle& f, const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                    hid_t row_type, std::size_t row_size) {
  h5::write_attribute(f, "format", std::string(kFormatName), path);
  h5::write_attribute(f, "format_version", kResultsFormatVersion, path);
  h5::write_attribute(f, "experiment", layout.experiment, path);
  write_identity_attributes(f, path, layout);
  h5::write_attribute(f, "task_count", grid_task_count(layout), path);
  h5::write_attribute(f, "shard_index", layout.shard_index, path);
  h5::write_attribute(f, "shard_count", layout.shard_count, path);
  h5::write_attribute(f, "created", iso8601_utc(unix_time_now()), path);
  write_run_attributes(f, path, run);
  create_run_state(f, path);

  h5::Handle axes = h5::create_group(f, "axes", path);
  std::vector<std::string> order;
  for (const auto& axis : layout.axes) {
    order.push_back(axis.name);
    h5::write_string_dataset(axes, axis.name, axis.size(), [&](std::uint64_t i) { return axis.label(i); }, path + ": /axes");
  }
  h5::write_attribute(axes, "order", order, path + ": /axes");

  h5::Handle tasks = h5::create_extendible(f, "tasks", row_type, {}, task_chunk_rows(row_size), path);
  std::vector<std::string> descriptions;
  for (const auto& metric : layout.metrics) descriptions.push_back(metric.description);
  h5::write_attribute(tasks, "metrics", metric_names(layout), path + ": /tasks");
  h5::write_attribute(tasks, "metric_descriptions", descriptions, path + ": /tasks");

  h5::Handle arrays = h5::create_group(f, "arrays", path);
  std::vector<std::string> array_names;
  for (const auto& array : layout.arrays) {
    array_names.push_back(array.name);
    std::vector<hsize_t> shape(array.shape.begin(), array.shape.end());
    h5::Handle dataset =
        h5::create_extendible(arrays, array.name, H5T_NATIVE_DOUBLE, shape, array_chunk_rows(elements_of(array)), path + ": /arrays");
    h5::write_attribute(dataset, "description", array.description, path + ": /arrays/" + array.name);
  }
  h5::write_attribute(arrays, "order", array_names, path + ": /arrays");
  create_summaries(f, layout, path);
}

}  // namespace store_detail
}  // namespace msweep
