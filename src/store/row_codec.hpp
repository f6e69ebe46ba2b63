// Private to the store: the compound task row of /tasks (docs/results-format.md): id, status,
// error, wall_time, rank, then one double per metric. A task's coordinates are not stored
// (format 3): they follow from its id and the grid, and decode() computes them.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "msweep/core/grid.hpp"
#include "msweep/core/task.hpp"
#include "msweep/store/hdf5.hpp"
#include "msweep/store/layout.hpp"

namespace msweep::store_detail {

class RowCodec {
 public:
  // Without the error field the type has only fixed-size members, and HDF5 reads (and
  // writes) such rows without its per-element conversion of variable-length strings:
  // summaries and the resume scan, which never look at error texts, read this way.
  // Throws ArgumentError when an axis or metric name collides with another field.
  RowCodec(const ResultLayout& layout, const std::string& context, bool with_error = true);

  std::size_t row_size() const { return type_.size(); }
  hid_t type() const { return type_.id(); }
  bool with_error() const { return with_error_; }

  // `error` must outlive the row until it is written (the row holds the pointer).
  // Failed results store NaN for every metric.
  void encode(unsigned char* row, const TaskResult& result, const char* error) const;
  // The row's coordinates are computed from its id with `grid` (the layout's axes);
  // meaningless for an id outside the grid, which read_task_rows refuses.
  TaskRow decode(const unsigned char* row, const TaskGrid& grid) const;

 private:
  std::size_t metric_count_;
  bool with_error_;
  h5::CompoundType type_;
};

// Whether to read the block of /tasks that starts at row `first_row` (blocks are numbered
// first_row / block_rows).
using RowBlockFilter = std::function<bool(std::uint64_t first_row)>;

// Calls visit for blocks of up to block_rows of the first `rows` rows of /tasks, in file
// order, skipping the blocks `wanted` (if given) refuses; each row's arrays are filled too
// when with_arrays. Throws StoreError for a row whose id lies outside the grid.
void read_task_rows(const h5::Handle& file, const ResultLayout& layout, std::uint64_t rows, const std::string& path,
                    std::size_t block_rows, bool with_errors, bool with_arrays,
                    const std::function<void(std::vector<TaskRow>&)>& visit, const RowBlockFilter& wanted = {});

}  // namespace msweep::store_detail
