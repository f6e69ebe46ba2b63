// The results store alone, at high row rates (issue 14: "the store is not the bottleneck"):
// what the master rank spends writing rows through ResultWriter (HDF5 in SWMR mode, the
// journal with its fsync per flush, the streamed summaries), per million rows, and the bytes
// per row on disk. Rows look like synthetic-load's (4 axes, 3 metrics, no array) unless
// --metrics/--array say otherwise; batches of --batch rows are flushed like the master's
// flush_rows. Prints one table row per variant (journal on/off).
//
//   build/bin/bench_store [--rows N] [--batch B] [--metrics M] [--array A] [--dir DIR] [--keep 1]
//                         [--journal on|off|both]
// --journal on alone is what to profile the journal with (perf record -g build/bin/bench_store
// --journal on): both variants in one profile count the HDF5 part twice.
// --keep 1 leaves DIR/msweep_store_bench.h5 for a compression check:
//   h5repack -f SHUF -f GZIP=1 DIR/msweep_store_bench.h5 packed.h5 && ls -l both
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "msweep/store/results.hpp"

namespace {

using namespace msweep;

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

struct Measure {
  double wall = 0, cpu = 0;
  std::uintmax_t file_bytes = 0, journal_bytes = 0;
};

Measure write_rows(const std::string& path, const ResultLayout& layout, std::uint64_t rows, std::size_t batch, bool journal,
                   std::size_t metrics, std::size_t array) {
  std::error_code ec;
  for (const char* suffix : {"", ".journal", ".lock"}) std::filesystem::remove(path + suffix, ec);
  WriterOptions options;
  options.flush_rows = batch;
  options.flush_seconds = 1e9;
  options.journal = journal;
  // Precomputed results: the bench times the store, not the making of rows.
  std::vector<TaskResult> block(batch);
  for (std::size_t i = 0; i < batch; ++i) {
    block[i].metrics.assign(metrics, 0.5 + static_cast<double>(i));
    block[i].wall_seconds = 1e-6;
    block[i].rank = 1;
    if (array > 0) block[i].arrays.assign(1, std::vector<double>(array, 0.25));
  }
  Measure m;
  const double cpu0 = cpu_seconds();
  const auto wall0 = std::chrono::steady_clock::now();
  auto writer = ResultWriter::create(path, layout, {}, options, false);
  for (std::uint64_t first = 0; first < rows; first += batch) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(batch, rows - first));
    block.resize(n);
    for (std::size_t i = 0; i < n; ++i) block[i].id = first + i;
    writer.append(block);
  }
  // Measured while the run is live (before finish deletes the journal of a complete file).
  writer.flush();
  m.journal_bytes = journal ? std::filesystem::file_size(journal_path(path), ec) : 0;
  writer.finish(RunStatus::complete, 0.0);
  m.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  m.cpu = cpu_seconds() - cpu0;
  m.file_bytes = std::filesystem::file_size(path, ec);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t rows = 2'000'000;
  std::size_t batch = 4096, metrics = 3, array = 0;
  std::string dir = std::filesystem::temp_directory_path().string();
  bool keep = false;
  std::vector<bool> journals = {false, true};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--rows") rows = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "--batch") batch = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "--metrics") metrics = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "--array") array = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "--dir") dir = value;
    else if (key == "--keep") keep = value == "1";
    else if (key == "--journal" && (value == "on" || value == "off" || value == "both"))
      journals = value == "both" ? std::vector<bool>{false, true} : std::vector<bool>{value == "on"};
    else {
      std::fprintf(stderr, "bench_store: unknown option or value: %s %s\n", key.c_str(), value.c_str());
      return 2;
    }
  }
  // A synthetic-load-shaped grid with exactly `rows` tasks: structures x 5 folds x 1 x 1 run.
  ResultLayout layout;
  layout.job_name = "store-bench";
  layout.experiment = "synthetic-load";
  layout.job_text = "# store bench\n";
  layout.axes = standard_axes(Axis::indexed("structure", (rows + 4) / 5, "structures"), 5, 1, 1);
  for (std::size_t m = 0; m < metrics; ++m) layout.metrics.push_back({"m" + std::to_string(m), "bench metric"});
  if (array > 0) layout.arrays.push_back({"payload", {array}, "bench array"});
  const std::string path = dir + "/msweep_store_bench.h5";

  std::printf("rows %llu, batch %zu, metrics %zu, array %zu; master CPU at 200k rows/s = CPU per 1M rows x 0.2\n",
              static_cast<unsigned long long>(rows), batch, metrics, array);
  std::printf("%-10s %12s %16s %20s %14s %16s\n", "journal", "rows/s", "CPU s / 1M rows", "core share @200k/s", "file B/row",
              "journal B/row");
  for (bool journal : journals) {
    const Measure m = write_rows(path, layout, rows, batch, journal, metrics, array);
    const double per_million = m.cpu / (static_cast<double>(rows) / 1e6);
    std::printf("%-10s %12.0f %16.3f %19.1f%% %14.1f %16.1f\n", journal ? "on" : "off", static_cast<double>(rows) / m.wall,
                per_million, 100.0 * per_million * 0.2, static_cast<double>(m.file_bytes) / static_cast<double>(rows),
                static_cast<double>(m.journal_bytes) / static_cast<double>(rows));
  }
  std::error_code ec;
  if (!keep) std::filesystem::remove(path, ec);
  return 0;
}
