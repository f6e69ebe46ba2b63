// Experiment "subset-evidence" (docs/science.md: evidence, AIC/BIC, cross-validation): Bayesian linear regression on
// every candidate feature subset, with evidence, information criteria, k-fold
// cross-validation and held-out test error per (structure, fold, run).
//
// Tasks share work through per-split sufficient statistics: the Gram matrices of the fit,
// validation and test parts are computed once per (run, fold) on each rank, and a task only
// takes the sub-block of its subset, so a full 2^n sweep never touches X again.
#pragma once
#include <map>
#include <memory>

#include "msweep/data/dataset.hpp"
#include "msweep/experiments/data_source.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/models/bayes_linear/bayes_linear.hpp"

namespace msweep {

// Largest feature count for structures = "all" (2^20 = 1,048,576 subsets per fold and run).
inline constexpr int kMaxAllSubsetsFeatures = 20;

class SubsetEvidenceExperiment final : public Experiment {
 public:
  explicit SubsetEvidenceExperiment(const JobSpec& spec);

  const TaskGrid& grid() const override { return grid_; }
  std::vector<MetricInfo> metrics() const override;
  TaskOutput run(std::span<const std::uint32_t> coordinates) const override;
  std::string report(const SummaryTable& summary) const override;

  const std::vector<std::vector<Eigen::Index>>& structures() const { return structures_; }
  const Dataset& data() const { return data_; }

 private:
  struct SplitStats {
    GramStats fit, validation, test;
  };
  const SplitStats& split_stats(std::uint32_t run, std::uint32_t fold) const;

  std::uint64_t seed_;
  int folds_;
  DataOptions data_options_;
  Dataset data_;
  BayesLinearOptions model_;
  std::vector<std::vector<Eigen::Index>> structures_;
  TaskGrid grid_;
  bool has_test_;
  mutable std::map<std::pair<std::uint32_t, std::uint32_t>, SplitStats> split_cache_;
};

}  // namespace msweep
