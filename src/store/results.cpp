#include "msweep/store/results.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <numeric>
#include <set>

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>

#include "msweep/core/error.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/core/version.hpp"
#include "msweep/store/hdf5.hpp"
#include "msweep/store/journal.hpp"

namespace msweep {
namespace {

constexpr const char* kFormatName = "msweep-results";
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Packed compound row: id, one uint32 per axis, status, error, wall_time, rank, metrics.
class RowCodec {
 public:
  // Without the error field the type has only fixed-size members, and HDF5 reads (and
  // writes) such rows without its per-element conversion of variable-length strings:
  // summaries and the resume scan, which never look at error texts, read this way.
  RowCodec(const std::vector<Axis>& axes, const std::vector<std::string>& metrics, const std::string& context,
           bool with_error = true)
      : axis_count_(axes.size()), metric_count_(metrics.size()), with_error_(with_error) {
    std::set<std::string> names = {"id", "status", "error", "wall_time", "rank"};
    for (const auto& axis : axes)
      if (!names.insert(axis.name).second) throw ArgumentError("RowCodec: axis name '" + axis.name + "' collides with another field");
    for (const auto& metric : metrics)
      if (!names.insert(metric).second) throw ArgumentError("RowCodec: metric name '" + metric + "' collides with another field");

    std::size_t offset = sizeof(std::uint64_t);
    for (std::size_t a = 0; a < axes.size(); ++a, offset += sizeof(std::uint32_t)) coordinate_offsets_.push_back(offset);
    status_offset_ = offset;
    offset += sizeof(std::int8_t);
    error_offset_ = offset;
    offset += sizeof(char*);
    wall_offset_ = offset;
    offset += sizeof(double);
    rank_offset_ = offset;
    offset += sizeof(std::int32_t);
    for (std::size_t m = 0; m < metrics.size(); ++m, offset += sizeof(double)) metric_offsets_.push_back(offset);
    row_size_ = offset;

    type_ = h5::Handle(h5::check(H5Tcreate(H5T_COMPOUND, row_size_), "H5Tcreate", context), H5Tclose);
    auto insert = [&](const std::string& name, std::size_t at, hid_t field_type) {
      h5::check(H5Tinsert(type_.id(), name.c_str(), at, field_type), "H5Tinsert", context + ": field " + name);
    };
    insert("id", 0, H5T_NATIVE_UINT64);
    for (std::size_t a = 0; a < axes.size(); ++a) insert(axes[a].name, coordinate_offsets_[a], H5T_NATIVE_UINT32);
    insert("status", status_offset_, H5T_NATIVE_INT8);
    if (with_error) {
      h5::Handle string_type = h5::variable_string_type(context);
      insert("error", error_offset_, string_type.id());
    }
    insert("wall_time", wall_offset_, H5T_NATIVE_DOUBLE);
    insert("rank", rank_offset_, H5T_NATIVE_INT32);
    for (std::size_t m = 0; m < metrics.size(); ++m) insert(metrics[m], metric_offsets_[m], H5T_NATIVE_DOUBLE);
  }

  std::size_t row_size() const { return row_size_; }
  hid_t type() const { return type_.id(); }

  void encode(unsigned char* row, TaskId id, const std::uint32_t* coordinates, TaskStatus status, const char* error,
              double wall, std::int32_t rank, const double* metrics) const {
    std::memcpy(row, &id, sizeof id);
    for (std::size_t a = 0; a < axis_count_; ++a) std::memcpy(row + coordinate_offsets_[a], coordinates + a, sizeof(std::uint32_t));
    const auto status_byte = static_cast<std::int8_t>(status);
    std::memcpy(row + status_offset_, &status_byte, 1);
    std::memcpy(row + error_offset_, &error, sizeof error);
    std::memcpy(row + wall_offset_, &wall, sizeof wall);
    std::memcpy(row + rank_offset_, &rank, sizeof rank);
    for (std::size_t m = 0; m < metric_count_; ++m) {
      const double value = metrics ? metrics[m] : kNaN;
      std::memcpy(row + metric_offsets_[m], &value, sizeof value);
    }
  }

