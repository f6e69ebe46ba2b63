// Experiment "structure-selection": see structure_selection.hpp and
// docs/experiments/structure-selection.md.
#include "msweep/experiments/structure_selection.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "msweep/core/error.hpp"
#include "msweep/core/text_table.hpp"

namespace msweep {
namespace {

// Metric names in declaration order; indices below must follow it.
enum Metric : std::size_t {
  kElbo, kDataTerm, kParametric, kStructuralKl, kStructuralComplexity, kTrainError, kTestError, kVertex, kVertexProbability,
  kActiveWeights, kMetricCount
};

MetaWeights parse_meta(const ConfigTable& sweep, const std::string& text) {
  MetaWeights meta;
  double* fields[] = {&meta.likelihood, &meta.complexity_upper, &meta.complexity_lower};
  std::istringstream in(text);
  std::string part;
  int count = 0;
  while (std::getline(in, part, ',')) {
    if (count == 3) break;
    try {
      std::size_t used = 0;
      *fields[count] = std::stod(part, &used);
      if (part.find_first_not_of(' ', used) != std::string::npos) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      sweep.fail("meta", "\"" + text + "\": expected three numbers \"l_LL,l_CQ,l_CL\"");
    }
    ++count;
  }
  if (count != 3 || std::getline(in, part, ','))
    sweep.fail("meta", "\"" + text + "\": expected three numbers \"l_LL,l_CQ,l_CL\"");
  for (double* f : fields)
    if (!(*f >= 0.0) || !std::isfinite(*f)) sweep.fail("meta", "\"" + text + "\": expected finite weights >= 0");
  return meta;
}

std::string number_label(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

// The tanh check's data for one run: training rows first, then the test rows.
Dataset tanh_synthetic(const TanhSyntheticOptions& o, std::uint64_t seed) {
  RandomStream rng(seed);
  const Eigen::Index m = o.objects + o.test_objects, n = o.features;
  Dataset data;
  data.X.resize(m, n + 1);
  data.y.resize(m);
  for (Eigen::Index i = 0; i < m; ++i) {
    for (Eigen::Index j = 0; j < n; ++j) data.X(i, j) = rng.normal();
    data.X(i, n) = 1.0;
    data.y[i] = std::tanh(data.X(i, 0)) + o.noise * rng.normal();
  }
  return data;
}

}  // namespace

StructureSelectionOptions read_structure_selection_options(const JobSpec& spec) {
  StructureSelectionOptions options;
  options.job = standard_options(spec);
  if (spec.folds != 1) spec.sweep.fail("folds", "structure-selection uses a held-out test part, not folds: expected 1, got " + std::to_string(spec.folds));
  const ConfigTable &data = spec.data, &model = spec.model, &sweep = spec.sweep;
  if (data.get_string("source") == "tanh-synthetic") {
    TanhSyntheticOptions s;
    s.objects = data.get_int("objects", s.objects, 2, 100'000'000);
    s.test_objects = data.get_int("test_objects", s.test_objects, 1, 100'000'000);
    s.features = data.get_int("features", s.features, 1, 100'000);
    s.noise = data.get_double("noise", s.noise, 0.0, 1e6);
    options.synthetic = s;
    options.graph.inputs = s.features + 1;
  } else {
    options.data = read_data_options(data);
    if (has_fixed_test(options.data) || options.data.test_fraction <= 0.0)
      data.fail("source", "structure-selection needs a data set with a held-out part (test_fraction > 0)");
    options.graph.inputs = 0;
  }
  const bool classification = !options.synthetic && is_classification_source(options.data.source);
  // "bernoulli" and "logistic" name the same likelihood (as in multistart-evidence).
  const bool bernoulli = model.get_choice("likelihood", classification ? "bernoulli" : "gaussian",
                                          {"gaussian", "bernoulli", "logistic"}) != "gaussian";
  options.search.likelihood = bernoulli ? StructureLikelihood::bernoulli : StructureLikelihood::gaussian;
  if (classification != bernoulli)
    model.fail("likelihood", classification ? "\"gaussian\" needs a regression data set; [data] source \"" + options.data.source +
                                                  "\" has classes: use \"bernoulli\" (two classes)"
                                            : "\"bernoulli\" needs two classes 0/1 (e.g. [data] source = \"digits\" with classes = [3, 8])");

  for (auto w : model.get_int_list("widths", {1}, 1, 100'000)) options.graph.widths.push_back(w);
  if (options.graph.widths.back() != 1) model.fail("widths", "the last node is the output: its width must be 1");
  for (const auto& text : model.get_string_list("edges", {"1<-0: const tanh:1 tanh"})) {
    try {
      options.graph.edges.push_back(parse_edge(text));
    } catch (const ArgumentError& e) {
      model.fail("edges", e.what());
    }
  }
  if (options.graph.edges.empty()) model.fail("edges", "expected at least one edge");
  if (options.graph.inputs > 0) {
    try {
      StructureGraph check(options.graph);
    } catch (const ArgumentError& e) {
      model.fail("edges", e.what());
    }
  }

  StructureSearchOptions& s = options.search;
  s.iterations = model.get_int("iterations", s.iterations, 0, 100'000'000);
  s.samples = model.get_int("samples", s.samples, 1, 100'000);
  s.final_samples = model.get_int("final_samples", s.final_samples, 1, 1'000'000);
  s.learning_rate = model.get_double("learning_rate", s.learning_rate, 1e-12, 10.0);
  s.noise_std = model.get_double("noise_std", s.noise_std, 1e-12, 1e12);
  s.gamma_floor = model.get_double("gamma_floor", s.gamma_floor, 1e-12, 1.0);
  s.init_std = model.get_double("init_std", s.init_std, 0.0, 100.0);
  s.init_log_std = model.get_double("init_log_std", s.init_log_std, -30.0, 10.0);
  s.prior_variance = model.get_double("prior_variance", s.prior_variance, 1e-12, 1e12);
  s.broad_prior_variance = model.get_double("broad_prior_variance", s.broad_prior_variance, 1e-12, 1e12);
  s.broad_after = model.get_double("broad_after", s.broad_after, 0.0, 1.0);

  options.mode = sweep.get_choice("mode", options.mode, {"relaxed", "enumerate"});
  s.annealed = sweep.get_choice("schedule", "fixed", {"fixed", "annealed"}) == "annealed";
  s.final_temperature = sweep.get_double("final_temperature", s.final_temperature, 1e-6, 1e6);
  options.temperatures = sweep.get_double_list("temperatures", options.temperatures, 1e-6, 1e6);
  if (options.temperatures.empty()) sweep.fail("temperatures", "expected at least one temperature");
  options.meta_labels = sweep.get_string_list("meta", options.meta_labels);
  if (options.meta_labels.empty()) sweep.fail("meta", "expected at least one \"l_LL,l_CQ,l_CL\"");
  options.meta.clear();
  for (const auto& text : options.meta_labels) options.meta.push_back(parse_meta(sweep, text));
  return options;
}

structure_selection::Seeds structure_selection::task_seeds(std::uint64_t job_seed, const TaskView& task) {
  const std::uint64_t run = task.run(), restart = task.restart();
  return {derive_seed(job_seed, kSplitStream, {{"run", run}}),
          derive_seed(job_seed, kInitStream, {{"run", run}, {"restart", restart}}),
          derive_seed(job_seed, kNoiseStream, {{"run", run}, {"restart", restart}})};
}

namespace {
StructureGraphOptions fitted_graph(StructureGraphOptions graph, const Dataset& data) {
  if (graph.inputs == 0) graph.inputs = data.features();
  return graph;
}
}  // namespace

StructureSelectionExperiment::StructureSelectionExperiment(StructureSelectionOptions options, Dataset data)
    : options_(std::move(options)), data_(std::move(data)), graph_(fitted_graph(options_.graph, data_)) {
  // An enumeration's vertices are named by their bases ("zero|tanh|linear", one per edge in
  // [model] edges order) wherever the axis is shown: plan, inspect, the results file's /axes.
  // The labels are made when asked for, so no rank holds one per vertex.
  auto vertex_label = [graph = graph_](std::uint64_t vertex) { return graph.vertex_label(vertex); };
  Axis structure = enumerating() ? Axis::generated("structure", graph_.vertex_count(), std::move(vertex_label), "edges")
                                 : Axis{"structure", {"relaxed"}};
  std::vector<Axis> extra = {Axis{"meta", options_.meta_labels, "meta"}};
  if (!enumerating()) {
    std::vector<std::string> labels;
    for (double c : options_.temperatures) labels.push_back(number_label(c));
    extra.push_back(Axis{"temperature", labels, "temperatures"});
  }
  grid_ = TaskGrid(standard_axes(std::move(structure), options_.job.folds, options_.job.restarts, options_.job.runs, std::move(extra)));
}

std::unique_ptr<Experiment> make_structure_selection(const JobSpec& spec, const DataSource& source) {
  StructureSelectionOptions options = read_structure_selection_options(spec);
  Dataset data;
  if (!options.synthetic) data = source.load(spec.data, spec.seed);
  if (options.search.likelihood == StructureLikelihood::bernoulli && !(data.y.array() == 0.0 || data.y.array() == 1.0).all())
    spec.data.fail(spec.data.has("classes") ? "classes" : "source",
                   "the Bernoulli likelihood needs two classes (targets 0 and 1): for digits give classes = [A, B]");
  try {
    StructureGraph check(fitted_graph(options.graph, data));
  } catch (const ArgumentError& e) {
    spec.model.fail("edges", e.what());
  }
  return std::make_unique<StructureSelectionExperiment>(std::move(options), std::move(data));
}

std::string StructureSelectionExperiment::describe_data() const {
  std::ostringstream out;
  if (options_.synthetic)
    out << "tanh-synthetic: " << options_.synthetic->objects << " training and " << options_.synthetic->test_objects
        << " test rows per run, " << graph_.options().inputs << " columns (the last constant)";
  else
    out << data_.description << ": " << data_.objects() << " objects, " << data_.features() << " features";
  out << "\ngraph: " << graph_.edges() << " edges, " << graph_.bases() << " basis functions, " << graph_.weights()
      << " weights, " << graph_.vertex_count() << " vertices\n";
  return out.str();
}

std::vector<MetricInfo> StructureSelectionExperiment::metrics() const {
  const std::string at = enumerating() ? " (Gamma fixed at the vertex)" : " (q(Gamma) at the final temperature)";
  return {
      {"elbo", "evidence lower bound E ln p - KL(q(Gamma)||p(Gamma)) - E KL(q(w)||p(w|Gamma)), nats" + at},
      {"data_term", "E_q ln p(y | X, w, Gamma) on the training part, nats" + at},
      {"parametric_complexity", "E_Gamma KL(q(w) || p(w | Gamma)) under the final (broad) prior, nats" + at},
      {"structural_kl", "KL(q(Gamma) || p(Gamma)), nats (0 at a fixed vertex)"},
      {"structural_complexity", "entropy of q(Gamma) at c -> 0, sum over edges of H(softmax(a_e)), nats (0 at a vertex)"},
      classifying() ? MetricInfo{"train_error", "training misclassification rate of the vertex's prediction at w = mu (class 1 when f > 0)"}
                    : MetricInfo{"train_mse", "training mean squared error of the vertex's prediction at w = mu"},
      classifying() ? MetricInfo{"test_error", "test misclassification rate of the vertex's prediction at w = mu (class 1 when f > 0)"}
                    : MetricInfo{"test_mse", "test mean squared error of the vertex's prediction at w = mu"},
      {"vertex", "the vertex trained (enumerate) or q(Gamma)'s most probable vertex (relaxed), mixed-radix index"},
      {"vertex_probability", "probability of that vertex under q(Gamma) at c -> 0 (1 at a fixed vertex)"},
      {"active_weights", "weights the vertex uses"},
  };
}

std::vector<ArrayInfo> StructureSelectionExperiment::arrays() const {
  return {
      {"edge_probabilities", {static_cast<std::size_t>(graph_.bases())},
       "softmax(a_e) per edge, edges in [model] edges order (one-hot at a fixed vertex)"},
      {"choices", {static_cast<std::size_t>(graph_.edges())}, "the basis chosen on each edge by the vertex of metric vertex"},
  };
}

const StructureSelectionExperiment::Split& StructureSelectionExperiment::split(const TaskView& task) const {
  if (auto it = split_cache_.find(task.run()); it != split_cache_.end()) return it->second;
  split_cache_.clear();  // tasks of one run are adjacent in the grid's order often enough; keep one
  const std::uint64_t seed = structure_selection::task_seeds(options_.job.seed, task).split;
  Split s;
  if (options_.synthetic) {
    const Dataset generated = tanh_synthetic(*options_.synthetic, seed);
    const Eigen::Index m = options_.synthetic->objects;
    s.train_X = generated.X.topRows(m);
    s.train_y = generated.y.head(m);
    s.test_X = generated.X.bottomRows(generated.X.rows() - m);
    s.test_y = generated.y.tail(generated.y.size() - m);
  } else {
    RandomStream rng(seed);
    const HoldoutSplit holdout = holdout_split(data_.objects(), options_.data.test_fraction, rng);
    s.train_X = take_rows(data_.X, holdout.train);
    s.test_X = take_rows(data_.X, holdout.test);
    s.train_y = take_entries(data_.y, holdout.train);
    s.test_y = take_entries(data_.y, holdout.test);
    if (options_.data.standardize) {  // training-part statistics; a regression target too (noise_std in its units)
      const Standardizer scaler = Standardizer::fit(s.train_X);
      s.train_X = scaler.apply(s.train_X);
      s.test_X = scaler.apply(s.test_X);
    }
    if (options_.data.standardize && !classifying()) {
      const double mean = s.train_y.mean();
      const double spread = std::sqrt((s.train_y.array() - mean).square().mean());
      const double scale = spread > 0.0 ? spread : 1.0;
      s.train_y = (s.train_y.array() - mean) / scale;
      s.test_y = (s.test_y.array() - mean) / scale;
    }
  }
  return split_cache_.emplace(task.run(), std::move(s)).first->second;
}

TaskOutput StructureSelectionExperiment::run(const TaskView& task) const {
  const structure_selection::Seeds seeds = structure_selection::task_seeds(options_.job.seed, task);
  const Split& data = split(task);
  StructureSearchOptions search = options_.search;
  search.meta = options_.meta[task.extra(structure_selection::kMetaAxis)];
  if (enumerating()) search.vertex = task.structure();
  else search.temperature = options_.temperatures[task.extra(structure_selection::kTemperatureAxis)];
  const StructureSearchResult result = search_structure(graph_, data.train_X, data.train_y, search, seeds.init, seeds.noise);
  if (!result.usable()) throw std::runtime_error("structure search failed: " + result.message);

  const Eigen::Index P = graph_.weights(), L = graph_.bases();
  const Eigen::VectorXd logits = result.theta.tail(L);
  const std::uint64_t vertex = enumerating() ? task.structure() : most_probable_vertex(graph_, logits);
  const Eigen::VectorXd probabilities = enumerating() ? graph_.vertex_gamma(vertex) : edge_probabilities(graph_, logits);
  const Eigen::VectorXd gamma = graph_.vertex_gamma(vertex);
  const Eigen::VectorXd mean = result.theta.head(P);
  // Squared error (regression) or the share misclassified by the sign of the log-odds f (classes).
  const auto prediction_error = [&](const Eigen::MatrixXd& X, const Eigen::VectorXd& y) {
    const Eigen::VectorXd f = graph_.predict(X, mean, gamma);
    if (classifying()) return ((f.array() > 0.0).cast<double>() != y.array()).cast<double>().mean();
    return (f - y).squaredNorm() / static_cast<double>(y.size());
  };
  const double train_error = prediction_error(data.train_X, data.train_y), test_error = prediction_error(data.test_X, data.test_y);
  double vertex_probability = 1.0;
  const auto choices = graph_.vertex_choices(vertex);
  for (Eigen::Index e = 0; e < graph_.edges(); ++e) vertex_probability *= probabilities[graph_.basis_offset(e) + choices[static_cast<std::size_t>(e)]];

  TaskOutput out;
  out.metrics.resize(kMetricCount);
  out.metrics[kElbo] = result.terms.elbo();
  out.metrics[kDataTerm] = result.terms.data;
  out.metrics[kParametric] = result.terms.parametric;
  out.metrics[kStructuralKl] = result.terms.structural;
  out.metrics[kStructuralComplexity] = enumerating() ? 0.0 : structure_entropy(graph_, logits);
  out.metrics[kTrainError] = train_error;
  out.metrics[kTestError] = test_error;
  out.metrics[kVertex] = static_cast<double>(vertex);
  out.metrics[kVertexProbability] = vertex_probability;
  out.metrics[kActiveWeights] = static_cast<double>(graph_.vertex_weights(vertex).count());
  out.arrays.emplace_back(probabilities.data(), probabilities.data() + L);
  std::vector<double> chosen;
  for (auto c : choices) chosen.push_back(static_cast<double>(c));
  out.arrays.push_back(std::move(chosen));
  return out;
}

std::string StructureSelectionExperiment::report(const SummaryTable& summary) const {
  if (summary.groups() == 0) return {};
  const std::size_t elbo = summary.metric_index("elbo"), entropy = summary.metric_index("structural_complexity");
  auto label_of = [&](std::size_t group, const std::string& axis) {
    for (std::size_t i = 0; i < summary.group_axes.size(); ++i)
      if (summary.group_axes[i] == axis) return grid_.axes()[grid_.axis_index(axis)].label(summary.coordinate(group, i));
    return std::string("-");
  };
  std::vector<std::size_t> order(summary.groups());
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Best mean ELBO first; groups without an ok task (NaN) last.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const double x = summary.mean_of(a, elbo), y = summary.mean_of(b, elbo);
    return std::isnan(y) ? !std::isnan(x) : x > y;
  });
  std::ostringstream out;
  const auto left = TextTable::Align::left;
  if (enumerating()) {
    out << "best of " << graph_.vertex_count() << " vertices by mean ELBO:\n";
    TextTable table({"vertex", "meta", "ELBO"}, {left, left});
    for (std::size_t k = 0; k < std::min<std::size_t>(5, order.size()); ++k) {
      const std::size_t g = order[k];
      std::uint32_t vertex = 0;
      for (std::size_t i = 0; i < summary.group_axes.size(); ++i)
        if (summary.group_axes[i] == "structure") vertex = summary.coordinate(g, i);
      table.add_row({graph_.vertex_label(vertex), label_of(g, "meta"), format_number(summary.mean_of(g, elbo), 5)});
    }
    out << table.str("  ");
  } else {
    out << "relaxed searches, mean over runs:\n";
    TextTable table({"meta", "c", "restart", "ELBO", "structural entropy [nats]"}, {left, left, left});
    for (std::size_t g : order)
      table.add_row({label_of(g, "meta"), label_of(g, "temperature"), label_of(g, "restart"), format_number(summary.mean_of(g, elbo), 5),
                     format_number(summary.mean_of(g, entropy), 5)});
    out << table.str("  ");
  }
  return out.str();
}

}  // namespace msweep
