#include "msweep/store/merge.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "msweep/core/error.hpp"
#include "msweep/store/results.hpp"

namespace msweep {
namespace {

constexpr std::size_t kBlockRows = 65536;

std::string canonical_or_same(const std::string& path) {
  std::error_code ec;
  const auto canonical = std::filesystem::weakly_canonical(path, ec);
  return ec ? path : canonical.string();
}

}  // namespace

MergeReport merge_results(const std::vector<std::string>& inputs, const std::string& output, bool overwrite) {
  if (inputs.empty()) throw InputError("merge: no input files");
  const std::string output_canonical = canonical_or_same(output);
  std::set<std::string> seen_paths;
  for (const auto& input : inputs) {
    if (canonical_or_same(input) == output_canonical)
      throw InputError(input + ": is also the merge output; write the merged file elsewhere");
    if (!seen_paths.insert(canonical_or_same(input)).second) throw InputError(input + ": given twice");
  }
  std::error_code ec;
  if (std::filesystem::exists(output, ec) && !overwrite)
    throw InputError(output + ": output file exists (use --force to replace it)");

  // Every input is opened and checked before anything is written.
  std::vector<ResultReader> readers;
  for (const auto& input : inputs) readers.emplace_back(input);
  const ResultReader& first = readers.front();
  for (std::size_t i = 1; i < readers.size(); ++i)
    if (const auto mismatch = check_compatible(readers[i].layout(), first.layout(), first.path(), {.same_shard = false}))
      throw InputError(readers[i].path() + ": " + mismatch->reason + "; cannot merge");

  MergeReport report;
  report.task_count = first.task_count();
  report.job_path = first.layout().job_path;
  // owner[id]: 1 + the index of the input holding task id (0: none yet). Finds overlaps
  // before the output exists, so a refused merge writes nothing.
  std::vector<std::uint32_t> owner(report.task_count, 0);
  for (std::size_t i = 0; i < readers.size(); ++i) {
    if (readers[i].status() != RunStatus::complete) report.unfinished_inputs.push_back(readers[i].path());
    readers[i].for_each_block([&](const std::vector<TaskRow>& rows) {
      for (const auto& row : rows) {
        const TaskId id = row.result.id;
        if (id >= owner.size())
          throw InputError(readers[i].path() + ": task id " + std::to_string(id) + " outside the grid (damaged file)");
        if (owner[id] != 0)
          throw InputError(readers[i].path() + ": task " + std::to_string(id) + " is also stored in " +
                           readers[owner[id] - 1].path() + " (overlapping inputs: merge each shard once)");
        owner[id] = static_cast<std::uint32_t>(i + 1);
      }
    });
  }
  for (TaskId id = 0; id < owner.size(); ++id) {
    if (owner[id] != 0) continue;
    ++report.missing;
    if (report.missing_examples.size() < 10) report.missing_examples.push_back(id);
  }

  ResultLayout layout = first.layout();
  layout.shard_index = 0;
  layout.shard_count = 1;
  std::set<std::string> hosts;
  std::int64_t ranks = 0;
  const double wall_seconds = 0.0;  // a merge has no run of its own (docs/results-format.md)
  for (const auto& reader : readers) {
    ranks = std::max(ranks, reader.ranks());
    const std::string list = reader.attribute("hosts");
    for (std::size_t at = 0; at <= list.size();) {
      const std::size_t comma = std::min(list.find(',', at), list.size());
      if (comma > at) hosts.insert(list.substr(at, comma - at));
      at = comma + 1;
    }
  }
  RunProvenance provenance{static_cast<int>(ranks), ""};
  for (const auto& host : hosts) provenance.hosts += (provenance.hosts.empty() ? "" : ",") + host;

  // No journal: the output is rebuilt from the inputs if anything goes wrong.
  const std::string building = output + ".merging";
  std::filesystem::remove(building, ec);
  WriterOptions options;
  options.flush_rows = kBlockRows;
  options.flush_seconds = 1e9;
  options.journal = false;
  try {
    ResultWriter writer = ResultWriter::create(building, layout, provenance, options, true);
    for (const auto& reader : readers) {
      reader.for_each_block(
          [&](const std::vector<TaskRow>& rows) {
            std::vector<TaskResult> batch;
            batch.reserve(rows.size());
            for (const auto& row : rows) batch.push_back(row.result);
            writer.append(batch);
          },
          kBlockRows, true);
    }
    report.rows = writer.rows_committed() + writer.rows_buffered();
    report.status = report.missing == 0 ? RunStatus::complete : RunStatus::interrupted;
    report.summary = writer.finish(report.status, wall_seconds);
  } catch (...) {
    std::filesystem::remove(building, ec);
    throw;
  }
  std::filesystem::rename(building, output, ec);
  if (ec) {
    const std::string reason = ec.message();  // before remove() overwrites ec
    std::filesystem::remove(building, ec);
    throw StoreError(output + ": cannot move the merged file into place: " + reason);
  }
  return report;
}

}  // namespace msweep
