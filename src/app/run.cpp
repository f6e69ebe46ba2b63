// msweep run: validate, start MPI, farm the pending tasks, store results as they arrive.
#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <mpi.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

#include "cluster.hpp"
#include "commands.hpp"
#include "job_setup.hpp"
#include "launch.hpp"
#include "node_shared_data.hpp"
#include "quiet_collectives.hpp"
#include "msweep/core/progress.hpp"
#include "msweep/core/stop_requests.hpp"
#include "msweep/farm/farm.hpp"

namespace msweep::app {
namespace {

// Signals only set a counter; the master's loop reads it on every poll. First signal: stop
// dispatching, collect running tasks within the grace time, flush, mark interrupted. Second:
// the same without waiting for running tasks (they are aborted; one rank: the process ends).
// The requests to stop (msweep/core/stop_requests.hpp: a repeated SIGTERM within 0.5 s is one).
StopRequests g_stop_requests;

extern "C" void on_stop_signal(int signal) { g_stop_requests.record(signal, monotonic_ns()); }

void install_signal_handlers(bool master) {
  for (int signal : {SIGINT, SIGTERM, SIGUSR1, SIGUSR2}) {
    struct sigaction action {};
    // Workers ignore stop signals (launchers forward them to every rank): the master
    // decides when they stop, after their running tasks are collected.
    action.sa_handler = master ? on_stop_signal : SIG_IGN;
    sigemptyset(&action.sa_mask);
    sigaction(signal, &action, nullptr);
  }
}

// What resume recovered (the store prints nothing itself).
void print_recovery(const std::string& output, const RecoveryReport& recovery) {
  if (!recovery.stale_lock.empty()) std::fprintf(stderr, "msweep: %s\n", recovery.stale_lock.c_str());
  if (recovery.rebuilt) {
    if (recovery.damaged_copy.empty())
      std::fprintf(stderr, "msweep: %s; rebuilding it from %s\n", recovery.damage.c_str(), recovery.journal.c_str());
    else
      std::fprintf(stderr, "msweep: %s; rebuilding %s from %s (the old file is kept as %s)\n", recovery.damage.c_str(),
                   output.c_str(), recovery.journal.c_str(), recovery.damaged_copy.c_str());
  }
  if (recovery.rebuilt || recovery.rows_restored > 0)
    std::fprintf(stderr, "msweep: %s: restored %llu finished task%s from %s\n", output.c_str(),
                 static_cast<unsigned long long>(recovery.rows_restored), recovery.rows_restored == 1 ? "" : "s",
                 recovery.journal.c_str());
}

std::string join_unique_hosts(const std::vector<std::string>& hosts) {
  std::set<std::string> unique(hosts.begin(), hosts.end());
  std::string out;
  for (const auto& host : unique) out += (out.empty() ? "" : ",") + host;
  return out;
}

// Test-only fault injection (docs/architecture.md, "Failure model"), from MSWEEP_TEST_FAULT:
//   worker-throw              every computing rank (one rank: the local task thread) throws on
//                             its first task, outside execute_task, as a bad_alloc while
//                             packing results would
//   task-hang=DIR             every computing rank runs its first task, then on the second
//                             creates DIR/hang.<rank> and never returns (a task that does not end)
//   pause-before-finish=DIR   rank 0, after the farm and before finishing the file, creates
//                             DIR/paused and waits until DIR/resume exists
// Unset in production; an unknown value is ignored.
std::string test_fault() {
  const char* value = std::getenv("MSWEEP_TEST_FAULT");
  return value ? value : "";
}

// The directory of a "NAME=DIR" fault, or empty when that fault is not requested.
std::filesystem::path test_fault_dir(const std::string& name) {
  const std::string fault = test_fault(), prefix = name + "=";
  return fault.rfind(prefix, 0) == 0 ? std::filesystem::path(fault.substr(prefix.size())) : std::filesystem::path();
}

void touch(const std::filesystem::path& path) {
  if (std::FILE* marker = std::fopen(path.c_str(), "w")) std::fclose(marker);
}

void pause_before_finish_if_asked() {
  const auto dir = test_fault_dir("pause-before-finish");
  if (dir.empty()) return;
  touch(dir / "paused");
  while (!std::filesystem::exists(dir / "resume")) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

std::string message_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

ExitStatus status_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    return e.status();
  } catch (...) {
    return ExitStatus::runtime_error;
  }
}

// Ends the process now, without unwinding: other ranks may be mid-protocol (they are aborted),
// or a local task may still be running on the farm's thread and use the experiment.
[[noreturn]] void end_process(const boost::mpi::communicator& world, ExitStatus status) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (world.size() > 1) world.abort(static_cast<int>(status));
  MPI_Finalize();  // one rank: no peer to wait for; the running task thread makes no MPI call
  std::_Exit(static_cast<int>(status));
}

