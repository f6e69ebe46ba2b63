// Training speed of models/mlp + optim/adam against PyTorch on one CPU thread: the same network
// (tanh hidden layer), data, batch size, Adam settings and number of steps, for Boston 13-20-1
// (MSE) and Fashion-MNIST 784-10-10 (softmax cross-entropy), printed side by side.
//
//   build/bin/bench_mlp_vs_torch [--steps-scale S] [--repeats N] [--python /usr/bin/python3] [--allow-reference-blas]
//
// msweep computes in double; PyTorch is timed in float32 (its default) and float64. The python
// side (bench/mlp_vs_torch.py) needs Debian's python3-torch. Times are the min and median of N
// repeats (default 3) on each side, training loop only (no data loading); ratios are of the mins.
// Process CPU seconds are printed too: on a shared machine wall time inflates each side by a
// different factor (the Python side far more), CPU time much less.
// Both sides print the BLAS and threads they compute with; when torch runs on the reference BLAS
// no ratio is printed (exit 3) unless --allow-reference-blas.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "eigen_report.hpp"
#include "torch_peer.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/data/fashion_mnist.hpp"
#include "msweep/data/loaders.hpp"
#include "msweep/models/mlp/mlp.hpp"
#include "msweep/optim/first_order.hpp"

using namespace msweep;

namespace {

struct Case {
  std::string name;
  Eigen::MatrixXd X;
  Eigen::VectorXd y;
  Eigen::Index hidden, outputs;
  Loss loss;
  Eigen::Index batch, steps;
  double learning_rate;
};

struct Result {
  double seconds, median_seconds, final_loss, cpu_seconds;  // wall min and median; process CPU min
};

double process_cpu_seconds() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

Result run_msweep(const Case& c, int repeats) {
  MlpOptions options;
  options.layers = {c.X.cols(), c.hidden, c.outputs};
  options.loss = c.loss;
  Mlp model(options);
  MlpObjective f(model, c.X, c.y);
  Result best{1e300, 0.0, 0.0, 1e300};
  std::vector<double> seconds_each;
  for (int repeat = 0; repeat < repeats; ++repeat) {
    RandomStream rng(1);
    Eigen::VectorXd w = model.initial_parameters(rng);
    AdamOptions adam_options;
    adam_options.max_iterations = c.steps;
    adam_options.batch_size = c.batch;
    adam_options.learning_rate = c.learning_rate;
    adam_options.evaluate_final = false;
    adam_options.seed = 2;
    const double cpu_start = process_cpu_seconds();
    WallTimer timer;
    adam(f, w, adam_options);
    const double seconds = timer.seconds();
    best.cpu_seconds = std::min(best.cpu_seconds, process_cpu_seconds() - cpu_start);
    seconds_each.push_back(seconds);
    if (seconds < best.seconds) best = {seconds, 0.0, f.evaluate(w), best.cpu_seconds};
  }
  std::sort(seconds_each.begin(), seconds_each.end());
  const std::size_t n = seconds_each.size();
  best.median_seconds = n % 2 ? seconds_each[n / 2] : 0.5 * (seconds_each[n / 2 - 1] + seconds_each[n / 2]);
  return best;
}

// Runs the python side; returns its output lines "dtype min-seconds median-seconds loss min-cpu", or exits
// with its status when it refused (peer missing or on the reference BLAS: it said why on stderr).
std::string run_torch(const Case& c, const std::string& python, const std::string& script, bool allow_reference_blas, int repeats) {
  const std::filesystem::path data = std::filesystem::temp_directory_path() / ("msweep_bench_" + std::to_string(::getpid()) + ".f64");
  {
    std::ofstream out(data, std::ios::binary);
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = c.X;
    out.write(reinterpret_cast<const char*>(rows.data()), static_cast<std::streamsize>(rows.size() * sizeof(double)));
    out.write(reinterpret_cast<const char*>(c.y.data()), static_cast<std::streamsize>(c.y.size() * sizeof(double)));
  }
  std::ostringstream command;
  command << "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 " << python << " " << script << " " << data.string() << " " << c.X.rows() << " "
          << c.X.cols() << " " << c.hidden << " " << c.outputs << " " << (c.loss == Loss::mse ? "mse" : "ce") << " " << c.batch
          << " " << c.steps << " " << c.learning_rate << " " << (allow_reference_blas ? "--allow-reference-blas" : "-") << " " << repeats;
  return bench::run_peer_or_exit(command.str(), data, "bench_mlp_vs_torch");
}

}  // namespace

