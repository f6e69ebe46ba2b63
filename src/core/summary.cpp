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

namespace {

std::size_t find_run_axis(std::span<const AxisShape> axes) {
  for (std::size_t i = 0; i < axes.size(); ++i)
    if (axes[i].name == "run") return i;
  return static_cast<std::size_t>(-1);
}

}  // namespace

SummaryBuilder::SummaryBuilder(std::vector<AxisShape> axes, std::vector<std::string> reduced_axes,
                               std::vector<std::string> metric_names, RunWindow run_window)
    : axes_(std::move(axes)), metric_names_(std::move(metric_names)), window_(run_window) {
  for (const auto& axis : axes_) {
    const bool reduced = std::find(reduced_axes.begin(), reduced_axes.end(), axis.name) != reduced_axes.end();
    kept_.push_back(!reduced);
    if (!reduced) group_count_ *= axis.size;
  }
  ok_.assign(group_count_, 0);
  failed_.assign(group_count_, 0);
  mean_.assign(group_count_ * metric_names_.size(), 0.0);
  m2_.assign(group_count_ * metric_names_.size(), 0.0);
  const std::size_t run_axis = find_run_axis(axes_);
  if (run_axis < axes_.size() && !kept_[run_axis]) {
    run_axis_ = run_axis;
    runs_ = axes_[run_axis].size;
    window_.last = std::min(window_.last, group_count_);
    window_.first = std::min(window_.first, window_.last);
    run_ok_.assign((window_.last - window_.first) * runs_, 0);
    run_sum_.assign(run_ok_.size() * metric_names_.size(), 0.0);
  }
}

std::size_t SummaryBuilder::run_window_groups(std::span<const AxisShape> axes, std::size_t metrics, std::size_t budget_values) {
  const std::size_t run_axis = find_run_axis(axes);
  const std::size_t runs = run_axis < axes.size() ? std::max<std::size_t>(1, axes[run_axis].size) : 1;
  return std::max<std::size_t>(1, budget_values / (runs * std::max<std::size_t>(1, metrics)));
}

void SummaryBuilder::add(std::span<const std::uint32_t> coordinates, bool ok, std::span<const double> metrics) {
  std::size_t group = 0;
  for (std::size_t i = 0; i < axes_.size(); ++i)
    if (kept_[i]) group = group * axes_[i].size + coordinates[i];
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
  if (runs_ > 0 && group >= window_.first && group < window_.last) {
    const std::size_t slot = (group - window_.first) * runs_ + coordinates[run_axis_];
    ++run_ok_[slot];
    for (std::size_t m = 0; m < metric_names_.size(); ++m) run_sum_[slot * metric_names_.size() + m] += metrics[m];
  }
}

SummaryTable SummaryBuilder::finish() const {
  SummaryTable table;
  for (std::size_t i = 0; i < axes_.size(); ++i)
    if (kept_[i]) table.group_axes.push_back(axes_[i].name);
  table.metric_names = metric_names_;
  table.ok_count = ok_;
  table.failed_count = failed_;
  table.group_coordinates.resize(group_count_);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  table.mean.resize(mean_.size());
  table.stddev.resize(mean_.size());
  for (std::size_t g = 0; g < group_count_; ++g) {
    std::size_t rest = g;
    auto& coords = table.group_coordinates[g];
    coords.assign(table.group_axes.size(), 0);
    std::size_t k = table.group_axes.size();
    for (std::size_t i = axes_.size(); i-- > 0;) {
      if (!kept_[i]) continue;
      coords[--k] = static_cast<std::uint32_t>(rest % axes_[i].size);
      rest /= axes_[i].size;
    }
    for (std::size_t m = 0; m < metric_names_.size(); ++m) {
      const std::size_t at = g * metric_names_.size() + m;
      const double n = static_cast<double>(ok_[g]);
      table.mean[at] = ok_[g] ? mean_[at] : nan;
      // Sample standard deviation (n - 1): undefined for a single value, so NaN rather than a
      // zero that would read as certainty in tables and error bars.
      table.stddev[at] = ok_[g] > 1 ? std::sqrt(m2_[at] / (n - 1.0)) : nan;
    }
  }
  // Runs as the unit: Welford over the run means of each group in the window.
  const std::size_t metrics = metric_names_.size();
  table.run_count.assign(group_count_, 0);
  table.run_mean.assign(mean_.size(), nan);
  table.run_sem.assign(mean_.size(), nan);
  for (std::size_t g = window_.first; runs_ > 0 && g < window_.last; ++g) {
    std::vector<double> mean(metrics, 0.0), m2(metrics, 0.0);
    std::uint64_t count = 0;
    for (std::size_t r = 0; r < runs_; ++r) {
      const std::size_t slot = (g - window_.first) * runs_ + r;
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
