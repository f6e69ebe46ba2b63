#include "summaries.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>

#include "row_codec.hpp"

namespace msweep::store_detail {

namespace {

// Groups converted and written at once: a block's table and its rows (about 1 KB per group
// at 16 metrics), never a second copy of every group.
constexpr std::size_t kBlockGroups = 16384;

const std::vector<std::string> kReducedAxes{"run", "fold"};

// Row: the group's coordinates, ok_count, failed_count, mean and std of each metric (over
// rows); then, appended so readers of the older columns are unaffected, run_count and the
// run-unit run_mean and run_sem of each metric.
h5::CompoundType summary_type(const std::vector<std::string>& group_axes, const std::vector<std::string>& metrics,
                              const std::string& context) {
  using Kind = h5::CompoundType::Kind;
  std::vector<h5::CompoundType::Field> fields;
  for (const auto& axis : group_axes) fields.push_back({axis, Kind::uint32});
  fields.push_back({"ok_count", Kind::uint64});
  fields.push_back({"failed_count", Kind::uint64});
  for (const auto& metric : metrics) {
    fields.push_back({metric + "_mean", Kind::float64});
    fields.push_back({metric + "_std", Kind::float64});
  }
  fields.push_back({"run_count", Kind::uint64});
  for (const auto& metric : metrics) {
    fields.push_back({metric + "_run_mean", Kind::float64});
    fields.push_back({metric + "_run_sem", Kind::float64});
  }
  return h5::CompoundType(std::move(fields), context);
}

std::vector<std::string> group_axes_of(const ResultLayout& layout) {
  std::vector<std::string> kept;
  for (const auto& axis : layout.axes)
    if (std::find(kReducedAxes.begin(), kReducedAxes.end(), axis.name) == kReducedAxes.end()) kept.push_back(axis.name);
  return kept;
}

std::size_t group_count_of(const ResultLayout& layout) {
  std::size_t groups = 1;
  for (const auto& axis : layout.axes)
    if (std::find(kReducedAxes.begin(), kReducedAxes.end(), axis.name) == kReducedAxes.end()) groups *= axis.size();
  return groups;
}

std::vector<AxisShape> shapes_of(const ResultLayout& layout) {
  std::vector<AxisShape> shapes;
  for (const auto& axis : layout.axes) shapes.push_back({axis.name, axis.size()});
  return shapes;
}

// Rows per chunk of /summaries/table: about 256 KiB, never more than the table's rows.
hsize_t summary_chunk_rows(std::size_t row_bytes, hsize_t groups) {
  return std::clamp<hsize_t>(262144 / row_bytes, 1, std::max<hsize_t>(groups, 1));
}

}  // namespace

std::uint64_t summary_table_bytes(const ResultLayout& layout) {
  const std::size_t row_bytes = summary_type(group_axes_of(layout), metric_names(layout), "summary size").size();
  const hsize_t groups = group_count_of(layout), chunk = summary_chunk_rows(row_bytes, groups);
  return (groups + chunk - 1) / chunk * chunk * row_bytes;
}

std::optional<SummaryBuilder> streaming_summary(const ResultLayout& layout) {
  const auto shapes = shapes_of(layout);
  if (SummaryBuilder::window_groups(shapes, layout.metrics.size(), SummaryPassOptions{}.run_sum_budget_values) < group_count_of(layout)) return std::nullopt;
  return SummaryBuilder(shapes, kReducedAxes, metric_names(layout));
}

void create_summaries(const h5::Handle& file, const ResultLayout& layout, const std::string& path) {
  const std::string context = path + ": /summaries";
  h5::Handle group = h5::create_group(file, "summaries", context);
  h5::write_attribute(group, "group_axes", group_axes_of(layout), context);
  h5::write_attribute(group, "reduced_axes", kReducedAxes, context);
  const h5::CompoundType type = summary_type(group_axes_of(layout), metric_names(layout), context);
  const hsize_t groups = group_count_of(layout);
  // Sized once and for all: SWMR lets the writer rewrite the rows, not create the dataset.
  // Unwritten chunks read as zeros; /state's summarized_rows says whether it was written.
  h5::Handle dataset = h5::create_extendible(group, "table", type.id(), {}, summary_chunk_rows(type.size(), groups), context);
  h5::set_extent(dataset, groups, context);
}

void write_summaries(const h5::Handle& file, const SummaryTable& table, const std::string& path) {
  const std::string context = path + ": /summaries";
  const std::size_t axes = table.group_axes.size(), metrics = table.metric_names.size();
  const h5::CompoundType type = summary_type(table.group_axes, table.metric_names, context);
  std::vector<unsigned char> buffer(type.size() * table.groups());
  for (std::size_t g = 0; g < table.groups(); ++g) {
    unsigned char* row = buffer.data() + g * type.size();
    for (std::size_t a = 0; a < axes; ++a) type.put(row, a, table.coordinate(g, a));
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
  h5::Handle group = h5::open_group(file, "summaries", context);
  h5::Handle dataset = h5::open_dataset(group, "table", context);
  const std::uint64_t rows = h5::row_count(dataset, context);
  if (table.first_group + table.groups() > rows)
    throw StoreError(context + ": /summaries/table has " + std::to_string(rows) + " rows, fewer than group " +
                     std::to_string(table.first_group + table.groups()));
  h5::overwrite_rows(dataset, type.id(), table.first_group, table.groups(), buffer.data(), context);
}

void write_summaries(const h5::Handle& file, const SummaryBuilder& builder, const std::string& path) {
  const GroupWindow window = builder.window();
  for (std::size_t first = window.first; first < window.last; first += kBlockGroups)
    write_summaries(file, builder.finish(first, first + kBlockGroups), path);
}

// /summaries/table for reading, checked to have one row per group.
static h5::Handle open_summary_table(const h5::Handle& file, std::size_t groups, const std::string& context) {
  h5::Handle group = h5::open_group(file, "summaries", context);
  h5::Handle dataset = h5::open_dataset(group, "table", context);
  if (h5::row_count(dataset, context) != groups) throw StoreError(context + ": /summaries/table has the wrong number of rows");
  return dataset;
}

std::uint64_t summed_failed_counts(const h5::Handle& file, const ResultLayout& layout, const std::string& path) {
  const std::string context = path + ": /summaries";
  // A memory type of one field: HDF5 converts only it (the others are not copied out).
  const h5::CompoundType type({{"failed_count", h5::CompoundType::Kind::uint64}}, context);
  const std::size_t groups = group_count_of(layout);
  h5::Handle dataset = open_summary_table(file, groups, context);
  std::vector<std::uint64_t> counts(std::min(groups, kBlockGroups * 16));
  std::uint64_t failed = 0;
  for (std::size_t first = 0; first < groups; first += counts.size()) {
    const std::size_t count = std::min(counts.size(), groups - first);
    h5::read_rows(dataset, type.id(), first, count, counts.data(), context);
    for (std::size_t g = 0; g < count; ++g) failed += counts[g];
  }
  return failed;
}

SummaryTable read_summaries(const h5::Handle& file, const ResultLayout& layout, const std::string& path) {
  const std::string context = path + ": /summaries";
  SummaryTable table;
  table.group_axes = group_axes_of(layout);
  for (const auto& axis : layout.axes)
    if (std::find(table.group_axes.begin(), table.group_axes.end(), axis.name) != table.group_axes.end())
      table.group_axis_sizes.push_back(axis.size());
  table.metric_names = metric_names(layout);
  const std::size_t axes = table.group_axes.size(), metrics = table.metric_names.size(), groups = group_count_of(layout);
  const h5::CompoundType type = summary_type(table.group_axes, table.metric_names, context);
  h5::Handle dataset = open_summary_table(file, groups, context);
  table.ok_count.resize(groups);
  table.failed_count.resize(groups);
  table.run_count.resize(groups);
  table.mean.resize(groups * metrics);
  table.stddev.resize(groups * metrics);
  table.run_mean.resize(groups * metrics);
  table.run_sem.resize(groups * metrics);
  // Read a block at a time: the file's rows (coordinates included) are never all in memory.
  std::vector<unsigned char> buffer(type.size() * std::min(groups, kBlockGroups));
  for (std::size_t first = 0; first < groups; first += kBlockGroups) {
    const std::size_t count = std::min(kBlockGroups, groups - first);
    h5::read_rows(dataset, type.id(), first, count, buffer.data(), context);
    for (std::size_t g = first; g < first + count; ++g) {
      const unsigned char* row = buffer.data() + (g - first) * type.size();
      table.ok_count[g] = type.get<std::uint64_t>(row, axes);
      table.failed_count[g] = type.get<std::uint64_t>(row, axes + 1);
      const std::size_t run_fields = axes + 2 + 2 * metrics;
      table.run_count[g] = type.get<std::uint64_t>(row, run_fields);
      for (std::size_t m = 0; m < metrics; ++m) {
        table.mean[g * metrics + m] = type.get<double>(row, axes + 2 + 2 * m);
        table.stddev[g * metrics + m] = type.get<double>(row, axes + 3 + 2 * m);
        table.run_mean[g * metrics + m] = type.get<double>(row, run_fields + 1 + 2 * m);
        table.run_sem[g * metrics + m] = type.get<double>(row, run_fields + 2 + 2 * m);
      }
    }
  }
  return table;
}

void for_each_summary_window(const h5::Handle& file, const ResultLayout& layout, std::uint64_t rows, const std::string& path,
                             const std::function<void(const SummaryBuilder&)>& visit, const SummaryPassOptions& options) {
  const std::vector<AxisShape> shapes = shapes_of(layout);
  const std::vector<std::string> metrics = metric_names(layout);
  const std::size_t window = SummaryBuilder::window_groups(shapes, metrics.size(), options.run_sum_budget_values);
  const std::size_t groups = group_count_of(layout);
  // When the groups need several windows, the first pass also notes the groups each block of
  // rows spans, and later passes read only the blocks that reach into their window. Rows are
  // stored roughly in task order (the farm hands out the grid in order) and the run and fold
  // axes are the fastest, so a block spans few groups: the passes together read the file
  // about once, not once per window (at 131M rows, 25 windows).
  struct GroupSpan {
    std::size_t low = static_cast<std::size_t>(-1), high = 0;
  };
  std::vector<GroupSpan> block_groups;  // [block]: 16 bytes per block of rows
  const bool several_windows = window < groups;
  for (std::size_t first = 0; first < std::max<std::size_t>(groups, 1); first += window) {
    SummaryBuilder builder(shapes, kReducedAxes, metrics, {first, first + window});
    const bool first_pass = first == 0;
    RowBlockFilter wanted;
    if (several_windows && !first_pass)
      wanted = [&, last = first + window](std::uint64_t first_row) {
        const GroupSpan& span = block_groups[first_row / options.block_rows];
        return span.low < last && span.high >= first;
      };
    read_task_rows(file, layout, rows, path, options.block_rows, false, false, [&](std::vector<TaskRow>& block) {
      GroupSpan span;
      for (const auto& row : block) {
        builder.add(row.coordinates, row.result.status == TaskStatus::ok, row.result.metrics);
        if (several_windows && first_pass) {
          const std::size_t group = builder.group_of(row.coordinates);
          span.low = std::min(span.low, group);
          span.high = std::max(span.high, group);
        }
      }
      if (several_windows && first_pass) block_groups.push_back(span);
    }, wanted);
    visit(builder);
  }
}

SummaryTable summarize_rows(const h5::Handle& file, const ResultLayout& layout, std::uint64_t rows, const std::string& path,
                            const SummaryPassOptions& options) {
  std::optional<SummaryTable> table;
  for_each_summary_window(file, layout, rows, path, [&](const SummaryBuilder& builder) {
    if (!table)
      table = builder.finish();
    else
      table->append(builder.finish());
  }, options);
  return std::move(*table);
}

}  // namespace msweep::store_detail