  StoredRow decode(const unsigned char* row) const {
    StoredRow out;
    std::memcpy(&out.id, row, sizeof out.id);
    out.coordinates.resize(axis_count_);
    for (std::size_t a = 0; a < axis_count_; ++a) std::memcpy(&out.coordinates[a], row + coordinate_offsets_[a], sizeof(std::uint32_t));
    std::int8_t status = 0;
    std::memcpy(&status, row + status_offset_, 1);
    out.status = static_cast<TaskStatus>(status);
    if (with_error_) {
      const char* error = nullptr;
      std::memcpy(&error, row + error_offset_, sizeof error);
      out.error = error ? error : "";
    }
    std::memcpy(&out.wall_seconds, row + wall_offset_, sizeof(double));
    std::memcpy(&out.rank, row + rank_offset_, sizeof(std::int32_t));
    out.metrics.resize(metric_count_);
    for (std::size_t m = 0; m < metric_count_; ++m) std::memcpy(&out.metrics[m], row + metric_offsets_[m], sizeof(double));
    return out;
  }

 private:
  std::size_t axis_count_, metric_count_;
  bool with_error_;
  std::vector<std::size_t> coordinate_offsets_, metric_offsets_;
  std::size_t status_offset_ = 0, error_offset_ = 0, wall_offset_ = 0, rank_offset_ = 0, row_size_ = 0;
  h5::Handle type_;
};

std::uint64_t elements_of(const std::vector<std::uint64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::uint64_t{1}, std::multiplies<>());
}

// An opened, validated results file and the layout read back from it.
struct OpenedFile {
  h5::Handle file;
  ResultLayout layout;
  std::uint64_t task_count = 0, rows_committed = 0;
};

OpenedFile open_results(const std::string& path, bool writable) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(path + ": results file not found");
  if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": expected a results file (.h5), got a directory");
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 <= 0) throw InputError(path + ": not an HDF5 file (expected an msweep results file)");
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
    layout.metric_names = h5::read_string_array_attribute(tasks, "metrics", path + ": /tasks");
    layout.metric_descriptions = h5::read_string_array_attribute(tasks, "metric_descriptions", path + ": /tasks");
    if (h5::row_count(tasks, path) < opened.rows_committed)
      throw InputError(path + ": /tasks has fewer rows than rows_committed says (damaged file)");
    h5::Handle arrays = h5::open_group(f, "arrays", path);
    for (const auto& name : h5::read_string_array_attribute(arrays, "order", path + ": /arrays")) {
      h5::Handle dataset = h5::open_dataset(arrays, name, path + ": /arrays");
      h5::Handle space(h5::check(H5Dget_space(dataset.id()), "H5Dget_space", path), H5Sclose);
      const int rank = H5Sget_simple_extent_ndims(space.id());
      std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 1)));
      H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
      ArrayLayout array{name, {}, h5::read_string_attribute(dataset, "description", path + ": /arrays/" + name)};
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

// Provenance of the run now writing (rewritten by every resume) and its status.
void write_run_attributes(const h5::Handle& file, const std::string& path, const RunProvenance& run) {
  h5::write_attribute(file, "ranks", static_cast<std::int64_t>(run.ranks), path);
  h5::write_attribute(file, "hosts", run.hosts.empty() ? std::string("unknown") : run.hosts, path);
  h5::write_attribute(file, "status", std::string("running"), path);
  h5::write_attribute(file, "finished", std::string(), path);
  h5::write_attribute(file, "updated", iso8601_utc(unix_time_now()), path);
  h5::write_attribute(file, "msweep_version", std::string(kVersion), path);
  for (const auto& [name, value] : run.cluster) h5::write_attribute(file, name, value, path);
}

bool same_schema(const ResultLayout& a, const ResultLayout& b) {
  if (a.axes.size() != b.axes.size() || a.metric_names != b.metric_names || a.arrays.size() != b.arrays.size()) return false;
  for (std::size_t i = 0; i < a.axes.size(); ++i)
    if (a.axes[i].name != b.axes[i].name || a.axes[i].labels != b.axes[i].labels) return false;
  for (std::size_t i = 0; i < a.arrays.size(); ++i)
    if (a.arrays[i].name != b.arrays[i].name || a.arrays[i].shape != b.arrays[i].shape) return false;
  return true;
}

std::uint64_t grid_size(const std::vector<Axis>& axes) {
  std::uint64_t n = 1;
  for (const auto& axis : axes) n *= axis.labels.size();
  return n;
}

JournalHeader journal_header_of(const ResultLayout& layout) {
  return {job_hash(layout.job_text), layout.shard_index, layout.shard_count};
}

// Makes a finished file durable before its journal goes: H5Fflush and close do not fsync.
void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw StoreError(path + ": cannot open to fsync: " + std::strerror(errno));
  const int status = ::fsync(fd);
  const int saved = errno;
  ::close(fd);  // read-only descriptor: closing it cannot lose data; the fsync result is what counts
  if (status != 0) throw StoreError(path + ": cannot fsync: " + std::strerror(saved));
}

