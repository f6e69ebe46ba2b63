// Experiment "mixture-em" built from job texts: grid, determinism, declared shapes, pairing of
// data and initial points, the stored points, the S score, conic and image sources, and
// file:line key errors.
#include "msweep/experiments/mixture_em.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "msweep/core/error.hpp"
#include "msweep/core/random.hpp"
#include "msweep/criteria/s_score.hpp"
#include "msweep/data/curves.hpp"
#include "msweep/models/mixture/mixture.hpp"

namespace msweep {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const char* kSmallJob = R"([job]
name = "t"
experiment = "mixture-em"
seed = 7

[data]
source = "circles"

[model]
max_iterations = 30

[sweep]
experts = [2, 3]
restarts = 2
runs = 2
)";

std::unique_ptr<Experiment> build(const std::string& text, const std::string& path = "test.toml") {
  const JobSpec spec = parse_job(text, path);
  auto experiment = make_experiment(spec);
  spec.reject_unknown_keys();
  return experiment;
}

std::vector<std::uint32_t> coords(std::uint32_t k, std::uint32_t restart, std::uint32_t run, std::uint32_t method, std::uint32_t noise) {
  return {k, 0, restart, run, method, noise};
}

constexpr std::size_t kNPoints = 10, kPointsArray = 4;  // metric and array positions

void expect_in_shape(const Experiment& experiment, const TaskOutput& out) {
  ASSERT_EQ(out.metrics.size(), experiment.metrics().size());
  const auto arrays = experiment.arrays();
  ASSERT_EQ(out.arrays.size(), arrays.size());
  for (std::size_t a = 0; a < arrays.size(); ++a) {
    std::size_t size = 1;
    for (auto s : arrays[a].shape) size *= s;
    EXPECT_EQ(out.arrays[a].size(), size) << arrays[a].name;
    for (double v : out.arrays[a]) EXPECT_TRUE(std::isfinite(v)) << arrays[a].name;
  }
  for (double v : out.metrics) EXPECT_TRUE(std::isfinite(v));
}

TEST(MixtureEm, GridAndDeclarations) {
  const auto experiment = build(kSmallJob);
  const auto& axes = experiment->grid().axes();
  ASSERT_EQ(axes.size(), 6u);
  EXPECT_EQ(axes[0].labels, (std::vector<std::string>{"K=2", "K=3"}));
  EXPECT_EQ(axes[4].name, "method");
  EXPECT_EQ(axes[4].labels, (std::vector<std::string>{"no-prior", "prior", "prior-regularizer"}));
  EXPECT_EQ(axes[5].name, "noise");
  EXPECT_EQ(axes[5].labels, (std::vector<std::string>{"none", "noisy-radius", "uniform"}));
  EXPECT_EQ(experiment->grid().size(), 2u * 2 * 2 * 3 * 3);
  const auto arrays = experiment->arrays();
  ASSERT_EQ(arrays.size(), 5u);
  EXPECT_EQ(arrays[0].shape, (std::vector<std::size_t>{3, 3}));
  EXPECT_EQ(arrays[1].shape, (std::vector<std::size_t>{3}));
  EXPECT_EQ(arrays[2].shape, (std::vector<std::size_t>{3, 3}));
  EXPECT_EQ(arrays[3].shape, (std::vector<std::size_t>{30}));
  // Two default circles of 100 points, plus 200 background points because "uniform" is swept.
  EXPECT_EQ(arrays[4].name, "points");
  EXPECT_EQ(arrays[4].shape, (std::vector<std::size_t>{400, 3}));
  EXPECT_EQ(experiment->metrics()[kNPoints].name, "n_points");
  for (const auto& m : experiment->metrics()) EXPECT_FALSE(m.description.empty()) << m.name;
}

TEST(MixtureEm, SameCoordinatesGiveBitwiseEqualResults) {
  const auto first = build(kSmallJob), second = build(kSmallJob);
  for (const auto& c : {coords(0, 0, 0, 0, 0), coords(1, 1, 1, 2, 2), coords(0, 1, 0, 1, 1)}) {
    const TaskOutput a = run_at(*first, c);
    // Another instance, and the first instance again after other tasks ran: no hidden state.
    run_at(*first, coords(1, 0, 1, 1, 0));
    const TaskOutput b = run_at(*second, c), again = run_at(*first, c);
    expect_in_shape(*first, a);
    EXPECT_EQ(a.metrics, b.metrics);
    EXPECT_EQ(a.arrays, b.arrays);
    EXPECT_EQ(a.metrics, again.metrics);
    EXPECT_EQ(a.arrays, again.arrays);
  }
}

