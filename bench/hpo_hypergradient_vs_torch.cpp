// One outer iteration of HOAG and of DrMAD (optim/hypergradient.hpp) against the same computation
// in PyTorch on one CPU thread (bench/hpo_hypergradient_vs_torch.py: Hessian-vector and mixed
// products by double backward). The problem has the shape of jobs/hpo-polynomial.toml's CV
// criterion: 20 objects, 11 standardized features, y = x_1 + noise, 4 random 75/25 splits, one
// prior log std per parameter, 200 inner gradient steps at lr 0.003; the network is the job's
// linear model (11-1) and a 11-50-1 tanh MLP. An outer iteration = the inner training from
// theta_0, then the hypergradient: HOAG solves H q = dQ/dtheta by conjugate gradient (relative
// tolerance 1e-3, the first outer iteration's) and returns dQ/dh - M^T q; DrMAD runs the reverse
// pass along the straight line theta_0 -> theta_T, skipping the first 5% of the steps.
// Both sides first compute both hypergradients on identical inputs (data, folds, theta_0, h) and
// the maximum absolute difference is printed; then each times `repeats` outer iterations.
//
//   build/bin/bench_hpo_hypergradient_vs_torch [--steps-scale S] [--repeats N] [--python /usr/bin/python3] [--allow-reference-blas]
//
// --steps-scale scales the inner steps (200). A missing peer or a peer on the reference BLAS
// prints no ratio (exit status 1 or 3); hypergradients that differ by more than 1e-8 relative
// exit 4.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "eigen_report.hpp"
#include "torch_peer.hpp"
#include "msweep/core/random.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/models/hyperprior/criteria.hpp"
#include "msweep/models/mlp/mlp.hpp"

using namespace msweep;

