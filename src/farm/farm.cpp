#include "msweep/farm/farm.hpp"

#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/nonblocking.hpp>
#include <boost/mpi/status.hpp>
#include <algorithm>
#include <cmath>
#include <thread>

#include "msweep/core/error.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/farm/protocol.hpp"

namespace msweep {
namespace {

// Idle wait that starts short (low latency when messages are imminent) and backs off to a
// cap (near-zero CPU when they are not). Sleeping ~85 us is the floor on these machines.
class Backoff {
 public:
  explicit Backoff(double cap_seconds) : cap_(std::max(cap_seconds, 50e-6)) {}
  void reset() { current_ = 50e-6; }
  void wait() {
    std::this_thread::sleep_for(std::chrono::duration<double>(current_));
    current_ = std::min(current_ * 2.0, cap_);
  }

 private:
  double cap_;
  double current_ = 50e-6;
};

// Batch sizes from an exponential moving average of task wall time.
class BatchSizer {
 public:
  BatchSizer(const FarmOptions& options, int workers) : options_(options), workers_(workers) {}

  void observe(const std::vector<TaskResult>& results) {
    for (const auto& r : results) {
      mean_ = seen_ == 0 ? r.wall_seconds : 0.9 * mean_ + 0.1 * r.wall_seconds;
      ++seen_;
    }
  }

  std::size_t next(std::size_t remaining) const {
    // Before any result arrives, probe with single tasks: heavy tasks then never get
    // stuck in one oversized first batch.
    std::size_t size = 1;
    if (seen_ > 0) {
      const double per_task = std::max(mean_, 1e-7);
      size = static_cast<std::size_t>(std::clamp(options_.target_batch_seconds / per_task, 1.0,
                                                 static_cast<double>(options_.max_batch_tasks)));
    }
    // Near the end, split what is left so every worker still gets a share.
    const std::size_t fair = std::max<std::size_t>(1, remaining / (static_cast<std::size_t>(workers_) * 4));
    return std::max<std::size_t>(1, std::min({size, fair, remaining}));
  }

