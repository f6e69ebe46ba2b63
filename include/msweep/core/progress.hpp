// Progress of a long run on stderr: done/total, failed, tasks/s and ETA. On a terminal one
// line rewrites itself a few times a second; otherwise (logs, Slurm output files) a plain
// line is written every `interval` seconds so the log stays readable.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include "msweep/core/timer.hpp"

namespace msweep {

struct ProgressOptions {
  bool enabled = true;
  double interval_seconds = 10.0;  // between lines when stderr is not a terminal
  double terminal_interval_seconds = 0.25;
};

class ProgressReporter {
 public:
  // `already_done` tasks were stored before this run (resume): they count toward done,
  // not toward the rate.
  ProgressReporter(std::uint64_t total, std::uint64_t already_done, ProgressOptions options, std::FILE* stream = stderr);

  void add(std::uint64_t done, std::uint64_t failed);
  void tick();    // prints when the interval has passed
  void finish();  // final line (ends the rewriting line on a terminal)

  std::uint64_t done() const { return already_ + done_; }
  std::uint64_t failed() const { return failed_; }
  double rate() const;  // tasks per second in this run

  // "1h02m", "3m05s", "4.2s"
  static std::string format_duration(double seconds);

 private:
  void print(bool final_line);

  std::uint64_t total_, already_, done_ = 0, failed_ = 0;
  ProgressOptions options_;
  std::FILE* stream_;
  bool terminal_;
  WallTimer clock_, since_print_;
};

}  // namespace msweep
