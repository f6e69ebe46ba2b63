#include "summaries.hpp"

#include <algorithm>

#include "row_codec.hpp"

namespace msweep::store_detail {

SummaryTable summarize_rows(const h5::Handle& file, const ResultLayout& layout, std::uint64_t rows, const std::string& path) {
  std::vector<AxisShape> shapes;
  for (const auto& axis : layout.axes) shapes.push_back({axis.name, axis.size()});
  SummaryBuilder builder(shapes, {"run", "fold"}, metric_names(layout));
  read_task_rows(file, layout, rows, path, 65536, false, false, [&](std::vector<TaskRow>& block) {
    for (const auto& row : block) builder.add(row.coordinates, row.result.status == TaskStatus::ok, row.result.metrics);
  });
  return builder.finish();
}

void write_summaries(const h5::Handle& file, const SummaryTable& table, const std::string& path) {
  using Kind = h5::CompoundType::Kind;
  const std::string context = path + ": /summaries";
  if (h5::exists(file, "summaries")) h5::unlink(file, "summaries", context);
  h5::Handle group = h5::create_group(file, "summaries", context);
  h5::write_attribute(group, "group_axes", table.group_axes, context);
  h5::write_attribute(group, "reduced_axes", std::vector<std::string>{"run", "fold"}, context);

  // Row: the group's coordinates, ok_count, failed_count, then mean and std of each metric.
  const std::size_t axes = table.group_axes.size(), metrics = table.metric_names.size();
  std::vector<h5::CompoundType::Field> fields;
  for (const auto& axis : table.group_axes) fields.push_back({axis, Kind::uint32});
  fields.push_back({"ok_count", Kind::uint64});
  fields.push_back({"failed_count", Kind::uint64});
  for (const auto& metric : table.metric_names) {
    fields.push_back({metric + "_mean", Kind::float64});
    fields.push_back({metric + "_std", Kind::float64});
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
  }
  h5::Handle dataset =
      h5::create_extendible(group, "table", type.id(), {}, std::max<hsize_t>(1, std::min<hsize_t>(table.groups(), 4096)), context);
  h5::write_rows(dataset, type.id(), 0, table.groups(), buffer.data(), context);
}

}  // namespace msweep::store_detail
