// Experiment "multistart-evidence": grid and declarations, determinism, stream pairing, a build
// from Options, bad keys, the HVP-based entropy against exact log-determinants on an MLP small
// enough to form its Hessian, and the combination of separately computed starts against the
// starts computed together in lockstep (the original code's formulation).
#include "msweep/experiments/multistart_evidence.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <numbers>

#include "msweep/core/error.hpp"
#include "msweep/data/digits.hpp"
#include "msweep/data/loaders.hpp"
#include "msweep/optim/minibatch.hpp"
#include "msweep/optim/multistart_entropy.hpp"
#include "msweep/spec/job.hpp"
#include "job_testing.hpp"

namespace msweep {
namespace {

using experiment_testing::bitwise_equal;
using experiment_testing::build_job;
using experiment_testing::expect_input_error;

std::string job_text(const std::string& data, const std::string& model, const std::string& sweep) {
  return experiment_testing::kind_job_text("multistart-evidence", 7, data, model, sweep);
}

const std::string kData = "source = \"synthetic-regression\"\nobjects = 100\nfeatures = 4\n";
const std::string kModel = "hidden = [5]\nlearning_rate = 1e-4\nbatch_size = 10\n";
const std::string kSweep = "runs = 2\nrestarts = 3\niterations = 40\ntau_val = 10\npatience = 2\nprior_precisions = [10.0, 1e3, 1e5]\n";

std::vector<std::uint32_t> coords(std::uint32_t restart, std::uint32_t run, std::uint32_t method) { return {0, 0, restart, run, method}; }

std::uint32_t method_index(const std::string& name) {
  const auto all = MultistartEvidenceOptions::all_methods();
  return static_cast<std::uint32_t>(std::find(all.begin(), all.end(), name) - all.begin());
}

TEST(MultistartEvidence, GridAxesAndDeclaredShapes) {
  auto e = build_job(job_text(kData, kModel, kSweep));
  EXPECT_EQ(e->grid().size(), 2u * 3u * 6u);
  EXPECT_EQ(e->grid().axes()[4].name, "method");
  EXPECT_EQ(e->grid().axes()[4].labels, MultistartEvidenceOptions::all_methods());
  const TaskShape shape = task_shape(*e);
  for (std::uint32_t m = 0; m < 6; ++m) {
    const TaskResult r = execute_task(*e, shape, e->grid().id_of(coords(1, 0, m)), 0);
    EXPECT_EQ(r.status, TaskStatus::ok) << m << ": " << r.error;
  }
  const auto arrays = e->arrays();
  EXPECT_EQ(arrays[multistart_evidence::kIncrementArray].name, "entropy_increment");
  EXPECT_EQ(arrays[multistart_evidence::kPriorUsableArray].name, "prior_usable");
  EXPECT_EQ(arrays.size(), multistart_evidence::kArrayCount);
}

TEST(MultistartEvidence, TaskDependsOnlyOnItsCoordinates) {
  const std::string text = job_text(kData, kModel, kSweep);
  auto a = build_job(text), b = build_job(text);
  for (std::uint32_t m = 0; m < 6; ++m) {
    const auto first = run_at(*a, coords(2, 1, m));
    run_at(*a, coords(0, 0, (m + 1) % 6));  // another split in the cache
    const auto again = run_at(*a, coords(2, 1, m)), fresh = run_at(*b, coords(2, 1, m));
    for (const auto* other : {&again, &fresh}) {
      EXPECT_TRUE(bitwise_equal(first.metrics, other->metrics)) << m;
      for (std::size_t i = 0; i < first.arrays.size(); ++i) EXPECT_TRUE(bitwise_equal(first.arrays[i], other->arrays[i])) << m << " " << i;
    }
  }
}

TEST(MultistartEvidence, StartsShareBatchesAndMethodsShareStarts) {
  auto e = build_job(job_text(kData, kModel, kSweep));
  auto seeds = [&](std::uint32_t restart, std::uint32_t run, std::uint32_t method) {
    const auto c = coords(restart, run, method);
    return multistart_evidence::task_seeds(7, TaskView(e->grid(), c));
  };
  const auto base = seeds(0, 1, 0), other_method = seeds(0, 1, 4), other_start = seeds(2, 1, 0), other_run = seeds(0, 0, 0);
  EXPECT_EQ(base, other_method);  // methods are paired: same split, batches, start, probes
  EXPECT_EQ(base.split, other_start.split);
  EXPECT_EQ(base.minibatch, other_start.minibatch);  // every start of a run: one minibatch stream
  EXPECT_EQ(base.input_noise, other_start.input_noise);
  EXPECT_NE(base.init, other_start.init);
  EXPECT_NE(base.probe, other_start.probe);
  EXPECT_NE(base.split, other_run.split);
  EXPECT_NE(base.minibatch, other_run.minibatch);
  // Paired in the output too: the same test targets for every method and start of a run.
  const auto sgd = run_at(*e, coords(0, 1, 0)), vi = run_at(*e, coords(2, 1, 5));
  EXPECT_TRUE(bitwise_equal(sgd.arrays[multistart_evidence::kTestTargetArray], vi.arrays[multistart_evidence::kTestTargetArray]));
  // sgd and sgd-elbo take the same steps: only the entropy is extra.
  const auto elbo = run_at(*e, coords(0, 1, method_index("sgd-elbo")));
  EXPECT_TRUE(bitwise_equal(sgd.arrays[multistart_evidence::kTestPredictionArray], elbo.arrays[multistart_evidence::kTestPredictionArray]));
}

TEST(MultistartEvidence, BuiltFromOptionsWithoutAJobFile) {
  RandomStream rng(3);
  Dataset data = make_synthetic_regression(60, 3, 0.5, rng);
  MultistartEvidenceOptions options;
  options.job.runs = 1;
  options.job.restarts = 2;
  options.data.source = "synthetic-regression";
  options.network.layers = {3, 4, 1};
  options.network.activation = Activation::softplus;
  options.network.bias = false;
  options.methods = {"sgd-elbo", "mean-field-vi"};
  options.iterations = 20;
  options.tau_val = 5;
  MultistartEvidenceExperiment e(options, std::move(data));
  EXPECT_EQ(e.grid().size(), 2u * 2u);
  const auto out = run_at(e, coords(1, 0, 1));
  EXPECT_EQ(out.metrics.size(), e.metrics().size());
  EXPECT_EQ(out.arrays[multistart_evidence::kIterationArray], (std::vector<double>{0, 5, 10, 15, 20}));
}

// The MLP's exact Hessian of the minibatch loss, column by column from the R-operator.
Eigen::MatrixXd formed_hessian(MlpObjective& f, const Eigen::VectorXd& w, std::span<const Eigen::Index> rows, double scale) {
  const Eigen::Index d = w.size();
  Eigen::MatrixXd H(d, d);
  Eigen::VectorXd hv(d);
  for (Eigen::Index j = 0; j < d; ++j) {
    f.hessian_vector(w, Eigen::VectorXd::Unit(d, j), rows, hv);
    H.col(j) = scale * hv;
  }
  return 0.5 * (H + H.transpose());
}

TEST(MultistartEvidence, HvpEntropyMatchesExactLogDeterminantsAlongAnMlpTrajectory) {
  // A 3-3-1 softplus network without biases (12 parameters): along an SGD trajectory of 30
  // steps, (1) the probe estimate averaged over 4000 seeds matches the exact trace bound summed
  // over the steps, and (2) the bound lies below the exact ln|det| of the Jacobian product
  // J_30 ... J_1, within the known gap sum_k tr((lr H_k)^2).
  // Both likelihoods: Gaussian (MSE, scale m / 2 sigma^2) and logistic (cross-entropy, scale m).
  for (const Loss loss : {Loss::mse, Loss::cross_entropy}) {
  SCOPED_TRACE(to_string(loss));
  RandomStream data_rng(11);
  const Dataset data = loss == Loss::mse ? make_synthetic_regression(40, 3, 0.3, data_rng) : make_synthetic_classification(40, 3, data_rng);
  const Mlp model({{3, 3, 1}, Activation::softplus, loss, false, 1.0});
  MlpObjective f(model, data.X, data.y);
  const double scale = loss == Loss::mse ? 40.0 / 2.0 : 40.0, lr = 0.002;
  for (std::uint64_t trajectory = 1; trajectory <= 4; ++trajectory) {
    RandomStream init(trajectory);
    Eigen::VectorXd w(model.parameter_count());
    for (Eigen::Index j = 0; j < w.size(); ++j) w(j) = 0.5 * init.normal();
    MinibatchSampler sampler(40, 10, 100 + trajectory);
    Eigen::MatrixXd product = Eigen::MatrixXd::Identity(w.size(), w.size());
    double bound_sum = 0.0, squares = 0.0, estimate_sum = 0.0, estimate_var = 0.0;
    Eigen::VectorXd g(w.size());
    for (int step = 0; step < 30; ++step) {
      const auto batch = sampler.next();
      const Eigen::MatrixXd H = formed_hessian(f, w, batch, scale);
      ASSERT_LT(lr * Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(H).eigenvalues().maxCoeff(), kMaxStepCurvature);
      product = (Eigen::MatrixXd::Identity(w.size(), w.size()) - lr * H) * product;
      bound_sum += exact_increment_bound(H, lr);
      squares += (lr * H).squaredNorm();
      // The estimator with the R-operator, many probes.
      RandomStream probe(1000 * trajectory + static_cast<std::uint64_t>(step));
      EntropyScratch scratch;
      auto hvp = [&](const Eigen::VectorXd& v, Eigen::VectorXd& out) {
        f.hessian_vector(w, v, batch, out);
        out *= scale;
      };
      const int probes = 4000;
      double sum = 0.0, sum_sq = 0.0;
      for (int k = 0; k < probes; ++k) {
        Eigen::VectorXd r0(w.size());
        for (Eigen::Index j = 0; j < r0.size(); ++j) r0(j) = probe.normal();
        const double x = entropy_increment(hvp, lr, r0, scratch);
        sum += x;
        sum_sq += x * x;
      }
      estimate_sum += sum / probes;
      estimate_var += (sum_sq / probes - (sum / probes) * (sum / probes)) / probes;
      f.evaluate_with_gradient(w, batch, g);
      w -= lr * scale * g;
    }
    const double exact = std::log(std::abs(product.determinant()));
    EXPECT_NEAR(estimate_sum, bound_sum, 4.0 * std::sqrt(estimate_var) + 1e-12) << "trajectory " << trajectory;
    EXPECT_LE(bound_sum, exact + 1e-9) << "trajectory " << trajectory;
    EXPECT_LE(exact - bound_sum, squares + 1e-9) << "trajectory " << trajectory;
  }
  }
}

TEST(MultistartEvidence, LogisticPosteriorGradientAndHvpMatchFiniteDifferencesOnDigits) {
  // The classification variant's loss on real data: m * mean cross-entropy + alpha / 2 |w|^2 of
  // a 64-6-1 softplus network without biases on the digits 3 and 8, its minibatch gradient
  // against central differences of the loss and its Hessian-vector product against central
  // differences of the gradient, several points and directions.
  Dataset digits;
  try {
    digits = load_digits({3, 8});
  } catch (const InputError& e) {
    GTEST_SKIP() << e.what();
  }
  const Eigen::MatrixXd X = Standardizer::fit(digits.X).apply(digits.X);
  const Mlp model({{64, 6, 1}, Activation::softplus, Loss::cross_entropy, false, 1.0});
  MlpObjective f(model, X, digits.y);
  const double scale = static_cast<double>(X.rows()), alpha = 1.0;
  auto loss = [&](const Eigen::VectorXd& w, std::span<const Eigen::Index> rows) {
    return scale * f.evaluate(w, rows) + 0.5 * alpha * w.squaredNorm();
  };
  auto gradient = [&](const Eigen::VectorXd& w, std::span<const Eigen::Index> rows) {
    Eigen::VectorXd g(w.size());
    f.evaluate_with_gradient(w, rows, g);
    return Eigen::VectorXd(scale * g + alpha * w);
  };
  const std::vector<Eigen::Index> rows = {0, 5, 17, 40, 41, 100, 200, 300};
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE(seed);
    RandomStream rng(seed);
    Eigen::VectorXd w(model.parameter_count()), v(model.parameter_count());
    for (Eigen::Index j = 0; j < w.size(); ++j) w(j) = 0.1 * rng.normal(), v(j) = rng.normal();
    const Eigen::VectorXd g = gradient(w, rows);
    const double h = 1e-5;
    for (Eigen::Index j = 0; j < w.size(); j += 37) {
      Eigen::VectorXd plus = w, minus = w;
      plus(j) += h;
      minus(j) -= h;
      const double fd = (loss(plus, rows) - loss(minus, rows)) / (2 * h);
      EXPECT_NEAR(g(j), fd, 1e-6 * (1.0 + std::abs(fd))) << "parameter " << j;
    }
    Eigen::VectorXd hv(w.size());
    f.evaluate_with_gradient(w, rows, hv);  // as in a step: the product reuses this gradient's passes
    f.hessian_vector(w, v, rows, hv);
    hv = scale * hv + alpha * v;
    const Eigen::VectorXd fd = (gradient(w + h * v, rows) - gradient(w - h * v, rows)) / (2 * h);
    for (Eigen::Index j = 0; j < w.size(); ++j) ASSERT_NEAR(hv(j), fd(j), 1e-5 * (1.0 + std::abs(fd(j)))) << "entry " << j;
  }
}

const std::string kClassData = "source = \"synthetic-classification\"\nobjects = 100\nfeatures = 4\n";
const std::string kLogisticModel = kModel + "likelihood = \"logistic\"\n";

TEST(MultistartEvidence, LogisticLikelihoodReportsAccuracyAndIsDeterministic) {
  const std::string text = job_text(kClassData, kLogisticModel, kSweep);
  auto a = build_job(text), b = build_job(text);
  const auto metrics = a->metrics();
  EXPECT_EQ(metrics[3].name, "test_accuracy_final");
  EXPECT_EQ(metrics[4].name, "test_accuracy_chosen");
  for (std::uint32_t m = 0; m < 6; ++m) {
    const auto first = run_at(*a, coords(1, 1, m)), fresh = run_at(*b, coords(1, 1, m));
    EXPECT_TRUE(bitwise_equal(first.metrics, fresh.metrics)) << m;
    for (std::size_t i = 0; i < first.arrays.size(); ++i) EXPECT_TRUE(bitwise_equal(first.arrays[i], fresh.arrays[i])) << m << " " << i;
    EXPECT_EQ(first.metrics[2], 1.0) << "labels are not standardized";
    for (std::size_t k : {3u, 4u}) EXPECT_TRUE(first.metrics[k] >= 0.0 && first.metrics[k] <= 1.0) << m;
    // Predictions are probabilities; targets stay 0/1.
    for (double p : first.arrays[multistart_evidence::kTestPredictionArray]) ASSERT_TRUE(p >= 0.0 && p <= 1.0);
    for (double y : first.arrays[multistart_evidence::kTestTargetArray]) ASSERT_TRUE(y == 0.0 || y == 1.0);
  }
  // The combined ensemble's accuracy is the share of test targets its mean probability gets right.
  const JobSpec spec = parse_job(text, "test.toml");
  const Dataset data = load_job_data(spec.data, spec.seed);
  const MultistartEvidenceOptions options = read_multistart_evidence_options(spec, data);
  std::vector<TaskOutput> starts;
  for (std::uint32_t r = 0; r < 3; ++r) starts.push_back(run_at(*a, coords(r, 0, method_index("sgd"))));
  std::vector<const TaskOutput*> pointers;
  for (const auto& s : starts) pointers.push_back(&s);
  const auto combined = multistart_evidence::combine_starts(options, dynamic_cast<const MultistartEvidenceExperiment&>(*a).model().parameter_count(), "sgd", pointers, 1.0);
  const auto& target = starts[0].arrays[multistart_evidence::kTestTargetArray];
  const std::size_t N = target.size(), L = 1 + options.input_noise.size(), last = static_cast<std::size_t>(options.checkpoints() - 1);
  double right = 0.0;
  for (std::size_t i = 0; i < N; ++i) {
    double mean = 0.0;
    for (const auto& s : starts) mean += s.arrays[multistart_evidence::kTestPredictionArray][last * L * N + i];
    right += (mean / 3.0 > 0.5) == (target[i] > 0.5);
  }
  EXPECT_DOUBLE_EQ(combined.test_score[0], right / static_cast<double>(N));
}

TEST(MultistartEvidence, SeparateStartsCombineToTheLockstepCloud) {
  // The starts of (run 1, sgd-elbo) computed as separate tasks on separate experiment objects,
  // combined afterwards, against the whole cloud stepped together in one loop with the cloud's
  // entropy updated by the mean increment at every step (the original code).
  const std::string text = job_text(kData, kModel, kSweep);
  const std::uint32_t elbo = method_index("sgd-elbo");
  std::vector<TaskOutput> separate;
  for (std::uint32_t r = 0; r < 3; ++r) separate.push_back(run_at(*build_job(text), coords(2 - r, 1, elbo)));  // any order
  std::reverse(separate.begin(), separate.end());
  std::vector<const TaskOutput*> pointers;
  for (const auto& s : separate) pointers.push_back(&s);

  const JobSpec spec = parse_job(text, "test.toml");
  const Dataset data = load_job_data(spec.data, spec.seed);
  const MultistartEvidenceOptions options = read_multistart_evidence_options(spec, data);
  MultistartEvidenceExperiment e(options, data);
  const auto& split = e.split(1);
  const Eigen::Index D = e.model().parameter_count();
  const auto combined = multistart_evidence::combine_starts(options, D, "sgd-elbo", pointers, split.target_scale);

  // Lockstep.
  MlpObjective f(e.model(), split.train_X, split.train_y);
  const double scale = static_cast<double>(f.objects()) / (2.0 * options.noise_variance), alpha = options.prior_precision,
               lr = options.learning_rate;
  std::vector<Eigen::VectorXd> w;
  std::vector<RandomStream> probes;
  MinibatchSampler sampler(f.objects(), options.batch_size, 0);
  for (std::uint32_t r = 0; r < 3; ++r) {
    const auto c = coords(r, 1, elbo);
    const auto seeds = multistart_evidence::task_seeds(options.job.seed, TaskView(e.grid(), c));
    sampler = MinibatchSampler(f.objects(), options.batch_size, seeds.minibatch);
    RandomStream init(seeds.init);
    Eigen::VectorXd start(D);
    for (Eigen::Index j = 0; j < D; ++j) start(j) = init.normal();
    w.push_back(options.init_std * start);
    probes.emplace_back(seeds.probe);
  }
  auto normal = [&](RandomStream& rng) {
    Eigen::VectorXd v(D);
    for (Eigen::Index j = 0; j < D; ++j) v(j) = rng.normal();
    return v;
  };
  double S = gaussian_entropy(D, options.init_std);
  std::vector<double> evidence;
  auto record = [&] {
    double lp = 0.0, ll = 0.0;
    for (const auto& x : w) {
      lp += 0.5 * static_cast<double>(D) * std::log(alpha / (2.0 * std::numbers::pi)) - 0.5 * alpha * x.squaredNorm();
      ll += -scale * f.evaluate(x) - 0.5 * static_cast<double>(f.objects()) * std::log(2.0 * std::numbers::pi * options.noise_variance);
    }
    evidence.push_back(lp / 3.0 + ll / 3.0 + S);
  };
  EntropyScratch scratch;
  Eigen::VectorXd g(D);
  for (Eigen::Index t = 0; t < options.iterations; ++t) {
    const auto batch = sampler.next();
    if (t % options.tau_val == 0) record();
    double increment = 0.0;
    for (std::size_t r = 0; r < 3; ++r) {
      auto hvp = [&](const Eigen::VectorXd& v, Eigen::VectorXd& out) {
        f.hessian_vector(w[r], v, batch, out);
        out = scale * out + alpha * v;
      };
      if (t % options.tau_val == 0) (void)normal(probes[r]);  // the power iteration's start
      increment += entropy_increment(hvp, lr, normal(probes[r]), scratch);
    }
    S += increment / 3.0;
    for (auto& x : w) {
      f.evaluate_with_gradient(x, batch, g);
      g = scale * g + alpha * x;
      x -= lr * g;
    }
  }
  record();
  ASSERT_EQ(combined.evidence.size(), evidence.size());
  for (std::size_t c = 0; c < evidence.size(); ++c)
    EXPECT_NEAR(combined.evidence[c], evidence[c], 1e-9 * std::abs(evidence[c])) << "checkpoint " << c;
  // The ensemble's test RMSE at the chosen stop, from the lockstep cloud's mean prediction is
  // checked through the same stop: the combination picks the largest evidence.
  EXPECT_EQ(combined.stop_checkpoint,
            std::max_element(evidence.begin(), evidence.end()) - evidence.begin());
  EXPECT_EQ(combined.test_score.size(), 1 + options.input_noise.size());
}

TEST(MultistartEvidence, CombinationRulesOfTheOtherMethods) {
  const std::string text = job_text(kData, kModel, kSweep);
  auto e = build_job(text);
  const auto& typed = dynamic_cast<const MultistartEvidenceExperiment&>(*e);
  for (const std::string method : {"sgd", "early-stopping", "validation-prior-grid", "langevin-elbo", "mean-field-vi"}) {
    std::vector<TaskOutput> starts;
    for (std::uint32_t r = 0; r < 3; ++r) starts.push_back(run_at(*e, coords(r, 0, method_index(method))));
    std::vector<const TaskOutput*> pointers;
    for (const auto& s : starts) pointers.push_back(&s);
    const auto c = multistart_evidence::combine_starts(typed.options(), typed.model().parameter_count(), method, pointers,
                                                       typed.split(0).target_scale);
    SCOPED_TRACE(method);
    for (double v : c.test_score) EXPECT_TRUE(std::isfinite(v) && v > 0.0);
    if (method == "sgd") {
      EXPECT_EQ(c.stop_checkpoint, typed.options().checkpoints() - 1);
    }
    if (method == "validation-prior-grid") {
      EXPECT_GE(c.prior_choice, 0);
    }
    if (method == "langevin-elbo" || method == "mean-field-vi") {
      EXPECT_EQ(static_cast<Eigen::Index>(c.evidence.size()), typed.options().checkpoints());
    }
  }
}

TEST(MultistartEvidence, BadKeysGiveInputErrorsWithFileAndLine) {
  expect_input_error(job_text(kData, kModel, "methods = [\"sgd\", \"adam\"]\n"), "methods");
  expect_input_error(job_text(kData, kModel, "methods = [\"sgd\", \"sgd\"]\n"), "methods");
  expect_input_error(job_text(kData, kModel, "methods = []\n"), "methods");
  expect_input_error(job_text(kData, kModel, "iterations = 0\n"), "iterations");
  expect_input_error(job_text(kData, kModel, "iterations = 10\ntau_val = 20\n"), "tau_val");
  expect_input_error(job_text(kData, kModel, "validation_fraction = 0\n"), "validation_fraction");
  expect_input_error(job_text(kData, kModel, "prior_precisions = []\n"), "prior_precisions");
  expect_input_error(job_text(kData, kModel, "input_noise = [-1.0]\n"), "input_noise");
  expect_input_error(job_text(kData, kModel, "folds = 3\n"), "folds");
  expect_input_error(job_text(kData, "learning_rate = 0\n", ""), "learning_rate");
  expect_input_error(job_text(kData, "activation = \"gelu\"\n", ""), "activation");
  expect_input_error(job_text(kData, "noise_variance = -1\n", ""), "noise_variance");
  expect_input_error(job_text(kData + "test_fraction = 0\n", "", ""), "test_fraction");
  expect_input_error(job_text(kData, kModel, "tau = 5\n"), "tau");  // a typo is an unknown key
  expect_input_error(job_text(kData, "likelihood = \"poisson\"\n", ""), "likelihood");
  expect_input_error(job_text(kData, "likelihood = \"logistic\"\n", ""), "likelihood");  // regression targets
  expect_input_error(job_text(kClassData, kModel + "likelihood = \"gaussian\"\n", ""), "source");  // classes, Gaussian
  // A classification source defaults to the logistic likelihood; "bernoulli" (structure-selection's
  // spelling) names the same one.
  EXPECT_NO_THROW(build_job(job_text(kClassData, kModel, "")));
  EXPECT_NO_THROW(build_job(job_text(kClassData, kModel + "likelihood = \"bernoulli\"\n", "")));
}

TEST(MultistartEvidence, JobFilesInTheRepositoryAreValid) {
  const std::filesystem::path jobs = std::filesystem::path(MSWEEP_SOURCE_DIR) / "jobs";
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(jobs)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("multistart-evidence-", 0) != 0 || entry.path().extension() != ".toml") continue;
    SCOPED_TRACE(name);
    const JobSpec spec = load_job(entry.path().string());
    auto e = make_experiment(spec);
    spec.reject_unknown_keys();
    const bool small = name.find("-small") != std::string::npos;
    EXPECT_EQ(e->grid().axes()[3].size(), small ? 2u : 25u);
    if (small) {
      const auto out = run_at(*e, coords(0, 0, 3));
      for (double m : out.metrics) EXPECT_TRUE(std::isfinite(m));
    }
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

}  // namespace
}  // namespace msweep
