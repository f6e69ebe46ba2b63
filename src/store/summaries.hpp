// Private to the store: /summaries, the mean and standard deviation of every metric over
// run and fold, and the mean and standard error over run means (runs as the unit of
// replication), per remaining coordinates, computed from the stored rows (so a resumed or
// merged file gets the same summaries as a plain run).
#pragma once
#include <cstdint>
#include <string>

#include "msweep/core/summary.hpp"
#include "msweep/store/hdf5.hpp"
#include "msweep/store/layout.hpp"

namespace msweep::store_detail {

SummaryTable summarize_rows(const h5::Handle& file, const ResultLayout& layout, std::uint64_t rows, const std::string& path);

// Replaces /summaries with `table`.
void write_summaries(const h5::Handle& file, const SummaryTable& table, const std::string& path);

}  // namespace msweep::store_detail