namespace {

constexpr Eigen::Index kObjects = 20, kFeatures = 11, kFolds = 4;
constexpr double kLearningRate = 0.003, kTolerance = 1e-3, kSkip = 0.05;

struct Timing {
  double min = 1e300, median = 0, cpu = 1e300;
};

template <class F>
Timing time_repeats(int repeats, F&& once) {
  std::vector<double> seconds;
  Timing t;
  for (int r = 0; r < repeats; ++r) {
    const double cpu_start = process_cpu_seconds();
    WallTimer timer;
    once();
    seconds.push_back(timer.seconds());
    t.cpu = std::min(t.cpu, process_cpu_seconds() - cpu_start);
  }
  std::sort(seconds.begin(), seconds.end());
  t.min = seconds.front();
  t.median = seconds[seconds.size() / 2];
  return t;
}

void write(std::ofstream& out, const double* p, Eigen::Index n) {
  out.write(reinterpret_cast<const char*>(p), static_cast<std::streamsize>(n * sizeof(double)));
}

// Returns false when the two sides' hypergradients differ by more than 1e-8 relative.
bool compare_case(Eigen::Index hidden, const InnerTraining& training, const bench::TorchPeerArguments& arguments) {
  RandomStream rng(2020 + static_cast<std::uint64_t>(hidden));
  Eigen::MatrixXd X(kObjects, kFeatures);
  for (Eigen::Index i = 0; i < X.size(); ++i) X.data()[i] = rng.normal();
  Eigen::VectorXd y(kObjects);
  for (Eigen::Index i = 0; i < kObjects; ++i) y(i) = X(i, 0) + rng.normal();
  MlpOptions options;
  options.layers = hidden > 0 ? std::vector<Eigen::Index>{kFeatures, hidden, 1} : std::vector<Eigen::Index>{kFeatures, 1};
  options.activation = Activation::tanh;
  const Mlp model(options);
  CrossValidationProblem problem(model, X, y, prior_groups(model, PriorGrouping::per_parameter), kFolds, 7);
  const Eigen::Index p = model.parameter_count();
  Eigen::VectorXd w0(p), h(p);
  for (Eigen::Index j = 0; j < p; ++j) w0(j) = 0.3 * rng.normal();
  for (Eigen::Index j = 0; j < p; ++j) h(j) = rng.uniform(-2.0, 2.0);
  const Eigen::VectorXd theta0 = problem.initial_parameters(w0);

  auto hoag = [&] {
    Eigen::VectorXd theta = theta0;
    train_inner(problem, h, theta, training);
    return hoag_hypergradient(problem, theta, h, kTolerance);
  };
  auto drmad = [&] {
    Eigen::VectorXd theta = theta0;
    train_inner(problem, h, theta, training);
    return drmad_hypergradient(problem, h, theta0, theta, training, kSkip);
  };
  const Hypergradient ours_hoag = hoag(), ours_drmad = drmad();
  const Timing hoag_time = time_repeats(arguments.repeats, hoag), drmad_time = time_repeats(arguments.repeats, drmad);

  const std::filesystem::path data =
      std::filesystem::temp_directory_path() / ("msweep_bench_hypergradient_" + std::to_string(::getpid()) + ".f64");
  {
    std::ofstream out(data, std::ios::binary);
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = X;
    write(out, rows.data(), rows.size());
    write(out, y.data(), y.size());
    write(out, w0.data(), p);
    write(out, h.data(), p);
    for (int q = 0; q < kFolds; ++q) {
      for (const auto* part : {&problem.training_rows(q), &problem.validation_rows(q)}) {
        const double n = static_cast<double>(part->size());
        write(out, &n, 1);
        for (const Eigen::Index row : *part) {
          const double r = static_cast<double>(row);
          write(out, &r, 1);
        }
      }
    }
  }
  std::ostringstream command;
  command << "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 " << arguments.python << " " << MSWEEP_SOURCE_DIR
          << "/bench/hpo_hypergradient_vs_torch.py " << data.string() << " " << kObjects << " " << kFeatures << " " << hidden
          << " " << kFolds << " " << training.steps << " " << training.learning_rate << " " << kTolerance << " " << kSkip
          << " " << (arguments.allow_reference_blas ? "--allow-reference-blas" : "-") << " " << arguments.repeats;
  const std::string output = bench::run_peer_or_exit(command.str(), data, "bench_hpo_hypergradient_vs_torch");
  std::istringstream in(output);
  std::string word;
  Eigen::VectorXd torch_hoag(p), torch_drmad(p);
  double torch_hoag_q = NAN, torch_drmad_q = NAN;
  Timing torch_hoag_time, torch_drmad_time;
  long torch_cg = -1;
  while (in >> word) {
    if (word == "hoag") {
      in >> torch_hoag_q >> torch_cg;
      for (Eigen::Index j = 0; j < p; ++j) in >> torch_hoag(j);
    } else if (word == "drmad") {
      in >> torch_drmad_q;
      for (Eigen::Index j = 0; j < p; ++j) in >> torch_drmad(j);
    } else if (word == "timing-hoag") {
      in >> torch_hoag_time.min >> torch_hoag_time.median >> torch_hoag_time.cpu;
    } else if (word == "timing-drmad") {
      in >> torch_drmad_time.min >> torch_drmad_time.median >> torch_drmad_time.cpu;
    }
  }
  const double hoag_difference = (ours_hoag.gradient - torch_hoag).cwiseAbs().maxCoeff();
  const double drmad_difference = (ours_drmad.gradient - torch_drmad).cwiseAbs().maxCoeff();
  const double hoag_scale = std::max(1.0, ours_hoag.gradient.cwiseAbs().maxCoeff());
  const double drmad_scale = std::max(1.0, ours_drmad.gradient.cwiseAbs().maxCoeff());
  const bool agree = hoag_difference <= 1e-8 * hoag_scale && drmad_difference <= 1e-8 * drmad_scale;

  std::printf("\nnetwork %s (%ld parameters = hyperparameters), CV with %ld splits, %ld inner steps, lr %g, float64, 1 thread\n",
              model.label().c_str(), static_cast<long>(p), static_cast<long>(kFolds), static_cast<long>(training.steps),
              training.learning_rate);
  std::printf("identical inputs: HOAG (CG %ld iterations here, %ld in torch) max |dQ/dh difference| %.2e (largest entry %.3g); "
              "DrMAD %.2e (largest entry %.3g); Q %.12g vs %.12g: %s\n",
              static_cast<long>(ours_hoag.solver_iterations), torch_cg, hoag_difference, ours_hoag.gradient.cwiseAbs().maxCoeff(),
              drmad_difference, ours_drmad.gradient.cwiseAbs().maxCoeff(), ours_hoag.criterion, torch_hoag_q,
              agree ? "agree within 1e-8 relative" : "DIFFER");
  for (const auto& [name, ours, theirs] :
       {std::tuple{"HOAG", hoag_time, torch_hoag_time}, std::tuple{"DrMAD", drmad_time, torch_drmad_time}}) {
    std::printf("%-5s outer iteration, min/median of %d: msweep %.4f/%.4f s, torch %.4f/%.4f s: %.1fx; process CPU (min) "
                "msweep %.4f s, torch %.4f s: %.1fx\n",
                name, arguments.repeats, ours.min, ours.median, theirs.min, theirs.median, theirs.min / ours.min, ours.cpu,
                theirs.cpu, theirs.cpu / ours.cpu);
  }
  (void)torch_drmad_q;
  return agree;
}

}  // namespace

int main(int argc, char** argv) {
  const bench::TorchPeerArguments arguments = bench::parse_torch_peer_arguments(argc, argv, "bench_hpo_hypergradient_vs_torch");
  InnerTraining training;
  training.steps = std::max<Eigen::Index>(1, static_cast<Eigen::Index>(200 * arguments.steps_scale));
  training.learning_rate = kLearningRate;
  bench::print_eigen_report();
  bench::require_torch(arguments.python, "bench_hpo_hypergradient_vs_torch");
  bool agree = true;
  for (const Eigen::Index hidden : {Eigen::Index{0}, Eigen::Index{50}}) agree = compare_case(hidden, training, arguments) && agree;
  return agree ? 0 : 4;
}
