// Experiment "param-ordering" built from job text: grid and declared shapes, determinism of a
// task from its coordinates alone, the paired comparison between orders, mask semantics, the
// job files in jobs/, and file:line errors for bad keys.
#include "msweep/experiments/param_ordering.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>

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

std::string job_text(const std::string& data, const std::string& model, const std::string& sweep) {
  return experiment_testing::kind_job_text("param-ordering", 7, data, model, sweep);
}

const std::string kData = "source = \"synthetic-regression\"\nobjects = 120\nfeatures = 5\n";
const std::string kModel = "hidden = [4]\nlearning_rate = 0.01\nbatch_size = 16\n";
const std::string kSweep = "runs = 2\nrestarts = 2\nt0 = 60\ncontinue_iterations = 40\nfractions = [0.0, 0.25, 0.5, 1.0]\n";

std::vector<std::uint32_t> coords(std::uint32_t restart, std::uint32_t run, std::uint32_t order) {
  return {0, 0, restart, run, order};
}

// Finds the index of a declared array by name.
std::size_t array_index(const Experiment& e, const std::string& name) {
  const auto arrays = e.arrays();
  for (std::size_t i = 0; i < arrays.size(); ++i)
    if (arrays[i].name == name) return i;
  ADD_FAILURE() << "no array " << name;
  return 0;
}

std::size_t metric_index(const Experiment& e, const std::string& name) {
  const auto metrics = e.metrics();
  for (std::size_t i = 0; i < metrics.size(); ++i)
    if (metrics[i].name == name) return i;
  ADD_FAILURE() << "no metric " << name;
  return 0;
}

TEST(ParamOrdering, GridAxesAndDeclaredShapes) {
  auto e = build_job(job_text(kData, kModel, kSweep));
  const auto& axes = e->grid().axes();
  ASSERT_EQ(axes.size(), 5u);
  EXPECT_EQ(axes[0].name, "structure");
  EXPECT_EQ(axes[0].labels, std::vector<std::string>{"5-4-1"});
  EXPECT_EQ(axes[4].name, "order");
  EXPECT_EQ(axes[4].labels, (std::vector<std::string>{"variance", "random"}));
  EXPECT_EQ(e->grid().size(), 1u * 1u * 2u * 2u * 2u);
  const std::size_t P = 5 * 4 + 4 + 4 + 1;
  const auto output = run_at(*e, coords(1, 1, 0));
  ASSERT_EQ(output.metrics.size(), e->metrics().size());
  const auto arrays = e->arrays();
  ASSERT_EQ(output.arrays.size(), arrays.size());
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    std::size_t size = 1;
    for (auto d : arrays[i].shape) size *= d;
    EXPECT_EQ(output.arrays[i].size(), size) << arrays[i].name;
  }
  EXPECT_EQ(arrays[array_index(*e, "mask")].shape, (std::vector<std::size_t>{4, P}));
  EXPECT_EQ(arrays[array_index(*e, "train_loss")].shape, (std::vector<std::size_t>{4}));
  EXPECT_EQ(output.metrics[metric_index(*e, "n_params")], static_cast<double>(P));
  for (double m : output.metrics) EXPECT_TRUE(std::isfinite(m));
}

TEST(ParamOrdering, TaskDependsOnlyOnItsCoordinates) {
  const std::string text = job_text(kData, kModel, kSweep);
  auto a = build_job(text), b = build_job(text);
  const auto first = run_at(*a, coords(1, 0, 1));
  // Other tasks in between (different warm-up state in the cache), then the same coordinates.
  run_at(*a, coords(0, 1, 0));
  run_at(*a, coords(1, 1, 1));
  const auto again = run_at(*a, coords(1, 0, 1));
  const auto fresh = run_at(*b, coords(1, 0, 1));
  for (const auto* other : {&again, &fresh}) {
    EXPECT_TRUE(bitwise_equal(first.metrics, other->metrics));
    ASSERT_EQ(first.arrays.size(), other->arrays.size());
    for (std::size_t i = 0; i < first.arrays.size(); ++i) EXPECT_TRUE(bitwise_equal(first.arrays[i], other->arrays[i])) << i;
  }
  // Different runs and restarts give different numbers.
  EXPECT_NE(first.metrics[metric_index(*a, "train_loss_t0")], run_at(*a, coords(0, 0, 1)).metrics[metric_index(*a, "train_loss_t0")]);
  EXPECT_NE(first.metrics[metric_index(*a, "train_loss_t0")], run_at(*a, coords(1, 1, 1)).metrics[metric_index(*a, "train_loss_t0")]);
}

