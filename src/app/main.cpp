// msweep: model-selection sweeps on MPI ranks into one HDF5 file.
//   msweep plan JOB.toml                       validate and show the task grid
//   mpirun -n N msweep run JOB.toml [-o OUT]   run it (one rank runs locally)
//   msweep inspect OUT.h5                      what a results file holds
//   msweep merge A.h5 B.h5 ... -o ALL.h5       combine shards of one job
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>

#include "commands.hpp"
#include "msweep/core/version.hpp"
#include "msweep/experiments/experiment.hpp"

namespace msweep::app {

bool is_primary_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* value = std::getenv(name)) return std::atoi(value) == 0;
  return true;
}

}  // namespace msweep::app

namespace {

int report_error(const std::string& message, msweep::ExitStatus status) {
  if (msweep::app::is_primary_rank()) std::fprintf(stderr, "msweep: error: %s\n", message.c_str());
  return static_cast<int>(status);
}

// Every path argument must name something: an empty string would silently mean "the default".
const CLI::Validator kNonEmptyPath(
    [](const std::string& value) { return value.empty() ? std::string("expected a path, got an empty string") : std::string(); },
    "PATH");

// CLI::Range lets NaN through (every comparison with it is false): seconds must be numbers.
const CLI::Validator kFinite(
    [](const std::string& value) {
      double number = 0.0;
      return CLI::detail::lexical_cast(value, number) && std::isfinite(number) ? std::string()
                                                                                 : "expected a finite number, got " + value;
    },
    "");

// CLI11's own range check reports "Value X not in range A to B" with six decimals; say it in the
// words of the other messages, with the bounds as a user would write them.
template <class T>
CLI::Validator in_range(T low, T high) {
  auto shown = [](T bound) {
    std::ostringstream text;
    const double as_double = static_cast<double>(bound);
    if (std::floor(as_double) == as_double && std::fabs(as_double) < 1e15)
      text << static_cast<std::int64_t>(as_double);  // 10000000, not 1e+07
    else
      text << bound;
    return text.str();
  };
  const std::string expected = "expected a number from " + shown(low) + " to " + shown(high);
  return CLI::Validator(
      [=](const std::string& value) {
        T number{};
        if (!CLI::detail::lexical_cast(value, number)) return expected + ", got " + value;
        return number >= low && number <= high ? std::string() : expected + ", got " + value;
      },
      "");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace msweep;
  std::string kinds;
  for (const auto& kind : experiment_kinds()) kinds += (kinds.empty() ? "" : ", ") + kind;

  CLI::App cli{"msweep " + std::string(kVersion) + ": model-selection sweeps on MPI ranks into one HDF5 file.\n"
               "Experiment kinds: " + kinds + ". Exit statuses: 0 ok, 1 some tasks failed, 2 bad input,\n"
               "3 runtime error, 4 interrupted (resumable). See docs/cli.md."};
  cli.set_version_flag("--version", std::string(kVersion));
  cli.require_subcommand(1);

  app::PlanOptions plan_options;
  auto* plan_cmd = cli.add_subcommand("plan",
                                      "Validate a job file and print its data, every key's value, the task grid and estimates of "
                                      "run time and file size (no MPI, writes nothing)");
  plan_cmd->add_option("job", plan_options.job_path, "Job file (TOML)")->required()->check(kNonEmptyPath);
  plan_cmd->add_flag("!--no-estimate", plan_options.estimate, "Skip timing sample tasks for the run-time estimate");
  plan_cmd->add_option("-o,--output", plan_options.output_path,
                       "The results file run would get (default: [output] path of the job): plan says what is there")
      ->check(kNonEmptyPath);
  const char* set_help = "Override a key of the job file: SECTION.KEY=VALUE, the value as in TOML (e.g. --set sweep.runs=2); "
                         "repeatable, part of the job's identity";
  plan_cmd->add_option("--set", plan_options.overrides, set_help)->allow_extra_args(false)->take_all();

  app::RunOptions run_options;
  auto* run_cmd = cli.add_subcommand("run", "Run a job: under mpirun/srun rank 0 schedules and the others compute");
  run_cmd->add_option("job", run_options.job_path, "Job file (TOML)")->required()->check(kNonEmptyPath);
  run_cmd->add_option("--set", run_options.overrides, set_help)->allow_extra_args(false)->take_all();
  run_cmd->add_option("-o,--output", run_options.output_path, "Results file (default: [output] path of the job)")->check(kNonEmptyPath);
  run_cmd->add_flag("--resume", run_options.resume, "Continue an existing results file: run only the missing tasks");
  run_cmd->add_flag("--force", run_options.force, "Replace an existing results file; with --resume, accept a changed job text");
  run_cmd->add_flag("-q,--quiet", run_options.quiet, "No progress line");
  run_cmd->add_option("--progress", run_options.progress,
                      "Progress on stderr: bar (one rewriting line), lines (a plain line every --progress-seconds), none, "
                      "or auto (the default: bar when stderr is a terminal, else lines). Under mpirun stderr is a pipe: "
                      "pass --progress bar for a live line in the terminal")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}));
  run_cmd->add_option("--progress-seconds", run_options.progress_seconds, "Seconds between plain progress lines")
      ->check(kFinite)->check(in_range(0.1, 86400.0));
  run_cmd->add_option("--in-flight", run_options.batches_in_flight, "Work messages kept in flight per worker")->check(in_range(1, 64));
  run_cmd->add_option("--batch-seconds", run_options.batch_seconds, "Target seconds of work per message")
      ->check(kFinite)
      ->check(in_range(1e-4, 60.0));
  run_cmd->add_option("--grace-seconds", run_options.stop_grace_seconds, "After a stop signal, wait this long for running tasks")
      ->check(kFinite)->check(in_range(0.0, 3600.0));
  run_cmd->add_option("--shard", run_options.shard,
                      "Run only shard I/N of the grid (tasks with id % N == I) into its own file; 'auto' takes I and N "
                      "from the Slurm job array (SLURM_ARRAY_TASK_ID/_COUNT). Combine shards with msweep merge");

  run_cmd->add_option("--worker-timeout", run_options.worker_timeout_seconds,
                      "Abort (exit 3, file resumable) when a worker holding work sends nothing for this many seconds; "
                      "0 waits forever. Set it well above the longest batch of tasks")
      ->check(kFinite)
      ->check(in_range(0.0, 1e7));

  app::MergeOptions merge_options;
  auto* merge_cmd = cli.add_subcommand("merge", "Combine results files of one job (e.g. shards) into one file");
  merge_cmd->add_option("inputs", merge_options.inputs, "Results files of the same job (HDF5)")->required()->check(kNonEmptyPath);
  merge_cmd->add_option("-o,--output", merge_options.output_path, "Merged results file")->required()->check(kNonEmptyPath);
  merge_cmd->add_flag("--force", merge_options.force, "Replace an existing output file");
  merge_cmd->add_flag("-q,--quiet", merge_options.quiet, "Only errors");

  app::InspectOptions inspect_options;
  constexpr std::int64_t kMaxRows = std::int64_t{1} << 40;  // far beyond any grid (core/grid.hpp caps it at 2^32)
  auto* inspect_cmd = cli.add_subcommand("inspect", "Show what a results file holds (works while it is being written)");
  inspect_cmd->add_option("results", inspect_options.results_path, "Results file (HDF5)")->required()->check(kNonEmptyPath);
  auto* summary_flag = inspect_cmd->add_flag(
      "--summary", inspect_options.summary,
      "Print the summary table: per group, mean and sem with runs as the unit of replication (folds averaged per run first)");
  inspect_cmd->add_option("--top", inspect_options.top, "With --summary: only the first K groups (after --by)")
      ->check(in_range(std::int64_t{1}, kMaxRows))->needs(summary_flag);
  auto* by_option = inspect_cmd->add_option("--by", inspect_options.sort_by,
                          "With --summary: sort groups by this metric's mean (descending for evidence, log-likelihoods, "
                          "accuracies, bounds and criteria, ascending otherwise)")->needs(summary_flag);
  auto* ascending = inspect_cmd->add_flag_callback("--ascending", [&] { inspect_options.order = "ascending"; },
                                                   "With --by: smallest first")->needs(by_option);
  inspect_cmd->add_flag_callback("--descending", [&] { inspect_options.order = "descending"; }, "With --by: largest first")
      ->needs(by_option)->excludes(ascending);
  inspect_cmd->add_option("--csv", inspect_options.csv_path, "With --summary: write the summary as CSV to this file ('-': stdout)")
      ->check(kNonEmptyPath)->needs(summary_flag);
  inspect_cmd->add_option("--rows", inspect_options.rows, "Print the first N task rows")->check(in_range(std::int64_t{0}, kMaxRows));
  inspect_cmd->add_option("--width", inspect_options.width,
                          "With --summary: fit the table in N columns, splitting it into column blocks that repeat the group "
                          "columns (0: never split; default: $COLUMNS, else the terminal's width, else never)")
      ->check(in_range(std::int64_t{0}, std::int64_t{100000}))->needs(summary_flag);
  auto* status_flag = inspect_cmd->add_flag("--status", inspect_options.status_only,
                                            "Print only the file's status, one word for scripts: running, complete or interrupted");
  inspect_cmd->add_flag("--json", inspect_options.json,
                        "Print one JSON object for scripts: status, shard, task counts (stored, total, failed), provenance")
      ->excludes(status_flag);

  // CLI11 reports an unknown first word as a missing subcommand: name what was typed instead.
  if (argc > 1 && argv[1][0] != '-') {
    std::string known;
    bool found = false;
    for (const auto* command : {plan_cmd, run_cmd, inspect_cmd, merge_cmd}) {
      known += (known.empty() ? "" : ", ") + command->get_name();
      found = found || command->get_name() == argv[1];
    }
    if (!found)
      return report_error("unknown command '" + std::string(argv[1]) + "' (expected one of " + known + "; see msweep --help)",
                          ExitStatus::bad_input);
  }

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    return report_error(std::string(e.what()) + " (see msweep --help)", ExitStatus::bad_input);
  }

  try {
    if (*plan_cmd) return app::plan(plan_options);
    if (*run_cmd) return app::run(run_options, argc, argv);
    if (*inspect_cmd) return app::inspect(inspect_options);
    if (*merge_cmd) return app::merge(merge_options);
  } catch (const Error& e) {
    return report_error(e.what(), e.status());
  } catch (const ArgumentError& e) {
    return report_error(std::string("internal error: ") + e.what(), ExitStatus::runtime_error);
  } catch (const std::exception& e) {
    return report_error(e.what(), ExitStatus::runtime_error);
  }
  return 0;
}
