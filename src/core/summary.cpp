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

SummaryBuilder::SummaryBuilder(std::vector<AxisShape> axes, std::vector<std::string> reduced_axes,
                               std::vector<std::string> metric_names)
    : axes_(std::move(axes)), metric_names_(std::move(metric_names)) {
  for (const auto& axis : axes_) {
    const bool reduced = std::find(reduced_axes.begin(), reduced_axes.end(), axis.name) != reduced_axes.end();
    kept_.push_back(!reduced);
    if (!reduced) group_count_ *= axis.size;
  }
  ok_.assign(group_count_, 0);
  failed_.assign(group_count_, 0);
  mean_.assign(group_count_ * metric_names_.size(), 0.0);
  m2_.assign(group_count_ * metric_names_.size(), 0.0);
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
  return table;
}

}  // namespace msweep