TEST(MixtureEm, ExecuteTaskSucceedsEverywhere) {
  const auto experiment = build(kSmallJob);
  for (TaskId id = 0; id < experiment->grid().size(); id += 5) {
    SCOPED_TRACE("task " + std::to_string(id));
    const TaskResult result = execute_task(*experiment, id, 0);
    EXPECT_EQ(result.status, TaskStatus::ok) << result.error;
  }
}

TEST(MixtureEm, DataDependOnRunAndNoiseOnly) {
  const auto experiment = build(kSmallJob);
  const auto& mixture = dynamic_cast<const MixtureEmExperiment&>(*experiment);
  EXPECT_EQ(mixture.image(0, 0).points, mixture.image(0, 0).points);
  EXPECT_NE(mixture.image(0, 0).points, mixture.image(1, 0).points);
  EXPECT_NE(mixture.image(0, 0).points.rows(), mixture.image(0, 2).points.rows());  // uniform adds 200
  // Noise variants are seeded by value: the same variant in another list position gives the same data.
  std::string reordered = kSmallJob;
  reordered.replace(reordered.find("runs = 2"), 8, "runs = 2\nnoise = [\"uniform\", \"none\"]");
  const auto other = build(reordered);
  EXPECT_EQ(dynamic_cast<const MixtureEmExperiment&>(*other).image(0, 1).points, mixture.image(0, 0).points);
}

TEST(MixtureEm, PointsAreTheFittedImageWithLabelsAndZeroPadding) {
  std::string text = kSmallJob;
  text.replace(text.find("source = \"circles\""), 18,
               "source = \"circles\"\ncircles = [0.5, 0.0, 0.4, -0.5, 0.2, 1.0, 0.0, 0.0, 1.7]\n"
               "points_per_curve = 30\nuniform_points = 50");
  const auto experiment = build(text);
  const auto& mixture = dynamic_cast<const MixtureEmExperiment&>(*experiment);
  EXPECT_EQ(mixture.max_points(), 3u * 30 + 50);
  EXPECT_EQ(experiment->arrays()[kPointsArray].shape, (std::vector<std::size_t>{140, 3}));
  for (std::uint32_t noise = 0; noise < 3; ++noise) {
    SCOPED_TRACE("noise " + std::to_string(noise));
    const TaskOutput out = run_at(*experiment, coords(1, 1, 1, 2, noise));
    expect_in_shape(*experiment, out);
    const PointImage& img = mixture.image(1, noise);
    const auto n = static_cast<std::size_t>(img.points.rows());
    EXPECT_EQ(n, noise == 2 ? 140u : 90u);  // the background only in "uniform"
    EXPECT_EQ(out.metrics[kNPoints], static_cast<double>(n));
    const std::vector<double>& points = out.arrays[kPointsArray];
    std::vector<int> per_label(4, 0);  // background, circles 0-2
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(points[3 * i], img.points(static_cast<Eigen::Index>(i), 0));
      EXPECT_EQ(points[3 * i + 1], img.points(static_cast<Eigen::Index>(i), 1));
      EXPECT_EQ(points[3 * i + 2], static_cast<double>(img.labels[i]));
      ++per_label[static_cast<std::size_t>(img.labels[i] + 1)];
    }
    EXPECT_EQ(per_label, (std::vector<int>{noise == 2 ? 50 : 0, 30, 30, 30}));
    for (std::size_t i = 3 * n; i < points.size(); ++i) ASSERT_EQ(points[i], 0.0) << "padding at " << i;
    // Data are paired: another K, method and restart of the same run and noise stores the same points.
    EXPECT_EQ(run_at(*experiment, coords(0, 0, 1, 0, noise)).arrays[kPointsArray], points);
  }
  EXPECT_NE(run_at(*experiment, coords(0, 0, 0, 0, 0)).arrays[kPointsArray], run_at(*experiment, coords(0, 0, 1, 0, 0)).arrays[kPointsArray]);
}