TEST(ParamOrdering, OrdersArePairedAndShareFractionZero) {
  auto e = build_job(job_text(kData, kModel, kSweep));
  for (std::uint32_t run = 0; run < 2; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    const auto variance = run_at(*e, coords(0, run, 0));
    const auto random = run_at(*e, coords(0, run, 1));
    const auto train = array_index(*e, "train_loss"), test = array_index(*e, "test_loss");
    // Same warm-up, same minibatches after t0, nothing frozen: bitwise the same state.
    EXPECT_EQ(variance.arrays[train][0], random.arrays[train][0]);
    EXPECT_EQ(variance.arrays[test][0], random.arrays[test][0]);
    EXPECT_EQ(variance.metrics[metric_index(*e, "test_loss_t0")], random.metrics[metric_index(*e, "test_loss_t0")]);
    EXPECT_TRUE(bitwise_equal(variance.arrays[array_index(*e, "variance")], random.arrays[array_index(*e, "variance")]));
    // Everything frozen: the weights stay at t0, so the losses are those at t0.
    EXPECT_EQ(variance.arrays[train][3], variance.metrics[metric_index(*e, "train_loss_t0")]);
    EXPECT_EQ(random.arrays[test][3], random.metrics[metric_index(*e, "test_loss_t0")]);
    // The orders differ in between.
    EXPECT_NE(variance.arrays[train][2], random.arrays[train][2]);
  }
}

TEST(ParamOrdering, StreamsLeaveOutStructureAndOrder) {
  // The header's promise: the orders of a (run, restart) pair share every stream; restart and
  // run change the ones they are declared on (the split only with the run).
  auto e = build_job(job_text(kData, kModel, kSweep));
  auto seeds = [&](std::uint32_t restart, std::uint32_t run, std::uint32_t order) {
    const auto c = coords(restart, run, order);
    return param_ordering::task_seeds(7, TaskView(e->grid(), c));
  };
  EXPECT_EQ(seeds(1, 1, 0), seeds(1, 1, 1));
  const auto base = seeds(0, 0, 0), restart = seeds(1, 0, 0), run = seeds(0, 1, 0);
  EXPECT_EQ(base.split, restart.split);
  EXPECT_NE(base.split, run.split);
  for (const auto& other : {restart, run}) {
    EXPECT_NE(base.init, other.init);
    EXPECT_NE(base.variance_init, other.variance_init);
    EXPECT_NE(base.warmup, other.warmup);
    EXPECT_NE(base.random_order, other.random_order);
    EXPECT_NE(base.continuation, other.continuation);
  }
}

TEST(ParamOrdering, BuiltFromOptionsWithoutAJobFile) {
  RandomStream rng(3);
  Dataset data = make_synthetic_regression(80, 3, 0.5, rng);
  ParamOrderingOptions options;
  options.job.runs = 2;
  options.data.source = "synthetic-regression";
  options.network.layers = {3, 4, 1};
  options.t0 = 20;
  options.continue_iterations = 10;
  options.fractions = {0.0, 0.5};
  ParamOrderingExperiment e(options, std::move(data));
  EXPECT_EQ(e.grid().size(), 2u * 2);  // runs x orders
  EXPECT_EQ(e.grid().axes()[4].labels, (std::vector<std::string>{"variance", "random"}));
  const auto out = run_at(e, coords(0, 1, 1));
  EXPECT_EQ(out.metrics.size(), e.metrics().size());
}

// Every mask of `out` freezes the parameters of smallest `values` first, nested across fractions.
void expect_masks_freeze_the_smallest(const Experiment& e, const TaskOutput& out, const std::vector<double>& values) {
  const auto& mask = out.arrays[array_index(e, "mask")];
  const auto& frozen = out.arrays[array_index(e, "frozen_count")];
  const std::size_t P = values.size(), F = frozen.size();
  for (std::size_t k = 0; k < F; ++k) {
    SCOPED_TRACE("fraction " + std::to_string(k));
    double largest_frozen = -1.0, smallest_trained = 1e300;
    std::size_t zeros = 0;
    for (std::size_t j = 0; j < P; ++j) {
      const double alpha = mask[k * P + j];
      ASSERT_TRUE(alpha == 0.0 || alpha == 1.0);
      if (alpha == 0.0) {
        ++zeros;
        largest_frozen = std::max(largest_frozen, values[j]);
      } else {
        smallest_trained = std::min(smallest_trained, values[j]);
      }
    }
    EXPECT_EQ(static_cast<double>(zeros), frozen[k]);
    EXPECT_LE(largest_frozen, smallest_trained);
  }
  // Masks are nested: a parameter frozen at a smaller fraction stays frozen at larger ones.
  for (std::size_t j = 0; j < P; ++j)
    for (std::size_t k = 1; k < F; ++k) EXPECT_LE(mask[k * P + j], mask[(k - 1) * P + j]);
}

