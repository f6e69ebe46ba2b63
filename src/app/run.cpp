// msweep run: validate, start MPI, farm the pending tasks, store results as they arrive.
#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>

#include "cluster.hpp"
#include "commands.hpp"
#include "job_setup.hpp"
#include "msweep/core/progress.hpp"
#include "msweep/farm/farm.hpp"

namespace msweep::app {
namespace {

// Signals only set a counter; the master's loop reads it. First signal: stop dispatching,
// collect running tasks within the grace time, flush, mark interrupted. Second: flush now.
volatile std::sig_atomic_t g_stop_signals = 0;
volatile std::sig_atomic_t g_last_signal = 0;

extern "C" void on_stop_signal(int signal) {
  g_stop_signals = g_stop_signals + 1;
  g_last_signal = signal;
}

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

struct Interrupted {};

// Makes the missing directories above `output`. check_output found the nearest existing one
// writable, but creation can still fail (a read-only or special file system, a name too
// long): then the directories made here are removed again and the error is bad input, so
// exit status 2 keeps meaning "nothing was created".
void create_parent_directories(const std::string& output) {
  namespace fs = std::filesystem;
  std::vector<fs::path> missing;
  std::error_code ec;
  for (fs::path dir = fs::absolute(output, ec).parent_path(); !dir.empty() && !fs::exists(dir, ec); dir = dir.parent_path()) {
    missing.push_back(dir);
    if (dir == dir.parent_path()) break;
  }
  // missing[0] is the deepest: create from the back, undo from the deepest made.
  for (std::size_t i = missing.size(); i-- > 0;) {
    if (fs::create_directory(missing[i], ec) || !ec) continue;
    const std::string reason = ec.message();
    for (std::size_t made = i + 1; made < missing.size(); ++made) fs::remove(missing[made], ec);
    throw InputError(output + ": cannot create the directory " + missing[i].string() + ": " + reason);
  }
}

}  // namespace

// True when a launcher started peers of this process (mpirun, srun): they will reach the
// same verdict on the input, and must not exit before rank 0 has printed it.
bool launched_with_peers() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char* value = std::getenv(name)) return std::atoi(value) > 1;
  return false;
}

