#include "summaries.hpp"

#include <algorithm>
#include <cstddef>

#include "row_codec.hpp"

namespace msweep::store_detail {

namespace {

// Run sums held at once for the run-unit statistics (doubles; 128 MB). A grid whose groups,
// runs and metrics need more is read once more per further window of groups.
constexpr std::size_t kRunSumBudget = std::size_t{16} << 20;

}  // namespace

SummaryTable summarize_rows(const h5::Handle& file, const ResultLayout& layout, std::uint64_t rows, const std::string& path) {
  std::vector<AxisShape> shapes;
  for (const auto& axis : layout.axes) shapes.push_back({axis.name, axis.size()});
  const std::vector<std::string> reduced{"run", "fold"}, metrics = metric_names(layout);
  auto summarize_window = [&](RunWindow window) {
    SummaryBuilder builder(shapes, reduced, metrics, window);
    read_task_rows(file, layout, rows, path, 65536, false, false, [&](std::vector<TaskRow>& block) {
      for (const auto& row : block) builder.add(row.coordinates, row.result.status == TaskStatus::ok, row.result.metrics);
    });
    return builder.finish();
  };
  const std::size_t window = SummaryBuilder::run_window_groups(shapes, metrics.size(), kRunSumBudget);
  SummaryTable table = summarize_window({0, window});
  for (std::size_t first = window; first < table.groups(); first += window) {
    const SummaryTable part = summarize_window({first, first + window});
    const std::size_t last = std::min(first + window, table.groups());
    std::copy(part.run_count.begin() + first, part.run_count.begin() + last, table.run_count.begin() + first);
    const std::size_t from = first * metrics.size(), to = last * metrics.size();
    std::copy(part.run_mean.begin() + from, part.run_mean.begin() + to, table.run_mean.begin() + from);
    std::copy(part.run_sem.begin() + from, part.run_sem.begin() + to, table.run_sem.begin() + from);
  }
  return table;
}

void write_summaries(const h5::Handle& file, const SummaryTable& table, const std::string& path) {
  using Kind = h5::CompoundType::Kind;
  const std::string context = path + ": /summaries";
  if (h5::exists(file, "summaries")) h5::unlink(file, "summaries", context);
  h5::Handle group = h5::create_group(file, "summaries", context);
  h5::write_attribute(group, "group_axes", table.group_axes, context);
  h5::write_attribute(group, "reduced_axes", std::vector<std::string>{"run", "fold"}, context);

  // Row: the group's coordinates, ok_count, failed_count, mean and std of each metric (over
  // rows); then, appended so readers of the older columns are unaffected, run_count and the
  // run-unit run_mean and run_sem of each metric.
  const std::size_t axes = table.group_axes.size(), metrics = table.metric_names.size();
  std::vector<h5::CompoundType::Field> fields;
  for (const auto& axis : table.group_axes) fields.push_back({axis, Kind::uint32});
  fields.push_back({"ok_count", Kind::uint64});
  fields.push_back({"failed_count", Kind::uint64});
  for (const auto& metric : table.metric_names) {
    fields.push_back({metric + "_mean", Kind::float64});
    fields.push_back({metric + "_std", Kind::float64});
  }
  fields.push_back({"run_count", Kind::uint64});
  for (const auto& metric : table.metric_names) {
    fields.push_back({metric + "_run_mean", Kind::float64});
    fields.push_back({metric + "_run_sem", Kind::float64});
  }
  const h5::CompoundType type(std::move(fields), context);
  std::vector<unsigned char> buffer(type.size() * table.groups());
  for (std::size_t g = 0; g < table.groups(); ++g) {
    unsigned char* row = buffer.data() + g * type.size();
    for (std::size_t a = 0; a < axes; ++a) type.put(row, a, table.group_coordinates[g][a]);
    type.put(row, axes, table.ok_count[g]);
    type.put(row, axes + 1, table.failed_count[g]);
    for (std::size_t m = 0; m < metrics; ++m) {
      type.put(row, axes + 2 + 2 * m, table.mean_of(g, m));
      type.put(row, axes + 3 + 2 * m, table.stddev_of(g, m));
    }
    const std::size_t run_fields = axes + 2 + 2 * metrics;
    type.put(row, run_fields, table.run_count[g]);
    for (std::size_t m = 0; m < metrics; ++m) {
      type.put(row, run_fields + 1 + 2 * m, table.run_mean_of(g, m));
      type.put(row, run_fields + 2 + 2 * m, table.run_sem_of(g, m));
    }
  }
  h5::Handle dataset =
      h5::create_extendible(group, "table", type.id(), {}, std::max<hsize_t>(1, std::min<hsize_t>(table.groups(), 4096)), context);
  h5::write_rows(dataset, type.id(), 0, table.groups(), buffer.data(), context);
}

}  // namespace msweep::store_detail
