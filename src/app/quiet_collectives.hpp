// Collectives waited for without spinning. Open MPI's blocking collectives busy-poll a core
// (docs/architecture.md, "Nobody spins"): a rank that waits minutes for another (workers while
// the master recovers a large file, a node's ranks while its first rank reads the data set)
// would take a core from the rank it waits for. These post the non-blocking collective and
// test it with a sleeping backoff (50 us to 2 ms). Every rank of `comm` must call the same one:
// MPI never matches a non-blocking collective with a blocking one.
#pragma once
#include <mpi.h>

#include <cstdint>

namespace msweep::app {

// Throws FarmError "<what>CALL failed: <MPI's text>" unless `code` is MPI_SUCCESS (`what` says
// what the rank was doing, e.g. "sharing the data on this node: ").
void check_mpi(int code, const char* call, const char* what = "");

// Tests `request` with a sleeping backoff until it completes. Throws FarmError if MPI fails.
void wait_without_spinning(MPI_Request& request);
// MPI_Ibarrier, waited for so.
void barrier_without_spinning(MPI_Comm comm);
// Rank 0's `values` to every rank of `comm` (MPI_Ibcast), waited for so: a barrier too.
void broadcast_without_spinning(MPI_Comm comm, std::int64_t* values, int count);

}  // namespace msweep::app
