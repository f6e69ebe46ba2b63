// Private to the store: /summaries, the mean and standard deviation of every metric over
// run and fold, and the mean and standard error over run means (runs as the unit of
// replication), per remaining coordinates, computed from the stored rows (so a resumed or
// merged file gets the same summaries as a plain run).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "msweep/core/summary.hpp"
#include "msweep/store/hdf5.hpp"
#include "msweep/store/layout.hpp"

namespace msweep::store_detail {

// A builder that accumulates rows as they are committed, when its state fits the store's
// budget for run sums (groups x runs x metrics <= SummaryPassOptions' 16 Mi doubles); otherwise nothing, and the
// summaries are computed from the file at the end only. Rows added in file order give exactly
// the table summarize_rows computes from the file.
std::optional<SummaryBuilder> streaming_summary(const ResultLayout& layout);

struct SummaryPassOptions {
  std::size_t run_sum_budget_values = std::size_t{16} << 20;  // run sums held at once (doubles; 128 MB)
  std::uint64_t block_rows = 65536;                           // rows read and decoded at once
};

// The summaries of the first `rows` rows, computed from the file, a window of groups whose
// run sums fit the budget at a time; `visit` sees each window's builder. The first window's
// pass reads every row; later ones only the blocks of rows that reach into their window.
void for_each_summary_window(const h5::Handle& file, const ResultLayout& layout, std::uint64_t rows, const std::string& path,
                             const std::function<void(const SummaryBuilder&)>& visit, const SummaryPassOptions& options = {});
// The same, gathered into one table (for readers; a writer writes each window out instead).
SummaryTable summarize_rows(const h5::Handle& file, const ResultLayout& layout, std::uint64_t rows, const std::string& path,
                            const SummaryPassOptions& options = {});

// Bytes /summaries/table allocates (whole chunks of one row per group): for the size estimate.
std::uint64_t summary_table_bytes(const ResultLayout& layout);

// Creates /summaries (its attributes, and /summaries/table with one row per group, not yet
// written) in a new file.
void create_summaries(const h5::Handle& file, const ResultLayout& layout, const std::string& path);
// Rewrites the rows of /summaries/table that `table` holds (in place: allowed under SWMR).
void write_summaries(const h5::Handle& file, const SummaryTable& table, const std::string& path);
// Rewrites the rows of the builder's window, a block of groups at a time.
void write_summaries(const h5::Handle& file, const SummaryBuilder& builder, const std::string& path);
// The sum of /summaries/table's failed_count, read a block of that one field at a time.
std::uint64_t summed_failed_counts(const h5::Handle& file, const ResultLayout& layout, const std::string& path);
// /summaries/table as written (whether it is current is /state's summarized_rows).
SummaryTable read_summaries(const h5::Handle& file, const ResultLayout& layout, const std::string& path);

}  // namespace msweep::store_detail
