// Experiment "hyperparameter-optimization" built from job text: grid and declared shapes, a task
// depends only on its coordinates, the pairing of methods (same split, w_0 and h_0; random
// search's trial r is where the gradient methods start at restart r), the streams' coordinates,
// a build from Options, the job files in jobs/, and file:line errors for bad keys.
#include "msweep/experiments/hyperparameter_optimization.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "msweep/core/error.hpp"
#include "msweep/data/fashion_mnist.hpp"
#include "msweep/data/loaders.hpp"
#include "msweep/spec/job.hpp"
#include "job_testing.hpp"

namespace msweep {
namespace {

using experiment_testing::bitwise_equal;
using experiment_testing::build_job;
using experiment_testing::expect_input_error;

const std::string kData =
    "source = \"polynomial\"\nobjects = 40\ndegree = 9\ntrigonometric = true\ntest_fraction = 0.5\n";
const std::string kSweep =
    "runs = 2\nrestarts = 2\nouter_iterations = 4\ninner_steps = 30\nlearning_rate = 0.003\nelbo_draws = 5\n";

std::string hpo_job(const std::string& data, const std::string& model, const std::string& sweep) {
  return experiment_testing::kind_job_text("hyperparameter-optimization", 3, data, model, sweep);
}

// (restart, run, method, criterion) with methods random, greedy, hoag, drmad and criteria cv, elbo.
std::vector<std::uint32_t> at(std::uint32_t restart, std::uint32_t run, std::uint32_t method, std::uint32_t criterion) {
  return {0, 0, restart, run, method, criterion};
}

std::size_t named(const std::vector<MetricInfo>& metrics, const std::string& name) {
  for (std::size_t i = 0; i < metrics.size(); ++i)
    if (metrics[i].name == name) return i;
  ADD_FAILURE() << "no metric " << name;
  return 0;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST(HyperparameterOptimization, GridAndDeclaredShapes) {
  auto e = build_job(hpo_job(kData, "", kSweep));
  const auto& axes = e->grid().axes();
  ASSERT_EQ(axes.size(), 6u);
  EXPECT_EQ(axes[0].labels, std::vector<std::string>{"11-1"});
  EXPECT_EQ(axes[4].labels, (std::vector<std::string>{"random", "greedy", "hoag", "drmad"}));
  EXPECT_EQ(axes[5].labels, (std::vector<std::string>{"cv", "elbo"}));
  EXPECT_EQ(e->grid().size(), 2u * 2u * 4u * 2u);
  const auto arrays = e->arrays();
  ASSERT_EQ(arrays.size(), 2u);
  EXPECT_EQ(arrays[0].shape, std::vector<std::size_t>{4});
  EXPECT_EQ(arrays[1].shape, std::vector<std::size_t>{12});
  for (std::uint32_t method = 0; method < 4; ++method)
    for (std::uint32_t criterion = 0; criterion < 2; ++criterion) {
      const TaskResult r = execute_task(*e, e->grid().id_of(at(1, 1, method, criterion)), 0);
      ASSERT_EQ(r.status, TaskStatus::ok) << r.error;
      const auto m = e->metrics();
      EXPECT_EQ(r.metrics[named(m, "n_hyperparameters")], 12.0);
      EXPECT_GE(r.metrics[named(m, "best_criterion")], r.metrics[named(m, "initial_criterion")]);
      EXPECT_EQ(r.metrics[named(m, "inner_trainings")], method == 0 ? 1.0 : 4.0);
      EXPECT_EQ(r.arrays[0].front(), r.metrics[named(m, "initial_criterion")]);
    }
}

TEST(HyperparameterOptimization, TaskDependsOnlyOnItsCoordinates) {
  const std::string text = hpo_job(kData, "", kSweep);
  auto a = build_job(text), b = build_job(text);
  const auto first = run_at(*a, at(1, 0, 2, 1));
  run_at(*a, at(0, 1, 3, 0));
  const auto again = run_at(*a, at(1, 0, 2, 1));
  const auto fresh = run_at(*b, at(1, 0, 2, 1));
  for (const auto* other : {&again, &fresh}) {
    EXPECT_TRUE(same_bits(first.metrics, other->metrics));
    for (std::size_t i = 0; i < first.arrays.size(); ++i) EXPECT_TRUE(same_bits(first.arrays[i], other->arrays[i]));
  }
  EXPECT_FALSE(same_bits(first.arrays[0], run_at(*a, at(0, 0, 2, 1)).arrays[0]));
}

TEST(HyperparameterOptimization, RandomTrialIsWhereTheGradientMethodsStart) {
  auto e = build_job(hpo_job(kData, "", kSweep));
  const auto m = e->metrics();
  for (std::uint32_t criterion = 0; criterion < 2; ++criterion) {
    const auto random = run_at(*e, at(1, 1, 0, criterion));
    for (std::uint32_t method = 2; method < 4; ++method) {  // HOAG and DrMAD keep h_0 for their first training
      const auto gradient = run_at(*e, at(1, 1, method, criterion));
      EXPECT_EQ(random.metrics[named(m, "best_criterion")], gradient.metrics[named(m, "initial_criterion")]);
    }
  }
}

TEST(HyperparameterOptimization, StreamsLeaveOutMethodAndCriterion) {
  auto e = build_job(hpo_job(kData, "", kSweep));
  auto seeds = [&](std::uint32_t restart, std::uint32_t run, std::uint32_t method, std::uint32_t criterion) {
    const auto c = at(restart, run, method, criterion);
    return hpo::task_seeds(3, TaskView(e->grid(), c));
  };
  EXPECT_EQ(seeds(1, 1, 0, 0), seeds(1, 1, 3, 1));
  const auto base = seeds(0, 0, 0, 0), restart = seeds(1, 0, 0, 0), run = seeds(0, 1, 0, 0);
  EXPECT_EQ(base.split, restart.split);
  EXPECT_EQ(base.cv, restart.cv);
  EXPECT_EQ(base.pool, restart.pool);
  EXPECT_EQ(base.input_noise, restart.input_noise);
  EXPECT_NE(base.init, restart.init);
  EXPECT_NE(base.hyper, restart.hyper);
  EXPECT_NE(base.split, run.split);
  EXPECT_NE(base.cv, run.cv);
  EXPECT_NE(base.pool, run.pool);
  EXPECT_NE(base.init, run.init);
}

TEST(HyperparameterOptimization, BuiltFromOptionsWithAnMlpAndLayerGroups) {
  RandomStream rng(4);
  Dataset data = make_synthetic_regression(40, 3, 0.5, rng);
  HyperparameterOptimizationOptions options;
  options.data.source = "synthetic-regression";
  options.network.layers = {3, 5, 1};
  options.network.activation = Activation::relu;
  options.methods = {"hoag", "drmad"};
  options.cv_groups = "layer";
  options.elbo_draws = 3;
  options.outer_iterations = 3;
  options.inner = {20, 0.005};
  HyperparameterOptimizationExperiment e(options, std::move(data));
  EXPECT_EQ(e.grid().size(), 2u * 2u);
  const auto out = run_at(e, at(0, 0, 0, 0));
  EXPECT_EQ(out.metrics[named(e.metrics(), "n_hyperparameters")], 2.0);
  ASSERT_EQ(out.arrays[1].size(), 26u);
  EXPECT_EQ(out.arrays[1][0], out.arrays[1][19]);  // W_1 and b_1 share layer 1's h
}

TEST(HyperparameterOptimization, BadKeysGiveInputErrorsWithFileAndLine) {
  expect_input_error(hpo_job(kData, "", "methods = [\"random\", \"bayes\"]\n"), "methods");
  expect_input_error(hpo_job(kData, "", "methods = [\"hoag\", \"hoag\"]\n"), "methods");
  expect_input_error(hpo_job(kData, "", "criteria = []\n"), "criteria");
  expect_input_error(hpo_job(kData, "", "cv_groups = \"block\"\n"), "cv_groups");
  expect_input_error(hpo_job(kData, "", "h_init = [3.0, 1.0]\n"), "h_init");
  expect_input_error(hpo_job(kData, "", "h_limits = [0.0, 1.0]\n"), "h_init");  // the default h_init leaves them
  expect_input_error(hpo_job(kData, "", "outer_iterations = 0\n"), "outer_iterations");
  expect_input_error(hpo_job(kData, "", "learning_rate = 0\n"), "learning_rate");
  expect_input_error(hpo_job(kData, "", "folds = 2\n"), "folds");
  expect_input_error(hpo_job(kData, "noise_variance = -1\n", ""), "noise_variance");
  expect_input_error(hpo_job("source = \"polynomial\"\nobjects = 40\ntest_fraction = 0\n", "", ""), "test_fraction");
  expect_input_error(hpo_job(kData, "", "inner_step = 5\n"), "inner_step");  // a typo is an unknown key
  expect_input_error(hpo_job(kData, "", "max_step_reductions = -1\n"), "max_step_reductions");
}

// The seed's rule divides g_h by 10 at every clip (the default, 10 times at most); with
// max_step_reductions = 0 a step that leaves h_limits is clipped and g_h is kept (projected
// gradient ascent). A huge g_h makes HOAG's first step leave the limits.
TEST(HyperparameterOptimization, MaxStepReductionsZeroKeepsTheStepSize) {
  const std::string sweep = kSweep + "methods = [\"hoag\"]\ncriteria = [\"cv\"]\nstep_size = 1000.0\n";
  auto seed_rule = build_job(hpo_job(kData, "", sweep));
  auto projected = build_job(hpo_job(kData, "", sweep + "max_step_reductions = 0\n"));
  const auto m = seed_rule->metrics();
  const auto divided = run_at(*seed_rule, at(0, 0, 0, 0));
  const auto kept = run_at(*projected, at(0, 0, 0, 0));
  EXPECT_LT(divided.metrics[named(m, "final_step_size")], 1000.0);
  EXPECT_EQ(kept.metrics[named(m, "final_step_size")], 1000.0);
}

// The end-of-run table titles its error columns in words; the metric names stay the file's.
TEST(HyperparameterOptimization, ReportTitlesTheErrorColumnsInWords) {
  auto e = build_job(hpo_job(kData, "", "runs = 1\nrestarts = 1\nouter_iterations = 2\ninner_steps = 10\nelbo_draws = 3\n"));
  std::vector<AxisShape> shapes;
  for (const auto& axis : e->grid().axes()) shapes.push_back({axis.name, axis.size()});
  std::vector<std::string> names;
  for (const auto& metric : e->metrics()) names.push_back(metric.name);
  SummaryBuilder builder(shapes, {"run", "fold"}, names);
  std::vector<std::uint32_t> coordinates(shapes.size());
  for (TaskId id = 0; id < e->grid().size(); ++id) {
    e->grid().coordinates(id, coordinates);
    const TaskResult r = execute_task(*e, id, 0);
    builder.add(coordinates, r.status == TaskStatus::ok, r.metrics);
  }
  const std::string report = e->report(builder.finish());
  EXPECT_NE(report.find("test MSE, input noise s = 0.5"), std::string::npos) << report;  // a regression loss
  EXPECT_EQ(report.find("noise_0"), std::string::npos) << report;
}

TEST(HyperparameterOptimization, JobFilesInTheRepositoryAreValid) {
  const std::filesystem::path jobs = std::filesystem::path(MSWEEP_SOURCE_DIR) / "jobs";
  const bool fashion = std::filesystem::is_directory(kFashionMnistDirectory);
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(jobs)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("hpo-", 0) != 0 || entry.path().extension() != ".toml") continue;
    if (name.find("fashion") != std::string::npos && !fashion) continue;
    SCOPED_TRACE(name);
    const JobSpec spec = load_job(entry.path().string());
    auto e = make_experiment(spec);
    spec.reject_unknown_keys();
    if (name.find("-small") != std::string::npos) {
      const TaskResult r = execute_task(*e, 0, 0);
      EXPECT_EQ(r.status, TaskStatus::ok) << r.error;
    }
    ++checked;
  }
  EXPECT_GE(checked, 2);
}

}  // namespace
}  // namespace msweep