void for_each_block_of(const OpenedFile& opened, const std::string& path, std::size_t block_rows,
                       const std::function<void(const std::vector<StoredRow>&)>& visit, bool with_errors = true) {
  RowCodec codec(opened.layout.axes, opened.layout.metric_names, path, with_errors);
  h5::Handle tasks = h5::open_dataset(opened.file, "tasks", path);
  std::vector<unsigned char> buffer;
  std::vector<StoredRow> rows;
  for (std::uint64_t at = 0; at < opened.rows_committed; at += block_rows) {
    const std::uint64_t count = std::min<std::uint64_t>(block_rows, opened.rows_committed - at);
    buffer.assign(count * codec.row_size(), 0);
    h5::read_rows(tasks, codec.type(), at, count, buffer.data(), path + ": /tasks");
    rows.clear();
    for (std::uint64_t r = 0; r < count; ++r) rows.push_back(codec.decode(buffer.data() + r * codec.row_size()));
    if (with_errors) {  // HDF5 allocated the error strings: free them through the library that made them
      const hsize_t n = count;
      h5::Handle space(h5::check(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", path), H5Sclose);
      H5Dvlen_reclaim(codec.type(), space.id(), H5P_DEFAULT, buffer.data());
    }
    visit(rows);
  }
}

SummaryTable summarize_opened(const OpenedFile& opened, const std::string& path) {
  std::vector<AxisShape> shapes;
  for (const auto& axis : opened.layout.axes) shapes.push_back({axis.name, axis.labels.size()});
  SummaryBuilder builder(shapes, {"run", "fold"}, opened.layout.metric_names);
  for_each_block_of(
      opened, path, 65536,
      [&](const std::vector<StoredRow>& rows) {
        for (const auto& row : rows) builder.add(row.coordinates, row.status == TaskStatus::ok, row.metrics);
      },
      false);
  return builder.finish();
}

void write_summaries(const h5::Handle& file, const SummaryTable& table, const std::string& path) {
  const std::string context = path + ": /summaries";
  if (h5::exists(file, "summaries")) h5::unlink(file, "summaries", context);
  h5::Handle group = h5::create_group(file, "summaries", context);
  h5::write_attribute(group, "group_axes", table.group_axes, context);
  h5::write_attribute(group, "reduced_axes", std::vector<std::string>{"run", "fold"}, context);

  const std::size_t axes = table.group_axes.size(), metrics = table.metric_names.size();
  const std::size_t row_size = axes * sizeof(std::uint32_t) + 2 * sizeof(std::uint64_t) + 2 * metrics * sizeof(double);
  h5::Handle type(h5::check(H5Tcreate(H5T_COMPOUND, row_size), "H5Tcreate", context), H5Tclose);
  std::size_t offset = 0;
  for (const auto& axis : table.group_axes) {
    h5::check(H5Tinsert(type.id(), axis.c_str(), offset, H5T_NATIVE_UINT32), "H5Tinsert", context);
    offset += sizeof(std::uint32_t);
  }
  h5::check(H5Tinsert(type.id(), "ok_count", offset, H5T_NATIVE_UINT64), "H5Tinsert", context);
  h5::check(H5Tinsert(type.id(), "failed_count", offset + 8, H5T_NATIVE_UINT64), "H5Tinsert", context);
  offset += 16;
  for (const auto& metric : table.metric_names) {
    h5::check(H5Tinsert(type.id(), (metric + "_mean").c_str(), offset, H5T_NATIVE_DOUBLE), "H5Tinsert", context);
    h5::check(H5Tinsert(type.id(), (metric + "_std").c_str(), offset + 8, H5T_NATIVE_DOUBLE), "H5Tinsert", context);
    offset += 16;
  }
  std::vector<unsigned char> buffer(row_size * table.groups());
  for (std::size_t g = 0; g < table.groups(); ++g) {
    unsigned char* row = buffer.data() + g * row_size;
    std::size_t at = 0;
    for (std::size_t a = 0; a < axes; ++a, at += 4) std::memcpy(row + at, &table.group_coordinates[g][a], 4);
    std::memcpy(row + at, &table.ok_count[g], 8);
    std::memcpy(row + at + 8, &table.failed_count[g], 8);
    at += 16;
    for (std::size_t m = 0; m < metrics; ++m, at += 16) {
      const double mean = table.mean_of(g, m), sd = table.stddev_of(g, m);
      std::memcpy(row + at, &mean, 8);
      std::memcpy(row + at + 8, &sd, 8);
    }
  }
  h5::Handle dataset = h5::create_extendible(group, "table", type.id(), {}, std::max<hsize_t>(1, std::min<hsize_t>(table.groups(), 4096)), context);
  h5::write_rows(dataset, type.id(), 0, table.groups(), buffer.data(), context);
}

}  // namespace

std::uint64_t shard_task_count(const ResultLayout& layout) {
  const std::uint64_t total = grid_size(layout.axes);
  return total / layout.shard_count + (layout.shard_index < total % layout.shard_count ? 1 : 0);
}

std::string journal_path(const std::string& results_path) { return results_path + ".journal"; }

bool rebuildable_from_journal(const std::string& path, const std::string& job_text) {
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
    return read_journal_header(journal_path(path)).job_hash == job_hash(job_text);
  } catch (const InputError&) {
    return false;
  }
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

// ---------------------------------------------------------------- reader

struct ResultReader::State {
  std::string path;
  OpenedFile opened;
};

ResultReader::ResultReader(const std::string& path) : state_(std::make_unique<State>()) {
  h5::silence_library_errors();
  state_->path = path;
  state_->opened = open_results(path, false);
}
ResultReader::~ResultReader() = default;
ResultReader::ResultReader(ResultReader&&) noexcept = default;

const std::string& ResultReader::path() const { return state_->path; }
const ResultLayout& ResultReader::layout() const { return state_->opened.layout; }
std::uint64_t ResultReader::task_count() const { return state_->opened.task_count; }
std::uint64_t ResultReader::rows_committed() const { return state_->opened.rows_committed; }
std::string ResultReader::attribute(const std::string& name) const {
  return h5::read_string_attribute(state_->opened.file, name, state_->path);
}
bool ResultReader::has_attribute(const std::string& name) const { return h5::has_attribute(state_->opened.file, name); }
std::int64_t ResultReader::ranks() const { return h5::read_int_attribute(state_->opened.file, "ranks", state_->path); }

void ResultReader::for_each_block(const std::function<void(const std::vector<StoredRow>&)>& visit, std::size_t block_rows) const {
  for_each_block_of(state_->opened, state_->path, block_rows, visit);
}

std::vector<double> ResultReader::read_array(const std::string& name) const {
  const auto& arrays = state_->opened.layout.arrays;
  auto it = std::find_if(arrays.begin(), arrays.end(), [&](const ArrayLayout& a) { return a.name == name; });
  if (it == arrays.end()) throw InputError(state_->path + ": no array named " + name);
  h5::Handle group = h5::open_group(state_->opened.file, "arrays", state_->path);
  h5::Handle dataset = h5::open_dataset(group, name, state_->path);
  std::vector<double> values(state_->opened.rows_committed * elements_of(it->shape));
  h5::read_rows(dataset, H5T_NATIVE_DOUBLE, 0, state_->opened.rows_committed, values.data(), state_->path + ": /arrays/" + name);
  return values;
}

std::vector<double> ResultReader::read_array(const std::string& name, std::uint64_t first, std::uint64_t rows) const {
  const auto& arrays = state_->opened.layout.arrays;
  auto it = std::find_if(arrays.begin(), arrays.end(), [&](const ArrayLayout& a) { return a.name == name; });
  if (it == arrays.end()) throw InputError(state_->path + ": no array named " + name);
  if (first + rows > state_->opened.rows_committed) throw ArgumentError("ResultReader::read_array: rows past rows_committed");
  h5::Handle group = h5::open_group(state_->opened.file, "arrays", state_->path);
  h5::Handle dataset = h5::open_dataset(group, name, state_->path);
  std::vector<double> values(rows * elements_of(it->shape));
  if (rows > 0) h5::read_rows(dataset, H5T_NATIVE_DOUBLE, first, rows, values.data(), state_->path + ": /arrays/" + name);
  return values;
}

SummaryTable ResultReader::summarize() const { return summarize_opened(state_->opened, state_->path); }

// ---------------------------------------------------------------- writer

struct ResultWriter::State {
  std::string path;
  ResultLayout layout;
  TaskGrid grid;
  WriterOptions options;
  std::unique_ptr<RowCodec> codec;
  h5::Handle file, tasks;
  std::vector<h5::Handle> arrays;
  std::vector<std::uint64_t> array_elements;
  std::uint64_t committed = 0;
  std::vector<TaskId> stored;
  JournalWriter journal;          // empty when options.journal is off
  std::uint64_t restored = 0;     // rows resume took from the journal
  bool rebuilt = false;

  // Buffered rows: encoded bytes, error texts (a deque never moves its strings, so the
  // pointers inside the encoded rows stay valid), and array values.
  std::vector<unsigned char> rows;
  std::deque<std::string> errors;
  std::vector<std::vector<double>> array_rows;
  std::uint64_t buffered = 0;
  WallTimer oldest_buffered;
  std::vector<std::uint32_t> coordinates;

  void open_handles() {
    tasks = h5::open_dataset(file, "tasks", path);
    h5::Handle group = h5::open_group(file, "arrays", path);
    for (const auto& array : layout.arrays) {
      arrays.push_back(h5::open_dataset(group, array.name, path));
      array_elements.push_back(elements_of(array.shape));
    }
    array_rows.assign(layout.arrays.size(), {});
    coordinates.resize(layout.axes.size());
  }

  // Encodes one result into the buffered rows (the journal is the caller's business).
  void buffer(const TaskResult& result) {
    if (buffered == 0) oldest_buffered.reset();
    const bool ok = result.status == TaskStatus::ok;
    if (ok && result.metrics.size() != layout.metric_names.size())
      throw StoreError(path + ": task " + std::to_string(result.id) + " returned " + std::to_string(result.metrics.size()) +
                       " metrics, the experiment declared " + std::to_string(layout.metric_names.size()));
    if (result.id >= grid.size()) throw StoreError(path + ": task id " + std::to_string(result.id) + " outside the grid");
    grid.coordinates(result.id, coordinates);
    errors.push_back(result.error);
    const std::size_t at = rows.size();
    const std::size_t row_size = codec->row_size();
    rows.resize(at + row_size);
    codec->encode(rows.data() + at, result.id, coordinates.data(), result.status, errors.back().c_str(), result.wall_seconds,
                  result.rank, ok ? result.metrics.data() : nullptr);
    for (std::size_t a = 0; a < arrays.size(); ++a) {
      auto& out = array_rows[a];
      const std::size_t n = array_elements[a];
      if (ok && a < result.arrays.size() && result.arrays[a].size() == n)
        out.insert(out.end(), result.arrays[a].begin(), result.arrays[a].end());
      else if (ok)
        throw StoreError(path + ": task " + std::to_string(result.id) + " returned array " + layout.arrays[a].name +
                         " with the wrong number of values");
      else
        out.insert(out.end(), n, kNaN);
    }
    ++buffered;
  }

  // Writes every committed row into a new journal: a resumed file without one (finished, or
  // made by merge) must not leave its old rows outside the record a rebuild starts from.
  void seed_journal() {
    journal = JournalWriter::create(journal_path(path), journal_header_of(layout));
    constexpr std::uint64_t kBlock = 65536;
    std::vector<unsigned char> bytes;
    std::vector<std::vector<double>> values(arrays.size());
    for (std::uint64_t at = 0; at < committed; at += kBlock) {
      const std::uint64_t count = std::min(kBlock, committed - at);
      bytes.resize(count * codec->row_size());
      h5::read_rows(tasks, codec->type(), at, count, bytes.data(), path + ": /tasks");
      for (std::size_t a = 0; a < arrays.size(); ++a) {
        values[a].resize(count * array_elements[a]);
        if (array_elements[a] > 0)
          h5::read_rows(arrays[a], H5T_NATIVE_DOUBLE, at, count, values[a].data(), path + ": /arrays");
      }
      for (std::uint64_t r = 0; r < count; ++r) {
        const unsigned char* row = bytes.data() + r * codec->row_size();
        StoredRow stored_row = codec->decode(row);
        TaskResult result;
        result.id = stored_row.id;
        result.status = stored_row.status;
        result.error = stored_row.error;
        result.wall_seconds = stored_row.wall_seconds;
        result.rank = stored_row.rank;
        result.metrics = std::move(stored_row.metrics);
        for (std::size_t a = 0; a < arrays.size(); ++a)
          result.arrays.emplace_back(values[a].begin() + static_cast<std::ptrdiff_t>(r * array_elements[a]),
                                     values[a].begin() + static_cast<std::ptrdiff_t>((r + 1) * array_elements[a]));
        journal.add(result);
      }
      // Variable-length error strings were allocated by HDF5 when the block was read.
      h5::Handle space(h5::check(H5Screate_simple(1, std::array<hsize_t, 1>{count}.data(), nullptr), "H5Screate_simple", path), H5Sclose);
      h5::check(H5Dvlen_reclaim(codec->type(), space.id(), H5P_DEFAULT, bytes.data()), "H5Dvlen_reclaim", path);
      journal.commit();
    }
  }
};

ResultWriter::ResultWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
ResultWriter::~ResultWriter() = default;
ResultWriter::ResultWriter(ResultWriter&&) noexcept = default;

ResultWriter ResultWriter::create(const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                                  const WriterOptions& options, bool overwrite) {
  h5::silence_library_errors();
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
  RowCodec codec(layout.axes, layout.metric_names, path);
  h5::Handle file;
  try {
    file = h5::create_file(creating);
  } catch (const StoreError& error) {
    throw InputError(path + ": cannot create the output file: " + error.what());
  }
  const h5::Handle& f = file;
  h5::write_attribute(f, "format", std::string(kFormatName), path);
  h5::write_attribute(f, "format_version", kResultsFormatVersion, path);
  h5::write_attribute(f, "job_name", layout.job_name, path);
  h5::write_attribute(f, "experiment", layout.experiment, path);
  h5::write_attribute(f, "job_path", layout.job_path, path);
  h5::write_attribute(f, "job_text", layout.job_text, path);
  h5::write_attribute(f, "job_hash", job_hash(layout.job_text), path);
  h5::write_attribute(f, "job_seed", layout.job_seed, path);
  if (!layout.resolved_job.empty()) h5::write_attribute(f, "resolved_job", layout.resolved_job, path);
  h5::write_attribute(f, "task_count", grid_size(layout.axes), path);
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
    h5::write_string_dataset(axes, axis.name, axis.labels, path + ": /axes");
  }
  h5::write_attribute(axes, "order", order, path + ": /axes");

  // About 128 KiB per chunk: large enough for fast appends, small enough for partial reads.
  const hsize_t chunk_rows = std::clamp<hsize_t>(131072 / codec.row_size(), 64, 8192);
  h5::Handle tasks = h5::create_extendible(f, "tasks", codec.type(), {}, chunk_rows, path);
  h5::write_attribute(tasks, "metrics", layout.metric_names, path + ": /tasks");
  h5::write_attribute(tasks, "metric_descriptions", layout.metric_descriptions, path + ": /tasks");

  h5::Handle arrays = h5::create_group(f, "arrays", path);
  std::vector<std::string> array_names;
  for (const auto& array : layout.arrays) {
    array_names.push_back(array.name);
    std::vector<hsize_t> shape(array.shape.begin(), array.shape.end());
    const hsize_t per_row = std::max<hsize_t>(1, elements_of(array.shape) * sizeof(double));
    h5::Handle dataset = h5::create_extendible(arrays, array.name, H5T_NATIVE_DOUBLE, shape,
                                               std::clamp<hsize_t>(262144 / per_row, 1, 4096), path + ": /arrays");
    h5::write_attribute(dataset, "description", array.description, path + ": /arrays/" + array.name);
  }
  h5::write_attribute(arrays, "order", array_names, path + ": /arrays");
  tasks.reset();
  arrays.reset();
  axes.reset();
  file.close(creating);
  std::filesystem::rename(creating, path, ec);
  if (ec) throw StoreError(path + ": cannot move the new results file into place: " + ec.message());

  auto state = std::make_unique<State>();
  state->path = path;
  state->layout = layout;
  state->grid = TaskGrid(layout.axes);
  state->options = options;
  state->codec = std::make_unique<RowCodec>(layout.axes, layout.metric_names, path);
  state->file = h5::open_file(path, true);
  state->open_handles();
  if (options.journal) state->journal = JournalWriter::create(journal_path(path), journal_header_of(layout));
  return ResultWriter(std::move(state));
}

