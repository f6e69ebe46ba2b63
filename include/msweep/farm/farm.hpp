// Task farm over MPI: rank 0 schedules, every other rank computes. The farm moves task ids
// and TaskResults only; what a task computes is the caller's TaskFunction.
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
#include <limits>
#include <vector>

#include "msweep/core/task.hpp"

namespace msweep {

struct FarmOptions {
  int batches_in_flight = 3;            // per worker; >= 2 hides the round trip
  double target_batch_seconds = 0.02;   // work per message once task times are known
  std::size_t max_batch_tasks = 8192;
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

// The pending list is broadcast once as one serialized message whose byte count is an MPI
// int: more ids than this cannot be distributed. Callers refuse such a job up front.
constexpr std::uint64_t kMaxPendingTasks = (static_cast<std::uint64_t>(std::numeric_limits<int>::max()) - 4096) / sizeof(TaskId);

// Runs `pending` (meaningful on rank 0 only) over all ranks of `comm`. Every rank calls it.
// With one rank the tasks run locally in order. The summary is meaningful on rank 0.
FarmSummary run_farm(const boost::mpi::communicator& comm, std::vector<TaskId> pending, const TaskFunction& task,
                     const FarmCallbacks& callbacks, const FarmOptions& options);

// One-process executor with the same callbacks (used by run_farm for a single rank). Tasks run
// on one helper thread while the calling thread plays the master (callbacks, stop requests),
// so a stop-now request is served even in the middle of an hour-long task. Callbacks run on
// the calling thread only. If a callback throws, the exception propagates at once and the
// running task (if any) is left to finish on its detached thread: end the process then.
FarmSummary run_local(std::vector<TaskId> pending, const TaskFunction& task, const FarmCallbacks& callbacks,
                      const FarmOptions& options);

}  // namespace msweep
