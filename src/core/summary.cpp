#include "msweep/core/summary.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "msweep/core/error.hpp"

namespace msweep {

std::size_t SummaryTable::metric_index(const std::string& name) const {
  auto it = std::find(metric_names.begin(), metric_names.end(), name);
  require(it != metric_names.end(), "SummaryTable::metric_index", "name", "a metric of the table, got '" + name + "'");
  return static_cast<std::size_t>(it - metric_names.begin());
}

std::uint32_t SummaryTable::coordinate(std::size_t group, std::size_t axis) const {
  std::size_t rest = first_group + group;
  for (std::size_t i = group_axis_sizes.size(); --i > axis;) rest /= group_axis_sizes[i];
  return static_cast<std::uint32_t>(rest % group_axis_sizes[axis]);
}

void SummaryTable::append(const SummaryTable& block) {
  require(block.first_group == first_group + groups() && block.metric_names == metric_names, "SummaryTable::append", "block",
          "the groups following the table's, with its metrics");
  auto extend = [](auto& to, const auto& from) { to.insert(to.end(), from.begin(), from.end()); };
  extend(ok_count, block.ok_count);
  extend(failed_count, block.failed_count);
  extend(mean, block.mean);
  extend(stddev, block.stddev);
  extend(run_count, block.run_count);
  extend(run_mean, block.run_mean);
  extend(run_sem, block.run_sem);
}

namespace {

std::size_t find_run_axis(std::span<const AxisShape> axes) {
  for (std::size_t i = 0; i < axes.size(); ++i)
    if (axes[i].name == "run") return i;
  return static_cast<std::size_t>(-1);
}

}  // namespace

SummaryBuilder::SummaryBuilder(std::vector<AxisShape> axes, std::vector<std::string> reduced_axes,
                               std::vector<std::string> metric_names, GroupWindow window)
    : axes_(std::move(axes)), metric_names_(std::move(metric_names)), window_(window) {
  for (const auto& axis : axes_) {
    const bool reduced = std::find(reduced_axes.begin(), reduced_axes.end(), axis.name) != reduced_axes.end();
    kept_.push_back(!reduced);
    if (!reduced) {
      group_count_ *= axis.size;
      kept_sizes_.push_back(axis.size);
    }
  }
  window_.last = std::min(window_.last, group_count_);
  window_.first = std::min(window_.first, window_.last);
  const std::size_t groups = window_.last - window_.first;
  ok_.assign(groups, 0);
  failed_.assign(groups, 0);
  mean_.assign(groups * metric_names_.size(), 0.0);
  m2_.assign(groups * metric_names_.size(), 0.0);
  const std::size_t run_axis = find_run_axis(axes_);
  if (run_axis < axes_.size() && !kept_[run_axis]) {
    run_axis_ = run_axis;
    runs_ = axes_[run_axis].size;
    run_ok_.assign(groups * runs_, 0);
    run_sum_.assign(run_ok_.size() * metric_names_.size(), 0.0);
  }
}

std::size_t SummaryBuilder::window_groups(std::span<const AxisShape> axes, std::size_t metrics, std::size_t budget_values) {
  const std::size_t run_axis = find_run_axis(axes);
  const std::size_t runs = run_axis < axes.size() ? std::max<std::size_t>(1, axes[run_axis].size) : 1;
  return std::max<std::size_t>(1, budget_values / (runs * std::max<std::size_t>(1, metrics)));
}

std::size_t SummaryBuilder::group_of(std::span<const std::uint32_t> coordinates) const {
  std::size_t group = 0;
  for (std::size_t i = 0; i < axes_.size(); ++i)
    if (kept_[i]) group = group * axes_[i].size + coordinates[i];
  return group;
}

void SummaryBuilder::add(std::span<const std::uint32_t> coordinates, bool ok, std::span<const double> metrics) {
  std::size_t group = group_of(coordinates);
  if (group < window_.first || group >= window_.last) return;
  group -= window_.first;
  if (!ok) {
    ++failed_[group];
    return;
  }
  const double n = static_cast<double>(++ok_[group]);
  const std::size_t base = group * metric_names_.size();
  for (std::size_t m = 0; m < metric_names_.size(); ++m) {
    const double delta = metrics[m] - mean_[base + m];
    mean_[base + m] += delta / n;
    m2_[base + m] += delta * (metrics[m] - mean_[base + m]);
  }
  if (runs_ > 0) {
    const std::size_t slot = group * runs_ + coordinates[run_axis_];
    ++run_ok_[slot];
    for (std::size_t m = 0; m < metric_names_.size(); ++m) run_sum_[slot * metric_names_.size() + m] += metrics[m];
  }
}

SummaryTable SummaryBuilder::finish(std::size_t first, std::size_t last) const {
  first = std::clamp(first, window_.first, window_.last);
  last = std::clamp(last, first, window_.last);
  const std::size_t groups = last - first, metrics = metric_names_.size(), offset = first - window_.first;
  SummaryTable table;
  for (std::size_t i = 0; i < axes_.size(); ++i)
    if (kept_[i]) table.group_axes.push_back(axes_[i].name);
  table.group_axis_sizes = kept_sizes_;
  table.first_group = first;
  table.metric_names = metric_names_;
  table.ok_count.assign(ok_.begin() + offset, ok_.begin() + offset + groups);
  table.failed_count.assign(failed_.begin() + offset, failed_.begin() + offset + groups);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  table.mean.resize(groups * metrics);
  table.stddev.resize(groups * metrics);
  for (std::size_t g = 0; g < groups; ++g) {
    const std::uint64_t ok = ok_[offset + g];
    for (std::size_t m = 0; m < metrics; ++m) {
      const std::size_t at = g * metrics + m, from = (offset + g) * metrics + m;
      table.mean[at] = ok ? mean_[from] : nan;
      // Sample standard deviation (n - 1): undefined for a single value, so NaN rather than a
      // zero that would read as certainty in tables and error bars.
      table.stddev[at] = ok > 1 ? std::sqrt(m2_[from] / (static_cast<double>(ok) - 1.0)) : nan;
    }
  }
  // Runs as the unit: Welford over the run means of each group.
  table.run_count.assign(groups, 0);
  table.run_mean.assign(groups * metrics, nan);
  table.run_sem.assign(groups * metrics, nan);
  std::vector<double> mean(metrics), m2(metrics);
  for (std::size_t g = 0; runs_ > 0 && g < groups; ++g) {
    std::fill(mean.begin(), mean.end(), 0.0);
    std::fill(m2.begin(), m2.end(), 0.0);
    std::uint64_t count = 0;
    for (std::size_t r = 0; r < runs_; ++r) {
      const std::size_t slot = (offset + g) * runs_ + r;
      if (run_ok_[slot] == 0) continue;
      const double k = static_cast<double>(++count);
      for (std::size_t m = 0; m < metrics; ++m) {
        const double run_mean = run_sum_[slot * metrics + m] / static_cast<double>(run_ok_[slot]);
        const double delta = run_mean - mean[m];
        mean[m] += delta / k;
        m2[m] += delta * (run_mean - mean[m]);
      }
    }
    table.run_count[g] = count;
    const double k = static_cast<double>(count);
    for (std::size_t m = 0; m < metrics && count > 0; ++m) {
      table.run_mean[g * metrics + m] = mean[m];
      if (count > 1) table.run_sem[g * metrics + m] = std::sqrt(m2[m] / (k - 1.0) / k);
    }
  }
  return table;
}

}  // namespace msweep
