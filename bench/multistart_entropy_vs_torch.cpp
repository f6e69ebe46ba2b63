// Cost of one start-step of the multistart entropy update (optim/multistart_entropy.hpp) against
// PyTorch on one CPU thread: for Boston and f(x) = softplus(X W1) W2 without biases (13-50-1, 700
// parameters; the multistart-evidence protocol's network), batch 32, one start-step is the
// minibatch gradient of the summed loss, two Hessian-vector products (msweep: the R-operator;
// torch: double backward), the increment r0 . (-2 r0 + 3 r1 - r2) and the SGD step. Both sides
// first compute the increment of the same step on identical inputs (w0, r0, rows [0, 32)) and
// must agree to 1e-10 (relative); then each times `steps` start-steps.
//
//   build/bin/bench_multistart_entropy_vs_torch [--steps N] [--repeats N] [--python /usr/bin/python3] [--allow-reference-blas]
//
// Both sides print the BLAS and threads they compute with; a missing peer or a peer on the
// reference BLAS prints no ratio (exit status 1 or 3).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "eigen_report.hpp"
#include "torch_peer.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/data/loaders.hpp"
#include "msweep/models/mlp/mlp.hpp"
#include "msweep/optim/multistart_entropy.hpp"

using namespace msweep;

namespace {

constexpr Eigen::Index kHidden = 50, kBatch = 32;
constexpr double kLearningRate = 1e-5, kNoiseVariance = 0.25, kAlpha = 1.0;

struct Step {
  MlpObjective& f;
  double scale;
  const Eigen::VectorXd& r0;
  std::vector<Eigen::Index> rows = std::vector<Eigen::Index>(kBatch);
  Eigen::VectorXd g;
  EntropyScratch scratch;

  // One start-step at w on rows [first, first + batch): returns the increment, steps w.
  double operator()(Eigen::VectorXd& w, Eigen::Index first) {
    std::iota(rows.begin(), rows.end(), first);
    g.resize(w.size());
    f.evaluate_with_gradient(w, rows, g);
    g = scale * g + kAlpha * w;
    auto hvp = [&](const Eigen::VectorXd& v, Eigen::VectorXd& out) {
      f.hessian_vector(w, v, rows, out);
      out = scale * out + kAlpha * v;
    };
    const double increment = entropy_increment(hvp, kLearningRate, r0, scratch);
    w -= kLearningRate * g;
    return increment;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const bench::TorchPeerArguments arguments = bench::parse_torch_peer_arguments(argc, argv, "bench_multistart_entropy_vs_torch");
  // 5000 entropy-tracked SGD steps per repeat at --steps-scale 1.
  const Eigen::Index steps = std::max<Eigen::Index>(1, static_cast<Eigen::Index>(5000 * arguments.steps_scale));
  const int repeats = arguments.repeats;
  const bool allow_reference_blas = arguments.allow_reference_blas;
  const std::string& python = arguments.python;
  bench::print_eigen_report();
  bench::require_torch(python, "bench_multistart_entropy_vs_torch");

  Dataset boston = load_boston();
  const Eigen::MatrixXd X = Standardizer::fit(boston.X).apply(boston.X);
  const double mean = boston.y.mean();
  const Eigen::VectorXd y = (boston.y.array() - mean) / std::sqrt((boston.y.array() - mean).square().mean());
  MlpOptions options;
  options.layers = {X.cols(), kHidden, 1};
  options.activation = Activation::softplus;
  options.bias = false;
  const Mlp model(options);
  MlpObjective f(model, X, y);
  const Eigen::Index d = model.parameter_count(), m = X.rows();
  const double scale = static_cast<double>(m) / (2.0 * kNoiseVariance);
  RandomStream rng(1);
  Eigen::VectorXd w0(d), r0(d);
  for (Eigen::Index j = 0; j < d; ++j) w0(j) = 0.1 * rng.normal();
  for (Eigen::Index j = 0; j < d; ++j) r0(j) = rng.normal();

  Step step{f, scale, r0, std::vector<Eigen::Index>(kBatch), Eigen::VectorXd(), EntropyScratch()};
  Eigen::VectorXd w = w0;
  const double ours_increment = step(w, 0);
  std::vector<double> seconds;
  double cpu = 1e300;
  for (int r = 0; r < repeats; ++r) {
    w = w0;
    const double cpu_start = process_cpu_seconds();
    WallTimer timer;
    for (Eigen::Index t = 0; t < steps; ++t) step(w, (t * kBatch) % (m - kBatch + 1));
    seconds.push_back(timer.seconds());
    cpu = std::min(cpu, process_cpu_seconds() - cpu_start);
  }
  std::sort(seconds.begin(), seconds.end());

  const std::filesystem::path data = std::filesystem::temp_directory_path() / ("msweep_bench_entropy_" + std::to_string(::getpid()) + ".f64");
  {
    std::ofstream out(data, std::ios::binary);
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = X;
    auto write = [&](const double* p, Eigen::Index n) { out.write(reinterpret_cast<const char*>(p), static_cast<std::streamsize>(n * sizeof(double))); };
    write(rows.data(), rows.size());
    write(y.data(), y.size());
    write(w0.data(), d);
    write(r0.data(), d);
  }
  std::ostringstream command;
  command << "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 " << python << " " << MSWEEP_SOURCE_DIR
          << "/bench/multistart_entropy_vs_torch.py " << data.string() << " " << m << " " << X.cols() << " " << kHidden << " "
          << kBatch << " " << steps << " " << kLearningRate << " " << scale << " " << kAlpha << " "
          << (allow_reference_blas ? "--allow-reference-blas" : "-") << " " << repeats;
  const std::string output = bench::run_peer_or_exit(command.str(), data, "bench_multistart_entropy_vs_torch");
  std::istringstream in(output);
  std::string word;
  double torch_increment = NAN, torch_min = NAN, torch_median = NAN, torch_cpu = NAN;
  while (in >> word) {
    if (word == "increment") in >> torch_increment;
    if (word == "timing") in >> torch_min >> torch_median >> torch_cpu;
  }
  const double relative = std::abs(ours_increment - torch_increment) / std::max(1.0, std::abs(torch_increment));
  std::printf("network 13-50-1 softplus, no biases (%ld parameters), batch %ld, lr %g, 1 thread, float64\n", static_cast<long>(d),
              static_cast<long>(kBatch), kLearningRate);
  std::printf("same step, identical inputs: increment msweep %.17g, torch %.17g, relative difference %.2e (%s 1e-10)\n",
              ours_increment, torch_increment, relative, relative <= 1e-10 ? "within" : "NOT within");
  const double ours_min = seconds.front(), ours_median = seconds[seconds.size() / 2];
  std::printf("%ld start-steps (gradient + 2 HVP + increment + step), min/median of %d: msweep %.3f/%.3f s (%.2f us/step), "
              "torch %.3f/%.3f s (%.2f us/step): %.2fx\n",
              static_cast<long>(steps), repeats, ours_min, ours_median, 1e6 * ours_min / static_cast<double>(steps), torch_min,
              torch_median, 1e6 * torch_min / static_cast<double>(steps), torch_min / ours_min);
  std::printf("process CPU s (min): msweep %.3f, torch %.3f: %.2fx\n", cpu, torch_cpu, torch_cpu / cpu);
  return relative <= 1e-10 ? 0 : 4;
}