TEST(MixtureEm, PointsLeftOutOnRequestOrWithoutUniformNoise) {
  std::string text = kSmallJob;
  text += "\n[output]\nstore_points = false\n";
  const auto experiment = build(text);
  EXPECT_EQ(experiment->arrays().size(), 4u);
  EXPECT_EQ(dynamic_cast<const MixtureEmExperiment&>(*experiment).max_points(), 0u);
  const TaskOutput out = run_at(*experiment, coords(0, 0, 0, 1, 2));
  expect_in_shape(*experiment, out);
  EXPECT_EQ(out.metrics[kNPoints], 400.0);  // still a metric
  // Without the "uniform" variant no image has background points: no rows are reserved for them.
  std::string clean = kSmallJob;
  clean.replace(clean.find("runs = 2"), 8, "runs = 2\nnoise = [\"none\", \"noisy-radius\"]");
  EXPECT_EQ(build(clean)->arrays()[kPointsArray].shape, (std::vector<std::size_t>{200, 3}));
}

TEST(MixtureEm, MethodsShareTheInitialPoint) {
  // With no EM step to speak of (one iteration, prior means ignored by no-prior), the prior and
  // prior-regularizer methods start from w0 + z and coincide after their first, identical, update.
  std::string text = kSmallJob;
  text.replace(text.find("max_iterations = 30"), 19, "max_iterations = 1");
  const auto experiment = build(text);
  const TaskOutput prior = run_at(*experiment, coords(0, 0, 0, 1, 0)), regularized = run_at(*experiment, coords(0, 0, 0, 2, 0));
  EXPECT_EQ(prior.arrays[0], regularized.arrays[0]);
  const TaskOutput other_restart = run_at(*experiment, coords(0, 1, 0, 1, 0));
  EXPECT_NE(prior.arrays[0], other_restart.arrays[0]);
}

TEST(MixtureEm, StreamsLeaveOutStructureAndMethod) {
  // The header's promise: K and method share the data and the initial draws; the restart changes
  // only the initial draws, the noise variant only the data, the run both.
  const auto experiment = build(kSmallJob);
  const auto& options = dynamic_cast<const MixtureEmExperiment&>(*experiment).options();
  auto seeds = [&](std::uint32_t k, std::uint32_t restart, std::uint32_t run, std::uint32_t method, std::uint32_t noise) {
    const auto c = coords(k, restart, run, method, noise);
    return mixture_em::task_seeds(options, TaskView(experiment->grid(), c));
  };
  const auto base = seeds(0, 0, 0, 0, 0);
  EXPECT_EQ(base, seeds(1, 0, 0, 2, 0));
  EXPECT_EQ(base.data, seeds(0, 1, 0, 0, 0).data);
  EXPECT_NE(base.init, seeds(0, 1, 0, 0, 0).init);
  EXPECT_EQ(base.init, seeds(0, 0, 0, 0, 1).init);
  EXPECT_NE(base.data, seeds(0, 0, 0, 0, 1).data);
  EXPECT_NE(base.data, seeds(0, 0, 1, 0, 0).data);
  EXPECT_NE(base.init, seeds(0, 0, 1, 0, 0).init);
}

TEST(MixtureEm, BuiltFromOptionsWithoutAJobFile) {
  MixtureEmOptions options;
  options.experts = {2};
  options.methods = {MixtureMethod::prior};
  options.noises = {ImageNoise::none};
  options.prior_means = (Eigen::MatrixXd(2, 3) << 0, 0, 0.1, 0, 0, 2).finished();
  options.regularizer = Eigen::Vector3d(0.01, 0.01, 1.0).asDiagonal();
  options.model.max_iterations = 5;
  MixtureEmExperiment experiment(options);
  EXPECT_EQ(experiment.grid().size(), 1u);
  const TaskOutput out = run_at(experiment, coords(0, 0, 0, 0, 0));
  expect_in_shape(experiment, out);
}

