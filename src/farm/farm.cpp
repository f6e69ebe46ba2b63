#include "msweep/farm/farm.hpp"

#include <mpi.h>

#include <atomic>
#include <boost/mpi/collectives/broadcast.hpp>
#include <boost/mpi/datatype.hpp>
#include <boost/mpi/exception.hpp>
#include <boost/mpi/packed_iarchive.hpp>
#include <boost/mpi/packed_oarchive.hpp>
#include <boost/mpi/status.hpp>
#include <algorithm>
#include <climits>
#include <cmath>
#include <exception>
#include <memory>
#include <mutex>
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

// One results message leaving a worker: its byte count, then the packed bytes. At most one is
// in transit per worker; test() moves it along (over TCP a large message only progresses
// while this process is inside MPI, so the worker calls test() between tasks).
class ResultSender {
 public:
  explicit ResultSender(const boost::mpi::communicator& comm) : comm_(comm) {}
  ResultSender(const ResultSender&) = delete;
  ResultSender& operator=(const ResultSender&) = delete;
  // A send still in transit when the worker leaves by an exception keeps its buffer: MPI may
  // read it until the job is aborted.
  ~ResultSender() {
    if (active_) (void)archive_.release();
  }

  // True when nothing is left in transit.
  bool test() {
    if (!active_) return true;
    int done = 0;
    BOOST_MPI_CHECK_RESULT(MPI_Testall, (2, requests_, &done, MPI_STATUSES_IGNORE));
    if (done) {
      active_ = false;
      archive_.reset();
    }
    return !active_;
  }

  void send(const std::vector<TaskResult>& results) {
    archive_ = std::make_unique<boost::mpi::packed_oarchive>(comm_);
    *archive_ << results;
    bytes_ = archive_->size();
    if (bytes_ > static_cast<std::uint64_t>(INT_MAX))
      throw FarmError("worker " + std::to_string(comm_.rank()) + ": a batch of " + std::to_string(results.size()) +
                      " results packs to " + std::to_string(bytes_) + " bytes, more than one MPI message holds (2 GiB); "
                      "lower --batch-seconds");
    BOOST_MPI_CHECK_RESULT(MPI_Isend, (&bytes_, 1, boost::mpi::get_mpi_datatype(bytes_), 0, tag(Tag::results), MPI_Comm(comm_),
                                       &requests_[0]));  // the type Boost receives it as
    BOOST_MPI_CHECK_RESULT(MPI_Isend, (archive_->address(), static_cast<int>(bytes_), MPI_PACKED, 0, tag(Tag::results_data),
                                       MPI_Comm(comm_), &requests_[1]));
    active_ = true;
  }

 private:
  const boost::mpi::communicator& comm_;
  std::unique_ptr<boost::mpi::packed_oarchive> archive_;
  std::uint64_t bytes_ = 0;
  MPI_Request requests_[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
  bool active_ = false;
};

// Results messages arriving at the master: each announced byte count gets a posted MPI_Irecv,
// tested on every poll, so the master never waits for a worker to push its bytes.
class ResultInbox {
 public:
  explicit ResultInbox(const boost::mpi::communicator& comm) : comm_(comm) {}
  ResultInbox(const ResultInbox&) = delete;
  ResultInbox& operator=(const ResultInbox&) = delete;
  // Receives still posted when the master leaves by an exception or abandons its workers keep
  // their buffers: MPI may write into them until the job is aborted.
  ~ResultInbox() {
    for (auto& in : inbound_) (void)in.release();
  }

  // Posts a receive for every announced results message; calls announced(worker) for each.
  template <class Announced>
  void accept(Announced&& announced) {
    while (auto status = comm_.iprobe(boost::mpi::any_source, tag(Tag::results))) {
      const int worker = status->source();
      std::uint64_t bytes = 0;
      comm_.recv(worker, tag(Tag::results), bytes);  // one uint64, already here: does not block
      if (bytes > static_cast<std::uint64_t>(INT_MAX))
        throw FarmError("worker rank " + std::to_string(worker) + " announced a results message of " + std::to_string(bytes) + " bytes");
      auto in = std::make_unique<Inbound>(comm_, worker);
      in->archive.resize(bytes);
      BOOST_MPI_CHECK_RESULT(MPI_Irecv, (in->archive.address(), static_cast<int>(bytes), MPI_PACKED, worker,
                                         tag(Tag::results_data), MPI_Comm(comm_), &in->request));
      inbound_.push_back(std::move(in));
      announced(worker);
    }
  }

