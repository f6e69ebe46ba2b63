// estimate_file_size: what a results file takes on disk, from the same rules that lay it out.
// Measured against real files (tests/e2e/test_size_estimate.py): small runs are dominated by
// whole chunks (an array of 3 doubles per task allocates 4096 rows, 96 KiB, for 4 tasks) and
// by the fixed metadata; large ones by the rows themselves.
#include <algorithm>
#include <cmath>

#include "msweep/store/layout.hpp"
#include "row_codec.hpp"
#include "summaries.hpp"

namespace msweep {
namespace {

// HDF5's fixed part: superblock, root and group object headers, /state, the attributes'
// headers (fitted to the files of tests/e2e/test_size_estimate.py: about 12 KB).
constexpr double kFixedBytes = 12e3;
constexpr double kPerDatasetBytes = 1.2e3;  // object header, attributes, chunk index of one dataset

// Bytes a dataset of `rows` rows allocates: whole chunks of `chunk_rows` rows of `row_bytes`.
double chunked_bytes(std::uint64_t rows, std::uint64_t chunk_rows, double row_bytes) {
  const std::uint64_t chunks = std::max<std::uint64_t>(1, (rows + chunk_rows - 1) / chunk_rows);
  return static_cast<double>(chunks * chunk_rows) * row_bytes;
}

// A variable-length string as stored: its 16-byte reference in the dataset plus a global
// heap object (16-byte header, the text and its NUL rounded up to 8 bytes).
double vlen_string_bytes(std::size_t length) { return 16.0 + 16.0 + static_cast<double>((length + 1 + 7) / 8 * 8); }

// /axes: every label, as variable-length strings; long generated axes are sampled (plan never
// materializes a grid's labels).
double axis_bytes(const Axis& axis) {
  constexpr std::uint64_t kSamples = 1024;
  const std::uint64_t size = axis.size(), samples = std::min(size, kSamples);
  double sampled = 0;
  for (std::uint64_t i = 0; i < samples; ++i) sampled += vlen_string_bytes(axis.label(i * size / samples).size());
  return samples == 0 ? 0.0 : sampled * static_cast<double>(size) / static_cast<double>(samples) + kPerDatasetBytes;
}

}  // namespace

FileSizeEstimate estimate_file_size(const ResultLayout& layout, std::uint64_t rows) {
  const store_detail::RowCodec codec(layout, "size estimate");
  const double task_row = static_cast<double>(codec.row_size());
  FileSizeEstimate estimate;
  estimate.row_bytes = task_row;
  double bytes = kFixedBytes + chunked_bytes(rows, task_chunk_rows(codec.row_size()), task_row) + kPerDatasetBytes;
  for (const auto& array : layout.arrays) {
    std::uint64_t elements = 1;
    for (auto d : array.shape) elements *= d;
    const double array_row = 8.0 * static_cast<double>(elements);
    estimate.row_bytes += array_row;
    bytes += chunked_bytes(rows, array_chunk_rows(elements), array_row) + kPerDatasetBytes;
  }
  bytes += static_cast<double>(store_detail::summary_table_bytes(layout)) + kPerDatasetBytes;
  for (const auto& axis : layout.axes) bytes += axis_bytes(axis);
  bytes += static_cast<double>(layout.job_text.size() + layout.resolved_job.size() + layout.job_path.size());
  estimate.bytes = bytes;
  estimate.journal_bytes = estimate.row_bytes * static_cast<double>(rows);
  return estimate;
}

}  // namespace msweep