// Rebuilds a results file HDF5 cannot open from its journal. Safe against a kill at any
// step: the journal is only read; the damaged file is moved aside (never deleted: it may
// still matter to someone); the new file is built under PATH.rebuilding and renamed into
// place only when complete. A kill before the rename leaves no PATH and the journal intact,
// so the next resume rebuilds again; after it, the next resume finds an intact file.
ResultWriter ResultWriter::rebuild(const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                                   const WriterOptions& options, const std::string& open_error) {
  const std::string journal = journal_path(path);
  const JournalHeader header = read_journal_header(journal);
  if (header.shard_index != layout.shard_index || header.shard_count != layout.shard_count)
    throw InputError(journal + ": journal of shard " + std::to_string(header.shard_index) + "/" + std::to_string(header.shard_count) +
                     ", not of the requested shard " + std::to_string(layout.shard_index) + "/" + std::to_string(layout.shard_count));
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::string aside = path + ".damaged";
    for (int n = 2; std::filesystem::exists(aside, ec); ++n) aside = path + ".damaged-" + std::to_string(n);
    std::filesystem::rename(path, aside, ec);
    if (ec) throw StoreError(path + ": cannot move the damaged results file aside: " + ec.message());
    std::fprintf(stderr, "msweep: %s; rebuilding %s from %s (the old file is kept as %s)\n", open_error.c_str(), path.c_str(),
                 journal.c_str(), aside.c_str());
  } else {
    std::fprintf(stderr, "msweep: %s: missing; rebuilding it from %s\n", path.c_str(), journal.c_str());
  }

  const std::string building = path + ".rebuilding";
  std::uint64_t restored = 0;
  {
    WriterOptions building_options = options;
    building_options.journal = false;  // PATH.journal already holds every row
    building_options.flush_rows = 65536;
    ResultWriter writer = ResultWriter::create(building, layout, run, building_options, true);
    std::vector<bool> seen(grid_size(layout.axes), false);
    std::vector<TaskResult> batch;
    scan_journal(journal, [&](TaskResult&& row) {
      if (row.id >= seen.size() || seen[row.id] || !in_shard(layout, row.id)) return;
      seen[row.id] = true;
      ++restored;
      writer.append({std::move(row)});
    });
    writer.finish("interrupted", 0.0);
  }
  sync_file(building);
  std::filesystem::rename(building, path, ec);
  if (ec) throw StoreError(path + ": cannot move the rebuilt results file into place: " + ec.message());
  ResultWriter writer = resume(path, layout, run, options, false);
  writer.state_->rebuilt = true;
  writer.state_->restored = restored;
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
    if (options.journal && rebuildable_from_journal(path, layout.job_text))
      return rebuild(path, layout, run, options, error.what());
    throw;
  }
  const std::string stored_hash = h5::read_string_attribute(opened.file, "job_hash", path);
  if (stored_hash != job_hash(layout.job_text) && !force)
    throw InputError(path + ": belongs to another job (job text differs from " + layout.job_path +
                     "); use --force to resume it anyway when only harmless keys changed");
  if (!same_schema(opened.layout, layout))
    throw InputError(path + ": its axes, metrics or arrays differ from those of " + layout.job_path + " (cannot resume)");
  if (opened.layout.shard_index != layout.shard_index || opened.layout.shard_count != layout.shard_count)
    throw InputError(path + ": holds shard " + std::to_string(opened.layout.shard_index) + "/" +
                     std::to_string(opened.layout.shard_count) + ", not the requested shard " + std::to_string(layout.shard_index) +
                     "/" + std::to_string(layout.shard_count) + " (pass the same --shard as the run that created it)");

  auto state = std::make_unique<State>();
  state->path = path;
  state->layout = layout;
  state->grid = TaskGrid(layout.axes);
  state->options = options;
  state->codec = std::make_unique<RowCodec>(layout.axes, layout.metric_names, path);
  state->committed = opened.rows_committed;
  std::vector<bool> seen(state->grid.size(), false);
  try {
    // A file HDF5 opens can still be damaged inside (a kill while HDF5 evicted metadata):
    // unreadable rows, or ids that make no sense. The journal then stands in, as above.
    for_each_block_of(
        opened, path, 65536,
        [&](const std::vector<StoredRow>& rows) {
          for (const auto& row : rows) {
            if (row.id >= seen.size() || seen[row.id])
              throw StoreError(path + ": damaged rows (task id " + std::to_string(row.id) + " out of the grid or stored twice)");
            state->stored.push_back(row.id);
            seen[row.id] = true;
          }
        },
        false);
    state->file = std::move(opened.file);
    state->open_handles();
  } catch (const StoreError& error) {
    if (!options.journal || !std::filesystem::exists(journal_path(path))) throw;
    bool same_job = false;
    try {
      same_job = read_journal_header(journal_path(path)).job_hash == job_hash(layout.job_text);
    } catch (const InputError&) {
    }
    if (!same_job) throw;
    state.reset();  // close every handle before the file is moved aside
    opened.file.reset();
    return rebuild(path, layout, run, options, error.what());
  }
  // Rows past the commit mark come from a batch a kill cut short: drop them.
  h5::set_extent(state->tasks, state->committed, path + ": /tasks");
  for (auto& array : state->arrays) h5::set_extent(array, state->committed, path + ": /arrays");
  if (force) {
    h5::write_attribute(state->file, "job_text", layout.job_text, path);
    h5::write_attribute(state->file, "job_hash", job_hash(layout.job_text), path);
    if (!layout.resolved_job.empty()) h5::write_attribute(state->file, "resolved_job", layout.resolved_job, path);
  }
  write_run_attributes(state->file, path, run);
  h5::flush(state->file, path);

  if (options.journal) {
    // The journal was fsync'd before each HDF5 flush, so it may hold rows the kill kept
    // from the file: restore them instead of running those tasks again.
    const std::string journal = journal_path(path);
    std::error_code ec;
    bool usable = false;
    if (std::filesystem::exists(journal, ec)) {
      try {
        const JournalHeader header = read_journal_header(journal);
        usable = header.job_hash == stored_hash && header.shard_index == layout.shard_index &&
                 header.shard_count == layout.shard_count;
      } catch (const InputError&) {
        usable = false;  // a damaged header holds nothing we can trust; it is rewritten below
      }
    }
    std::uint64_t valid_bytes = 0;
    if (usable) {
      valid_bytes = scan_journal(journal, [&](TaskResult&& row) {
        if (row.id >= seen.size() || seen[row.id] || !in_shard(layout, row.id)) return;
        seen[row.id] = true;
        state->stored.push_back(row.id);
        state->buffer(row);
        ++state->restored;
      }).valid_bytes;
    }
    ResultWriter writer(std::move(state));
    writer.flush();  // restored rows are already in the journal (none is open yet): HDF5 only
    State& s = *writer.state_;
    const bool finished = s.committed >= shard_task_count(layout);
    if (usable && stored_hash == job_hash(layout.job_text))
      s.journal = JournalWriter::reopen(journal, valid_bytes);
    else if (!finished)  // no journal, or one under the old job text (--force): start one from the file
      s.seed_journal();
    return writer;
  }
  ResultWriter writer(std::move(state));
  return writer;
}

