// ResultReader: read access to a results file, safe on files that are complete,
// interrupted, or were killed mid-write (only committed rows are read).
#include <algorithm>

#include "msweep/core/error.hpp"
#include "msweep/store/results.hpp"
#include "results_file.hpp"
#include "row_codec.hpp"
#include "summaries.hpp"

namespace msweep {

using namespace store_detail;

struct ResultReader::State {
  std::string path;
  OpenedFile opened;

  const ArrayInfo& array(const std::string& name) const {
    const auto& arrays = opened.layout.arrays;
    auto it = std::find_if(arrays.begin(), arrays.end(), [&](const ArrayInfo& a) { return a.name == name; });
    if (it == arrays.end()) throw InputError(path + ": no array named " + name);
    return *it;
  }
};

ResultReader::ResultReader(const std::string& path) : state_(std::make_unique<State>()) {
  h5::silence_library_errors();
  state_->path = path;
  state_->opened = open_results(path, false);
}
ResultReader::~ResultReader() = default;
ResultReader::ResultReader(ResultReader&&) noexcept = default;

const std::string& ResultReader::path() const { return state_->path; }
const ResultLayout& ResultReader::layout() const { return state_->opened.layout; }
std::uint64_t ResultReader::task_count() const { return state_->opened.task_count; }
std::uint64_t ResultReader::rows_committed() const { return state_->opened.state.rows_committed; }
std::string ResultReader::attribute(const std::string& name) const {
  return h5::read_string_attribute(state_->opened.file, name, state_->path);
}
bool ResultReader::has_attribute(const std::string& name) const { return h5::has_attribute(state_->opened.file, name); }
RunStatus ResultReader::status() const { return state_->opened.state.status; }
const std::string& ResultReader::updated() const { return state_->opened.state.updated; }
const std::string& ResultReader::finished() const { return state_->opened.state.finished; }
double ResultReader::wall_seconds() const { return state_->opened.state.wall_seconds; }
std::uint64_t ResultReader::summarized_rows() const { return state_->opened.state.summarized_rows; }
std::int64_t ResultReader::ranks() const { return h5::read_int_attribute(state_->opened.file, "ranks", state_->path); }

void ResultReader::for_each_block(const std::function<void(const std::vector<TaskRow>&)>& visit, std::size_t block_rows,
                                  bool with_arrays, std::uint64_t max_rows) const {
  read_task_rows(state_->opened.file, state_->opened.layout, std::min(state_->opened.state.rows_committed, max_rows), state_->path,
                 block_rows, true, with_arrays, [&](std::vector<TaskRow>& block) { visit(block); });
}

std::optional<std::uint64_t> ResultReader::failed_count_from_summaries() const {
  if (!summaries_current()) return std::nullopt;
  return summed_failed_counts(state_->opened.file, state_->opened.layout, state_->path);
}

std::vector<double> ResultReader::read_array(const std::string& name) const {
  return read_array(name, 0, state_->opened.state.rows_committed);
}

std::vector<double> ResultReader::read_array(const std::string& name, std::uint64_t first, std::uint64_t rows) const {
  const ArrayInfo& array = state_->array(name);
  if (first + rows > state_->opened.state.rows_committed) throw ArgumentError("ResultReader::read_array: rows past rows_committed");
  h5::Handle group = h5::open_group(state_->opened.file, "arrays", state_->path);
  h5::Handle dataset = h5::open_dataset(group, name, state_->path);
  std::vector<double> values(rows * elements_of(array));
  if (rows > 0) h5::read_rows(dataset, H5T_NATIVE_DOUBLE, first, rows, values.data(), state_->path + ": /arrays/" + name);
  return values;
}

SummaryTable ResultReader::summarize() const {
  if (state_->opened.state.summarized_rows > 0) return read_summaries(state_->opened.file, state_->opened.layout, state_->path);
  return summarize_from_rows();
}

bool ResultReader::summaries_current() const {
  const RunState& run = state_->opened.state;
  return run.summarized_rows > 0 && run.summarized_rows == run.rows_committed;
}

SummaryTable ResultReader::summarize_from_rows() const {
  return summarize_rows(state_->opened.file, state_->opened.layout, state_->opened.state.rows_committed, state_->path);
}

}  // namespace msweep
