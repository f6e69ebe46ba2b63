// Benchmark: variational EM for a mixture of linear experts (Dirichlet gate) on the circle data
// of docs/science.md (curve detection), msweep's C++ against the numpy reference bench/mixture_em_reference.py,
// the same problem and starting point, printed side by side by this one program:
//
//   build/bin/bench_mixture_em [--min-seconds S] [--python /usr/bin/python3] [--allow-reference-blas]
//
// Both sides print the BLAS and threads they compute with (numpy on one BLAS thread); when numpy
// runs on the reference BLAS no ratio is printed (exit 3) unless --allow-reference-blas.
// Per method: EM iterations per second at a fixed budget of 50 iterations, and the time to
// convergence (relative bound change <= 1e-6, at most 2000 iterations), with both final bounds.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "eigen_report.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/data/curves.hpp"
#include "msweep/models/mixture/mixture.hpp"

using namespace msweep;

namespace {

constexpr int kFixedIterations = 50, kMaxIterations = 2000;
constexpr double kTolerance = 1e-6;

std::string json_matrix(const Eigen::MatrixXd& m) {
  std::ostringstream out;
  out << std::setprecision(17) << "[";
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    out << (i ? ",[" : "[");
    for (Eigen::Index j = 0; j < m.cols(); ++j) out << (j ? "," : "") << m(i, j);
    out << "]";
  }
  return out.str() + "]";
}

std::string json_vector(const Eigen::VectorXd& v) {
  std::ostringstream out;
  out << std::setprecision(17) << "[";
  for (Eigen::Index i = 0; i < v.size(); ++i) out << (i ? "," : "") << v(i);
  return out.str() + "]";
}

double number_after(const std::string& text, std::size_t from, const std::string& key) {
  const auto at = text.find("\"" + key + "\":", from);
  if (at == std::string::npos) throw std::runtime_error("reference output lacks " + key + ": " + text);
  return std::strtod(text.c_str() + at + key.size() + 3, nullptr);
}

struct Measured {
  double iterations_per_second = 0, fixed_bound = 0, converged_seconds = 0, converged_bound = 0;
  int converged_iterations = 0;
};

Measured measure_cpp(const MixtureOptions& base, const Dataset& data, const Eigen::MatrixXd& initial, double min_seconds) {
  Measured out;
  RandomStream unused(0);
  MixtureOptions fixed = base;
  fixed.max_iterations = kFixedIterations;
  fixed.tolerance = 0.0;
  long iterations = 0;
  WallTimer timer;
  do {
    LinearMixture mixture(fixed);
    const auto summary = mixture.fit(data.X, data.y, initial, unused);
    iterations += summary.iterations;
    out.fixed_bound = summary.final_bound;
  } while (timer.seconds() < min_seconds);
  out.iterations_per_second = static_cast<double>(iterations) / timer.seconds();

  MixtureOptions converge = base;
  converge.max_iterations = kMaxIterations;
  converge.tolerance = kTolerance;
  int runs = 0;
  timer.reset();
  do {
    LinearMixture mixture(converge);
    const auto summary = mixture.fit(data.X, data.y, initial, unused);
    out.converged_iterations = summary.iterations;
    out.converged_bound = summary.final_bound;
    ++runs;
  } while (timer.seconds() < min_seconds);
  out.converged_seconds = timer.seconds() / runs;
  return out;
}

