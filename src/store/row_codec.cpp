#include "row_codec.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "msweep/core/error.hpp"
#include "results_file.hpp"

namespace msweep::store_detail {
namespace {

using Kind = h5::CompoundType::Kind;

// Field indices of the fixed part of a row; the coordinates sit between id and status, the
// metrics after rank.
constexpr std::size_t kId = 0;
std::size_t status_field(std::size_t axes) { return 1 + axes; }
std::size_t error_field(std::size_t axes) { return 2 + axes; }
std::size_t wall_field(std::size_t axes) { return 3 + axes; }
std::size_t rank_field(std::size_t axes) { return 4 + axes; }
std::size_t metric_field(std::size_t axes, std::size_t m) { return 5 + axes + m; }

std::vector<h5::CompoundType::Field> row_fields(const ResultLayout& layout, bool with_error) {
  std::set<std::string> names = {"id", "status", "error", "wall_time", "rank"};
  for (const auto& axis : layout.axes)
    if (!names.insert(axis.name).second) throw ArgumentError("RowCodec: axis name '" + axis.name + "' collides with another field");
  for (const auto& metric : layout.metrics)
    if (!names.insert(metric.name).second) throw ArgumentError("RowCodec: metric name '" + metric.name + "' collides with another field");
  std::vector<h5::CompoundType::Field> fields{{"id", Kind::uint64}};
  for (const auto& axis : layout.axes) fields.push_back({axis.name, Kind::uint32});
  fields.push_back({"status", Kind::int8});
  fields.push_back({"error", Kind::string, with_error});
  fields.push_back({"wall_time", Kind::float64});
  fields.push_back({"rank", Kind::int32});
  for (const auto& metric : layout.metrics) fields.push_back({metric.name, Kind::float64});
  return fields;
}

}  // namespace

RowCodec::RowCodec(const ResultLayout& layout, const std::string& context, bool with_error)
    : axis_count_(layout.axes.size()),
      metric_count_(layout.metrics.size()),
      with_error_(with_error),
      type_(row_fields(layout, with_error), context) {}

void RowCodec::encode(unsigned char* row, const TaskResult& result, const std::uint32_t* coordinates, const char* error) const {
  const bool ok = result.status == TaskStatus::ok;
  type_.put(row, kId, result.id);
  for (std::size_t a = 0; a < axis_count_; ++a) type_.put(row, 1 + a, coordinates[a]);
  type_.put(row, status_field(axis_count_), static_cast<std::int8_t>(result.status));
  type_.put(row, error_field(axis_count_), error);
  type_.put(row, wall_field(axis_count_), result.wall_seconds);
  type_.put(row, rank_field(axis_count_), result.rank);
  for (std::size_t m = 0; m < metric_count_; ++m)
    type_.put(row, metric_field(axis_count_, m), ok ? result.metrics[m] : std::numeric_limits<double>::quiet_NaN());
}

TaskRow RowCodec::decode(const unsigned char* row) const {
  TaskRow out;
  TaskResult& result = out.result;
  result.id = type_.get<std::uint64_t>(row, kId);
  out.coordinates.resize(axis_count_);
  for (std::size_t a = 0; a < axis_count_; ++a) out.coordinates[a] = type_.get<std::uint32_t>(row, 1 + a);
  result.status = static_cast<TaskStatus>(type_.get<std::int8_t>(row, status_field(axis_count_)));
  if (with_error_) {
    const char* error = type_.get<const char*>(row, error_field(axis_count_));
    result.error = error ? error : "";
  }
  result.wall_seconds = type_.get<double>(row, wall_field(axis_count_));
  result.rank = type_.get<std::int32_t>(row, rank_field(axis_count_));
  result.metrics.resize(metric_count_);
  for (std::size_t m = 0; m < metric_count_; ++m) result.metrics[m] = type_.get<double>(row, metric_field(axis_count_, m));
  return out;
}

void read_task_rows(const h5::Handle& file, const ResultLayout& layout, std::uint64_t rows, const std::string& path,
                    std::size_t block_rows, bool with_errors, bool with_arrays,
                    const std::function<void(std::vector<TaskRow>&)>& visit) {
  const RowCodec codec(layout, path, with_errors);
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
    const std::uint64_t count = std::min<std::uint64_t>(block_rows, rows - at);
    buffer.assign(count * codec.row_size(), 0);
    h5::read_rows(tasks, codec.type(), at, count, buffer.data(), path + ": /tasks");
    block.clear();
    for (std::uint64_t r = 0; r < count; ++r) block.push_back(codec.decode(buffer.data() + r * codec.row_size()));
    // HDF5 allocated the error strings: free them through the library that made them.
    if (with_errors) h5::reclaim_variable_lengths(codec.type(), count, buffer.data(), path + ": /tasks");
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