const std::vector<TaskId>& ResultWriter::stored_ids() const { return state_->stored; }
std::uint64_t ResultWriter::rows_committed() const { return state_->committed; }
std::uint64_t ResultWriter::rows_buffered() const { return state_->buffered; }
std::uint64_t ResultWriter::rows_restored() const { return state_->restored; }
bool ResultWriter::rebuilt() const { return state_->rebuilt; }

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
  h5::write_rows(s.tasks, s.codec->type(), s.committed, s.buffered, s.rows.data(), s.path + ": /tasks");
  for (std::size_t a = 0; a < s.arrays.size(); ++a)
    h5::write_rows(s.arrays[a], H5T_NATIVE_DOUBLE, s.committed, s.buffered, s.array_rows[a].data(), s.path + ": /arrays");
  h5::flush(s.file, s.path);
  // Step 2: the commit mark. A kill before this flush leaves the old mark, and the rows
  // written in step 1 are ignored by readers and dropped by resume.
  s.committed += s.buffered;
  h5::write_attribute(s.file, "rows_committed", s.committed, s.path);
  h5::write_attribute(s.file, "updated", iso8601_utc(unix_time_now()), s.path);
  h5::flush(s.file, s.path);
  s.rows.clear();
  s.errors.clear();
  for (auto& buffer : s.array_rows) buffer.clear();
  s.buffered = 0;
}