int run(RunOptions options, int& argc, char**& argv) {
  // Everything that can be wrong with the input is found here, before MPI starts.
  PreparedJob job;
  std::string output;
  OutputMode mode;
  try {
    job = prepare_job(options.job_path);
    apply_shard(options.shard, job);
    output = options.output_path.empty() ? job.spec.output_path : options.output_path;
    mode = check_output(output, job, options.resume, options.force);
  } catch (const InputError& error) {
    if (!launched_with_peers()) throw;
    // Every rank found the same error. Rank 0 prints it once; the barrier keeps the others
    // from exiting first, which would make the launcher kill rank 0 before it prints.
    if (is_primary_rank()) std::fprintf(stderr, "msweep: error: %s\n", error.what());
    std::fflush(stderr);
    boost::mpi::environment environment(argc, argv, boost::mpi::threading::single, true);
    boost::mpi::communicator().barrier();
    return static_cast<int>(error.status());
  }

  boost::mpi::environment environment(argc, argv, boost::mpi::threading::single, true);
  boost::mpi::communicator world;
  const bool master = world.rank() == 0;
  install_signal_handlers(master);
  std::vector<std::string> hosts;
  boost::mpi::all_gather(world, rank_host_name(boost::mpi::environment::processor_name()), hosts);

  // Rank 0 opens the file; if that fails every rank must learn it before the farm starts.
  std::optional<ResultWriter> writer;
  std::vector<TaskId> pending;
  std::string open_error;
  int open_status = 0;
  if (master) {
    try {
      RunProvenance provenance{world.size(), join_unique_hosts(hosts), cluster_provenance(hosts)};
      WriterOptions writer_options{static_cast<std::size_t>(job.spec.store_batch_rows), job.spec.flush_seconds};
      create_parent_directories(output);
      const bool resume = mode == OutputMode::resume;
      writer.emplace(resume ? ResultWriter::resume(output, job.layout, provenance, writer_options, options.force)
                            : ResultWriter::create(output, job.layout, provenance, writer_options, mode == OutputMode::replace));
      std::vector<bool> stored(job.experiment->grid().size(), false);
      for (TaskId id : writer->stored_ids()) stored[id] = true;
      // A shard runs every shard_count-th task: deterministic, and each shard gets a share
      // of every structure (ids vary fastest along run and fold), so shards take similar times.
      for (TaskId id = job.layout.shard_index; id < stored.size(); id += job.layout.shard_count)
        if (!stored[id]) pending.push_back(id);
      print_recovery(output, writer->recovery());
    } catch (const Error& error) {
      open_error = error.what();
      open_status = static_cast<int>(error.status());
    } catch (const std::exception& error) {
      open_error = output + ": " + error.what();
      open_status = static_cast<int>(ExitStatus::runtime_error);
    }
  }
  boost::mpi::broadcast(world, open_status, 0);
  if (open_status != 0) {
    if (master) std::fprintf(stderr, "msweep: error: %s\n", open_error.c_str());
    return open_status;
  }

  const Experiment& experiment = *job.experiment;
  const std::int32_t rank = world.rank();
  TaskFunction task = [&](TaskId id) { return execute_task(experiment, id, rank); };
  FarmOptions farm_options;
  farm_options.batches_in_flight = options.batches_in_flight;
  farm_options.target_batch_seconds = options.batch_seconds;
  farm_options.stop_grace_seconds = options.stop_grace_seconds;
  farm_options.worker_timeout_seconds = options.worker_timeout_seconds;

  if (!master) {
    run_farm(world, {}, task, {}, farm_options);
    return 0;
  }

  const std::uint64_t total = shard_task_count(job.layout);
  const std::uint64_t already = writer->rows_committed();
  ProgressOptions progress_options;
  progress_options.enabled = !options.quiet;
  progress_options.interval_seconds = options.progress_seconds;
  ProgressReporter progress(total, already, progress_options);
  const std::string shard_text = job.layout.shard_count > 1 ? " (shard " + std::to_string(job.layout.shard_index) + "/" +
                                                                   std::to_string(job.layout.shard_count) + ")"
                                                             : "";
  if (!options.quiet)
    std::fprintf(stderr, "msweep: job %s (%s): %llu tasks%s, %llu to run on %d rank%s -> %s\n", job.spec.name.c_str(),
                 job.spec.kind.c_str(), static_cast<unsigned long long>(total), shard_text.c_str(),
                 static_cast<unsigned long long>(pending.size()), world.size(), world.size() > 1 ? "s" : "", output.c_str());

  std::uint64_t failed_now = 0;
  FarmCallbacks callbacks;
  callbacks.on_results = [&](std::vector<TaskResult>&& results) {
    std::uint64_t failed = 0;
    for (const auto& r : results) failed += r.status == TaskStatus::failed;
    failed_now += failed;
    writer->append(results);
    progress.add(results.size(), failed);
  };
  callbacks.on_idle = [&]() {
    if (g_stop_signals > 1) throw Interrupted{};
    if (writer->flush_due()) writer->flush();
    progress.tick();
  };
  callbacks.should_stop = [&]() { return g_stop_signals > 0; };

  WallTimer wall;
  FarmSummary farm;
  bool interrupted = false;
  try {
    farm = run_farm(world, std::move(pending), task, callbacks, farm_options);
    interrupted = farm.stopped_early;
  } catch (const Interrupted&) {
    interrupted = true;
    farm.abandoned = 1;  // workers are mid-task: they are aborted below
  } catch (const Error& error) {
    std::fprintf(stderr, "\nmsweep: error: %s\n", error.what());
    try {
      writer->finish(RunStatus::interrupted, wall.seconds());
    } catch (...) {
    }
    if (world.size() > 1) world.abort(static_cast<int>(error.status()));
    return static_cast<int>(error.status());
  }
  progress.finish();

  const std::uint64_t stored = writer->rows_committed() + writer->rows_buffered();
  const bool complete = !interrupted && stored == total;
  const SummaryTable summary = writer->finish(complete ? RunStatus::complete : RunStatus::interrupted, wall.seconds());
  std::uint64_t failed_total = 0;
  for (auto f : summary.failed_count) failed_total += f;

  // Throughput and the master's CPU share are those of the farm phase (results stored as they
  // arrive); the total includes the end-of-run summaries computed from the file.
  const double seconds = std::max(wall.seconds(), 1e-9);
  const double farm_seconds = std::max(farm.wall_seconds, 1e-9);
  std::printf("msweep: %s %s: %llu of %llu tasks stored, %llu failed; this run: %llu tasks in %s on %d rank%s (%.0f tasks/s while farming, %s %.1f%%)\n",
              complete ? "wrote" : "interrupted,", output.c_str(), static_cast<unsigned long long>(stored),
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(failed_total),
              static_cast<unsigned long long>(farm.completed), ProgressReporter::format_duration(seconds).c_str(), world.size(),
              world.size() > 1 ? "s" : "", static_cast<double>(farm.completed) / farm_seconds,
              world.size() > 1 ? "master CPU" : "CPU", 100.0 * farm.master_cpu_seconds / farm_seconds);
  if (complete) {
    const std::string report = experiment.report(summary);
    if (!report.empty()) std::printf("%s", report.c_str());
  } else {
    const std::string shard_option = job.layout.shard_count > 1 ? " --shard " + std::to_string(job.layout.shard_index) + "/" +
                                                                     std::to_string(job.layout.shard_count)
                                                               : "";
    std::printf("msweep: resume with: msweep run %s -o %s --resume%s\n", job.spec.path.c_str(), output.c_str(), shard_option.c_str());
  }
  std::fflush(stdout);
  if (interrupted && farm.abandoned > 0 && world.size() > 1) world.abort(static_cast<int>(ExitStatus::interrupted));
  if (interrupted) return static_cast<int>(ExitStatus::interrupted);
  return failed_total > 0 ? static_cast<int>(ExitStatus::tasks_failed) : 0;
}

}  // namespace msweep::app
