// The hyperparameter-optimization objective served to an outside optimizer (bench/hpo_vs_optuna.py
// drives it with Optuna): the SAME Q the experiment's tasks optimize (built by the experiment
// from a job file, task_problem()), so both sides train the same model the same way and the
// objective is implemented once, here in C++.
//
//   bench_hpo_objective JOB.toml CRITERION RUN RESTART [SECTION.KEY=VALUE ...]
// (the trailing arguments override job keys as msweep run --set does)
// then one command per stdin line, one answer per stdout line:
//   info                    -> "info <hyperparameters> <h_init low> <h_init high> <outer_iterations>"
//   eval h_1 ... h_H        -> "q <Q> <seconds>"  (one training from theta_0 at h; Q = nan if it diverged)
//   optimize METHOD         -> "trajectory <seconds> <Q_0> ... <Q_J-1>" (greedy, hoag or drmad from h_0)
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "eigen_report.hpp"
#include "msweep/core/error.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/experiments/hyperparameter_optimization.hpp"
#include "msweep/spec/job.hpp"

using namespace msweep;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: bench_hpo_objective JOB.toml CRITERION RUN RESTART [SECTION.KEY=VALUE ...]\n");
    return 2;
  }
  try {
    const JobSpec spec = load_job(argv[1], std::vector<std::string>(argv + 5, argv + argc));
    auto experiment = make_experiment(spec);
    spec.reject_unknown_keys();  // after the experiment has read its keys, as msweep run does
    const auto* hpo = dynamic_cast<const HyperparameterOptimizationExperiment*>(experiment.get());
    if (!hpo) throw ArgumentError(std::string(argv[1]) + ": not a hyperparameter-optimization job");
    const auto& axes = hpo->grid().axes();
    const auto criterion_axis = hpo->grid().axis_index("criterion");
    std::vector<std::uint32_t> coordinates(axes.size(), 0);
    const auto& labels = axes[criterion_axis].labels;
    const auto found = std::find(labels.begin(), labels.end(), argv[2]);
    if (found == labels.end()) throw ArgumentError(std::string("criterion ") + argv[2] + " is not on the job's criterion axis");
    coordinates[criterion_axis] = static_cast<std::uint32_t>(found - labels.begin());
    coordinates[hpo->grid().axis_index("run")] = static_cast<std::uint32_t>(std::stoul(argv[3]));
    coordinates[hpo->grid().axis_index("restart")] = static_cast<std::uint32_t>(std::stoul(argv[4]));
    const TaskView task(hpo->grid(), coordinates);
    auto start = hpo->task_problem(task);
    bench::print_eigen_report();
    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream in(line);
      std::string command;
      in >> command;
      if (command == "info") {
        std::printf("info %ld %.17g %.17g %ld\n", static_cast<long>(start.h0.size()), hpo->options().h_init_low,
                    hpo->options().h_init_high, static_cast<long>(hpo->options().outer_iterations));
      } else if (command == "eval") {
        Eigen::VectorXd h(start.h0.size());
        for (Eigen::Index g = 0; g < h.size(); ++g) in >> h[g];
        if (!in) throw ArgumentError("eval: expected " + std::to_string(h.size()) + " values");
        WallTimer timer;
        const double q = evaluate_hyperparameters(start.problem, start.theta0, h, hpo->options().inner);
        std::printf("q %.17g %.6g\n", q, timer.seconds());
      } else if (command == "optimize") {
        std::string method;
        in >> method;
        WallTimer timer;
        const HpoSummary summary = optimize_hyperparameters(start.problem, start.theta0, start.h0, hpo->hpo_options(method));
        std::printf("trajectory %.6g", timer.seconds());
        for (const double q : summary.criterion) std::printf(" %.17g", q);
        std::printf("\n");
      } else {
        throw ArgumentError("unknown command '" + command + "' (info, eval, optimize)");
      }
      std::fflush(stdout);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_hpo_objective: %s\n", error.what());
    return 2;
  }
  return 0;
}
