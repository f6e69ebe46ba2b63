// Experiment "structure-selection" (docs/science.md, structure selection; docs/experiments/
// structure-selection.md): a computation-graph model (models/structure_graph) whose edges each
// choose among basis functions, trained by the variational evidence bound with the meta weights
// (l_LL, l_CQ, l_CL), in one of two modes:
//   - mode = "relaxed": each task is one Gumbel-softmax search over structure and parameters
//     together (a restart of it), reporting the distribution per edge it ends at and its most
//     probable vertex;
//   - mode = "enumerate": every vertex of the structure simplex (one basis per edge) is a
//     structure coordinate, trained with the same ELBO with Gamma fixed at the vertex: the
//     ground truth the relaxed search is checked against.
//
// Axes: structure ("relaxed", or the vertex index 0..N-1: labels generated from the index,
// the basis names by StructureGraph::vertex_label), fold (1), restart, run (data split or
// generated data), meta (index into [sweep] meta), and in relaxed mode temperature.
// Pairing: the split, the initial mean and every Monte Carlo draw depend on (run, restart)
// only, so vertices, meta settings and temperatures of one (run, restart) are compared on the
// same data, start and noise (a vertex draws no Gumbel noise; its eps draws are the search's).
#pragma once
#include <map>
#include <optional>
#include <string_view>

#include "msweep/data/dataset.hpp"
#include "msweep/experiments/data_source.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/models/structure_graph/structure_graph.hpp"

namespace msweep {

// [data] source = "tanh-synthetic": the seed's synthetic check, y = tanh(x_0) + noise eps,
// x ~ N(0, I) in R^features plus a constant last column; generated per run.
struct TanhSyntheticOptions {
  std::int64_t objects = 50;        // [data] objects: training rows
  std::int64_t test_objects = 200;  // [data] test_objects: held-out rows
  std::int64_t features = 11;       // [data] features: normal columns (the constant is added)
  double noise = 0.5;               // [data] noise: standard deviation of eps
};

struct StructureSelectionOptions {
  StandardOptions job;  // folds must be 1
  std::optional<TanhSyntheticOptions> synthetic;  // set when [data] source = "tanh-synthetic"
  DataOptions data;     // otherwise: [data] as every kind reads it (test_fraction > 0 required)
  // [model] widths (nodes 1..N, last 1; default [1]) and edges ("T<-S: basis ...", default one
  // edge "1<-0: const tanh:1 tanh"); node 0's width is the data's feature count.
  StructureGraphOptions graph{.inputs = 0, .widths = {}, .edges = {}};  // inputs 0: the data's feature count
  // [model] likelihood ("gaussian", or "bernoulli" for two classes: the default for a
  // classification source), iterations (1000), samples (3), final_samples (64), learning_rate (0.01),
  // noise_std (1), gamma_floor (0.001), init_std (0.1), init_log_std (-3), prior_variance (1),
  // broad_prior_variance (e^10), broad_after (0.5); [sweep] schedule ("fixed" or "annealed"),
  // final_temperature (0.1). Temperature and meta weights come from the axes.
  StructureSearchOptions search;
  std::string mode = "relaxed";                 // [sweep] mode: "relaxed" or "enumerate"
  std::vector<double> temperatures = {1.0};     // [sweep] temperatures: the temperature axis (relaxed)
  std::vector<MetaWeights> meta = {MetaWeights{}};  // [sweep] meta: ["l_LL,l_CQ,l_CL", ...]
  std::vector<std::string> meta_labels = {"1,1,1"};
};

// Reads and validates every key (file:line messages). graph.inputs is the generated feature
// count plus one for tanh-synthetic, 0 ("from the data") otherwise.
StructureSelectionOptions read_structure_selection_options(const JobSpec& spec);

namespace structure_selection {
inline constexpr std::size_t kMetaAxis = 0;         // TaskView::extra: index into options.meta
inline constexpr std::size_t kTemperatureAxis = 1;  // relaxed mode only: index into options.temperatures

inline constexpr std::string_view kSplitStream = "split";  // (run): held-out part, or the generated data
inline constexpr std::string_view kInitStream = "init";    // (run, restart): the initial mean of q(w)
inline constexpr std::string_view kNoiseStream = "noise";  // (run, restart): every eps and Gumbel draw

struct Seeds {
  std::uint64_t split, init, noise;
  bool operator==(const Seeds&) const = default;
};
Seeds task_seeds(std::uint64_t job_seed, const TaskView& task);
}  // namespace structure_selection

class StructureSelectionExperiment;
// The registry's factory: reads the options, loads the data (unless generated) and builds the
// graph, turning a graph that does not fit the data into a file:line error at [model] edges.
std::unique_ptr<Experiment> make_structure_selection(const JobSpec& spec, const DataSource& source = {});

class StructureSelectionExperiment final : public Experiment {
 public:
  // `data` is the loaded data set (empty for tanh-synthetic, generated per run); graph.inputs 0
  // takes the data's feature count. Throws ArgumentError when the graph does not fit them.
  StructureSelectionExperiment(StructureSelectionOptions options, Dataset data);

  const TaskGrid& grid() const override { return grid_; }
  std::vector<MetricInfo> metrics() const override;
  std::vector<ArrayInfo> arrays() const override;
  std::vector<InputFile> inputs() const override { return data_.inputs; }
  TaskOutput run(const TaskView& task) const override;
  std::string describe_data() const override;
  // Enumeration: the best vertices by mean ELBO over runs; relaxed: mean ELBO and structural
  // entropy per (meta, temperature). The placement of one in the other is analysis/'s job.
  std::string report(const SummaryTable& summary) const override;

  const StructureGraph& graph() const { return graph_; }
  const StructureSelectionOptions& options() const { return options_; }
  bool enumerating() const { return options_.mode == "enumerate"; }
  // Two classes under the Bernoulli likelihood: train_error/test_error instead of train_mse/test_mse.
  bool classifying() const { return options_.search.likelihood == StructureLikelihood::bernoulli; }

 private:
  struct Split {
    Eigen::MatrixXd train_X, test_X;
    Eigen::VectorXd train_y, test_y;
  };
  const Split& split(const TaskView& task) const;

  StructureSelectionOptions options_;
  Dataset data_;  // empty for tanh-synthetic
  StructureGraph graph_;
  TaskGrid grid_;
  mutable std::map<std::uint32_t, Split> split_cache_;
};

}  // namespace msweep
