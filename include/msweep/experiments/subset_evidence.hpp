// Experiment "subset-evidence" (docs/science.md: evidence, AIC/BIC, cross-validation): Bayesian linear regression on
// every candidate feature subset, with evidence, information criteria, k-fold
// cross-validation and held-out test error per (structure, fold, run).
//
// Tasks share work through per-split sufficient statistics: the Gram matrices of the fit,
// validation and test parts are computed once per (run, fold) on each rank, and a task only
// takes the sub-block of its subset, so a full 2^n sweep never touches X again.
//
// Axes: structure (feature subset), fold, restart (1: deterministic given the split), run.
// Keys, metrics: docs/experiments/subset-evidence.md.
#pragma once
#include <map>
#include <memory>
#include <string_view>

#include "msweep/data/dataset.hpp"
#include "msweep/experiments/data_source.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/models/bayes_linear/bayes_linear.hpp"

namespace msweep {

// Largest feature count for structures = "all" (2^24 = 16,777,216 subsets per fold and run).
// Structures cost no memory (a subset and its label are functions of its index), so the cap
// is the results file's and the summaries': with folds and runs the grid's own cap (2^32
// tasks, core/grid.hpp) applies as well.
inline constexpr int kMaxAllSubsetsFeatures = 24;
// Largest structure count for structures = "all" with max_features = k (all subsets of at most
// k of n features, for n too large to enumerate every subset): 2^24, as for "all".
inline constexpr std::uint64_t kMaxStructures = std::uint64_t{1} << 24;

// The structures of a sweep: column subsets of the data, each a function of its index, so a
// sweep of 2^24 subsets holds none of them. "all": the index is the subset's bit mask (bit j:
// column j); "at most k": subsets by size, then in lexicographic order of their columns, found
// from the index by the combinatorial number system; otherwise an explicit list.
class SubsetStructures {
 public:
  SubsetStructures() = default;
  static SubsetStructures listed(std::vector<std::vector<Eigen::Index>> subsets);
  static SubsetStructures all(int features);                    // 2^features subsets
  static SubsetStructures up_to(int features, int max_size);    // sum of C(features, i), i <= max_size

  std::uint64_t size() const { return size_; }
  std::vector<Eigen::Index> columns(std::uint64_t index) const;  // sorted

 private:
  enum class Kind { listed, all, up_to } kind_ = Kind::listed;
  int features_ = 0;
  std::uint64_t size_ = 0;
  std::vector<std::uint64_t> first_of_size_;  // up_to: index of the first subset of each size, then size_
  std::vector<std::vector<Eigen::Index>> listed_;
};

struct SubsetEvidenceOptions {
  StandardOptions job;  // restarts must be 1; folds > 1 adds the cross-validation metrics
  DataOptions data;     // [data]; test_fraction > 0 adds the test metrics
  // [model] prior = "evidence" (optimize_evidence, the default) or "fixed"; alpha (1), beta (1):
  // start or fixed values; max_iterations (1000), tolerance (1e-12) of the fixed point.
  BayesLinearOptions model;
  // [sweep] structures: column subsets of the data, by index, sorted; "all" (the default: every
  // subset, at most kMaxAllSubsetsFeatures features; with [sweep] max_features = k, every subset
  // of at most k features, by size), "nested" (the first k, k = 0..n) or a list.
  SubsetStructures structures;
};

// Needs the loaded data: structures name its features, and folds must fit its row count.
SubsetEvidenceOptions read_subset_evidence_options(const JobSpec& spec, const Dataset& data);

namespace subset_evidence {
// Random stream "split" on (run): the held-out part and the fold assignment. It leaves out
// structure and fold, so every structure of a run is fitted and scored on the same split.
inline constexpr std::string_view kSplitStream = "split";
std::uint64_t split_seed(std::uint64_t job_seed, const TaskView& task);
}  // namespace subset_evidence

class SubsetEvidenceExperiment final : public Experiment {
 public:
  SubsetEvidenceExperiment(SubsetEvidenceOptions options, Dataset data);

  const TaskGrid& grid() const override { return grid_; }
  std::vector<MetricInfo> metrics() const override;
  TaskOutput run(const TaskView& task) const override;
  std::string describe_data() const override;
  std::string report(const SummaryTable& summary) const override;

  const SubsetStructures& structures() const { return options_.structures; }
  const Dataset& data() const { return data_; }
  std::vector<InputFile> inputs() const override { return data_.inputs; }

 private:
  struct SplitStats {
    GramStats fit, validation, test;
  };
  const SplitStats& split_stats(const TaskView& task) const;  // cached per (run, fold)
  bool has_folds() const { return options_.job.folds > 1; }
  bool has_test() const { return options_.data.test_fraction > 0.0; }
  bool declared(std::size_t metric) const;  // whether the job's folds and test part give this metric

  SubsetEvidenceOptions options_;
  Dataset data_;
  TaskGrid grid_;
  mutable std::map<std::pair<std::uint32_t, std::uint32_t>, SplitStats> split_cache_;
};

}  // namespace msweep