TEST(ParamOrdering, VarianceMasksFreezeTheSmallestVariances) {
  auto e = build_job(job_text(kData, kModel, kSweep));
  const auto out = run_at(*e, coords(0, 1, 0));
  EXPECT_EQ(out.arrays[array_index(*e, "frozen_count")], (std::vector<double>{0, 7, 15, 29}));  // round(f * 29)
  expect_masks_freeze_the_smallest(*e, out, out.arrays[array_index(*e, "variance")]);
}

TEST(ParamOrdering, ExactVarianceOrderFreezesTheSmallestExactVariances) {
  auto e = build_job(job_text(kData, kModel, kSweep + "orders = [\"variance\", \"exact-variance\", \"random\"]\n"));
  EXPECT_EQ(e->grid().axes()[4].labels, (std::vector<std::string>{"variance", "exact-variance", "random"}));
  const auto running = run_at(*e, coords(0, 1, 0)), exact = run_at(*e, coords(0, 1, 1));
  const auto& values = exact.arrays[array_index(*e, "exact_variance")];
  for (double v : values) EXPECT_GE(v, 0.0);
  expect_masks_freeze_the_smallest(*e, exact, values);
  // Paired: the same state at t0, so the same variances and the same unfrozen continuation.
  EXPECT_TRUE(bitwise_equal(values, running.arrays[array_index(*e, "exact_variance")]));
  EXPECT_EQ(exact.arrays[array_index(*e, "test_loss")][0], running.arrays[array_index(*e, "test_loss")][0]);
  const double rho = exact.metrics[metric_index(*e, "rank_correlation_exact")];
  EXPECT_GE(rho, -1.0);
  EXPECT_LE(rho, 1.0);
}

TEST(ParamOrdering, RankCorrelationWithTheRandomStart) {
  // t0 = 0: C_t0 is C_0 itself; after one step k_1 = 1 has replaced it.
  auto at_start = build_job(job_text(kData, kModel, "runs = 1\nt0 = 0\ncontinue_iterations = 5\nfractions = [0.0, 1.0]\n"));
  EXPECT_EQ(run_at(*at_start, coords(0, 0, 0)).metrics[metric_index(*at_start, "rank_correlation_c0")], 1.0);
  auto later = build_job(job_text(kData, kModel, "runs = 1\nt0 = 1\ncontinue_iterations = 5\nfractions = [0.0, 1.0]\n"));
  EXPECT_LT(run_at(*later, coords(0, 0, 0)).metrics[metric_index(*later, "rank_correlation_c0")], 0.9);
}

TEST(ParamOrdering, ClassificationAndLinearModels) {
  // Two classes give one logit (logistic); no hidden layer and no bias: 5 parameters.
  auto e = build_job(job_text("source = \"synthetic-classification\"\nobjects = 100\nfeatures = 5\n",
                          "hidden = []\nbias = false\nlearning_rate = 0.01\n",
                          "runs = 1\nt0 = 30\ncontinue_iterations = 20\nfractions = [0.0, 1.0]\norders = [\"random\"]\nstore_masks = false\n"));
  EXPECT_EQ(e->grid().axes()[0].labels, std::vector<std::string>{"5-1"});
  EXPECT_EQ(e->grid().axes()[4].labels, std::vector<std::string>{"random"});
  for (const auto& a : e->arrays()) EXPECT_NE(a.name, "mask");
  const auto out = run_at(*e, coords(0, 0, 0));
  EXPECT_EQ(out.metrics[metric_index(*e, "n_params")], 5.0);
  EXPECT_GT(out.metrics[metric_index(*e, "test_loss_t0")], 0.0);
  EXPECT_LT(out.metrics[metric_index(*e, "train_loss_t0")], 2.0);
}

TEST(ParamOrdering, BadKeysGiveInputErrorsWithFileAndLine) {
  expect_input_error(job_text(kData, kModel, "t0 = -1\n"), "t0");
  expect_input_error(job_text(kData, kModel, "fractions = [0.0, 1.5]\n"), "fractions");
  expect_input_error(job_text(kData, kModel, "fractions = []\n"), "fractions");
  expect_input_error(job_text(kData, kModel, "orders = [\"variance\", \"sorted\"]\n"), "orders");
  expect_input_error(job_text(kData, kModel, "orders = [\"exact-variance\", \"exact-variance\"]\n"), "test.toml:17");
  expect_input_error(job_text(kData, kModel, "orders = [\"random\", \"random\"]\n"), "orders");
  expect_input_error(job_text(kData, kModel, "folds = 3\n"), "folds");
  expect_input_error(job_text(kData, "activation = \"gelu\"\n", ""), "activation");
  expect_input_error(job_text(kData, "hidden = [0]\n", ""), "hidden");
  expect_input_error(job_text(kData, "learning_rate = 0\n", ""), "learning_rate");
  expect_input_error(job_text(kData, "loss = \"cross-entropy\"\n", ""), "loss");  // real-valued targets
  expect_input_error(job_text(kData + "test_fraction = 0\n", "", ""), "test_fraction");
  expect_input_error(job_text(kData, kModel, "t_0 = 5\n"), "t_0");  // a typo is an unknown key
}