// A worker that failed has told the master (the farm's `failed` message), which prints the
// error, saves its file and aborts the job. Should the master not do so in this time, the
// worker prints the error itself and aborts.
constexpr double kMasterAbortWaitSeconds = 60.0;

}  // namespace

// True when a launcher started peers of this process (mpirun, srun): an input error then goes
// through the ranks' agreement in run(), so rank 0 prints it once and nobody exits early.
bool launched_with_peers() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char* value = std::getenv(name)) return std::atoi(value) > 1;
  return false;
}

namespace {

// The master's part of a run once MPI is up: open the file, farm, store, finish.
class MasterRun {
 public:
  MasterRun(const RunOptions& options, PreparedJob& job, std::string output, OutputMode mode,
            const boost::mpi::communicator& world, std::string program)
      : options_(options), job_(job), output_(std::move(output)), mode_(mode), world_(world), program_(std::move(program)) {}

  // Returns the exit status. Anything it throws goes to fail().
  int run(const std::vector<std::string>& hosts, const TaskFunction& task, const FarmOptions& farm_options);

  // Any failure after MPI started: print the one error line, save what we have (status
  // interrupted, if the file was opened), then end the job with the error's status.
  // The error line names the output file (docs/cli.md: every error names its file); once the
  // file is marked interrupted, a second line says what it holds and how to resume it.
  [[noreturn]] void fail(std::exception_ptr error) {
    std::string message = message_of(error);
    if (message.find(output_) == std::string::npos) message = output_ + ": " + message;
    std::fprintf(stderr, "%smsweep: error: %s\n", options_.quiet ? "" : "\n", message.c_str());
    const ExitStatus status = status_of(error);
    if (writer_ && !finishing_) {
      try {
        writer_->finish(RunStatus::interrupted, wall_.seconds());
        print_resume_line(stderr, "stopped by this error", status, writer_->rows_committed(), "fix the cause, then resume with");
      } catch (const std::exception& e) {
        std::fprintf(stderr, "msweep: %s: could not mark the file interrupted: %s\n", output_.c_str(), e.what());
      }
    }
    try {
      writer_.reset();  // closes the file (HDF5 would not, on the exit below)
    } catch (...) {
    }
    end_process(world_, status);
  }

 private:
  // "msweep: WHAT (exit N; the file's status is interrupted, S of T tasks stored); ACTION: CMD",
  // CMD resuming with the same launcher, ranks, shard and --set overrides. The last line of
  // every run that leaves the file resumable (a signal: stdout; an error: stderr, before the abort).
  void print_resume_line(std::FILE* stream, const char* what, ExitStatus status, std::uint64_t stored, const char* action) const;

