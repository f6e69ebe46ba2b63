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

// Largest feature count for structures = "all" (2^20 = 1,048,576 subsets per fold and run).
inline constexpr int kMaxAllSubsetsFeatures = 20;
// Largest structure count for structures = "all" with max_features = k (all subsets of at most
// k of n features, for n too large to enumerate every subset): 2^22 = 4,194,304.
inline constexpr std::uint64_t kMaxStructures = std::uint64_t{1} << 22;

struct SubsetEvidenceOptions {
  StandardOptions job;  // restarts must be 1; folds > 1 adds the cross-validation metrics
  DataOptions data;     // [data]; test_fraction > 0 adds the test metrics
  // [model] prior = "evidence" (optimize_evidence, the default) or "fixed"; alpha (1), beta (1):
  // start or fixed values; max_iterations (1000), tolerance (1e-12) of the fixed point.
  BayesLinearOptions model;
  // [sweep] structures: column subsets of the data, by index, sorted; "all" (the default: every
  // subset, at most kMaxAllSubsetsFeatures features; with [sweep] max_features = k, every subset
  // of at most k features, by size), "nested" (the first k, k = 0..n) or a list.
  std::vector<std::vector<Eigen::Index>> structures;
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

  const std::vector<std::vector<Eigen::Index>>& structures() const { return options_.structures; }
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
