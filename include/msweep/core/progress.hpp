// Progress of a long run on stderr: done/total, failed, tasks/s and ETA. As a bar, one line
// rewrites itself a few times a second; as lines (logs, Slurm output files, and mpirun, whose
// forwarded stderr is a pipe), a plain line is written every `interval` seconds so the log
// stays readable. The default chooses by whether the stream is a terminal.
#pragma once
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "msweep/core/timer.hpp"

namespace msweep {

enum class ProgressMode { automatic, bar, lines, none };

// "auto", "bar", "lines", "none"; nullopt for anything else.
std::optional<ProgressMode> parse_progress_mode(std::string_view text);

struct ProgressOptions {
  ProgressMode mode = ProgressMode::automatic;  // automatic: bar on a terminal, lines otherwise
  double interval_seconds = 10.0;  // between plain lines
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
  bool bar() const { return bar_; }  // a rewriting line, not plain lines

  // "1h02m", "3m05s", "4.2s"
  static std::string format_duration(double seconds);

  // A rate for people: whole numbers from 100 ("80123"), 3 significant digits below ("1.45",
  // "0.0145"), so jobs of minute-long tasks do not all read "0". The progress line and the
  // run's end summary both print it, so the two never disagree in precision.
  static std::string format_rate(double per_second);

 private:
  void print(bool final_line);

  std::uint64_t total_, already_, done_ = 0, failed_ = 0;
  ProgressOptions options_;
  std::FILE* stream_;
  bool enabled_, bar_;
  WallTimer clock_, since_print_;
};

}  // namespace msweep
