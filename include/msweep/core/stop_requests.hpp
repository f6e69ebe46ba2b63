// Counts requests to stop a run, from a signal handler: the first asks for a graceful stop,
// the second for an immediate one. A SIGTERM repeated within kRepeatWindowNs counts as one:
// at a Slurm time limit every rank receives SIGTERM twice, about 18 ms apart (once from its
// step, once from srun), and that is one request, not the "second signal". Other signals
// count each time (a user's second Ctrl-C or USR1 means "now").
// record() is async-signal-safe (lock-free atomics only); the clock is passed in so that the
// rule is tested without timing anything.
#pragma once
#include <atomic>
#include <cstdint>

namespace msweep {

class StopRequests {
 public:
  static constexpr std::int64_t kRepeatWindowNs = 500'000'000;

  // Called from the handler with the signal and a monotonic time in nanoseconds.
  void record(int signal, std::int64_t now_ns) noexcept;

  int count() const noexcept { return count_.load(); }
  int last_signal() const noexcept { return last_signal_.load(); }
  int repeats_merged() const noexcept { return repeats_merged_.load(); }  // SIGTERMs counted as the same request

 private:
  std::atomic<int> count_{0}, last_signal_{0}, repeats_merged_{0};
  std::atomic<std::int64_t> last_ns_{0};
  static_assert(std::atomic<int>::is_always_lock_free && std::atomic<std::int64_t>::is_always_lock_free,
                "used from a signal handler");
};

// CLOCK_MONOTONIC in nanoseconds (async-signal-safe).
std::int64_t monotonic_ns() noexcept;

}  // namespace msweep