TEST(MixtureEm, ResolvedJobHoldsTheDefaultsUsed) {
  // The values every key had, defaults included: what analysis reads instead of copying them.
  const JobSpec spec = parse_job(kSmallJob, "test.toml");
  make_experiment(spec);
  const std::string resolved = spec.resolved_json();
  EXPECT_NE(resolved.find("\"circles\": [0.0, 0.0, 0.5, 0.0, 0.0, 1.5]"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("\"max_iterations\": 30"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("\"radius_noise\": 0.1,"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("\"experts\": [2, 3]"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("\"noise\": [\"none\", \"noisy-radius\", \"uniform\"]"), std::string::npos) << resolved;
  EXPECT_NE(resolved.find("\"seed\": 7"), std::string::npos) << resolved;
}

TEST(MixtureEm, PriorFindsTheCirclesOnCleanData) {
  const auto experiment = build(read_text(MSWEEP_SOURCE_DIR "/jobs/mixture-circles-small.toml"), "mixture-circles-small.toml");
  int good = 0, total = 0;
  for (std::uint32_t run = 0; run < 3; ++run)
    for (std::uint32_t restart = 0; restart < 2; ++restart) {
      const TaskOutput out = run_at(*experiment, coords(0, restart, run, 1, 0));
      expect_in_shape(*experiment, out);
      ++total;
      good += out.metrics[0] < 0.01;
      if (out.metrics[0] < 0.01) {
        // Rows are matched to the true circles: radius 0.5 first, then 1.5.
        EXPECT_NEAR(out.arrays[0][2], 0.5, 0.05);
        EXPECT_NEAR(out.arrays[0][5], 1.5, 0.05);
        EXPECT_LT(out.arrays[2][1], 0.5);  // the two experts are distinguishable
      }
    }
  EXPECT_GE(good, total - 2);
}

TEST(MixtureEm, CurvesJob) {
  const auto experiment = build(read_text(MSWEEP_SOURCE_DIR "/jobs/mixture-curves.toml"), "mixture-curves.toml");
  EXPECT_EQ(experiment->arrays()[0].shape, (std::vector<std::size_t>{3, 5}));
  const auto rows = experiment->arrays()[kPointsArray].shape[0];
  for (std::uint32_t k = 0; k < 2; ++k) {
    const TaskOutput out = run_at(*experiment, coords(k, 0, 0, 1, 0));
    expect_in_shape(*experiment, out);
    EXPECT_EQ(out.metrics[6], k == 0 ? 2.0 : 3.0);
    EXPECT_LE(out.metrics[kNPoints], static_cast<double>(rows));
    EXPECT_GE(out.arrays[kPointsArray][2], 0.0);  // the first point lies on a true curve
  }
}

TEST(MixtureEm, SoftmaxGate) {
  std::string text = kSmallJob;
  text.replace(text.find("max_iterations = 30"), 19, "max_iterations = 30\ngate = \"softmax\"\ngate_steps = 5");
  const auto first = build(text), second = build(text);
  for (const auto& c : {coords(0, 0, 0, 2, 1), coords(1, 1, 1, 0, 2)}) {
    const TaskOutput a = run_at(*first, c), b = run_at(*second, c);
    expect_in_shape(*first, a);
    EXPECT_EQ(a.arrays, b.arrays);
    double weight = 0.0;
    for (double w : a.arrays[1]) weight += w;
    EXPECT_NEAR(weight, 1.0, 1e-12);  // mean gate over the points
  }
}

TEST(MixtureEm, FewerExpertsThanCirclesPaysForTheMissingOne) {
  std::string text = kSmallJob;
  text.replace(text.find("experts = [2, 3]"), 16, "experts = [1]");
  const auto experiment = build(text);
  const TaskOutput out = run_at(*experiment, coords(0, 0, 0, 1, 0));
  expect_in_shape(*experiment, out);
  EXPECT_EQ(out.metrics[9], 1.0);   // unmatched_truth
  EXPECT_GT(out.metrics[0], 0.2);   // at least the smaller circle's squared radius
}

TEST(MixtureEm, ImageSource) {
  const auto dir = std::filesystem::temp_directory_path() / ("msweep_mixture_em_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // A 41 x 41 PBM with a ring of radius ~15 pixels: one circle of radius ~1.5 at scale 0.1.
  std::ostringstream pbm;
  pbm << "P1\n41 41\n";
  for (int r = 0; r < 41; ++r) {
    for (int c = 0; c < 41; ++c) pbm << (std::abs(std::hypot(r - 20, c - 20) - 15.0) < 0.5 ? "1 " : "0 ");
    pbm << "\n";
  }
  std::ofstream(dir / "ring.pbm") << pbm.str();
  const std::string text = R"([job]
name = "img"
experiment = "mixture-em"
seed = 1
[data]
source = "image"
path = "ring.pbm"
scale = 0.1
circles = [0.0, 0.0, 1.5]
[model]
prior_means = [0.0, 0.0, 2.0]
[sweep]
experts = [1]
methods = ["prior"]
)";
  const auto experiment = build(text, (dir / "job.toml").string());
  EXPECT_EQ(experiment->grid().size(), 1u);
  const TaskOutput out = run_at(*experiment, coords(0, 0, 0, 0, 0));
  EXPECT_LT(out.metrics[0], 0.01);
  // A file's pixels have no known curve: every stored point is labelled -2, none padded.
  const auto pixels = static_cast<std::size_t>(dynamic_cast<const MixtureEmExperiment&>(*experiment).image(0, 0).points.rows());
  EXPECT_EQ(experiment->arrays()[kPointsArray].shape, (std::vector<std::size_t>{pixels, 3}));
  EXPECT_EQ(out.metrics[kNPoints], static_cast<double>(pixels));
  for (std::size_t i = 0; i < pixels; ++i) ASSERT_EQ(out.arrays[kPointsArray][3 * i + 2], -2.0);
  std::string noisy = text;
  noisy.replace(noisy.find("methods"), 7, "noise = [\"uniform\"]\nmethods");
  EXPECT_THROW(build(noisy, (dir / "job.toml").string()), InputError);
  std::filesystem::remove_all(dir);
}

void expect_input_error(const std::string& text, const std::string& located) {
  try {
    build(text);
    ADD_FAILURE() << "expected InputError at " << located;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(located), std::string::npos) << e.what();
  }
}

// kSmallJob with the first `from` replaced by `to`.
std::string with(const std::string& from, const std::string& to) {
  std::string text = kSmallJob;
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST(MixtureEm, BadKeysAreInputErrorsWithFileAndLine) {
  expect_input_error(with("max_iterations = 30", "max_iterations = 30\nmax_iteration = 5"), "test.toml:11");
  expect_input_error(with("runs = 2", "runs = 2\nmethods = [\"prior\", \"magic\"]"), "test.toml:16");
  expect_input_error(with("runs = 2", "runs = 2\nnoise = [\"loud\"]"), "test.toml:16");
  expect_input_error(with("runs = 2", "runs = 2\nfolds = 2"), "test.toml:16");
  expect_input_error(with("experts = [2, 3]", "experts = [2, 9]"), "test.toml:13");
  expect_input_error(with("max_iterations = 30", "prior_means = [0.0, 0.0, 0.1]"), "test.toml:10");
  expect_input_error(with("max_iterations = 30", "regularizer = [1.0, 1.0]"), "test.toml:10");
  expect_input_error(with("source = \"circles\"", "source = \"squares\""), "test.toml:7");
  expect_input_error(with("source = \"circles\"", "source = \"circles\"\ncircles = [0.0, 0.0]"), "test.toml:8");
  expect_input_error(with("source = \"circles\"", "source = \"image\"\npath = \"absent.pbm\""), "absent.pbm");
  expect_input_error(with("max_iterations = 30", "gate = \"neural\""), "test.toml:10");
}

TEST(MixtureEm, ReportListsMethodsAndNoise) {
  const auto experiment = build(kSmallJob);
  const auto& axes = experiment->grid().axes();
  std::vector<AxisShape> shapes;
  for (const auto& a : axes) shapes.push_back({a.name, a.size()});
  std::vector<std::string> names;
  for (const auto& m : experiment->metrics()) names.push_back(m.name);
  SummaryBuilder builder(shapes, {"run", "fold"}, names);
  std::vector<std::uint32_t> c(axes.size());
  for (TaskId id = 0; id < experiment->grid().size(); id += 7) {
    experiment->grid().coordinates(id, c);
    const TaskResult r = execute_task(*experiment, id, 0);
    builder.add(c, r.status == TaskStatus::ok, r.metrics);
  }
  const std::string report = experiment->report(builder.finish());
  EXPECT_NE(report.find("prior-regularizer"), std::string::npos) << report;
  EXPECT_NE(report.find("noisy-radius"), std::string::npos) << report;
}

TEST(MixtureEm, ModelAxisPairsTheNoiseModels) {
  const std::string text = with("runs = 2",
                                "runs = 2\nmethods = [\"prior\", \"prior-learned\"]\nnoise = [\"uniform\"]\n"
                                "models = [\"shared\", \"per-expert\", \"shared+background\", \"per-expert+background\"]");
  const auto experiment = build(text), again = build(text);
  const auto& axes = experiment->grid().axes();
  ASSERT_EQ(axes.size(), 7u);
  EXPECT_EQ(axes[4].labels, (std::vector<std::string>{"prior", "prior-learned"}));
  EXPECT_EQ(axes[6].name, "model");
  EXPECT_EQ(axes[6].labels, (std::vector<std::string>{"shared", "per-expert", "shared+background", "per-expert+background"}));
  // Variants of one (K, restart, run, method, noise) fit the same points from the same start, and
  // each is bitwise reproducible.
  std::vector<TaskOutput> outputs;
  for (std::uint32_t model = 0; model < 4; ++model) {
    std::vector<std::uint32_t> c = coords(0, 1, 1, 0, 0);
    c.push_back(model);
    outputs.push_back(run_at(*experiment, c));
    expect_in_shape(*experiment, outputs.back());
    const TaskOutput repeated = run_at(*again, c);
    EXPECT_EQ(outputs.back().metrics, repeated.metrics);
    EXPECT_EQ(outputs.back().arrays, repeated.arrays);
    EXPECT_EQ(outputs.back().arrays[kPointsArray], outputs.front().arrays[kPointsArray]);
  }
  EXPECT_NE(outputs[0].metrics, outputs[3].metrics);
}

TEST(MixtureEm, ModelsSmallJobFindsTheCirclesAmongUniformPointsWithTheBackground) {
  const auto experiment =
      build(read_text(MSWEEP_SOURCE_DIR "/jobs/mixture-circles-models-small.toml"), "mixture-circles-models-small.toml");
  ASSERT_EQ(experiment->grid().axes()[6].labels.back(), "per-expert+background");
  // The prior (method 1) with one shared b (model 0) and with b_k and the background (model 3):
  // each run's best-bound restart, as the analysis picks it.
  for (std::uint32_t model : {0u, 3u}) {
    int found = 0;
    for (std::uint32_t run = 0; run < 2; ++run) {
      double best_bound = -1e300, best_score = 0.0;
      for (std::uint32_t restart = 0; restart < 2; ++restart) {
        auto c = coords(0, restart, run, 1, 0);
        c.push_back(model);
        const TaskOutput out = run_at(*experiment, c);
        if (out.metrics[1] > best_bound) {
          best_bound = out.metrics[1];
          best_score = out.metrics[0];
        }
      }
      found += best_score < 0.01;
    }
    EXPECT_EQ(found, model == 0 ? 0 : 2) << "model " << model;
  }
}

TEST(MixtureEm, NoiseModelKeysSetEveryTask) {
  const auto experiment = build(with("max_iterations = 30", "max_iterations = 30\nexpert_noise = \"per-expert\"\nbackground = true"));
  EXPECT_EQ(experiment->grid().axes().size(), 6u);  // no model axis
  const auto& options = dynamic_cast<const MixtureEmExperiment&>(*experiment).options();
  EXPECT_TRUE(options.model.per_expert_noise);
  EXPECT_TRUE(options.model.background);
  expect_in_shape(*experiment, run_at(*experiment, coords(0, 0, 0, 1, 2)));
}

TEST(MixtureEm, BadNoiseModelKeysAreInputErrorsWithFileAndLine) {
  expect_input_error(with("runs = 2", "runs = 2\nmodels = [\"shared\", \"loud\"]"), "test.toml:16");
  expect_input_error(with("runs = 2", "runs = 2\nmodels = [\"shared\", \"shared\"]"), "test.toml:16");
  expect_input_error(with("runs = 2", "runs = 2\nmodels = []"), "test.toml:16");
  expect_input_error(with("max_iterations = 30", "expert_noise = \"each\""), "test.toml:10");
  expect_input_error(with("max_iterations = 30", "background = 1.5"), "test.toml:10");
  expect_input_error(with("max_iterations = 30", "background = true") + "models = [\"shared\"]\n", "test.toml:10");
}

// The s-score of a fitted mixture's experts (criteria over models: tested here, above both layers).
TEST(SimilarityMatrix, OfAFittedMixture) {
  RandomStream data_rng(4);
  const Dataset data = circle_regression(make_circle_image({}, data_rng).points);
  MixtureOptions options;
  options.prior_means = (Eigen::MatrixXd(2, 3) << 0, 0, 0.1, 0, 0, 2).finished();
  options.max_iterations = 50;
  LinearMixture mixture(options);
  RandomStream rng(1);
  mixture.fit(data.X, data.y, rng);
  const Eigen::MatrixXd s = similarity_matrix(expert_posteriors(mixture));
  ASSERT_EQ(s.rows(), 2);
  EXPECT_EQ(s(0, 0), 1.0);
  EXPECT_EQ(s(0, 1), s(1, 0));
  EXPECT_LT(s(0, 1), 1e-6);  // two distinct circles are distinguishable
}

}  // namespace
}  // namespace msweep