TEST(ParamOrdering, JobFilesInTheRepositoryAreValid) {
  const std::filesystem::path jobs = std::filesystem::path(MSWEEP_SOURCE_DIR) / "jobs";
  const bool fashion = std::filesystem::is_directory(kFashionMnistDirectory);
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(jobs)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("param-ordering-", 0) != 0 || entry.path().extension() != ".toml") continue;
    if (name.find("fashion") != std::string::npos && !fashion) continue;
    SCOPED_TRACE(name);
    const JobSpec spec = load_job(entry.path().string());
    auto e = make_experiment(spec);
    spec.reject_unknown_keys();
    const bool small = name.find("-small") != std::string::npos;
    EXPECT_EQ(e->grid().axes()[3].size(), small ? 2u : 25u);
    if (small) {
      const auto out = run_at(*e, coords(0, 0, 0));
      for (double m : out.metrics) EXPECT_TRUE(std::isfinite(m));
    }
    ++checked;
  }
  EXPECT_GE(checked, fashion ? 10 : 8);
}

// msweep run places the fixed split (Fashion-MNIST's official test part) in memory the ranks of a
// node share; here a placer backed by this process's memory stands in for it. The numbers must be
// those of the split each rank builds for itself, bit for bit.
TEST(ParamOrdering, FixedSplitInPlacedStorageGivesTheSameNumbers) {
  if (!std::filesystem::is_directory(kFashionMnistDirectory)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const std::string text = job_text("source = \"fashion-mnist\"\ntrain_objects = 300\ntest_objects = 100\nstandardize = true\n",
                                    "hidden = [4]\nbatch_size = 16\n",
                                    "runs = 2\nt0 = 20\ncontinue_iterations = 20\nfractions = [0.0, 0.5]\norders = [\"variance\", \"random\"]\n");
  const JobSpec spec = parse_job(text, "test.toml");
  std::vector<std::shared_ptr<std::vector<double>>> placed;
  DataSource source;
  source.place = [&](std::size_t count, const std::function<void(std::span<double>)>& fill) {
    // 8 spare values so the block can start on a 64-byte boundary, as msweep run's windows do.
    auto storage = std::make_shared<std::vector<double>>(count + 8);
    void* start = storage->data();
    std::size_t space = storage->size() * sizeof(double);
    std::align(64, count * sizeof(double), start, space);
    const std::span<double> values(static_cast<double*>(start), count);
    fill(values);
    placed.push_back(storage);
    return PlacedArray{values, storage};
  };
  auto shared = make_experiment(spec, source);
  ASSERT_EQ(placed.size(), 1U) << "the fixed split is placed once, at construction";
  auto own = make_experiment(parse_job(text, "test.toml"));
  for (std::uint32_t run = 0; run < 2; ++run)
    for (std::uint32_t order = 0; order < 2; ++order) {
      const auto a = run_at(*shared, coords(0, run, order)), b = run_at(*own, coords(0, run, order));
      EXPECT_TRUE(bitwise_equal(a.metrics, b.metrics)) << run << " " << order;
      ASSERT_EQ(a.arrays.size(), b.arrays.size());
      for (std::size_t i = 0; i < a.arrays.size(); ++i) EXPECT_TRUE(bitwise_equal(a.arrays[i], b.arrays[i])) << i;
    }
  // A split drawn per run (test_fraction) depends on the task: nothing is placed.
  placed.clear();
  make_experiment(parse_job(job_text(kData, kModel, kSweep), "test.toml"), source);
  EXPECT_TRUE(placed.empty());
}

TEST(ParamOrdering, FashionMnistKeysAreCheckedAgainstTheSubsetSizes) {
  const std::string text = "[job]\nname = \"t\"\nexperiment = \"param-ordering\"\nseed = 1\n[data]\nsource = \"fashion-mnist\"\n"
                           "train_objects = 70000\n";
  try {
    build_job(text);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("test.toml:7"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace msweep
