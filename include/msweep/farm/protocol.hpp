// The master/worker message protocol, in one place.
//
//   start:   master broadcasts two uint64 once: the first task id and the stride of the run's
//            task space (task_space.hpp: position p is task first + p * stride). Nothing per task.
//   work:    master -> worker, 2k uint64 (1 <= k <= FarmOptions::max_ranges_per_message):
//            k ranges [begin, end) of pending positions. A fresh run sends one range per
//            message; a resumed one splits ranges where stored tasks leave holes. At most
//            1 KiB, so it is sent eagerly and the master never blocks on a busy worker.
//   results: worker -> master, one uint64: the byte count of the results_data message that
//            follows. Small, so the master receives it at once after Iprobe.
//   results_data: worker -> master, std::vector<TaskResult> packed by Boost.Serialization
//            (MPI_PACKED bytes), one per work message. The master posts an MPI_Irecv for it
//            and tests it on every poll: over TCP a large message moves only when the worker
//            calls MPI again, and a blocking receive (Boost's recv, or its irecv, which is
//            Improbe + a blocking Mrecv in Boost 1.74) would stall the master that long.
//            The worker tests its send between tasks so the transfer progresses.
//   failed:  worker -> master, std::string: the worker caught an exception (message); the
//            master throws FarmError naming the rank, saves, and aborts the job.
//   cancel:  master -> worker, empty, sent once when the master stops early (a stop signal):
//            the worker answers every work message it has not started with an empty results
//            message, so only the batch it is computing delays the stop (bounded grace).
//   stop:    master -> worker, one int: no more work; the worker returns. The int is 1 when a
//            cancel was sent before it, so the worker receives that cancel if it has not yet
//            (the two tags may be matched in either order) and leaves no message unreceived.
#pragma once
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>

#include "msweep/core/task.hpp"

namespace msweep {

enum class Tag : int { work = 1, results = 2, stop = 3, cancel = 4, results_data = 5, failed = 6 };

constexpr int tag(Tag t) { return static_cast<int>(t); }

}  // namespace msweep

namespace boost::serialization {

template <class Archive>
void serialize(Archive& archive, msweep::TaskResult& result, const unsigned int /*version*/) {
  archive & result.id;
  auto status = static_cast<std::int8_t>(result.status);
  archive & status;
  result.status = static_cast<msweep::TaskStatus>(status);
  archive & result.error;
  archive & result.metrics;
  archive & result.arrays;
  archive & result.wall_seconds;
  archive & result.rank;
}

}  // namespace boost::serialization