Measured measure_python(const std::string& python, bool allow_reference_blas, const MixtureOptions& o, const Dataset& data, const Eigen::MatrixXd& initial,
                        double min_seconds) {
  const std::string path = "/tmp/msweep_mixture_bench_" + std::to_string(::getpid()) + ".json";
  {
    std::ofstream json(path);
    json << std::setprecision(17) << "{\"X\":" << json_matrix(data.X) << ",\"y\":" << json_vector(data.y)
         << ",\"initial_means\":" << json_matrix(initial) << ",\"prior_means\":" << json_matrix(o.prior_means)
         << ",\"prior_covariance\":" << json_vector(o.prior_covariance.diagonal())
         << ",\"regularizer\":" << (o.regularizer.size() ? json_vector(o.regularizer.diagonal()) : std::string("null"))
         << ",\"learn_prior_means\":" << (o.learn_prior_means ? "true" : "false")
         << ",\"learn_prior_covariance\":" << (o.learn_prior_covariance ? "true" : "false")
         << ",\"dirichlet_concentration\":" << o.dirichlet_concentration << ",\"noise_precision\":" << o.noise_precision
         << ",\"fixed_iterations\":" << kFixedIterations << ",\"max_iterations\":" << kMaxIterations
         << ",\"tolerance\":" << kTolerance << ",\"min_seconds\":" << min_seconds << "}";
  }
  const std::string command = "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 " + python + " " + MSWEEP_SOURCE_DIR "/bench/mixture_em_reference.py " + path +
                              (allow_reference_blas ? " --allow-reference-blas" : "");
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + command);
  std::string text;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe)) text += buffer;
  const int status = ::pclose(pipe);
  std::remove(path.c_str());
  if (status != 0 && WIFEXITED(status) && WEXITSTATUS(status) == bench::kPeerNotReady) {
    std::cerr << "bench_mixture_em: the numpy side refused (its reason is above); no ratio printed\n";
    std::exit(bench::kPeerNotReady);
  }
  if (status != 0) throw std::runtime_error("the numpy reference failed (" + command + "): " + text);
  Measured out;
  const auto fixed = text.find("\"fixed\""), converged = text.find("\"converged\"");
  out.fixed_bound = number_after(text, fixed, "bound");
  out.iterations_per_second = number_after(text, fixed, "iterations_per_second");
  out.converged_bound = number_after(text, converged, "bound");
  out.converged_iterations = static_cast<int>(number_after(text, converged, "iterations"));
  out.converged_seconds = number_after(text, converged, "seconds");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  double min_seconds = 1.0;
  std::string python = "/usr/bin/python3";
  bool allow_reference_blas = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--allow-reference-blas") allow_reference_blas = true;
    else if (flag == "--min-seconds" && i + 1 < argc) min_seconds = std::atof(argv[++i]);
    else if (flag == "--python" && i + 1 < argc) python = argv[++i];
    else {
      std::cerr << "usage: bench_mixture_em [--min-seconds S] [--python PATH] [--allow-reference-blas]\n";
      return 2;
    }
  }
  bench::print_eigen_report();
  // Two concentric circles (radii 0.5, 1.5), 100 points each, jitter 0.1: N = 200, d = 3, K = 2.
  RandomStream data_rng(1);
  const Dataset data = circle_regression(make_circle_image({}, data_rng).points);
  const Eigen::MatrixXd prior_means = (Eigen::MatrixXd(2, 3) << 0, 0, 0.1, 0, 0, 2).finished();
  // The draws LinearMixture::fit(X, y, rng) would make (row by row); this seed's prior fit finds both circles.
  RandomStream init_rng(4001);
  Eigen::MatrixXd draws(2, 3);
  for (Eigen::Index k = 0; k < 2; ++k)
    for (Eigen::Index j = 0; j < 3; ++j) draws(k, j) = init_rng.normal();

  std::cout << "mixture-em benchmark: circles N = " << data.objects() << ", d = 3, K = 2, Dirichlet gate; "
            << "fixed budget " << kFixedIterations << " iterations; convergence at relative change " << kTolerance << "\n\n";
  std::cout << std::left << std::setw(19) << "method" << std::right << std::setw(12) << "C++ it/s" << std::setw(12) << "numpy it/s"
            << std::setw(9) << "speedup" << std::setw(15) << "bound C++" << std::setw(15) << "bound numpy" << " | " << std::setw(6)
            << "iters" << std::setw(11) << "C++ ms" << std::setw(11) << "numpy ms" << std::setw(9) << "speedup" << std::setw(12)
            << "|dbound|" << "\n";
  struct Row {
    const char* name;
    bool prior, learn_means, regularizer;
  };
  for (const Row& row : {Row{"no-prior", false, true, false}, Row{"prior", true, false, false}, Row{"prior-regularizer", true, true, true}}) {
    MixtureOptions options;
    options.experts = 2;
    options.prior_means = row.prior ? prior_means : Eigen::MatrixXd::Zero(2, 3);
    options.prior_covariance = Eigen::MatrixXd::Identity(3, 3);
    options.learn_prior_means = row.learn_means;
    if (row.regularizer) options.regularizer = Eigen::Vector3d(0.01, 0.01, 1.0).asDiagonal();
    const Eigen::MatrixXd initial = options.prior_means + draws;
    const Measured cpp = measure_cpp(options, data, initial, min_seconds);
    const Measured ref = measure_python(python, allow_reference_blas, options, data, initial, min_seconds);
    std::cout << std::left << std::setw(19) << row.name << std::right << std::fixed << std::setprecision(0) << std::setw(12)
              << cpp.iterations_per_second << std::setw(12) << ref.iterations_per_second << std::setprecision(1) << std::setw(8)
              << cpp.iterations_per_second / ref.iterations_per_second << "x" << std::setprecision(6) << std::setw(15)
              << cpp.fixed_bound << std::setw(15) << ref.fixed_bound << " | " << std::setw(3) << cpp.converged_iterations << "/"
              << std::left << std::setw(4) << ref.converged_iterations << std::right << std::setprecision(3) << std::setw(9)
              << 1e3 * cpp.converged_seconds << std::setw(11) << 1e3 * ref.converged_seconds << std::setprecision(1) << std::setw(8)
              << ref.converged_seconds / cpp.converged_seconds << "x" << std::scientific << std::setprecision(1) << std::setw(12)
              << std::abs(cpp.converged_bound - ref.converged_bound) << std::defaultfloat << "\n";
  }
  return 0;
}
