// Summaries of a sweep: mean, standard deviation and count of every metric over the
// reduced axes (run and fold by default), one group per combination of the others.
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

struct SummaryTable {
  std::vector<std::string> group_axes;               // the axes kept, in grid order
  std::vector<std::string> metric_names;
  std::vector<std::vector<std::uint32_t>> group_coordinates;  // [group][kept axis]
  std::vector<std::uint64_t> ok_count, failed_count;          // [group]
  std::vector<double> mean, stddev;                           // [group * metrics + metric]; mean NaN when ok_count == 0, stddev when < 2

  std::size_t groups() const { return group_coordinates.size(); }
  std::size_t metric_index(const std::string& name) const;  // throws ArgumentError if absent
  double mean_of(std::size_t group, std::size_t metric) const { return mean[group * metric_names.size() + metric]; }
  double stddev_of(std::size_t group, std::size_t metric) const { return stddev[group * metric_names.size() + metric]; }
};

// Accumulates task rows into groups with Welford's update (one pass, stable).
class SummaryBuilder {
 public:
  SummaryBuilder(std::vector<AxisShape> axes, std::vector<std::string> reduced_axes, std::vector<std::string> metric_names);

  // coordinates: one per axis; metrics ignored when !ok.
  void add(std::span<const std::uint32_t> coordinates, bool ok, std::span<const double> metrics);
  SummaryTable finish() const;

 private:
  std::vector<AxisShape> axes_;
  std::vector<bool> kept_;
  std::vector<std::string> metric_names_;
  std::size_t group_count_ = 1;
  std::vector<std::uint64_t> ok_, failed_;
  std::vector<double> mean_, m2_;
};

}  // namespace msweep
