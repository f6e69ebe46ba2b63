// The experiment kinds msweep knows. Adding one is one line here: the kind's name, its options
// reader and its class (docs/architecture.md, "Adding an experiment kind").
#include <map>
#include <type_traits>

#include "msweep/core/error.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/experiments/hyperparameter_optimization.hpp"
#include "msweep/experiments/mixture_em.hpp"
#include "msweep/experiments/multistart_evidence.hpp"
#include "msweep/experiments/param_ordering.hpp"
#include "msweep/experiments/structure_selection.hpp"
#include "msweep/experiments/subset_evidence.hpp"
#include "msweep/experiments/synthetic_load.hpp"

namespace msweep {
namespace {

using Factory = std::unique_ptr<Experiment> (*)(const JobSpec&, const DataSource&);

// A kind built from its options alone: Kind(read(spec)).
template <class Kind, auto read>
std::unique_ptr<Experiment> make(const JobSpec& spec, const DataSource&) {
  return std::make_unique<Kind>(read(spec));
}

// A kind whose keys are checked against its data ([data] names the data set, the structures
// name its features...): the data are loaded once and handed to the reader, then the class
// (with the source's placer when the kind keeps large arrays that depend only on the job).
template <class Kind, auto read>
std::unique_ptr<Experiment> make_with_data(const JobSpec& spec, const DataSource& source) {
  Dataset data = source.load(spec.data, spec.seed);
  auto options = read(spec, data);
  if constexpr (std::is_constructible_v<Kind, decltype(options), Dataset, const ArrayPlacer&>)
    return std::make_unique<Kind>(std::move(options), std::move(data), source.place);
  else
    return std::make_unique<Kind>(std::move(options), std::move(data));
}

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> kinds = {
      {"multistart-evidence", &make_with_data<MultistartEvidenceExperiment, &read_multistart_evidence_options>},
      {"param-ordering", &make_with_data<ParamOrderingExperiment, &read_param_ordering_options>},
      {"subset-evidence", &make_with_data<SubsetEvidenceExperiment, &read_subset_evidence_options>},
      {"hyperparameter-optimization",
       &make_with_data<HyperparameterOptimizationExperiment, &read_hyperparameter_optimization_options>},
      {"mixture-em", &make<MixtureEmExperiment, &read_mixture_em_options>},
      {"structure-selection", &make_structure_selection},  // data loaded unless generated per run
      {"synthetic-load", &make<SyntheticLoadExperiment, &read_synthetic_load_options>},
  };
  return kinds;
}

}  // namespace

std::vector<std::string> experiment_kinds() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<Experiment> make_experiment(const JobSpec& spec, const DataSource& source) {
  auto it = registry().find(spec.kind);
  if (it == registry().end()) {
    std::string known;
    for (const auto& name : experiment_kinds()) known += (known.empty() ? "\"" : ", \"") + name + "\"";
    spec.job.fail("experiment", "unknown experiment kind \"" + spec.kind + "\" (expected one of " + known + ")");
  }
  try {
    return it->second(spec, source);
  } catch (const GridTooLarge& e) {
    spec.sweep.fail(e.key(), e.what());  // file:line of the key that sets the axis
  }
}

}  // namespace msweep
