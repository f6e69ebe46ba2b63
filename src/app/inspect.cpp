// msweep inspect: what a results file holds; safe on files being written or killed.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <optional>
#include <cstdlib>
#include <string>

#include <sys/ioctl.h>
#include <unistd.h>

#include "cluster.hpp"
#include "commands.hpp"
#include "msweep/core/text_table.hpp"
#include "msweep/store/results.hpp"

namespace msweep::app {

namespace {

// The file's state in one word for scripts: "complete" only when the file says so and holds
// every task of its grid or shard; "interrupted" (resumable); "running" (being written, or
// its writer was killed: resume continues it either way).
std::string status_word(const ResultReader& reader, std::uint64_t stored, std::uint64_t total) {
  const RunStatus status = reader.status();
  if (status == RunStatus::complete && stored != total) return "interrupted";
  return run_status_name(status);
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string optional_attribute(const ResultReader& reader, const std::string& name) {
  return reader.has_attribute(name) ? reader.attribute(name) : std::string();
}

// Metrics where larger is better sort descending by default; everything else (errors, AIC,
// BIC, times) ascending. --ascending / --descending override the guess. The names are the
// kinds' own: evidence and log-likelihoods, accuracies, bounds (elbo, mixture-em's
// final_bound) and hyperparameter-optimization's criterion Q (best_criterion).
bool larger_is_better(const std::string& metric) {
  for (const char* part : {"evidence", "log_lik", "loglik", "accuracy", "elbo", "bound", "criterion", "cv_q"})
    if (metric.find(part) != std::string::npos) return true;
  return false;
}

// Columns the summary table may fill: --width when given (0: never split), else $COLUMNS (a
// positive number; anything else is ignored, as ls does), else the terminal's width when stdout
// is one, else 0: a pipe or a file gets whole rows, one line per group, for grep and scripts.
std::size_t summary_width(const InspectOptions& options) {
  if (options.width >= 0) return static_cast<std::size_t>(options.width);
  if (const char* columns = std::getenv("COLUMNS")) {
    char* end = nullptr;
    errno = 0;
    const long value = std::strtol(columns, &end, 10);
    if (end != columns && *end == '\0' && errno == 0 && value > 0 && value <= 100000) return static_cast<std::size_t>(value);
  }
  winsize size{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 0;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The summaries the run wrote (/summaries) when there are any, else computed from the rows;
// a line on stderr says when they cover fewer rows than are committed (a live or killed run
// writes them every so often, not at every flush).
SummaryTable summaries_of(const ResultReader& reader) {
  const SummaryTable table = reader.summarize();
  if (reader.summarized_rows() > 0 && !reader.summaries_current())
    std::fprintf(stderr, "msweep: %s: summaries of the first %llu of %llu committed rows (written by the run at its last summary "
                         "update; complete once the run ends or is resumed)\n",
                 reader.path().c_str(), static_cast<unsigned long long>(reader.summarized_rows()),
                 static_cast<unsigned long long>(reader.rows_committed()));
  return table;
}

// The summary with runs as the unit of replication: per group the mean of the run means and
// its standard error over runs (fold rows of one run are not independent), sorted by one
// metric and limited to the first K groups when asked; as a table, or as CSV.
void print_summary(const InspectOptions& options, const ResultLayout& layout, const SummaryTable& table) {
  std::vector<std::size_t> order(table.groups());
  for (std::size_t g = 0; g < order.size(); ++g) order[g] = g;
  std::string sorted_by;
  if (!options.sort_by.empty()) {
    const std::size_t metric = table.metric_index(options.sort_by);  // checked against the layout by inspect()
    const bool descending = options.order == "descending" || (options.order.empty() && larger_is_better(options.sort_by));
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      const double x = table.run_mean_of(a, metric), y = table.run_mean_of(b, metric);
      if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);  // NaN last
      return descending ? x > y : x < y;
    });
    sorted_by = ", sorted by " + options.sort_by + (descending ? " descending" : " ascending");
  }
  if (options.top > 0 && options.top < order.size()) order.resize(options.top);

  auto labels_of = [&](std::size_t a) -> const std::vector<std::string>& {
    return std::find_if(layout.axes.begin(), layout.axes.end(), [&](const Axis& x) { return x.name == table.group_axes[a]; })->labels;
  };
  const bool csv = !options.csv_path.empty();
  std::FILE* out = stdout;
  if (csv && options.csv_path != "-") {
    out = std::fopen(options.csv_path.c_str(), "w");
    if (!out) throw InputError("--csv " + options.csv_path + ": cannot write the file (" + std::strerror(errno) + ")");
  }
  if (!csv) {
    // Aligned columns (labels left, numbers right); 6 significant digits for means, 3 for sems.
    std::vector<std::string> header(table.group_axes.begin(), table.group_axes.end());
    for (const char* count : {"ok", "failed", "runs"}) header.push_back(count);
    for (const auto& name : table.metric_names) {
      header.push_back(name + "_mean");
      header.push_back(name + "_sem");
    }
    TextTable text(std::move(header), std::vector<TextTable::Align>(table.group_axes.size(), TextTable::Align::left));
    for (std::size_t m = 0; m < table.metric_names.size(); ++m) text.keep_with_previous(table.group_axes.size() + 3 + 2 * m + 1);
    for (std::size_t g : order) {
      std::vector<std::string> row;
      for (std::size_t a = 0; a < table.group_axes.size(); ++a) row.push_back(labels_of(a)[table.coordinate(g, a)]);
      for (auto count : {table.ok_count[g], table.failed_count[g], table.run_count[g]}) row.push_back(std::to_string(count));
      for (std::size_t m = 0; m < table.metric_names.size(); ++m) {
        row.push_back(format_number(table.run_mean_of(g, m), 6));
        row.push_back(format_number(table.run_sem_of(g, m), 3));
      }
      text.add_row(std::move(row));
    }
    std::fprintf(out, "\nsummary over run and fold, runs as the unit of replication (each run's folds averaged, then mean "
                      "and sem over runs)%s%s:\n",
                 sorted_by.c_str(), order.size() < table.groups() ? (", first " + std::to_string(order.size()) + " of " +
                                                                     std::to_string(table.groups())).c_str()
                                                                  : "");
    // Too wide for the terminal: column blocks that each repeat the group columns, nothing dropped
    // (a metric's mean and sem stay in one block).
    const std::size_t width = summary_width(options), keys = table.group_axes.size();
    if (const std::size_t blocks = text.blocks("", width, keys); blocks > 1)
      std::fprintf(out, "(%zu column blocks to fit %zu columns; --width 0: one line per group)\n", blocks, width);
    std::fprintf(out, "%s", text.str("", width, keys).c_str());
    return;
  }
  for (const auto& axis : table.group_axes) std::fprintf(out, "%s,%s_index,", axis.c_str(), axis.c_str());
  std::fprintf(out, "ok_count,failed_count,run_count");
  for (const auto& name : table.metric_names) std::fprintf(out, ",%s_mean,%s_sem", name.c_str(), name.c_str());
  std::fprintf(out, "\n");
  for (std::size_t g : order) {
    for (std::size_t a = 0; a < table.group_axes.size(); ++a) {
      const std::uint32_t index = table.coordinate(g, a);
      std::fprintf(out, "%s,%u,", csv_field(labels_of(a)[index]).c_str(), index);
    }
    std::fprintf(out, "%llu,%llu,%llu", static_cast<unsigned long long>(table.ok_count[g]),
                 static_cast<unsigned long long>(table.failed_count[g]), static_cast<unsigned long long>(table.run_count[g]));
    for (std::size_t m = 0; m < table.metric_names.size(); ++m)  // every digit: the CSV round-trips
      std::fprintf(out, ",%.17g,%.17g", table.run_mean_of(g, m), table.run_sem_of(g, m));
    std::fprintf(out, "\n");
  }
  if (out != stdout && std::fclose(out) != 0)
    throw Error("--csv " + options.csv_path + ": write failed (" + std::strerror(errno) + ")", ExitStatus::runtime_error);
}

}  // namespace

int inspect(const InspectOptions& options) {
  // A running writer holds HDF5's file lock; reading committed rows is safe without it.
  setenv("HDF5_USE_FILE_LOCKING", "FALSE", 0);
  const std::string& results_path = options.results_path;
  ResultReader reader(results_path);
  const ResultLayout& layout = reader.layout();
  // A shard file is complete when it holds its own share of the grid, so count against that.
  const bool shard = layout.shard_count > 1;
  const std::uint64_t total = shard ? shard_task_count(layout) : reader.task_count(), stored = reader.rows_committed();
  if (options.status_only) {
    std::printf("%s\n", status_word(reader, stored, total).c_str());
    return 0;
  }
  // Arguments are checked before anything is printed or written.
  if (!options.sort_by.empty() &&
      std::none_of(layout.metrics.begin(), layout.metrics.end(), [&](const MetricInfo& m) { return m.name == options.sort_by; })) {
    std::string known;
    for (const auto& metric : layout.metrics) known += (known.empty() ? "" : ", ") + metric.name;
    throw InputError("--by " + options.sort_by + ": " + results_path + " has no such metric (it has " + known + ")");
  }
  if (!options.csv_path.empty()) {  // the CSV alone, so `--csv -` pipes into other tools
    print_summary(options, layout, summaries_of(reader));
    return 0;
  }
  // The failed count comes from /summaries when they are current; the task time needs a pass
  // over the rows, which a file of many million rows (a minute or more) is spared.
  constexpr std::uint64_t kScannedRows = 5'000'000;
  std::optional<std::uint64_t> failed_from_summaries = reader.failed_count_from_summaries();
  const bool scan = !failed_from_summaries || stored <= kScannedRows;
  std::uint64_t failed = failed_from_summaries.value_or(0);
  double wall = 0;
  if (scan) {
    failed = 0;
    reader.for_each_block([&](const std::vector<TaskRow>& block) {
      for (const auto& [result, coordinates] : block) {
        failed += result.status == TaskStatus::failed;
        wall += result.wall_seconds;
      }
    });
  }
  if (options.json) {
    const auto number = [](std::uint64_t n) { return std::to_string(n); };
    std::string out = "{\"path\": " + json_string(results_path) + ", \"job\": " + json_string(layout.job_name) +
                      ", \"experiment\": " + json_string(layout.experiment) +
                      ", \"status\": " + json_string(status_word(reader, stored, total)) + ", \"shard\": {\"index\": " +
                      number(layout.shard_index) + ", \"count\": " + number(layout.shard_count) + "}, \"tasks\": {\"stored\": " +
                      number(stored) + ", \"total\": " + number(total) + ", \"failed\": " + number(failed) +
                      ", \"grid\": " + number(reader.task_count()) + "}, \"ranks\": " + std::to_string(reader.ranks());
    out += ", \"hosts\": " + json_string(reader.attribute("hosts")) + ", \"created\": " + json_string(reader.attribute("created")) +
           ", \"updated\": " + json_string(reader.updated()) + ", \"finished\": " + json_string(reader.finished()) +
           ", \"msweep_version\": " + json_string(reader.attribute("msweep_version"));
    for (const auto& name : cluster_attribute_names()) out += ", " + json_string(name) + ": " + json_string(optional_attribute(reader, name));
    std::printf("%s}\n", out.c_str());
    return 0;
  }
  std::printf("%s: job %s (%s), status %s", results_path.c_str(), layout.job_name.c_str(), layout.experiment.c_str(),
              run_status_name(reader.status()));
  if (shard)
    std::printf(", shard %llu/%llu of a %llu-task grid", static_cast<unsigned long long>(layout.shard_index),
                static_cast<unsigned long long>(layout.shard_count), static_cast<unsigned long long>(reader.task_count()));
  std::printf("\n");
  std::printf("tasks: %llu of %llu stored (%.1f%%), %llu failed, ", static_cast<unsigned long long>(stored),
              static_cast<unsigned long long>(total), total ? 100.0 * static_cast<double>(stored) / static_cast<double>(total) : 0.0,
              static_cast<unsigned long long>(failed));
  if (scan)
    std::printf("%.3g s of task time\n", wall);
  else
    std::printf("task time not summed (over %llu rows: msweep_analysis.load(path, columns=[\"wall_time\"], chunksize=...) sums it)\n",
                static_cast<unsigned long long>(kScannedRows));
  std::printf("created %s, updated %s, finished %s; %lld rank%s on %s; msweep %s\n", reader.attribute("created").c_str(),
              reader.updated().c_str(), reader.finished().empty() ? "-" : reader.finished().c_str(),
              static_cast<long long>(reader.ranks()), reader.ranks() == 1 ? "" : "s", reader.attribute("hosts").c_str(),
              reader.attribute("msweep_version").c_str());
  if (const std::string rank_hosts = optional_attribute(reader, "rank_hosts"); !rank_hosts.empty())
    std::printf("ranks by host: %s\n", rank_hosts.c_str());
  if (const std::string job = optional_attribute(reader, "slurm_job_id"); !job.empty()) {
    const std::string array_job = optional_attribute(reader, "slurm_array_job_id");
    std::printf("slurm: job %s", job.c_str());
    if (!array_job.empty()) std::printf(" (array task %s_%s)", array_job.c_str(), optional_attribute(reader, "slurm_array_task_id").c_str());
    std::printf(", restart %s, nodes %s\n", optional_attribute(reader, "slurm_restart_count").c_str(),
                optional_attribute(reader, "slurm_nodelist").c_str());
  }
  std::printf("axes:");
  for (const auto& axis : layout.axes) std::printf(" %s(%zu)", axis.name.c_str(), axis.size());
  std::printf("\nmetrics:");
  for (const auto& metric : layout.metrics) std::printf(" %s", metric.name.c_str());
  std::printf("\narrays:");
  if (layout.arrays.empty()) std::printf(" none");
  for (const auto& array : layout.arrays) {
    std::string shape;
    for (auto d : array.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    std::printf(" %s[%s]", array.name.c_str(), shape.c_str());
  }
  std::printf("\n");

  const std::size_t rows = options.rows;
  if (rows > 0) {
    std::printf("\nid");
    for (const auto& axis : layout.axes) std::printf("\t%s", axis.name.c_str());
    std::printf("\tstatus\twall_time");
    for (const auto& metric : layout.metrics) std::printf("\t%s", metric.name.c_str());
    std::printf("\n");
    std::size_t printed = 0;
    reader.for_each_block([&](const std::vector<TaskRow>& block) {
      for (const auto& [row, coordinates] : block) {
        if (printed++ >= rows) return;
        std::printf("%llu", static_cast<unsigned long long>(row.id));
        for (std::size_t a = 0; a < layout.axes.size(); ++a) std::printf("\t%s", layout.axes[a].label(coordinates[a]).c_str());
        std::printf("\t%s\t%.4g", row.status == TaskStatus::ok ? "ok" : ("failed: " + row.error).c_str(), row.wall_seconds);
        for (double v : row.metrics) std::printf("\t%.6g", v);
        std::printf("\n");
      }
    }, std::min<std::size_t>(rows, 65536), false, rows);  // the first K rows only, not a pass over the file
  }
  if (options.summary) print_summary(options, layout, summaries_of(reader));
  return 0;
}

}  // namespace msweep::app