  // Hands every completely received message to received(worker, results); true if any.
  template <class Received>
  bool collect(Received&& received) {
    bool any = false;
    for (std::size_t i = 0; i < inbound_.size();) {
      int done = 0;
      BOOST_MPI_CHECK_RESULT(MPI_Test, (&inbound_[i]->request, &done, MPI_STATUS_IGNORE));
      if (!done) {
        ++i;
        continue;
      }
      std::unique_ptr<Inbound> in = std::move(inbound_[i]);
      inbound_.erase(inbound_.begin() + static_cast<std::ptrdiff_t>(i));
      std::vector<TaskResult> results;
      in->archive >> results;
      received(in->worker, std::move(results));
      any = true;
    }
    return any;
  }

 private:
  struct Inbound {
    Inbound(const boost::mpi::communicator& comm, int source) : worker(source), archive(comm) {}
    int worker;
    boost::mpi::packed_iarchive archive;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  const boost::mpi::communicator& comm_;
  std::vector<std::unique_ptr<Inbound>> inbound_;
};

// A work message: ranges [begin, end) of positions, as 2k uint64. Checked, since a worker
// computes whatever it is told.
std::vector<PositionRange> receive_work(const boost::mpi::communicator& comm, const boost::mpi::status& status,
                                        const FarmOptions& options) {
  const auto values = status.count<std::uint64_t>();
  if (!values || *values <= 0 || *values % 2 != 0 || static_cast<std::size_t>(*values) > 2 * options.max_ranges_per_message)
    throw FarmError("worker " + std::to_string(comm.rank()) + ": malformed work message");
  std::vector<std::uint64_t> bounds(static_cast<std::size_t>(*values));
  comm.recv(0, tag(Tag::work), bounds.data(), *values);
  std::vector<PositionRange> ranges;
  for (std::size_t i = 0; i < bounds.size(); i += 2) {
    if (bounds[i] >= bounds[i + 1]) throw FarmError("worker " + std::to_string(comm.rank()) + ": empty or reversed work range");
    ranges.push_back({bounds[i], bounds[i + 1]});
  }
  return ranges;
}

void worker_loop(const boost::mpi::communicator& comm, const TaskSpace& space, const TaskFunction& task,
                 const FarmOptions& options) {
  Backoff backoff(options.max_poll_sleep_seconds);
  std::vector<TaskResult> results;
  // Results go out nonblocking so the worker computes its next batch while the master
  // receives: a large blocking send would wait (busy-polling a core) for the master's
  // next poll. The previous send is completed before the next starts; by then it is done.
  ResultSender sender(comm);
  auto complete_send = [&]() {
    while (!sender.test()) backoff.wait();
    backoff.reset();
  };
  bool cancelled = false;
  for (;;) {
    sender.test();
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
    const std::vector<PositionRange> ranges = receive_work(comm, *status, options);
    results.clear();
    for (const PositionRange& range : ranges)
      for (std::uint64_t position = range.begin; position < range.end && !cancelled; ++position) {
        results.push_back(task(space.id_at(position)));
        sender.test();  // keeps the previous results moving (cheap when nothing is in transit)
      }
    complete_send();
    sender.send(results);
  }
}

// Tells the master why this worker stops (best effort: the master prints it and aborts).
void report_worker_failure(const boost::mpi::communicator& comm, const std::string& what) {
  try {
    comm.send(0, tag(Tag::failed), what.substr(0, 2000));  // small: sent eagerly, does not block
  } catch (...) {
  }
}

// Marks every result's task done in `space`: each must be a task of the space not yet done.
void mark_results_done(TaskSpace& space, const std::vector<TaskResult>& results, int worker) {
  for (const auto& result : results) {
    const auto position = space.position_of(result.id);
    if (!position || !space.mark_done(*position))
      throw FarmError("rank " + std::to_string(worker) + " returned task " + std::to_string(result.id) +
                      (position ? ", which was already done" : ", which is not a task of this run"));
  }
}

FarmSummary master_loop(const boost::mpi::communicator& comm, TaskSpace& space, const FarmCallbacks& callbacks,
                        const FarmOptions& options) {
  const int workers = comm.size() - 1;
  const double cpu_start = process_cpu_seconds();
  WallTimer wall;
  FarmSummary summary;
  summary.workers = workers;

  BatchSizer sizer(options, workers);
  std::vector<int> in_flight(static_cast<std::size_t>(comm.size()), 0);
  // Per worker: time since it last announced results (or was given work while idle).
  std::vector<WallTimer> last_heard(static_cast<std::size_t>(comm.size()));
  const std::uint64_t pending = space.pending_count();
  std::uint64_t outstanding = 0;
  bool stopping = false;
  WallTimer since_stop;
  std::vector<std::uint64_t> bounds;  // the work message being sent

  auto dispatch = [&](int worker) {
    const std::vector<PositionRange> ranges = space.take(sizer.next(space.undispatched()), options.max_ranges_per_message);
    bounds.clear();
    for (const auto& range : ranges) bounds.insert(bounds.end(), {range.begin, range.end});
    if (in_flight[static_cast<std::size_t>(worker)] == 0) last_heard[static_cast<std::size_t>(worker)].reset();
    comm.send(worker, tag(Tag::work), bounds.data(), static_cast<int>(bounds.size()));
    ++in_flight[static_cast<std::size_t>(worker)];
    ++outstanding;
    ++summary.messages;
  };
  for (int round = 0; round < options.batches_in_flight; ++round)
    for (int w = 1; w <= workers && space.undispatched() > 0; ++w) dispatch(w);

  Backoff backoff(options.max_poll_sleep_seconds);
  ResultInbox inbox(comm);
  while (outstanding > 0) {
    if (callbacks.should_abandon && callbacks.should_abandon()) {
      // Running tasks cannot be interrupted: the caller aborts the workers.
      summary.abandoned = outstanding;
      break;
    }
    if (auto status = comm.iprobe(boost::mpi::any_source, tag(Tag::failed))) {
      std::string what;
      comm.recv(status->source(), tag(Tag::failed), what);
      throw FarmError("rank " + std::to_string(status->source()) + ": " + what);
    }
    inbox.accept([&](int worker) { last_heard[static_cast<std::size_t>(worker)].reset(); });
    const bool received = inbox.collect([&](int worker, std::vector<TaskResult>&& results) {
      last_heard[static_cast<std::size_t>(worker)].reset();
      --in_flight[static_cast<std::size_t>(worker)];
      --outstanding;
      sizer.observe(results);
      summary.completed += results.size();
      // Refill before handing results on, so the worker never waits on our bookkeeping.
      if (!stopping && space.undispatched() > 0) dispatch(worker);
      mark_results_done(space, results, worker);
      if (callbacks.on_results) callbacks.on_results(std::move(results));
    });
    if (!stopping && callbacks.should_stop && callbacks.should_stop()) {
      stopping = true;
      since_stop.reset();
      // Workers skip the batches queued behind the one they are computing.
      for (int w = 1; w <= workers; ++w) comm.send(w, tag(Tag::cancel));
    }
    if (stopping && outstanding > 0 && since_stop.seconds() > options.stop_grace_seconds) break;
    if (options.worker_timeout_seconds > 0)
      for (int w = 1; w <= workers; ++w)
        if (in_flight[static_cast<std::size_t>(w)] > 0 && last_heard[static_cast<std::size_t>(w)].seconds() > options.worker_timeout_seconds)
          throw FarmError("worker rank " + std::to_string(w) + " returned nothing for " +
                          std::to_string(static_cast<long long>(last_heard[static_cast<std::size_t>(w)].seconds())) +
                          " s while holding work (hung? see --worker-timeout)");
    // Every poll, busy or not: a master saturated with results still flushes by time.
    if (callbacks.on_tick) callbacks.on_tick();
    if (received) {
      backoff.reset();
    } else {
      backoff.wait();
    }
  }
  // Counted, not inferred from dispatch: cancelled workers return fewer results than sent.
  summary.stopped_early = summary.completed < pending;
  // Workers still computing after the grace (or abandoned) cannot be told to stop mid-task:
  // the caller aborts them. Otherwise every worker is idle and is released.
  if (summary.abandoned == 0) summary.abandoned = outstanding;
  if (outstanding == 0) {
    const int cancel_sent = stopping ? 1 : 0;
    for (int w = 1; w <= workers; ++w) comm.send(w, tag(Tag::stop), cancel_sent);
  }
  summary.wall_seconds = wall.seconds();
  summary.master_cpu_seconds = process_cpu_seconds() - cpu_start;
  return summary;
}

// What run_local's task thread shares with the calling thread. Owned jointly, so a thread
// left running (a callback threw, or the caller abandoned the run) never touches freed state.
struct LocalRun {
  TaskSpace space;  // read by the task thread only (done bits are those of the resume)
  TaskFunction task;
  std::atomic<bool> stop{false};
  std::mutex mutex;                // guards the members below
  std::vector<TaskResult> done;    // finished, not yet handed to the caller
  bool finished = false;           // the thread has left its loop
  std::exception_ptr error;        // the task function threw (execute_task never does)
};

void run_local_tasks(const std::shared_ptr<LocalRun>& run) {
  try {
    for (std::uint64_t position = 0; position < run->space.count(); ++position) {
      if (run->space.done(position)) continue;
      if (run->stop.load()) break;
      TaskResult result = run->task(run->space.id_at(position));
      const std::lock_guard<std::mutex> lock(run->mutex);
      run->done.push_back(std::move(result));
    }
  } catch (...) {
    const std::lock_guard<std::mutex> lock(run->mutex);
    run->error = std::current_exception();
  }
  const std::lock_guard<std::mutex> lock(run->mutex);
  run->finished = true;
}

}  // namespace

FarmSummary run_local(TaskSpace tasks, const TaskFunction& task, const FarmCallbacks& callbacks, const FarmOptions& options) {
  const double cpu_start = process_cpu_seconds();
  WallTimer wall;
  FarmSummary summary;
  const std::uint64_t total = tasks.pending_count();
  auto shared = std::make_shared<LocalRun>();
  shared->space = std::move(tasks);
  shared->task = task;
  std::thread thread([shared]() { run_local_tasks(shared); });
  Backoff backoff(options.max_poll_sleep_seconds);
  WallTimer since_stop;
  std::vector<TaskResult> batch;
  bool finished = false;
  std::exception_ptr error;
  try {
    for (;;) {
      {
        const std::lock_guard<std::mutex> lock(shared->mutex);
        batch.swap(shared->done);
        finished = shared->finished;
        error = shared->error;
      }
      const bool received = !batch.empty();
      if (received) {
        summary.completed += batch.size();
        if (callbacks.on_results) callbacks.on_results(std::move(batch));
        batch = {};
      }
      if (finished) break;  // its last results were taken above
      // The running task cannot be interrupted: abandoning it leaves it to its thread.
      const bool grace_over = shared->stop && since_stop.seconds() > options.stop_grace_seconds;
      if (grace_over || (callbacks.should_abandon && callbacks.should_abandon())) {
        summary.abandoned = 1;
        break;
      }
      if (!shared->stop && callbacks.should_stop && callbacks.should_stop()) {
        shared->stop = true;  // no task starts after the running one
        since_stop.reset();
      }
      if (callbacks.on_tick) callbacks.on_tick();
      if (received) {
        backoff.reset();
      } else {
        backoff.wait();
      }
    }
  } catch (...) {
    shared->stop = true;
    thread.detach();
    throw;
  }
  if (summary.abandoned > 0) {
    shared->stop = true;
    thread.detach();  // the running task cannot be interrupted: the caller ends the process
  } else {
    thread.join();
  }
  if (error) std::rethrow_exception(error);
  summary.stopped_early = summary.completed < total;
  summary.wall_seconds = wall.seconds();
  summary.master_cpu_seconds = process_cpu_seconds() - cpu_start;
  return summary;
}

FarmSummary run_farm(const boost::mpi::communicator& comm, TaskSpace tasks, const TaskFunction& task,
                     const FarmCallbacks& callbacks, const FarmOptions& options) {
  if (comm.size() == 1) return run_local(std::move(tasks), task, callbacks, options);
  std::uint64_t start[2] = {tasks.first(), tasks.stride()};
  boost::mpi::broadcast(comm, start, 2, 0);
  if (comm.rank() == 0) return master_loop(comm, tasks, callbacks, options);
  // A worker's space has no count and no bits: ranges come from the master, ids from (first, stride).
  const TaskSpace space(start[0], start[1], 0);
  try {
    worker_loop(comm, space, task, options);
  } catch (const std::exception& error) {
    report_worker_failure(comm, error.what());
    throw;
  } catch (...) {
    report_worker_failure(comm, "unknown exception");
    throw;
  }
  return {};
}

}  // namespace msweep
