// Private to the store: the HDF5 side of ResultLayout (store/layout.cpp), that is opening a
// results file and reading its layout back, writing a new file's skeleton, and the root
// attributes every run rewrites.
#pragma once
#include <cstdint>
#include <string>

#include "msweep/store/hdf5.hpp"
#include "msweep/store/layout.hpp"

namespace msweep::store_detail {

// What a run changes while it writes: the one row of /state (docs/results-format.md). Root
// attributes cannot change under SWMR, and variable-length strings cannot be written, so the
// row is fixed-size and rewritten in place.
struct RunState {
  std::uint64_t rows_committed = 0;
  RunStatus status = RunStatus::running;
  std::string updated, finished;  // ISO 8601 UTC; finished empty while running
  double wall_seconds = 0.0;
  std::uint64_t summarized_rows = 0;  // committed rows /summaries covers (0: not written yet)
};
// /state, open with its row type. The writer keeps one and rewrites the row at every flush:
// opening the dataset and building its type for each write cost more than the write itself.
class RunStateDataset {
 public:
  RunStateDataset() = default;
  RunStateDataset(const h5::Handle& file, const std::string& path);
  RunState read() const;
  void write(const RunState& state) const;
  // Closes the dataset (before its file: HDF5 keeps a file open while any object in it is).
  void close() { dataset_.reset(); }

 private:
  std::string context_;
  h5::CompoundType type_;
  h5::Handle dataset_;
};
// Once, through a RunStateDataset of its own.
RunState read_run_state(const h5::Handle& file, const std::string& path);

// An opened, validated results file and the layout read back from it.
struct OpenedFile {
  h5::Handle file;
  ResultLayout layout;
  std::uint64_t task_count = 0;
  RunState state;
};

// Throws InputError (naming the file and what was expected) for a missing file, a file that
// is not HDF5, not an msweep results file, of another format version, or damaged.
OpenedFile open_results(const std::string& path, bool writable);

// Writes the root attributes, /axes, an empty /tasks of `row_type`, empty /arrays, /state
// (status "running") and /summaries (not yet written) into a new file: every object the file
// will ever have, since none may be created once SWMR starts.
void write_skeleton(const h5::Handle& file, const std::string& path, const ResultLayout& layout, const RunProvenance& run,
                    hid_t row_type, std::size_t row_size);

// The attributes that say which job (and data) the file holds: written at creation, and
// rewritten by resume --force when only keys that cannot change a task's numbers changed.
void write_identity_attributes(const h5::Handle& file, const std::string& path, const ResultLayout& layout);
// Provenance of the run now writing (rewritten by every resume, before SWMR starts).
void write_run_attributes(const h5::Handle& file, const std::string& path, const RunProvenance& run);

// Values per task of one declared array.
std::uint64_t elements_of(const ArrayInfo& array);


}  // namespace msweep::store_detail
