// Task farm over MPI: rank 0 schedules, every other rank computes. The farm moves ranges of
// task positions and TaskResults only; what a task computes is the caller's TaskFunction.
//
// Scheduling is dynamic: each worker keeps several batches in flight, and the batch size
// adapts to the measured task time (about target_batch_seconds of work per message, smaller
// near the end so the tail balances). Neither the master nor an idle worker spins in a
// blocking receive (Open MPI busy-polls there): they Iprobe and sleep with backoff. The master
// never blocks at all: results arrive through nonblocking receives it tests on every poll, so
// it serves signals, flushes and timeouts however large the results and however busy it is.
//
// Failures: an exception on a worker (its task function throwing, a protocol error) is sent
// to the master as a `failed` message and rethrown on the worker; run_farm on the master
// then throws FarmError("rank N: ...") so the caller can save its file and abort the job.
#pragma once
#include <boost/mpi/communicator.hpp>
#include <cstdint>
#include <functional>
#include <vector>

#include "msweep/core/task.hpp"
#include "msweep/farm/task_space.hpp"

namespace msweep {

struct FarmOptions {
  int batches_in_flight = 3;            // per worker; >= 2 hides the round trip
  double target_batch_seconds = 0.02;   // work per message once task times are known
  std::size_t max_batch_tasks = 8192;
  // Ranges of consecutive pending tasks per work message (a resumed run's holes split them):
  // 64 ranges are 1 KiB, always sent eagerly, so the master never blocks on a busy worker.
  std::size_t max_ranges_per_message = 64;
  double max_poll_sleep_seconds = 0.002;  // cap of the idle backoff (latency vs CPU)
  double stop_grace_seconds = 30.0;     // after should_stop: wait this long for in-flight tasks
  // A worker holding work that sends nothing for this long is taken as hung: run_farm throws
  // FarmError (the caller saves and aborts). 0: wait forever. A dead worker needs no timeout:
  // the MPI runtime aborts the whole job when a rank dies.
  double worker_timeout_seconds = 0.0;
};

struct FarmCallbacks {
  std::function<void(std::vector<TaskResult>&&)> on_results;  // master: every result, once
  // master: housekeeping (flush by time, progress), called on every poll whether or not
  // results arrived, so a saturated master still flushes. Keep it cheap when nothing is due.
  std::function<void()> on_tick;
  std::function<bool()> should_stop;     // master: stop dispatching, collect running tasks
  // master: stop now, without waiting for running tasks (a second signal). run_farm returns
  // with `abandoned` > 0; the caller must then end the process without destroying anything
  // the task function uses (a local task may still be running on its thread; remote ones
  // are ended by aborting the job).
  std::function<bool()> should_abandon;
};

struct FarmSummary {
  std::uint64_t completed = 0;       // results received
  std::uint64_t abandoned = 0;       // work messages (locally: tasks) left running: grace over, or abandoned
  bool stopped_early = false;        // should_stop() returned true before all tasks ran
  int workers = 0;                   // 0 when run locally
  double wall_seconds = 0.0;
  double master_cpu_seconds = 0.0;   // CPU used by the master process during the farm
  std::uint64_t messages = 0;        // work messages sent
};

using TaskFunction = std::function<TaskResult(TaskId)>;

// Runs the pending tasks of `tasks` (meaningful on rank 0 only: workers pass an empty space)
// over all ranks of `comm`; every rank calls it. Workers learn (first, stride) once and then
// receive ranges of positions, never a list of ids, so no worker's memory depends on the task
// count. The master marks each result's task done in `tasks` as it arrives (a result for a task
// outside the space or already done is a protocol error: FarmError). With one rank the tasks
// run locally in order. The summary is meaningful on rank 0.
FarmSummary run_farm(const boost::mpi::communicator& comm, TaskSpace tasks, const TaskFunction& task,
                     const FarmCallbacks& callbacks, const FarmOptions& options);

// One-process executor with the same callbacks (used by run_farm for a single rank). Tasks run
// on one helper thread while the calling thread plays the master (callbacks, stop requests),
// so a stop-now request is served even in the middle of an hour-long task. Callbacks run on
// the calling thread only. If a callback throws, the exception propagates at once and the
// running task (if any) is left to finish on its detached thread: end the process then.
FarmSummary run_local(TaskSpace tasks, const TaskFunction& task, const FarmCallbacks& callbacks, const FarmOptions& options);

}  // namespace msweep
