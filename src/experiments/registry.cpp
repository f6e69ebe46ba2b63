// The experiment kinds msweep knows. Adding one is one line here.
#include <map>

#include "msweep/core/error.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/experiments/mixture_em.hpp"
#include "msweep/experiments/param_ordering.hpp"
#include "msweep/experiments/subset_evidence.hpp"
#include "msweep/experiments/synthetic_load.hpp"

namespace msweep {
namespace {

using Factory = std::unique_ptr<Experiment> (*)(const JobSpec&);

template <class Kind>
std::unique_ptr<Experiment> make(const JobSpec& spec) {
  return std::make_unique<Kind>(spec);
}

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> kinds = {
      {"param-ordering", &make<ParamOrderingExperiment>},
      {"subset-evidence", &make<SubsetEvidenceExperiment>},
      {"mixture-em", &make<MixtureEmExperiment>},
      {"synthetic-load", &make<SyntheticLoadExperiment>},
  };
  return kinds;
}

}  // namespace

std::vector<std::string> experiment_kinds() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<Experiment> make_experiment(const JobSpec& spec) {
  auto it = registry().find(spec.kind);
  if (it == registry().end()) {
    std::string known;
    for (const auto& name : experiment_kinds()) known += (known.empty() ? "\"" : ", \"") + name + "\"";
    spec.job.fail("experiment", "unknown experiment kind \"" + spec.kind + "\" (expected one of " + known + ")");
  }
  return it->second(spec);
}

}  // namespace msweep
