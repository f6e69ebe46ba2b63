#include "msweep/core/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace msweep {

ProgressReporter::ProgressReporter(std::uint64_t total, std::uint64_t already_done, ProgressOptions options, std::FILE* stream)
    : total_(total),
      already_(already_done),
      options_(options),
      stream_(stream),
      enabled_(options.mode != ProgressMode::none),
      bar_(options.mode == ProgressMode::bar || (options.mode == ProgressMode::automatic && isatty(fileno(stream)) == 1)) {}

std::optional<ProgressMode> parse_progress_mode(std::string_view text) {
  if (text == "auto") return ProgressMode::automatic;
  if (text == "bar") return ProgressMode::bar;
  if (text == "lines") return ProgressMode::lines;
  if (text == "none") return ProgressMode::none;
  return std::nullopt;
}

void ProgressReporter::add(std::uint64_t done, std::uint64_t failed) {
  done_ += done;
  failed_ += failed;
}

double ProgressReporter::rate() const {
  const double seconds = clock_.seconds();
  return seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
}

void ProgressReporter::tick() {
  if (!enabled_) return;
  const double interval = bar_ ? options_.terminal_interval_seconds : options_.interval_seconds;
  if (since_print_.seconds() < interval) return;
  print(false);
}

void ProgressReporter::finish() {
  if (!enabled_) return;
  print(true);
}

std::string ProgressReporter::format_duration(double seconds) {
  char buffer[32];
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) std::snprintf(buffer, sizeof buffer, "%.1fs", seconds);
  else if (seconds < 3600) std::snprintf(buffer, sizeof buffer, "%dm%02ds", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
  else std::snprintf(buffer, sizeof buffer, "%dh%02dm", static_cast<int>(seconds) / 3600, static_cast<int>(seconds) % 3600 / 60);
  return buffer;
}

std::string ProgressReporter::format_rate(double per_second) {
  char buffer[48];
  if (!std::isfinite(per_second) || per_second < 0) return "?";
  if (per_second >= 100 || per_second == 0) {
    std::snprintf(buffer, sizeof buffer, "%.0f", per_second);
  } else {
    const int decimals = std::min(12, 2 - static_cast<int>(std::floor(std::log10(per_second))));
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, per_second);
  }
  return buffer;
}

void ProgressReporter::print(bool final_line) {
  since_print_.reset();
  const std::uint64_t done = already_ + done_;
  const double percent = total_ ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0;
  const double speed = rate();
  const double eta = speed > 0 ? static_cast<double>(total_ - std::min(done, total_)) / speed : NAN;
  char line[256];
  std::snprintf(line, sizeof line, "msweep: %llu/%llu tasks (%.1f%%), %llu failed, %s tasks/s, %s %s",
                static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), percent,
                static_cast<unsigned long long>(failed_), format_rate(speed).c_str(), final_line ? "elapsed" : "ETA",
                format_duration(final_line ? clock_.seconds() : eta).c_str());
  if (bar_) std::fprintf(stream_, "\r\033[K%s%s", line, final_line ? "\n" : "");
  else std::fprintf(stream_, "%s\n", line);
  std::fflush(stream_);
}

}  // namespace msweep
