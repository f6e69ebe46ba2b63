#include "row_codec.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "msweep/core/error.hpp"
#include "results_file.hpp"

namespace msweep::store_detail {
namespace {

using Kind = h5::CompoundType::Kind;

// Field indices of a row: the fixed fields, then the metrics.
constexpr std::size_t kId = 0, kStatus = 1, kError = 2, kWall = 3, kRank = 4, kFirstMetric = 5;

std::vector<h5::CompoundType::Field> row_fields(const ResultLayout& layout, bool with_error) {
  // Axis names are not fields any more, but they still name load()'s columns (Python adds them
  // back, computed from the id), so they must not collide with the row's fields either.
  std::set<std::string> names = {"id", "status", "error", "wall_time", "rank"};
  for (const auto& axis : layout.axes)
    if (!names.insert(axis.name).second) throw ArgumentError("RowCodec: axis name '" + axis.name + "' collides with another field");
  for (const auto& metric : layout.metrics)
    if (!names.insert(metric.name).second) throw ArgumentError("RowCodec: metric name '" + metric.name + "' collides with another field");
  std::vector<h5::CompoundType::Field> fields{{"id", Kind::uint64}};
  fields.push_back({"status", Kind::int8});
  fields.push_back({"error", Kind::string, with_error});
  fields.push_back({"wall_time", Kind::float64});
  fields.push_back({"rank", Kind::int32});
  for (const auto& metric : layout.metrics) fields.push_back({metric.name, Kind::float64});
  return fields;
}

}  // namespace

RowCodec::RowCodec(const ResultLayout& layout, const std::string& context, bool with_error)
    : metric_count_(layout.metrics.size()),
      with_error_(with_error),
      type_(row_fields(layout, with_error), context) {}

void RowCodec::encode(unsigned char* row, const TaskResult& result, const char* error) const {
  const bool ok = result.status == TaskStatus::ok;
  type_.put(row, kId, result.id);
  type_.put(row, kStatus, static_cast<std::int8_t>(result.status));
  type_.put(row, kError, error);
  type_.put(row, kWall, result.wall_seconds);
  type_.put(row, kRank, result.rank);
  for (std::size_t m = 0; m < metric_count_; ++m)
    type_.put(row, kFirstMetric + m, ok ? result.metrics[m] : std::numeric_limits<double>::quiet_NaN());
}

TaskRow RowCodec::decode(const unsigned char* row, const TaskGrid& grid) const {
  TaskRow out;
  TaskResult& result = out.result;
  result.id = type_.get<std::uint64_t>(row, kId);
  out.coordinates.resize(grid.axes().size());
  grid.coordinates(result.id, out.coordinates);
  result.status = static_cast<TaskStatus>(type_.get<std::int8_t>(row, kStatus));
  if (with_error_) {
    const char* error = type_.get<const char*>(row, kError);
    result.error = error ? error : "";
  }
  result.wall_seconds = type_.get<double>(row, kWall);
  result.rank = type_.get<std::int32_t>(row, kRank);
  result.metrics.resize(metric_count_);
  for (std::size_t m = 0; m < metric_count_; ++m) result.metrics[m] = type_.get<double>(row, kFirstMetric + m);
  return out;
}

void read_task_rows(const h5::Handle& file, const ResultLayout& layout, std::uint64_t rows, const std::string& path,
                    std::size_t block_rows, bool with_errors, bool with_arrays,
                    const std::function<void(std::vector<TaskRow>&)>& visit, const RowBlockFilter& wanted) {
  const RowCodec codec(layout, path, with_errors);
  const TaskGrid grid(layout.axes);
  h5::Handle tasks = h5::open_dataset(file, "tasks", path);
  std::vector<h5::Handle> arrays;
  std::vector<std::uint64_t> elements;
  if (with_arrays) {
    h5::Handle group = h5::open_group(file, "arrays", path);
    for (const auto& array : layout.arrays) {
      arrays.push_back(h5::open_dataset(group, array.name, path + ": /arrays"));
      elements.push_back(elements_of(array));
    }
  }
  std::vector<unsigned char> buffer;
  std::vector<double> values;
  std::vector<TaskRow> block;
  for (std::uint64_t at = 0; at < rows; at += block_rows) {
    if (wanted && !wanted(at)) continue;
    const std::uint64_t count = std::min<std::uint64_t>(block_rows, rows - at);
    buffer.assign(count * codec.row_size(), 0);
    h5::read_rows(tasks, codec.type(), at, count, buffer.data(), path + ": /tasks");
    block.clear();
    for (std::uint64_t r = 0; r < count; ++r) block.push_back(codec.decode(buffer.data() + r * codec.row_size(), grid));
    // HDF5 allocated the error strings: free them through the library that made them.
    if (with_errors) h5::reclaim_variable_lengths(codec.type(), count, buffer.data(), path + ": /tasks");
    // An id outside the grid has no coordinates: a damaged row (garbage a crash left).
    for (std::uint64_t r = 0; r < count; ++r)
      if (block[r].result.id >= grid.size())
        throw StoreError(path + ": damaged rows (row " + std::to_string(at + r) + ", task " + std::to_string(block[r].result.id) +
                         ": out of the grid)");
    for (std::size_t a = 0; a < arrays.size(); ++a) {
      const std::uint64_t n = elements[a];
      values.resize(count * n);
      if (n > 0) h5::read_rows(arrays[a], H5T_NATIVE_DOUBLE, at, count, values.data(), path + ": /arrays/" + layout.arrays[a].name);
      for (std::uint64_t r = 0; r < count; ++r)
        block[r].result.arrays.emplace_back(values.begin() + static_cast<std::ptrdiff_t>(r * n),
                                            values.begin() + static_cast<std::ptrdiff_t>((r + 1) * n));
    }
    visit(block);
  }
}

}  // namespace msweep::store_detail
