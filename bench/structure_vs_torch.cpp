// One relaxed structure-search step of models/structure_graph against the same model in PyTorch
// (bench/structure_vs_torch.py) on one CPU thread, float64 on both sides: the Gumbel-softmax
// sample, the reparameterized q(w), the graph's forward pass, the three ELBO terms and the
// reverse pass (hand-derived here, autograd there), on identical draws (S = 3 samples), at the
// same theta. Two models: the seed's synthetic check (m = 50, one edge: const, tanh:1, tanh)
// and the Boston enumeration graph of jobs/structure-enumeration-boston.toml (5 edges x 4 bases,
// 426 weights, m = 506). Prints both sides' ELBO terms (they must agree to rounding) and the
// time per step, min and median of repeats, and process CPU time.
//
//   build/bin/bench_structure_vs_torch [--steps-scale S] [--repeats N] [--python PATH] [--allow-reference-blas]
//
// Exit 1 when torch is missing, 3 when it runs on the reference BLAS (unless allowed).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "eigen_report.hpp"
#include "torch_peer.hpp"
#include "msweep/core/random.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/data/loaders.hpp"
#include "msweep/models/structure_graph/structure_graph.hpp"

using namespace msweep;

namespace {

struct Case {
  std::string name;
  Eigen::MatrixXd X;
  Eigen::VectorXd y;
  std::vector<Eigen::Index> widths;
  std::vector<std::string> edges;
  Eigen::Index steps;
};

struct Timing {
  double min_seconds, median_seconds, min_cpu;  // per step
};

constexpr Eigen::Index kSamples = 3;
constexpr double kNoiseStd = 0.5, kPriorLogStd = 0.0, kGammaFloor = 1e-3, kTemperature = 0.7;

double cpu_now() { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; }

void append(std::ofstream& out, const double* data, Eigen::Index count) {
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * static_cast<Eigen::Index>(sizeof(double))));
}

}  // namespace