int main(int argc, char** argv) {
  const bench::TorchPeerArguments arguments = bench::parse_torch_peer_arguments(argc, argv, "bench_mlp_vs_torch");
  bench::print_eigen_report();
  const std::string script = std::string(MSWEEP_SOURCE_DIR) + "/bench/mlp_vs_torch.py";
  bench::require_torch(arguments.python, "bench_mlp_vs_torch");

  std::vector<Case> cases;
  {
    Dataset boston = load_boston();
    Case c{"boston 13-20-1", Standardizer::fit(boston.X).apply(boston.X), boston.y, 20, 1, Loss::mse, 32, 20000, 1e-3};
    c.y = (c.y.array() - c.y.mean()) / std::sqrt((c.y.array() - c.y.mean()).square().mean());
    cases.push_back(std::move(c));
  }
  {
    FashionMnistOptions options;
    options.train_objects = 10000;
    options.test_objects = 0;
    RandomStream rng(3);
    Dataset fashion = load_fashion_mnist(options, rng);
    cases.push_back({"fashion-mnist 784-10-10", fashion.X, fashion.y, 10, 10, Loss::cross_entropy, 64, 3000, 1e-3});
  }

  std::printf("%-24s %6s %6s %7s | %15s %15s %15s | %9s %9s\n", "network (Adam, 1 thread)", "rows", "batch", "steps",
              "msweep f64 s", "torch f32 s", "torch f64 s", "vs f32", "vs f64");
  std::printf("%-24s %6s %6s %7s | %15s %15s %15s |\n", "", "", "", "", "min/median", "min/median", "min/median");
  for (auto& c : cases) {
    c.steps = static_cast<Eigen::Index>(static_cast<double>(c.steps) * arguments.steps_scale);
    const Result ours = run_msweep(c, arguments.repeats);
    std::istringstream torch(run_torch(c, arguments.python, script, arguments.allow_reference_blas, arguments.repeats));
    std::string dtype;
    Result torch32{NAN, NAN, NAN, NAN}, torch64{NAN, NAN, NAN, NAN};
    while (torch >> dtype) {
      Result r{};
      torch >> r.seconds >> r.median_seconds >> r.final_loss >> r.cpu_seconds;
      if (dtype == "float32") torch32 = r;
      if (dtype == "float64") torch64 = r;
    }
    std::printf("%-24s %6ld %6ld %7ld | %7.3f/%7.3f %7.3f/%7.3f %7.3f/%7.3f | %8.2fx %8.2fx\n", c.name.c_str(), static_cast<long>(c.X.rows()),
                static_cast<long>(c.batch), static_cast<long>(c.steps), ours.seconds, ours.median_seconds, torch32.seconds,
                torch32.median_seconds, torch64.seconds, torch64.median_seconds, torch32.seconds / ours.seconds, torch64.seconds / ours.seconds);
    const double loss32 = torch32.final_loss, loss64 = torch64.final_loss;
    std::printf("%-24s final training loss: msweep %.4f, torch f32 %.4f, torch f64 %.4f\n", "", ours.final_loss, loss32, loss64);
    std::printf("%-24s process CPU s (min): msweep %.3f, torch f32 %.3f, torch f64 %.3f: %.2fx / %.2fx\n", "", ours.cpu_seconds,
                torch32.cpu_seconds, torch64.cpu_seconds, torch32.cpu_seconds / ours.cpu_seconds, torch64.cpu_seconds / ours.cpu_seconds);
    std::fflush(stdout);
  }
  return 0;
}
