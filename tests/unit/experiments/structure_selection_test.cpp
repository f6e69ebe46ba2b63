// Experiment "structure-selection" built from job text: grid and declared shapes in both modes,
// vertex labels from the index, determinism of a task from its coordinates alone, the stream
// pairing across vertices, meta settings and temperatures, a build from Options, the job files
// in jobs/, the digits under the Bernoulli likelihood, and file:line errors for bad keys.
#include "msweep/experiments/structure_selection.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "msweep/core/error.hpp"
#include "msweep/data/loaders.hpp"
#include "msweep/spec/job.hpp"
#include "job_testing.hpp"

namespace msweep {
namespace {

using experiment_testing::bitwise_equal;
using experiment_testing::build_job;
using experiment_testing::expect_input_error;

std::string job_text(const std::string& data, const std::string& model, const std::string& sweep) {
  return experiment_testing::kind_job_text("structure-selection", 7, data, model, sweep);
}

const std::string kData = "source = \"tanh-synthetic\"\nobjects = 30\ntest_objects = 20\nfeatures = 3\n";
const std::string kModel = "edges = [\"1<-0: const tanh:1 tanh\"]\nnoise_std = 0.5\niterations = 40\nlearning_rate = 0.03\n";
const std::string kRelaxed = "runs = 2\nrestarts = 2\nmeta = [\"1,1,1\", \"100,1,0.01\"]\ntemperatures = [0.5, 2]\n";
const std::string kEnumerate = "mode = \"enumerate\"\nruns = 2\nmeta = [\"1,1,1\"]\n";

std::size_t metric_index(const Experiment& e, const std::string& name) {
  const auto metrics = e.metrics();
  for (std::size_t i = 0; i < metrics.size(); ++i)
    if (metrics[i].name == name) return i;
  ADD_FAILURE() << "no metric " << name;
  return 0;
}

void expect_declared_shapes(const Experiment& e, const TaskOutput& out) {
  ASSERT_EQ(out.metrics.size(), e.metrics().size());
  const auto arrays = e.arrays();
  ASSERT_EQ(out.arrays.size(), arrays.size());
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    std::size_t size = 1;
    for (auto d : arrays[i].shape) size *= d;
    EXPECT_EQ(out.arrays[i].size(), size) << arrays[i].name;
  }
  for (double m : out.metrics) EXPECT_TRUE(std::isfinite(m));
}

TEST(StructureSelection, RelaxedGridAxesAndShapes) {
  auto e = build_job(job_text(kData, kModel, kRelaxed));
  const auto& axes = e->grid().axes();
  ASSERT_EQ(axes.size(), 6u);
  EXPECT_EQ(axes[0].labels, std::vector<std::string>{"relaxed"});
  EXPECT_EQ(axes[4].name, "meta");
  EXPECT_EQ(axes[5].name, "temperature");
  EXPECT_EQ(axes[5].labels, (std::vector<std::string>{"0.5", "2"}));
  EXPECT_EQ(e->grid().size(), 2u * 2 * 2 * 2);
  const auto out = run_at(*e, std::vector<std::uint32_t>{0, 0, 1, 1, 1, 0});
  expect_declared_shapes(*e, out);
  EXPECT_GT(out.metrics[metric_index(*e, "structural_complexity")], 0.0);
  EXPECT_LE(out.metrics[metric_index(*e, "vertex_probability")], 1.0);
}

TEST(StructureSelection, EnumerationAxisNamesEachVertexByItsBases) {
  auto e = build_job(job_text(kData, kModel, kEnumerate));
  const auto& axes = e->grid().axes();
  ASSERT_EQ(axes.size(), 5u);  // no temperature axis: Gamma is fixed
  EXPECT_TRUE(axes[0].labels.empty());  // labels generated from the index, not stored
  EXPECT_EQ(axes[0].size(), 3u);
  EXPECT_EQ(axes[0].all_labels(), (std::vector<std::string>{"const", "tanh:1", "tanh"}));  // plan, inspect, /axes
  for (std::uint32_t v = 0; v < 3; ++v) {
    const auto out = run_at(*e, std::vector<std::uint32_t>{v, 0, 0, 1, 0});
    expect_declared_shapes(*e, out);
    EXPECT_EQ(out.metrics[metric_index(*e, "vertex")], v);
    EXPECT_EQ(out.metrics[metric_index(*e, "structural_kl")], 0.0);
    EXPECT_EQ(out.metrics[metric_index(*e, "vertex_probability")], 1.0);
  }
  const auto& graph = dynamic_cast<const StructureSelectionExperiment&>(*e).graph();
  EXPECT_EQ(graph.vertex_label(1), "tanh:1");
}

TEST(StructureSelection, TaskDependsOnlyOnItsCoordinates) {
  for (const auto& sweep : {kRelaxed, kEnumerate}) {
    const std::string text = job_text(kData, kModel, sweep);
    auto a = build_job(text), b = build_job(text);
    const bool relaxed = sweep == kRelaxed;
    const std::vector<std::uint32_t> target = relaxed ? std::vector<std::uint32_t>{0, 0, 1, 1, 1, 1} : std::vector<std::uint32_t>{2, 0, 0, 1, 0};
    const auto first = run_at(*a, target);
    run_at(*a, relaxed ? std::vector<std::uint32_t>{0, 0, 0, 0, 0, 0} : std::vector<std::uint32_t>{1, 0, 0, 0, 0});  // another run's split in the cache
    const auto again = run_at(*a, target), fresh = run_at(*b, target);
    for (const auto* other : {&again, &fresh}) {
      EXPECT_TRUE(bitwise_equal(first.metrics, other->metrics));
      for (std::size_t i = 0; i < first.arrays.size(); ++i) EXPECT_TRUE(bitwise_equal(first.arrays[i], other->arrays[i]));
    }
  }
}

TEST(StructureSelection, StreamsDependOnRunAndRestartOnly) {
  auto e = build_job(job_text(kData, kModel, kEnumerate));
  auto seeds = [&](std::uint32_t vertex, std::uint32_t restart, std::uint32_t run) {
    const std::vector<std::uint32_t> c{vertex, 0, restart, run, 0};
    return structure_selection::task_seeds(7, TaskView(e->grid(), c));
  };
  EXPECT_EQ(seeds(0, 0, 1), seeds(2, 0, 1));  // vertices are paired
  const auto base = seeds(0, 0, 0), restart = seeds(0, 1, 0), run = seeds(0, 0, 1);
  EXPECT_EQ(base.split, restart.split);
  EXPECT_NE(base.split, run.split);
  for (const auto& other : {restart, run}) {
    EXPECT_NE(base.init, other.init);
    EXPECT_NE(base.noise, other.noise);
  }
  auto relaxed = build_job(job_text(kData, kModel, kRelaxed));
  auto relaxed_seeds = [&](std::uint32_t meta, std::uint32_t temperature) {
    const std::vector<std::uint32_t> c{0, 0, 1, 1, meta, temperature};
    return structure_selection::task_seeds(7, TaskView(relaxed->grid(), c));
  };
  EXPECT_EQ(relaxed_seeds(0, 0), relaxed_seeds(1, 1));  // meta settings and temperatures are paired
}

TEST(StructureSelection, BuiltFromOptionsWithoutAJobFile) {
  StructureSelectionOptions options;
  options.job.runs = 1;
  options.data.source = "boston";
  options.data.test_fraction = 0.2;
  options.graph.widths = {2, 1};
  options.graph.edges = {parse_edge("1<-0: zero linear"), parse_edge("2<-1: zero tanh"), parse_edge("2<-0: zero linear:3")};
  options.mode = "enumerate";
  options.search.iterations = 20;
  StructureSelectionExperiment e(options, load_boston());
  EXPECT_EQ(e.graph().options().inputs, 13);
  EXPECT_EQ(e.grid().size(), 8u);
  const auto out = run_at(e, std::vector<std::uint32_t>{7, 0, 0, 0, 0});
  expect_declared_shapes(e, out);
  EXPECT_EQ(out.metrics[metric_index(e, "active_weights")], (13 * 2 + 2) + (2 + 1) + (3 + 1));
}

TEST(StructureSelection, BadKeysGiveInputErrorsWithFileAndLine) {
  expect_input_error(job_text(kData, kModel, "mode = \"exhaustive\"\n"), "mode");
  expect_input_error(job_text(kData, kModel, "meta = [\"1,1\"]\n"), "meta");
  expect_input_error(job_text(kData, kModel, "meta = [\"1,x,1\"]\n"), "meta");
  expect_input_error(job_text(kData, kModel, "meta = [\"1,-1,1\"]\n"), "meta");
  expect_input_error(job_text(kData, kModel, "temperatures = [0]\n"), "temperatures");
  expect_input_error(job_text(kData, kModel, "folds = 2\n"), "folds");
  expect_input_error(job_text(kData, "edges = [\"1<-0: const sigmoid\"]\n", ""), "edges");
  expect_input_error(job_text(kData, "edges = [\"1<-0: tanh:9\"]\n", ""), "edges");   // 4 inputs only
  expect_input_error(job_text(kData, "edges = [\"0<-1: tanh\"]\n", ""), "edges");
  expect_input_error(job_text(kData, "widths = [2]\n", ""), "widths");
  expect_input_error(job_text(kData, "iterations = -1\n", ""), "iterations");
  expect_input_error(job_text("source = \"boston\"\ntest_fraction = 0.2\n", "edges = [\"1<-0: tanh:14\"]\n", ""), "edges");
  expect_input_error(job_text("source = \"boston\"\ntest_fraction = 0\n", "", ""), "source");
  expect_input_error(job_text(kData, kModel, "temperature = [1]\n"), "temperature");  // a typo is an unknown key
}

const std::string kDigits = "source = \"digits\"\nclasses = [3, 8]\ntest_fraction = 0.3\n";
const std::string kDigitsModel = "widths = [1]\nedges = [\"1<-0: zero linear tanh:8\"]\niterations = 30\n";

TEST(StructureSelection, DigitsTwoClassesUnderTheBernoulliLikelihood) {
  for (const auto& sweep : {kRelaxed, kEnumerate}) {
    auto e = build_job(job_text(kDigits, kDigitsModel, sweep));
    const auto& experiment = dynamic_cast<const StructureSelectionExperiment&>(*e);
    EXPECT_TRUE(experiment.classifying());  // the default likelihood for a classification source
    EXPECT_EQ(experiment.graph().options().inputs, 64);
    const std::vector<std::uint32_t> at = sweep == kRelaxed ? std::vector<std::uint32_t>{0, 0, 1, 1, 0, 1} : std::vector<std::uint32_t>{1, 0, 0, 1, 0};
    const auto out = run_at(*e, at);
    expect_declared_shapes(*e, out);
    for (const char* metric : {"train_error", "test_error"}) {
      const double error = out.metrics[metric_index(*e, metric)];
      EXPECT_GE(error, 0.0);
      EXPECT_LE(error, 1.0);
      // The linear vertex: 3 against 8 is easy for a linear classifier even after 30 steps (a
      // relaxed search's most probable vertex may be the zero one).
      if (sweep == kEnumerate) {
        EXPECT_LT(error, 0.2) << metric;
      }
    }
    EXPECT_TRUE(bitwise_equal(out.metrics, run_at(*build_job(job_text(kDigits, kDigitsModel, sweep)), at).metrics));
  }
  // The zero vertex predicts f = 0 (class 0 everywhere): its error is the share of class 1.
  auto e = build_job(job_text(kDigits, kDigitsModel, kEnumerate));
  const auto zero = run_at(*e, std::vector<std::uint32_t>{0, 0, 0, 0, 0});
  const double error = zero.metrics[metric_index(*e, "test_error")];
  EXPECT_GT(error, 0.3);
  EXPECT_LT(error, 0.7);
}

TEST(StructureSelection, LikelihoodAndClassesErrorsGiveFileAndLine) {
  expect_input_error(job_text(kDigits, kDigitsModel + "likelihood = \"gaussian\"\n", ""), "likelihood");
  expect_input_error(job_text("source = \"boston\"\ntest_fraction = 0.2\n", "likelihood = \"bernoulli\"\n", ""), "likelihood");
  expect_input_error(job_text(kData, "likelihood = \"bernoulli\"\n", ""), "likelihood");
  expect_input_error(job_text(kDigits, kDigitsModel + "likelihood = \"poisson\"\n", ""), "likelihood");
  // "logistic" (multistart-evidence's spelling) names the Bernoulli likelihood too.
  EXPECT_NO_THROW(build_job(job_text(kDigits, kDigitsModel + "likelihood = \"logistic\"\n", "")));
  expect_input_error(job_text(kData, "likelihood = \"logistic\"\n", ""), "likelihood");
  expect_input_error(job_text("source = \"digits\"\n", kDigitsModel, ""), "source");  // ten classes: not 0/1
  expect_input_error(job_text("source = \"digits\"\nclasses = [3]\n", kDigitsModel, ""), "classes");
  expect_input_error(job_text("source = \"digits\"\nclasses = [3, 3]\n", kDigitsModel, ""), "classes");
  expect_input_error(job_text("source = \"digits\"\nclasses = [3, 10]\n", kDigitsModel, ""), "classes");
  expect_input_error(job_text("source = \"digits\"\nclasses = [3, 5, 8]\n", kDigitsModel, ""), "classes");  // not 0/1
  expect_input_error(job_text("source = \"digits\"\nclasses = \"3,8\"\n", kDigitsModel, ""), "classes");
}

TEST(StructureSelection, JobFilesInTheRepositoryAreValid) {
  const std::filesystem::path jobs = std::filesystem::path(MSWEEP_SOURCE_DIR) / "jobs";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(jobs)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("structure-", 0) != 0 || entry.path().extension() != ".toml") continue;
    SCOPED_TRACE(name);
    const JobSpec spec = load_job(entry.path().string());
    auto e = make_experiment(spec);
    spec.reject_unknown_keys();
    if (name.find("boston") != std::string::npos || name.find("digits") != std::string::npos) {
      EXPECT_GE(dynamic_cast<const StructureSelectionExperiment&>(*e).graph().vertex_count(), 1024u);
    }
    if (name == "structure-small.toml") {
      const auto out = run_at(*e, std::vector<std::uint32_t>{0, 0, 0, 0, 0, 0});
      expect_declared_shapes(*e, out);
    }
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

}  // namespace
}  // namespace msweep