int main(int argc, char** argv) {
  const bench::TorchPeerArguments arguments = bench::parse_torch_peer_arguments(argc, argv, "bench_structure_vs_torch");
  bench::print_eigen_report();
  bench::require_torch(arguments.python, "bench_structure_vs_torch");

  std::vector<Case> cases;
  {
    RandomStream rng(1);
    Eigen::MatrixXd X(50, 12);
    Eigen::VectorXd y(50);
    for (Eigen::Index i = 0; i < 50; ++i) {
      for (Eigen::Index j = 0; j < 11; ++j) X(i, j) = rng.normal();
      X(i, 11) = 1.0;
      y[i] = std::tanh(X(i, 0)) + 0.5 * rng.normal();
    }
    cases.push_back({"synthetic (1 edge, 3 bases)", X, y, {1}, {"1<-0: const tanh:1 tanh"}, 4000});
  }
  {
    Dataset boston = load_boston();
    Eigen::VectorXd y = (boston.y.array() - boston.y.mean()) / std::sqrt((boston.y.array() - boston.y.mean()).square().mean());
    cases.push_back({"boston (5 edges x 4 bases)", Standardizer::fit(boston.X).apply(boston.X), y, {4, 4, 1},
                     {"1<-0: zero linear tanh relu", "2<-0: zero linear tanh relu", "2<-1: zero linear tanh relu",
                      "3<-1: zero linear tanh relu", "3<-2: zero linear tanh relu"}, 300});
  }

  const std::string script = std::string(MSWEEP_SOURCE_DIR) + "/bench/structure_vs_torch.py";
  std::printf("%-28s %5s %6s %6s | %21s %21s | %8s %8s\n", "model (S = 3 draws, 1 thread)", "m", "P", "steps",
              "msweep ms/step", "torch f64 ms/step", "wall", "CPU");
  std::printf("%-28s %5s %6s %6s | %21s %21s | %8s %8s\n", "", "", "", "", "min/median", "min/median", "ratio", "ratio");
  for (auto& c : cases) {
    c.steps = std::max<Eigen::Index>(1, static_cast<Eigen::Index>(static_cast<double>(c.steps) * arguments.steps_scale));
    StructureGraphOptions graph_options;
    graph_options.inputs = c.X.cols();
    for (auto d : c.widths) graph_options.widths.push_back(d);
    for (const auto& e : c.edges) graph_options.edges.push_back(parse_edge(e));
    const StructureGraph graph(graph_options);
    StructureElboOptions options;
    options.noise_std = kNoiseStd;
    options.prior_log_std = kPriorLogStd;
    options.gamma_floor = kGammaFloor;
    options.temperature = kTemperature;
    const StructureElbo elbo(graph, c.X, c.y, options);
    const Eigen::Index P = graph.weights(), L = graph.bases();
    RandomStream rng(7);
    Eigen::VectorXd theta(elbo.parameters());
    for (Eigen::Index j = 0; j < P; ++j) theta[j] = 0.3 * rng.normal();
    theta.segment(P, P).setConstant(-2.0);
    for (Eigen::Index j = 0; j < L; ++j) theta[2 * P + j] = rng.normal();
    Eigen::MatrixXd eps(P, kSamples), gumbel(L, kSamples);
    for (Eigen::Index s = 0; s < kSamples; ++s) {
      for (Eigen::Index j = 0; j < P; ++j) eps(j, s) = rng.normal();
      gumbel.col(s) = gumbel_draws(L, rng);
    }

    ElboGradients gradients;
    const ElboTerms terms = elbo.estimate(theta, eps, gumbel, &gradients);
    std::vector<double> seconds;
    double min_seconds = 1e300, min_cpu = 1e300, checksum = 0.0;
    for (int r = 0; r < arguments.repeats; ++r) {
      const double cpu = cpu_now();
      WallTimer timer;
      for (Eigen::Index t = 0; t < c.steps; ++t) {
        elbo.estimate(theta, eps, gumbel, &gradients);
        checksum += elbo.ascent_direction(gradients, MetaWeights{})[0];  // keeps the work observable
      }
      seconds.push_back(timer.seconds() / static_cast<double>(c.steps));
      min_seconds = std::min(min_seconds, seconds.back());
      min_cpu = std::min(min_cpu, (cpu_now() - cpu) / static_cast<double>(c.steps));
    }
    std::sort(seconds.begin(), seconds.end());
    const Timing ours{min_seconds, seconds.at(seconds.size() / 2), min_cpu};

    // The same data, theta and draws for the peer: eps and gumbel sample-major.
    const std::filesystem::path data = std::filesystem::temp_directory_path() / ("msweep_structure_bench_" + std::to_string(::getpid()) + ".f64");
    {
      std::ofstream out(data, std::ios::binary);
      const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = c.X;
      append(out, rows.data(), rows.size());
      append(out, c.y.data(), c.y.size());
      append(out, theta.data(), theta.size());
      append(out, eps.data(), eps.size());  // column major P x S = S blocks of P
      append(out, gumbel.data(), gumbel.size());
    }
    std::ostringstream command;
    command.precision(17);
    std::string widths;
    for (auto d : c.widths) widths += (widths.empty() ? "" : ",") + std::to_string(d);
    command << "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 " << arguments.python << " " << script << " " << data.string() << " "
            << c.X.rows() << " " << c.X.cols() << " " << P << " " << L << " " << kSamples << " " << kNoiseStd << " " << kPriorLogStd
            << " " << kGammaFloor << " " << kTemperature << " " << c.steps << " " << arguments.repeats << " "
            << (arguments.allow_reference_blas ? "--allow-reference-blas" : "-") << " " << widths;
    for (const auto& e : c.edges) command << " '" << e << "'";
    int status = 0;
    const std::string output = bench::run_torch_peer(command.str(), status);
    std::filesystem::remove(data);
    bench::stop_on_peer_failure(status, "bench_structure_vs_torch");
    std::istringstream peer(output);
    std::string tag;
    double peer_data = NAN, peer_parametric = NAN, peer_structural = NAN;
    Timing torch{NAN, NAN, NAN};
    while (peer >> tag) {
      if (tag == "terms") peer >> peer_data >> peer_parametric >> peer_structural;
      if (tag == "time") peer >> torch.min_seconds >> torch.median_seconds >> torch.min_cpu;
    }
    std::printf("%-28s %5ld %6ld %6ld | %9.4f/%9.4f   %9.4f/%9.4f   | %7.2fx %7.2fx\n", c.name.c_str(), static_cast<long>(c.X.rows()),
                static_cast<long>(P), static_cast<long>(c.steps), 1e3 * ours.min_seconds, 1e3 * ours.median_seconds,
                1e3 * torch.min_seconds, 1e3 * torch.median_seconds, torch.min_seconds / ours.min_seconds, torch.min_cpu / ours.min_cpu);
    std::printf("%-28s ELBO terms (data, parametric, structural): msweep %.10g %.10g %.10g; torch %.10g %.10g %.10g\n", "",
                terms.data, terms.parametric, terms.structural, peer_data, peer_parametric, peer_structural);
    std::printf("%-28s largest relative difference %.1e (checksum %.3g)\n", "",
                std::max({std::abs(terms.data - peer_data) / std::abs(terms.data), std::abs(terms.parametric - peer_parametric) / std::abs(terms.parametric),
                          std::abs(terms.structural - peer_structural) / std::max(1.0, std::abs(terms.structural))}),
                checksum);
    std::fflush(stdout);
  }
  return 0;
}
