// Training speed of models/mlp + optim/adam against PyTorch on one CPU thread: the same network
// (tanh hidden layer), data, batch size, Adam settings and number of steps, for Boston 13-20-1
// (MSE) and Fashion-MNIST 784-10-10 (softmax cross-entropy), printed side by side.
//
//   build-mlp/bin/bench_mlp_vs_torch [--steps-scale S] [--python /usr/bin/python3]
//
// msweep computes in double; PyTorch is timed in float32 (its default) and float64. The python
// side (bench/mlp_vs_torch.py) needs Debian's python3-torch. Times are the best of 3 repeats
// for msweep and best of 2 per dtype for PyTorch, training loop only (no data loading).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

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
  double seconds, final_loss;
};

Result run_msweep(const Case& c) {
  MlpOptions options;
  options.layers = {c.X.cols(), c.hidden, c.outputs};
  options.loss = c.loss;
  Mlp model(options);
  MlpObjective f(model, c.X, c.y);
  Result best{1e300, 0.0};
  for (int repeat = 0; repeat < 3; ++repeat) {
    RandomStream rng(1);
    Eigen::VectorXd w = model.initial_parameters(rng);
    AdamOptions adam_options;
    adam_options.max_iterations = c.steps;
    adam_options.batch_size = c.batch;
    adam_options.learning_rate = c.learning_rate;
    adam_options.evaluate_final = false;
    adam_options.seed = 2;
    WallTimer timer;
    adam(f, w, adam_options);
    const double seconds = timer.seconds();
    if (seconds < best.seconds) best = {seconds, f.evaluate(w)};
  }
  return best;
}

// Runs the python side; returns its output lines "dtype seconds loss".
std::string run_torch(const Case& c, const std::string& python, const std::string& script) {
  const std::filesystem::path data = std::filesystem::temp_directory_path() / ("msweep_bench_" + std::to_string(::getpid()) + ".f64");
  {
    std::ofstream out(data, std::ios::binary);
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = c.X;
    out.write(reinterpret_cast<const char*>(rows.data()), static_cast<std::streamsize>(rows.size() * sizeof(double)));
    out.write(reinterpret_cast<const char*>(c.y.data()), static_cast<std::streamsize>(c.y.size() * sizeof(double)));
  }
  std::ostringstream command;
  command << "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 " << python << " " << script << " " << data.string() << " " << c.X.rows() << " "
          << c.X.cols() << " " << c.hidden << " " << c.outputs << " " << (c.loss == Loss::mse ? "mse" : "ce") << " " << c.batch
          << " " << c.steps << " " << c.learning_rate;
  std::string output;
  int status = -1;
  if (FILE* pipe = ::popen(command.str().c_str(), "r")) {
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
    status = ::pclose(pipe);
  }
  std::filesystem::remove(data);
  // No table of NaNs: the Python side said what is missing on stderr; stop here.
  if (status != 0) {
    std::fprintf(stderr, "bench_mlp_vs_torch: the PyTorch side (%s) failed; see its message above\n", script.c_str());
    std::exit(1);
  }
  return output;
}

}  // namespace

int main(int argc, char** argv) {
  double steps_scale = 1.0;
  std::string python = "/usr/bin/python3";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--steps-scale") steps_scale = std::atof(argv[i + 1]);
    else if (key == "--python") python = argv[i + 1];
  }
  const std::string script = std::string(MSWEEP_SOURCE_DIR) + "/bench/mlp_vs_torch.py";
  // Checked before minutes of msweep timings, so a missing peer costs nothing.
  if (std::system((python + " -c 'import torch' 2>/dev/null").c_str()) != 0) {
    std::fprintf(stderr, "bench_mlp_vs_torch: %s cannot import torch: install the Debian package python3-torch "
                         "(scripts/setup.sh --bench installs every benchmark peer)\n", python.c_str());
    return 1;
  }

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

  std::printf("%-24s %6s %6s %7s | %12s %12s %12s | %9s %9s\n", "network (Adam, 1 thread)", "rows", "batch", "steps",
              "msweep f64 s", "torch f32 s", "torch f64 s", "vs f32", "vs f64");
  for (auto& c : cases) {
    c.steps = static_cast<Eigen::Index>(static_cast<double>(c.steps) * steps_scale);
    const Result ours = run_msweep(c);
    std::istringstream torch(run_torch(c, python, script));
    std::string dtype;
    double seconds32 = NAN, loss32 = NAN, seconds64 = NAN, loss64 = NAN;
    while (torch >> dtype) {
      double s, l;
      torch >> s >> l;
      if (dtype == "float32") seconds32 = s, loss32 = l;
      if (dtype == "float64") seconds64 = s, loss64 = l;
    }
    std::printf("%-24s %6ld %6ld %7ld | %12.3f %12.3f %12.3f | %8.2fx %8.2fx\n", c.name.c_str(), static_cast<long>(c.X.rows()),
                static_cast<long>(c.batch), static_cast<long>(c.steps), ours.seconds, seconds32, seconds64, seconds32 / ours.seconds,
                seconds64 / ours.seconds);
    std::printf("%-24s final training loss: msweep %.4f, torch f32 %.4f, torch f64 %.4f\n", "", ours.final_loss, loss32, loss64);
  }
  return 0;
}
