// Summaries of a sweep: mean, standard deviation and count of every metric over the
// reduced axes (run and fold by default), one group per combination of the others; and the
// same with runs as the unit of replication: the folds of one run share most of their
// training rows, so their rows are not independent. Each run's rows are averaged first, then
// the mean and standard error are taken over the run means (docs/science.md).
// Pure arithmetic on coordinates and metric values, shared by the store (which writes
// them) and the experiments (which print their end-of-run reports from them).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace msweep {

struct AxisShape {
  std::string name;
  std::size_t size = 0;
};

// Flat arrays only (nothing allocated per group): at 2^20 structures and 16 metrics a table is
// 24 bytes plus 4 doubles per metric per group. A table may hold a block of the groups,
// [first_group, first_group + groups()), in the order of the kept axes (the last fastest); a
// group's coordinates follow from its index and are not stored.
struct SummaryTable {
  std::vector<std::string> group_axes;               // the axes kept, in grid order
  std::vector<std::size_t> group_axis_sizes;         // their sizes
  std::size_t first_group = 0;                       // the table's group 0 is this group of the grid
  std::vector<std::string> metric_names;
  std::vector<std::uint64_t> ok_count, failed_count;          // [group]
  std::vector<double> mean, stddev;                           // [group * metrics + metric]; mean NaN when ok_count == 0, stddev when < 2
  // Runs as the unit: run_count[group] runs with at least one ok row; run_mean is the mean of
  // their run means (NaN without runs), run_sem the standard deviation of the run means over
  // sqrt(run_count) (NaN with fewer than 2 runs).
  std::vector<std::uint64_t> run_count;                       // [group]
  std::vector<double> run_mean, run_sem;                      // [group * metrics + metric]

  std::size_t groups() const { return ok_count.size(); }
  // The coordinate on kept axis `axis` of the table's group `group`.
  std::uint32_t coordinate(std::size_t group, std::size_t axis) const;
  std::size_t metric_index(const std::string& name) const;  // throws ArgumentError if absent
  double mean_of(std::size_t group, std::size_t metric) const { return mean[group * metric_names.size() + metric]; }
  double stddev_of(std::size_t group, std::size_t metric) const { return stddev[group * metric_names.size() + metric]; }
  double run_mean_of(std::size_t group, std::size_t metric) const { return run_mean[group * metric_names.size() + metric]; }
  double run_sem_of(std::size_t group, std::size_t metric) const { return run_sem[group * metric_names.size() + metric]; }
  // Appends `block`, the groups that follow this table's (same axes and metrics).
  void append(const SummaryTable& block);
};

// Accumulates task rows into groups with Welford's update (one pass, stable). The run-unit
// statistics need a sum per (group, run, metric); to bound that memory a builder keeps the
// groups of a window [first, last) only (all groups by default) and ignores the rows of the
// others, so a caller with a huge grid reads the rows once per window (window_groups says how
// wide a window may be).
struct GroupWindow {
  std::size_t first = 0, last = static_cast<std::size_t>(-1);  // groups [first, last)
};

class SummaryBuilder {
 public:
  // The run axis is the reduced axis named "run"; without one there are no run-unit statistics.
  SummaryBuilder(std::vector<AxisShape> axes, std::vector<std::string> reduced_axes, std::vector<std::string> metric_names,
                 GroupWindow window = {});

  // coordinates: one per axis; metrics ignored when !ok.
  void add(std::span<const std::uint32_t> coordinates, bool ok, std::span<const double> metrics);
  // The table of the window's groups in [first, last) (all of them by default): callers with
  // many groups write it out in blocks rather than hold a second copy of the whole window.
  SummaryTable finish(std::size_t first = 0, std::size_t last = static_cast<std::size_t>(-1)) const;
  std::size_t groups() const { return group_count_; }  // of the grid, not only the window's
  // The group a row with these coordinates belongs to (whether or not it is in the window).
  std::size_t group_of(std::span<const std::uint32_t> coordinates) const;
  GroupWindow window() const { return window_; }

  // Groups whose run sums fit in `budget_values` doubles (at least 1).
  static std::size_t window_groups(std::span<const AxisShape> axes, std::size_t metrics, std::size_t budget_values);

 private:
  std::vector<AxisShape> axes_;
  std::vector<bool> kept_;
  std::vector<std::size_t> kept_sizes_;
  std::vector<std::string> metric_names_;
  std::size_t group_count_ = 1;
  GroupWindow window_;                 // clamped to the grid's groups
  // Per group of the window, indexed by group - window_.first:
  std::vector<std::uint64_t> ok_, failed_;
  std::vector<double> mean_, m2_;      // [group * metrics + metric]
  std::size_t run_axis_ = static_cast<std::size_t>(-1), runs_ = 0;  // run axis position and size
  std::vector<std::uint64_t> run_ok_;  // [group * runs + run]
  std::vector<double> run_sum_;        // [(group * runs + run) * metrics + metric]
};

}  // namespace msweep