SummaryTable ResultWriter::finish(const std::string& status, double wall_seconds) {
  State& s = *state_;
  flush();
  OpenedFile view;  // summaries are computed from what is stored, so resume and merge agree with a plain run
  view.layout = s.layout;
  view.rows_committed = s.committed;
  view.file = h5::Handle(h5::check(H5Iinc_ref(s.file.id()) >= 0 ? s.file.id() : -1, "H5Iinc_ref", s.path), H5Fclose);
  const SummaryTable table = summarize_opened(view, s.path);
  view.file.reset();
  write_summaries(s.file, table, s.path);
  h5::write_attribute(s.file, "status", status, s.path);
  h5::write_attribute(s.file, "finished", iso8601_utc(unix_time_now()), s.path);
  h5::write_attribute(s.file, "wall_seconds", wall_seconds, s.path);
  h5::flush(s.file, s.path);
  s.tasks.reset();
  s.arrays.clear();
  s.file.close(s.path);
  if (s.journal) {
    s.journal.close();
    // A complete file no longer needs its journal (which would double the disk used); an
    // interrupted one keeps it for the next resume.
    if (status == "complete") {
      sync_file(s.path);
      std::error_code ec;
      std::filesystem::remove(journal_path(s.path), ec);
      if (ec) throw StoreError(journal_path(s.path) + ": cannot remove the journal of the complete file: " + ec.message());
    }
  }
  return table;
}

}  // namespace msweep