  const RunOptions& options_;
  PreparedJob& job_;
  std::string output_;
  OutputMode mode_;
  const boost::mpi::communicator& world_;
  std::string program_;  // argv[0] as typed, for the resume command
  std::optional<ResultWriter> writer_;
  std::vector<std::string> made_directories_;  // above the output, by this run
  bool finishing_ = false;  // finish() was called: never call it twice
  WallTimer wall_;
};

int MasterRun::run(const std::vector<std::string>& hosts, const TaskFunction& task, const FarmOptions& farm_options) {
  // Rank 0 opens the file; if that fails every rank must learn it before the farm starts.
  TaskSpace tasks;
  std::string open_error;
  int open_status = 0;
  try {
    RunProvenance provenance{world_.size(), join_unique_hosts(hosts), cluster_provenance(hosts)};
    WriterOptions writer_options{static_cast<std::size_t>(job_.spec.store_batch_rows), job_.spec.flush_seconds,
                                 job_.spec.summary_seconds};
    made_directories_ = create_parent_directories(output_);
    const bool resume = mode_ == OutputMode::resume;
    writer_.emplace(resume ? ResultWriter::resume(output_, job_.layout, provenance, writer_options, options_.force)
                           : ResultWriter::create(output_, job_.layout, provenance, writer_options, mode_ == OutputMode::replace));
    // A shard runs every shard_count-th task: deterministic, and each shard gets a share
    // of every structure (ids vary fastest along run and fold), so shards take similar times.
    // One bit per task of the shard; resume marks what the file and journal already hold.
    tasks = TaskSpace(job_.layout.shard_index, job_.layout.shard_count, shard_task_count(job_.layout));
    const std::vector<bool> stored = writer_->take_stored_tasks();
    for (TaskId id = 0; id < stored.size(); ++id)
      if (stored[id])
        if (const auto position = tasks.position_of(id)) tasks.mark_done(*position);
    print_recovery(output_, writer_->recovery());
  } catch (const Error& error) {
    open_error = error.what();
    open_status = static_cast<int>(error.status());
  } catch (const std::exception& error) {
    open_error = output_ + ": " + error.what();
    open_status = static_cast<int>(ExitStatus::runtime_error);
  }
  // The workers may wait minutes here (resume checks every stored row): without spinning.
  std::int64_t opened[1] = {open_status};
  broadcast_without_spinning(world_, opened, 1);
  if (open_status != 0) {
    std::fprintf(stderr, "msweep: error: %s\n", open_error.c_str());
    writer_.reset();
    remove_created_directories(made_directories_);  // the output was not created: leave no trace
    return open_status;
  }

  const std::uint64_t total = shard_task_count(job_.layout);
  const std::uint64_t already = writer_->rows_committed();
  ProgressOptions progress_options;
  progress_options.mode = options_.quiet ? ProgressMode::none : *parse_progress_mode(options_.progress);
  progress_options.interval_seconds = options_.progress_seconds;
  ProgressReporter progress(total, already, progress_options);
  const std::string shard_text = job_.layout.shard_count > 1 ? " (shard " + std::to_string(job_.layout.shard_index) + "/" +
                                                                    std::to_string(job_.layout.shard_count) + ")"
                                                              : "";
  if (!options_.quiet)
    std::fprintf(stderr, "msweep: job %s (%s): %llu tasks%s, %llu to run on %d rank%s -> %s\n", job_.spec.name.c_str(),
                 job_.spec.kind.c_str(), static_cast<unsigned long long>(total), shard_text.c_str(),
                 static_cast<unsigned long long>(tasks.pending_count()), world_.size(), world_.size() > 1 ? "s" : "", output_.c_str());

  FarmCallbacks callbacks;
  // The workers' own time inside tasks (each result carries it): against the farm phase it
  // says how much of the workers' time the farm (dispatch, messages, the store) costs.
  double task_seconds = 0.0;
  callbacks.on_results = [&](std::vector<TaskResult>&& results) {
    std::uint64_t failed = 0;
    for (const auto& r : results) {
      failed += r.status == TaskStatus::failed;
      task_seconds += r.wall_seconds;
    }
    writer_->append(results);
    progress.add(results.size(), failed);
  };
  callbacks.on_tick = [&]() {
    if (writer_->flush_due()) writer_->flush();
    progress.tick();
  };
  // First signal: stop dispatching, collect running tasks within the grace. Second: now.
  bool stop_announced = false;
  callbacks.should_stop = [&]() {
    if (g_stop_requests.count() == 0) return false;
    if (!stop_announced) {
      stop_announced = true;
      std::fprintf(stderr, "%smsweep: signal %d: stopping after the running tasks (at most %s); a second signal stops at once\n",
                   options_.quiet ? "" : "\n", g_stop_requests.last_signal(),
                   ProgressReporter::format_duration(farm_options.stop_grace_seconds).c_str());
    }
    return true;
  };
  callbacks.should_abandon = [&]() { return g_stop_requests.count() > 1; };

  const FarmSummary farm = run_farm(world_, std::move(tasks), task, callbacks, farm_options);
  const bool interrupted = farm.stopped_early;
  progress.finish();
  pause_before_finish_if_asked();

  const std::uint64_t stored = writer_->rows_committed() + writer_->rows_buffered();
  const bool complete = !interrupted && stored == total;
  finishing_ = true;
  const SummaryTable summary = writer_->finish(complete ? RunStatus::complete : RunStatus::interrupted, wall_.seconds());
  std::uint64_t failed_total = 0;
  for (auto f : summary.failed_count) failed_total += f;

  // Throughput and the master's CPU share are those of the farm phase (results stored as they
  // arrive); the total includes the end-of-run summaries computed from the file.
  const double seconds = std::max(wall_.seconds(), 1e-9);
  // A rate over a farm phase of a few milliseconds (a run stopped at once, or one that had only
  // a few tasks left) is noise that can read as billions of tasks/s: it is not printed.
  std::string rates = "farm phase too short to time";
  if (farm.wall_seconds >= 0.05) {
    char text[200];
    const double rate = static_cast<double>(farm.completed) / farm.wall_seconds;
    const int workers = std::max(world_.size() - 1, 1);  // one rank runs the tasks itself
    std::snprintf(text, sizeof text, "%s tasks/s while farming, %s %.1f%%, workers in tasks %.1f%%",
                  ProgressReporter::format_rate(rate).c_str(),
                  world_.size() > 1 ? "master CPU" : "CPU", 100.0 * farm.master_cpu_seconds / farm.wall_seconds,
                  100.0 * task_seconds / (workers * farm.wall_seconds));
    rates = text;
  }
  std::printf("msweep: %s %s: %llu of %llu tasks stored, %llu failed; this run: %llu tasks in %s on %d rank%s (%s)\n",
              complete ? "wrote" : "interrupted,", output_.c_str(), static_cast<unsigned long long>(stored),
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(failed_total),
              static_cast<unsigned long long>(farm.completed), ProgressReporter::format_duration(seconds).c_str(), world_.size(),
              world_.size() > 1 ? "s" : "", rates.c_str());
  if (complete) {
    const std::string report = job_.experiment->report(summary);
    if (!report.empty()) std::printf("%s", report.c_str());
  } else {
    // The last line says "interrupted" whatever the launcher's own exit status (mpirun
    // reports 1 for any rank's non-zero exit).
    print_resume_line(stdout, "interrupted", ExitStatus::interrupted, stored, "resume with");
  }
  writer_.reset();
  // Tasks still running (grace over, or a second signal) cannot be stopped: end them with us.
  if (farm.abandoned > 0) end_process(world_, ExitStatus::interrupted);
  std::fflush(stdout);
  if (interrupted) return static_cast<int>(ExitStatus::interrupted);
  return failed_total > 0 ? static_cast<int>(ExitStatus::tasks_failed) : 0;
}

void MasterRun::print_resume_line(std::FILE* stream, const char* what, ExitStatus status, std::uint64_t stored,
                                  const char* action) const {
  const std::string shard_option = job_.layout.shard_count > 1 ? " --shard " + std::to_string(job_.layout.shard_index) + "/" +
                                                                    std::to_string(job_.layout.shard_count)
                                                              : "";
  std::string set_options;  // the overrides are part of the job: resuming needs them again
  for (const auto& override : job_.spec.overrides) set_options += " --set " + shell_quote(override);
  std::fprintf(stream, "msweep: %s (exit %d; the file's status is interrupted, %llu of %llu tasks stored); %s: %s\n", what,
               static_cast<int>(status), static_cast<unsigned long long>(stored),
               static_cast<unsigned long long>(shard_task_count(job_.layout)), action,
               resume_command(program_, job_.spec.path, output_, shard_option + set_options).c_str());
}

// A worker's part: learn whether the master opened the file, then compute until released.
int run_worker(const boost::mpi::communicator& world, const TaskFunction& task, const FarmOptions& farm_options) {
  std::int64_t open_status[1] = {0};
  broadcast_without_spinning(world, open_status, 1);
  if (open_status[0] != 0) return static_cast<int>(open_status[0]);
  try {
    run_farm(world, {}, task, {}, farm_options);
    return 0;
  } catch (...) {
    const std::exception_ptr error = std::current_exception();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(kMasterAbortWaitSeconds);
    while (std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::fprintf(stderr, "msweep: error: rank %d: %s\n", world.rank(), message_of(error).c_str());
    end_process(world, status_of(error));
  }
}

}  // namespace

int run(RunOptions options, int& argc, char**& argv) {
  const std::string program = argc > 0 ? argv[0] : "msweep";  // for the resume command
  // Everything that can be wrong with the input is found by prepare(): before MPI starts, or,
  // when the ranks of a node share one copy of the data (NodeSharedData), right after, since
  // only the node's first rank reads the data then. Either way every rank reaches a verdict.
  PreparedJob job;
  std::string output;
  OutputMode mode = OutputMode::create;
  std::string input_error;
  auto prepare = [&](const DataSource& source) {
    try {
      job = prepare_job(options.job_path, options.overrides, source);
      apply_shard(options.shard, job);
      output = options.output_path.empty() ? job.spec.output_path : options.output_path;
      mode = check_output(output, job, options.resume, options.force);
    } catch (const InputError& error) {
      if (!launched_with_peers()) throw;
      input_error = error.what();
    }
  };
  bool share_data = false;
  try {
    share_data = shared_data_enabled() && launched_with_peers();
  } catch (const InputError& error) {
    if (!launched_with_peers()) throw;
    input_error = error.what();  // said once, by the master, with the other ranks' verdicts
  }
  if (!share_data) prepare({});

  // Not abort-on-exception: Boost would call MPI_Abort while an exception unwinds, before
  // anyone printed it. Failures below are caught, printed and ended explicitly instead.
  boost::mpi::environment environment(argc, argv, boost::mpi::threading::single, false);
  boost::mpi::communicator world;
  const bool master = world.rank() == 0;
  // Destroyed before `environment` finalizes MPI, after the farm: nothing reads the data then.
  std::optional<NodeSharedData> node_data;
  if (share_data) {
    node_data.emplace(world);
    // The ranks of a node reach the loader together: they parse the same job file on the same
    // file system, so a job error stops all of them before it, and the loader itself tells
    // every rank of the node when its first rank could not read the data.
    prepare(node_data->source());
  }

  // Ranks can disagree about the input (a node-local path, a lagging NFS cache, a data file
  // readable on some nodes only). One collective carries every rank's verdict, so all agree
  // before any other collective; rank 0 prints the first error once and every rank exits 2.
  std::vector<std::string> verdicts;
  boost::mpi::all_gather(world, input_error, verdicts);
  for (std::size_t r = 0; r < verdicts.size(); ++r) {
    if (verdicts[r].empty()) continue;
    if (master) std::fprintf(stderr, "msweep: error: %s%s\n", r == 0 ? "" : ("rank " + std::to_string(r) + ": ").c_str(), verdicts[r].c_str());
    return static_cast<int>(ExitStatus::bad_input);
  }

  install_signal_handlers(master);
  if (master && node_data && node_data->shared_bytes() > 0 && !options.quiet) {
    const double mib = static_cast<double>(node_data->shared_bytes()) / (1024.0 * 1024.0);
    std::fprintf(stderr, "msweep: data shared by the %d ranks of this node: one copy of %.*f %s (MSWEEP_SHARED_DATA=0 turns sharing off)\n",
                 node_data->node_size(), mib < 1.0 ? 0 : 1, mib < 1.0 ? mib * 1024.0 : mib, mib < 1.0 ? "KiB" : "MiB");
  }
  if (master && !share_data && world.size() > 1 && !options.quiet)
    std::fprintf(stderr, "msweep: MSWEEP_SHARED_DATA is off: every rank holds its own copy of the data\n");
  std::vector<std::string> hosts;
  boost::mpi::all_gather(world, rank_host_name(boost::mpi::environment::processor_name()), hosts);

  const Experiment& experiment = *job.experiment;
  const TaskShape shape = task_shape(experiment);
  const std::int32_t rank = world.rank();
  const bool inject_throw = test_fault() == "worker-throw";
  const std::filesystem::path hang_dir = test_fault_dir("task-hang");
  std::uint64_t tasks_begun = 0;  // on this rank; read only by the thread that runs tasks
  TaskFunction task = [&](TaskId id) {
    ++tasks_begun;
    if (inject_throw && tasks_begun == 1)
      throw FarmError("injected fault on the first task of rank " + std::to_string(rank) + " (MSWEEP_TEST_FAULT=worker-throw)");
    if (!hang_dir.empty() && tasks_begun == 2) {
      touch(hang_dir / ("hang." + std::to_string(rank)));
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    return execute_task(experiment, shape, id, rank);
  };
  FarmOptions farm_options;
  farm_options.batches_in_flight = options.batches_in_flight;
  farm_options.target_batch_seconds = options.batch_seconds;
  farm_options.stop_grace_seconds = options.stop_grace_seconds;
  farm_options.worker_timeout_seconds = options.worker_timeout_seconds;

  if (!master) return run_worker(world, task, farm_options);
  MasterRun session(options, job, output, mode, world, program);
  try {
    return session.run(hosts, task, farm_options);
  } catch (...) {
    session.fail(std::current_exception());
  }
}

}  // namespace msweep::app
