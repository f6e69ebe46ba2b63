#include "msweep/core/stop_requests.hpp"

#include <csignal>
#include <ctime>

namespace msweep {

void StopRequests::record(int signal, std::int64_t now_ns) noexcept {
  const bool repeat = signal == SIGTERM && count_.load() > 0 && last_signal_.load() == signal &&
                      now_ns - last_ns_.load() < kRepeatWindowNs;
  if (repeat)
    repeats_merged_.fetch_add(1);
  else
    count_.fetch_add(1);
  last_signal_.store(signal);
  last_ns_.store(now_ns);
}

std::int64_t monotonic_ns() noexcept {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

}  // namespace msweep
