// Wall-clock and process-CPU timers used for task timing, progress and benchmarks.
#pragma once
#include <chrono>
#include <string>

namespace msweep {

class WallTimer {
 public:
  WallTimer() : start_(std::chrono::steady_clock::now()) {}
  void reset() { start_ = std::chrono::steady_clock::now(); }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// CPU seconds (user + system) this process has used so far.
double process_cpu_seconds();

// Seconds since the Unix epoch, and the same instant as an ISO 8601 UTC string.
double unix_time_now();
std::string iso8601_utc(double unix_seconds);

}  // namespace msweep
