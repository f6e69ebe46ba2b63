// Experiment "subset-evidence": grid, determinism in any task order, metrics against a direct
// computation (built from options, without a job file), the pairing of its split stream, bad
// structures, and execute_task's failure rows.
#include "msweep/experiments/subset_evidence.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>

#include "msweep/core/error.hpp"
#include "msweep/data/loaders.hpp"

namespace msweep {
namespace {

std::string job_text(const std::string& sweep_extra = "", const std::string& data_extra = "") {
  return "[job]\nname = \"t\"\nexperiment = \"subset-evidence\"\nseed = 5\n"
         "[data]\nsource = \"synthetic-regression\"\nobjects = 60\nfeatures = 4\n" + data_extra +
         "[sweep]\nfolds = 3\nruns = 2\n" + sweep_extra;
}

TEST(SubsetEvidence, GridIsAllSubsetsTimesFoldsTimesRuns) {
  const JobSpec spec = parse_job(job_text(), "t.toml");
  auto experiment = make_experiment(spec);
  spec.reject_unknown_keys();
  EXPECT_EQ(experiment->grid().size(), 16u * 3 * 1 * 2);
  EXPECT_EQ(experiment->grid().axes()[0].label(0), "(intercept only)");
  EXPECT_EQ(experiment->grid().axes()[0].label(5), "x0+x2");
}

TEST(SubsetEvidence, TasksAreDeterministicAndIndependentOfOrder) {
  const JobSpec spec = parse_job(job_text(), "t.toml");
  auto a = make_experiment(spec);
  auto b = make_experiment(spec);
  const TaskId n = a->grid().size();
  // b runs the tasks backwards: caches fill in another order, numbers must not change.
  std::vector<TaskResult> forward, backward(n);
  for (TaskId id = 0; id < n; ++id) forward.push_back(execute_task(*a, id, 0));
  for (TaskId id = n; id-- > 0;) backward[id] = execute_task(*b, id, 3);
  for (TaskId id = 0; id < n; ++id) {
    ASSERT_EQ(forward[id].status, TaskStatus::ok) << forward[id].error;
    EXPECT_EQ(forward[id].metrics, backward[id].metrics) << "task " << id;  // bitwise
  }
}

TEST(SubsetEvidence, MetricsMatchADirectComputation) {
  // Fixed alpha and beta, no test part, one fold: log evidence and train MSE by hand. Built from
  // options and a data set, as a new kind's tests can be, with no job file.
  SubsetEvidenceOptions options;
  options.job.seed = 5;
  options.data.source = "synthetic-regression";
  options.data.test_fraction = 0.0;
  options.data.standardize = false;
  options.model.optimize_evidence = false;
  options.model.alpha = 2.0;
  options.model.beta = 0.5;
  const std::vector<Eigen::Index> columns = {1, 3};  // features x1 and x3
  options.structures = SubsetStructures::listed({{}, columns});
  RandomStream rng(99);
  SubsetEvidenceExperiment experiment(options, make_synthetic_regression(60, 4, 1.0, rng));
  const auto& data = experiment.data();
  const std::uint32_t structure = 1;
  EXPECT_EQ(experiment.grid().axes()[0].label(1), "x1+x3");
  Eigen::MatrixXd X = data.X(Eigen::all, columns);
  X.rowwise() -= X.colwise().mean();
  const Eigen::VectorXd y = data.y.array() - data.y.mean();
  const double a = 2.0, b = 0.5;
  const auto m = static_cast<double>(X.rows());
  Eigen::MatrixXd C = X * X.transpose() / a;
  C.diagonal().array() += 1.0 / b;
  Eigen::LLT<Eigen::MatrixXd> llt(C);
  const double direct = -0.5 * (m * std::log(2 * M_PI) + 2.0 * Eigen::MatrixXd(llt.matrixL()).diagonal().array().log().sum() +
                                y.dot(llt.solve(y)));
  const std::uint32_t coords[4] = {structure, 0, 0, 0};
  const TaskOutput out = run_at(experiment, coords);
  const auto metrics = experiment.metrics();
  ASSERT_EQ(metrics[2].name, "log_evidence");
  EXPECT_NEAR(out.metrics[2], direct, 1e-9 * std::abs(direct));
  Eigen::MatrixXd A = b * X.transpose() * X;
  A.diagonal().array() += a;
  const Eigen::VectorXd mean = b * A.ldlt().solve(X.transpose() * y);
  ASSERT_EQ(metrics[8].name, "train_mse");
  EXPECT_NEAR(out.metrics[8], (y - X * mean).squaredNorm() / m, 1e-10);
}

TEST(SubsetEvidence, StructuresAndFoldsShareTheSplitOfTheirRun) {
  // The header's promise: the split stream leaves out structure and fold (paired comparisons).
  const auto experiment = make_experiment(parse_job(job_text(), "t.toml"));
  const TaskGrid& grid = experiment->grid();
  auto split = [&](std::vector<std::uint32_t> c) { return subset_evidence::split_seed(5, TaskView(grid, c)); };
  EXPECT_EQ(split({0, 0, 0, 1}), split({13, 2, 0, 1}));
  EXPECT_EQ(split({3, 1, 0, 0}), split({3, 0, 0, 0}));
  EXPECT_NE(split({0, 0, 0, 0}), split({0, 0, 0, 1}));
}

TEST(SubsetEvidence, BadStructuresAreInputErrors) {
  EXPECT_THROW(make_experiment(parse_job(job_text("structures = [[\"x0\", \"nope\"]]\n"), "t.toml")), InputError);
  EXPECT_THROW(make_experiment(parse_job(job_text("structures = \"some\"\n"), "t.toml")), InputError);
  EXPECT_THROW(make_experiment(parse_job(job_text("restarts = 2\n"), "t.toml")), InputError);
  const std::string many = "[job]\nname = \"t\"\nexperiment = \"subset-evidence\"\n[data]\nsource = \"synthetic-regression\"\nfeatures = 25\n";
  try {
    make_experiment(parse_job(many, "t.toml"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("2^25 subsets; at most 24 features"), std::string::npos);
  }
}

// max_features = k: every subset of at most k features, by size then lexicographically, for
// feature counts where every subset would be too many; the count is the sum of binomials.
TEST(SubsetEvidence, MaxFeaturesSweepsSmallSubsets) {
  auto two = make_experiment(parse_job(job_text("max_features = 2\n"), "t.toml"));
  const auto labels = two->grid().axes()[0].all_labels();
  EXPECT_EQ(labels.size(), 1u + 4 + 6);
  EXPECT_EQ(labels[0], "(intercept only)");
  EXPECT_EQ(labels[1], "x0");
  EXPECT_EQ(labels[5], "x0+x1");
  EXPECT_EQ(labels.back(), "x2+x3");
  // 40 features: far beyond "all", but C(40,0) + C(40,1) + C(40,2) = 821 subsets.
  const std::string wide = "[job]\nname = \"t\"\nexperiment = \"subset-evidence\"\n[data]\nsource = \"synthetic-regression\"\n"
                           "features = 40\n[sweep]\nmax_features = 2\n";
  EXPECT_EQ(make_experiment(parse_job(wide, "t.toml"))->grid().size(), 821u);
  EXPECT_THROW(make_experiment(parse_job(job_text("max_features = 5\n"), "t.toml")), InputError);  // more than 4 features
  EXPECT_THROW(make_experiment(parse_job(job_text("structures = \"nested\"\nmax_features = 2\n"), "t.toml")), InputError);
  const std::string huge = "[job]\nname = \"t\"\nexperiment = \"subset-evidence\"\n[data]\nsource = \"synthetic-regression\"\n"
                           "features = 1000\n[sweep]\nmax_features = 3\n";
  try {
    make_experiment(parse_job(huge, "t.toml"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("max_features: subsets of at most 3 of 1000 features are more than"), std::string::npos) << e.what();
  }
}

// Structures are functions of their index: "all" reads the index as a bit mask, "at most k"
// unranks it to the k-subset order a full enumeration makes (by size, then lexicographic).
TEST(SubsetEvidence, StructuresFromTheirIndex) {
  const auto all = SubsetStructures::all(24);
  EXPECT_EQ(all.size(), std::uint64_t{1} << 24);
  EXPECT_EQ(all.columns(0b1010'0000'0000'0000'0000'0001), (std::vector<Eigen::Index>{0, 21, 23}));
  for (const int n : {1, 5, 9}) {
    for (int k = 0; k <= std::min(n, 4); ++k) {
      const auto up_to = SubsetStructures::up_to(n, k);
      std::vector<std::vector<Eigen::Index>> enumerated;  // by size, then lexicographic
      for (int size = 0; size <= k; ++size)
        for (std::uint64_t mask = 0; mask < (std::uint64_t{1} << n); ++mask)
          if (std::popcount(mask) == size) enumerated.push_back(all.columns(mask));
      for (std::size_t first = 0, i = 0; i < enumerated.size(); ++i)  // lexicographic within each size
        if (i + 1 == enumerated.size() || enumerated[i + 1].size() != enumerated[first].size()) {
          std::sort(enumerated.begin() + static_cast<std::ptrdiff_t>(first), enumerated.begin() + static_cast<std::ptrdiff_t>(i + 1));
          first = i + 1;
        }
      ASSERT_EQ(up_to.size(), enumerated.size()) << n << " " << k;
      for (std::uint64_t i = 0; i < up_to.size(); ++i) EXPECT_EQ(up_to.columns(i), enumerated[i]) << n << " " << k << " " << i;
    }
  }
}

// [data] features / exclude choose columns of tabular data (boston: 13 features, target MEDV).
TEST(SubsetEvidence, DataFeaturesAndExcludeChooseColumns) {
  auto job = [](const std::string& data_keys) {
    return "[job]\nname = \"t\"\nexperiment = \"subset-evidence\"\n[data]\nsource = \"boston\"\n" + data_keys + "[sweep]\nfolds = 2\n";
  };
  auto chosen = make_experiment(parse_job(job("features = [\"RM\", \"LSTAT\"]\n"), "t.toml"));
  EXPECT_EQ(chosen->grid().axes()[0].all_labels(), (std::vector<std::string>{"(intercept only)", "RM", "LSTAT", "RM+LSTAT"}));
  auto rest = make_experiment(parse_job(job("exclude = [\"B\", \"CRIM\", \"ZN\", \"INDUS\", \"CHAS\", \"NOX\", \"AGE\", \"DIS\", "
                                           "\"RAD\", \"TAX\", \"PTRATIO\"]\n"), "t.toml"));
  EXPECT_EQ(rest->grid().axes()[0].all_labels(), (std::vector<std::string>{"(intercept only)", "RM", "LSTAT", "RM+LSTAT"}));
  try {
    make_experiment(parse_job(job("features = [\"RM\", \"nope\"]\n"), "t.toml"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("t.toml:6: [data] features: no feature column named \"nope\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_experiment(parse_job(job("features = [\"RM\"]\nexclude = [\"B\"]\n"), "t.toml")), InputError);
  EXPECT_THROW(make_experiment(parse_job(job("features = [\"MEDV\"]\n"), "t.toml")), InputError);  // the target
}

TEST(SubsetEvidence, ExplicitAndNestedStructures) {
  auto listed = make_experiment(parse_job(job_text("structures = [[\"x3\", \"x0\"], []]\n"), "t.toml"));
  EXPECT_EQ(listed->grid().axes()[0].all_labels(), (std::vector<std::string>{"x0+x3", "(intercept only)"}));
  auto nested = make_experiment(parse_job(job_text("structures = \"nested\"\n"), "t.toml"));
  EXPECT_EQ(nested->grid().axes()[0].size(), 5u);
}

}  // namespace
}  // namespace msweep