 private:
  const FarmOptions& options_;
  int workers_;
  double mean_ = 0.0;
  std::uint64_t seen_ = 0;
};

void worker_loop(const boost::mpi::communicator& comm, const std::vector<TaskId>& pending, const TaskFunction& task,
                 const FarmOptions& options) {
  Backoff backoff(options.max_poll_sleep_seconds);
  std::vector<TaskResult> results;
  // Results go out with isend so the worker computes its next batch while the master
  // receives: a large blocking send would wait (busy-polling a core) for the master's
  // next poll. The previous send is completed before the next starts; by then it is done.
  boost::mpi::request sending;
  bool sending_active = false;
  auto complete_send = [&]() {
    if (!sending_active) return;
    while (!sending.test()) backoff.wait();
    backoff.reset();
    sending_active = false;
  };
  bool cancelled = false;
  for (;;) {
    // A cancel is looked for ahead of queued work messages: work not yet started is skipped.
    if (!cancelled && comm.iprobe(0, tag(Tag::cancel))) {
      comm.recv(0, tag(Tag::cancel));
      cancelled = true;
    }
    auto status = comm.iprobe(0, boost::mpi::any_tag);
    if (!status) {
      backoff.wait();
      continue;
    }
    backoff.reset();
    if (status->tag() == tag(Tag::stop)) {
      complete_send();
      int cancel_sent = 0;
      comm.recv(0, tag(Tag::stop), cancel_sent);
      if (cancel_sent && !cancelled) comm.recv(0, tag(Tag::cancel));
      return;
    }
    if (status->tag() == tag(Tag::cancel)) continue;  // received by the look-ahead above
    if (status->tag() != tag(Tag::work)) throw FarmError("worker " + std::to_string(comm.rank()) + ": unexpected message tag " + std::to_string(status->tag()));
    std::uint64_t slice[2];
    comm.recv(0, tag(Tag::work), slice, 2);
    if (slice[0] > slice[1] || slice[1] > pending.size()) throw FarmError("worker: work slice outside the pending list");
    results.clear();
    results.reserve(slice[1] - slice[0]);
    for (std::uint64_t i = slice[0]; i < slice[1] && !cancelled; ++i) results.push_back(task(pending[i]));
    complete_send();
    sending = comm.isend(0, tag(Tag::results), results);
    sending_active = true;
  }
}

FarmSummary master_loop(const boost::mpi::communicator& comm, const std::vector<TaskId>& pending,
                        const FarmCallbacks& callbacks, const FarmOptions& options) {
  const int workers = comm.size() - 1;
  const double cpu_start = process_cpu_seconds();
  WallTimer wall;
  FarmSummary summary;
  summary.workers = workers;

  BatchSizer sizer(options, workers);
  std::vector<int> in_flight(static_cast<std::size_t>(comm.size()), 0);
  // Per worker: time since it last returned results (or was given work while idle).
  std::vector<WallTimer> last_heard(static_cast<std::size_t>(comm.size()));
  std::uint64_t next = 0, outstanding = 0;
  bool stopping = false;
  WallTimer since_stop;

  auto dispatch = [&](int worker) {
    const std::size_t size = sizer.next(pending.size() - next);
    std::uint64_t slice[2] = {next, next + size};
    if (in_flight[static_cast<std::size_t>(worker)] == 0) last_heard[static_cast<std::size_t>(worker)].reset();
    comm.send(worker, tag(Tag::work), slice, 2);
    next += size;
    ++in_flight[static_cast<std::size_t>(worker)];
    ++outstanding;
    ++summary.messages;
  };
  for (int round = 0; round < options.batches_in_flight; ++round)
    for (int w = 1; w <= workers && next < pending.size(); ++w) dispatch(w);

  Backoff backoff(options.max_poll_sleep_seconds);
  std::vector<TaskResult> results;
  while (outstanding > 0) {
    bool received = false;
    while (auto status = comm.iprobe(boost::mpi::any_source, tag(Tag::results))) {
      const int worker = status->source();
      comm.recv(worker, tag(Tag::results), results);
      last_heard[static_cast<std::size_t>(worker)].reset();
      --in_flight[static_cast<std::size_t>(worker)];
      --outstanding;
      sizer.observe(results);
      summary.completed += results.size();
      // Refill before handing results on, so the worker never waits on our bookkeeping.
      if (!stopping && next < pending.size()) dispatch(worker);
      if (callbacks.on_results) callbacks.on_results(std::move(results));
      results = {};
      received = true;
    }
    if (!stopping && callbacks.should_stop && callbacks.should_stop()) {
      stopping = true;
      since_stop.reset();
      // Workers skip the batches queued behind the one they are computing.
      for (int w = 1; w <= workers; ++w) comm.send(w, tag(Tag::cancel));
    }
    if (stopping && outstanding > 0 && since_stop.seconds() > options.stop_grace_seconds) break;
    if (options.worker_timeout_seconds > 0 && !received)
      for (int w = 1; w <= workers; ++w)
        if (in_flight[static_cast<std::size_t>(w)] > 0 && last_heard[static_cast<std::size_t>(w)].seconds() > options.worker_timeout_seconds)
          throw FarmError("worker rank " + std::to_string(w) + " returned nothing for " +
                          std::to_string(static_cast<long long>(last_heard[static_cast<std::size_t>(w)].seconds())) +
                          " s while holding work (hung? see --worker-timeout)");
    if (received) {
      backoff.reset();
    } else {
      if (callbacks.on_idle) callbacks.on_idle();
      backoff.wait();
    }
  }
  // Counted, not inferred from dispatch: cancelled workers return fewer results than sent.
  summary.stopped_early = summary.completed < pending.size();
  // Workers still computing after the grace cannot be told to stop mid-task: the caller
  // aborts them. Otherwise every worker is idle and is released.
  summary.abandoned = outstanding;
  if (outstanding == 0) {
    const int cancel_sent = stopping ? 1 : 0;
    for (int w = 1; w <= workers; ++w) comm.send(w, tag(Tag::stop), cancel_sent);
  }
  summary.wall_seconds = wall.seconds();
  summary.master_cpu_seconds = process_cpu_seconds() - cpu_start;
  return summary;
}

}  // namespace

FarmSummary run_local(const std::vector<TaskId>& pending, const TaskFunction& task, const FarmCallbacks& callbacks,
                      const FarmOptions& options) {
  const double cpu_start = process_cpu_seconds();
  WallTimer wall, since_callback;
  FarmSummary summary;
  std::vector<TaskResult> batch;
  auto hand_over = [&]() {
    if (batch.empty()) return;
    summary.completed += batch.size();
    if (callbacks.on_results) callbacks.on_results(std::move(batch));
    batch = {};
    if (callbacks.on_idle) callbacks.on_idle();
    since_callback.reset();
  };
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (callbacks.should_stop && callbacks.should_stop()) {
      summary.stopped_early = true;
      break;
    }
    batch.push_back(task(pending[i]));
    // Hand results over in slices of about target_batch_seconds, as the master would receive them.
    if (since_callback.seconds() >= options.target_batch_seconds || batch.size() >= options.max_batch_tasks) hand_over();
  }
  hand_over();
  summary.wall_seconds = wall.seconds();
  summary.master_cpu_seconds = process_cpu_seconds() - cpu_start;
  return summary;
}

FarmSummary run_farm(const boost::mpi::communicator& comm, std::vector<TaskId> pending, const TaskFunction& task,
                     const FarmCallbacks& callbacks, const FarmOptions& options) {
  if (comm.size() == 1) return run_local(pending, task, callbacks, options);
  boost::mpi::broadcast(comm, pending, 0);
  if (comm.rank() == 0) return master_loop(comm, pending, callbacks, options);
  worker_loop(comm, pending, task, options);
  return {};
}

}  // namespace msweep
