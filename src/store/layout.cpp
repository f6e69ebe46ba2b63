// ResultLayout: identity, schema and compatibility of a results file, and its HDF5 form
// (root attributes, /axes, the declarations on /tasks and /arrays).
#include "msweep/store/layout.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>

#include "msweep/core/error.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/core/version.hpp"
#include "results_file.hpp"

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

std::string job_identity(const ResultLayout& layout) { return job_hash(layout.job_text); }

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
  if (rules.same_job && job_identity(stored) != job_identity(wanted))
    return Incompatibility{Rule::job, "belongs to another job (job hash " + job_identity(stored) + ", but " + wanted_source +
                                          " has " + job_identity(wanted) + ")"};
  if (const std::string difference = schema_difference(stored, wanted); !difference.empty())
    return Incompatibility{Rule::schema, difference + wanted_source + " (written by another msweep version, or the job changed?)"};
  if (rules.same_shard && (stored.shard_index != wanted.shard_index || stored.shard_count != wanted.shard_count))
    return Incompatibility{Rule::shard, "holds shard " + shard_text(stored) + ", not the requested shard " + shard_text(wanted) +
                                            " (pass the same --shard as the run that created it)"};
  return std::nullopt;
}

namespace store_detail {

std::uint64_t elements_of(const ArrayInfo& array) {
  return std::accumulate(array.shape.begin(), array.shape.end(), std::uint64_t{1}, std::multiplies<>());
}

OpenedFile open_results(const std::string& path, bool writable) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path + ": results file not found");
  if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": expected a results file (.h5), got a directory");
  if (!h5::is_hdf5_file(path)) throw InputError(path + ": not an HDF5 file (expected an msweep results file)");
  OpenedFile opened;
  try {
    opened.file = h5::open_file(path, writable);
  } catch (const StoreError& error) {
    throw InputError(path + ": cannot open the results file (corrupt, or held by a running writer?): " + error.what());
  }
  const h5::Handle& f = opened.file;
  if (!h5::has_attribute(f, "format") || h5::read_string_attribute(f, "format", path) != kFormatName)
    throw InputError(path + ": not an msweep results file (no format = \"msweep-results\" attribute)");
  const std::int64_t version = h5::read_int_attribute(f, "format_version", path);
  if (version != kResultsFormatVersion)
    throw InputError(path + ": results format version " + std::to_string(version) + ", but this msweep reads version " +
                     std::to_string(kResultsFormatVersion));
  try {
    ResultLayout& layout = opened.layout;
    layout.job_name = h5::read_string_attribute(f, "job_name", path);
    layout.experiment = h5::read_string_attribute(f, "experiment", path);
    layout.job_path = h5::read_string_attribute(f, "job_path", path);
    layout.job_text = h5::read_string_attribute(f, "job_text", path);
    if (h5::has_attribute(f, "resolved_job")) layout.resolved_job = h5::read_string_attribute(f, "resolved_job", path);
    layout.job_seed = h5::read_uint_attribute(f, "job_seed", path);
    opened.task_count = h5::read_uint_attribute(f, "task_count", path);
    opened.rows_committed = h5::read_uint_attribute(f, "rows_committed", path);
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
    if (h5::row_count(tasks, path) < opened.rows_committed)
      throw InputError(path + ": /tasks has fewer rows than rows_committed says (damaged file)");
    h5::Handle arrays = h5::open_group(f, "arrays", path);
    for (const auto& name : h5::read_string_array_attribute(arrays, "order", path + ": /arrays")) {
      const std::string context = path + ": /arrays/" + name;
      h5::Handle dataset = h5::open_dataset(arrays, name, path + ": /arrays");
      const auto dims = h5::dataset_shape(dataset, context);
      ArrayInfo array{name, {}, h5::read_string_attribute(dataset, "description", context)};
      for (std::size_t d = 1; d < dims.size(); ++d) array.shape.push_back(dims[d]);
      if (h5::row_count(dataset, path) < opened.rows_committed)
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
  h5::write_attribute(file, "status", std::string(run_status_name(RunStatus::running)), path);
  h5::write_attribute(file, "finished", std::string(), path);
  h5::write_attribute(file, "updated", iso8601_utc(unix_time_now()), path);
  h5::write_attribute(file, "msweep_version", std::string(kVersion), path);
  for (const auto& [name, value] : run.cluster) h5::write_attribute(file, name, value, path);
}

void write_skeleton(const h5::Handle& f, const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                    hid_t row_type, std::size_t row_size) {
  h5::write_attribute(f, "format", std::string(kFormatName), path);
  h5::write_attribute(f, "format_version", kResultsFormatVersion, path);
  h5::write_attribute(f, "job_name", layout.job_name, path);
  h5::write_attribute(f, "experiment", layout.experiment, path);
  h5::write_attribute(f, "job_path", layout.job_path, path);
  h5::write_attribute(f, "job_text", layout.job_text, path);
  h5::write_attribute(f, "job_hash", job_identity(layout), path);
  h5::write_attribute(f, "job_seed", layout.job_seed, path);
  if (!layout.resolved_job.empty()) h5::write_attribute(f, "resolved_job", layout.resolved_job, path);
  h5::write_attribute(f, "task_count", grid_task_count(layout), path);
  h5::write_attribute(f, "rows_committed", std::uint64_t{0}, path);
  h5::write_attribute(f, "shard_index", layout.shard_index, path);
  h5::write_attribute(f, "shard_count", layout.shard_count, path);
  h5::write_attribute(f, "created", iso8601_utc(unix_time_now()), path);
  h5::write_attribute(f, "wall_seconds", 0.0, path);
  write_run_attributes(f, path, run);

  h5::Handle axes = h5::create_group(f, "axes", path);
  std::vector<std::string> order;
  for (const auto& axis : layout.axes) {
    order.push_back(axis.name);
    h5::write_string_dataset(axes, axis.name, axis.all_labels(), path + ": /axes");
  }
  h5::write_attribute(axes, "order", order, path + ": /axes");

  // About 128 KiB per chunk: large enough for fast appends, small enough for partial reads.
  const hsize_t chunk_rows = std::clamp<hsize_t>(131072 / row_size, 64, 8192);
  h5::Handle tasks = h5::create_extendible(f, "tasks", row_type, {}, chunk_rows, path);
  std::vector<std::string> descriptions;
  for (const auto& metric : layout.metrics) descriptions.push_back(metric.description);
  h5::write_attribute(tasks, "metrics", metric_names(layout), path + ": /tasks");
  h5::write_attribute(tasks, "metric_descriptions", descriptions, path + ": /tasks");

  h5::Handle arrays = h5::create_group(f, "arrays", path);
  std::vector<std::string> array_names;
  for (const auto& array : layout.arrays) {
    array_names.push_back(array.name);
    std::vector<hsize_t> shape(array.shape.begin(), array.shape.end());
    const hsize_t per_row = std::max<hsize_t>(1, elements_of(array) * sizeof(double));
    h5::Handle dataset = h5::create_extendible(arrays, array.name, H5T_NATIVE_DOUBLE, shape,
                                               std::clamp<hsize_t>(262144 / per_row, 1, 4096), path + ": /arrays");
    h5::write_attribute(dataset, "description", array.description, path + ": /arrays/" + array.name);
  }
  h5::write_attribute(arrays, "order", array_names, path + ": /arrays");
}

void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw StoreError(path + ": cannot open to fsync: " + std::strerror(errno));
  const int status = ::fsync(fd);
  const int saved = errno;
  ::close(fd);  // read-only descriptor: closing it cannot lose data; the fsync result is what counts
  if (status != 0) throw StoreError(path + ": cannot fsync: " + std::strerror(saved));
}

}  // namespace store_detail
}  // namespace msweep
