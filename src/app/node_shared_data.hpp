// One copy of a job's data set per node, not one per rank (issue 14). The ranks of a node
// (MPI_COMM_TYPE_SHARED) share one read-only copy in an MPI-3 shared-memory window: the node's
// first rank loads the data set (load_job_data) and moves it into the window, the others wait
// for it without spinning and view it. Experiments get the data set through make_experiment's
// DataLoader and see Eigen maps (data/dataset.hpp's DataArray); they know nothing of MPI.
// Boost.MPI has no wrapper for shared windows: the C API, every return code checked.
#pragma once
#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "msweep/experiments/data_source.hpp"

namespace msweep::app {

// False when MSWEEP_SHARED_DATA is "0", "off" or "no": every rank then loads its own copy, as
// before (for debugging; results are the same bit for bit either way). True when it is unset,
// empty, "1", "on" or "yes"; any other value is an InputError (a typo must not pass silently).
bool shared_data_enabled();

class NodeSharedData {
 public:
  // Splits the node's communicator off `world`: collective over `world`.
  explicit NodeSharedData(MPI_Comm world);
  // Waits (without spinning) until every rank of the node is done, then frees the windows and
  // the communicator: the data sets loaded through load() must not be read afterwards.
  ~NodeSharedData();
  NodeSharedData(const NodeSharedData&) = delete;
  NodeSharedData& operator=(const NodeSharedData&) = delete;

  // A DataLoader. Collective over the node: its ranks build the same job and so call it the same
  // times in the same order. The node's first rank loads; an InputError there is thrown on every
  // rank of the node with the same message.
  Dataset load(const ConfigTable& section, std::uint64_t job_seed);
  // An ArrayPlacer, collective likewise: the node's first rank fills, the others wait and view.
  PlacedArray place(std::size_t count, const std::function<void(std::span<double>)>& fill);
  DataSource source() {
    return {[this](const ConfigTable& section, std::uint64_t job_seed) { return load(section, job_seed); },
            [this](std::size_t count, const std::function<void(std::span<double>)>& fill) { return place(count, fill); }};
  }

  int node_rank() const { return node_rank_; }
  int node_size() const { return node_size_; }
  std::size_t shared_bytes() const { return shared_bytes_; }  // placed in this node's windows so far

 private:
  MPI_Comm node_ = MPI_COMM_NULL;
  // A window of `values` doubles (64-byte aligned) filled by the node's first rank, its start in
  // this process; `fill` runs there, then every rank returns once it is complete.
  std::span<double> window(std::size_t values, const std::function<void(std::span<double>)>& fill);

  int node_rank_ = 0, node_size_ = 1;
  std::vector<MPI_Win> windows_;
  std::size_t shared_bytes_ = 0;
  std::shared_ptr<const int> keeper_ = std::make_shared<const int>(0);  // marks the data sets' views as views
};

}  // namespace msweep::app
