#include "node_shared_data.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "msweep/core/error.hpp"
#include "quiet_collectives.hpp"

namespace msweep::app {
namespace {

void check(int code, const char* call) { check_mpi(code, call, "sharing the data on this node: "); }

// Rank 0's bytes to every rank of `comm`; the others' `bytes` are replaced.
void broadcast_bytes(MPI_Comm comm, std::string& bytes) {
  std::uint64_t length = bytes.size();
  check(MPI_Bcast(&length, 1, MPI_UINT64_T, 0, comm), "MPI_Bcast");
  bytes.resize(length);
  // In pieces: MPI counts are int.
  for (std::size_t done = 0; done < length;) {
    const int piece = static_cast<int>(std::min<std::size_t>(length - done, 1U << 30));
    check(MPI_Bcast(bytes.data() + done, piece, MPI_CHAR, 0, comm), "MPI_Bcast");
    done += static_cast<std::size_t>(piece);
  }
}

// The node's first rank ran `work`; every rank learns whether it succeeded, so none is left
// waiting in a collective the builder will never reach. The builder rethrows its own error,
// the others throw one saying where it happened (an InputError stays one, with its message).
void share_outcome(MPI_Comm comm, bool builder, std::exception_ptr error) {
  std::string message;
  std::int64_t outcome[1] = {0};  // 0 ok, 1 input error, 2 other failure
  if (builder && error) {
    try {
      std::rethrow_exception(error);
    } catch (const InputError& e) {
      outcome[0] = 1;
      message = e.what();
    } catch (const std::exception& e) {
      outcome[0] = 2;
      message = e.what();
    } catch (...) {
      outcome[0] = 2;
      message = "unknown exception";
    }
  }
  broadcast_without_spinning(comm, outcome, 1);
  if (outcome[0] == 0) return;
  broadcast_bytes(comm, message);
  if (builder) std::rethrow_exception(error);
  if (outcome[0] == 1) throw InputError(message);
  throw FarmError("the node's first rank could not build the shared data: " + message);
}

// The data set's fields other than X and y, as length-prefixed strings.
void put(std::string& out, const std::string& text) {
  const std::uint64_t length = text.size();
  out.append(reinterpret_cast<const char*>(&length), sizeof length);
  out += text;
}

std::string get(const std::string& in, std::size_t& at) {
  std::uint64_t length = 0;
  std::memcpy(&length, in.data() + at, sizeof length);
  at += sizeof length;
  std::string text = in.substr(at, length);
  at += length;
  return text;
}

std::string pack_metadata(const Dataset& data) {
  std::string out;
  put(out, std::to_string(data.feature_names.size()));
  for (const auto& name : data.feature_names) put(out, name);
  put(out, data.target_name);
  put(out, data.description);
  put(out, std::to_string(data.inputs.size()));
  for (const auto& input : data.inputs) {
    put(out, input.path);
    put(out, input.kind);
    put(out, std::to_string(input.bytes));
    put(out, input.digest);
  }
  return out;
}

void unpack_metadata(const std::string& in, Dataset& data) {
  std::size_t at = 0;
  const std::size_t names = std::stoull(get(in, at));
  for (std::size_t i = 0; i < names; ++i) data.feature_names.push_back(get(in, at));
  data.target_name = get(in, at);
  data.description = get(in, at);
  const std::size_t inputs = std::stoull(get(in, at));
  for (std::size_t i = 0; i < inputs; ++i) {
    InputFile input;
    input.path = get(in, at);
    input.kind = get(in, at);
    input.bytes = std::stoull(get(in, at));
    input.digest = get(in, at);
    data.inputs.push_back(std::move(input));
  }
}

// Eigen's packets: 16 bytes for SSE2, 32 for AVX (the v3 preset). Data in a window start on a
// 64-byte boundary, as aligned as Eigen's own allocations, so its kernels peel the same
// leading elements and the numbers are those of a private copy bit for bit.
constexpr std::size_t kAlignment = 64;

}  // namespace

bool shared_data_enabled() {
  const char* value = std::getenv("MSWEEP_SHARED_DATA");
  if (value == nullptr) return true;
  const std::string text = value;
  if (text == "0" || text == "off" || text == "no") return false;
  if (text.empty() || text == "1" || text == "on" || text == "yes") return true;
  throw InputError("environment variable MSWEEP_SHARED_DATA: expected 0, off or no (every rank loads its own copy) or 1, on "
                   "or yes (the default: the ranks of a node share one), got \"" + text + "\"");
}

NodeSharedData::NodeSharedData(MPI_Comm world) {
  check(MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node_), "MPI_Comm_split_type");
  check(MPI_Comm_rank(node_, &node_rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(node_, &node_size_), "MPI_Comm_size");
}

NodeSharedData::~NodeSharedData() {
  // A destructor must not throw, and MPI_Finalize comes next anyway: failures are only reported.
  auto report = [](int code, const char* call) {
    if (code != MPI_SUCCESS) std::fprintf(stderr, "msweep: warning: %s failed while freeing the shared data (MPI error %d)\n", call, code);
  };
  try {
    if (!windows_.empty()) barrier_without_spinning(node_);  // nobody still reads, so the free below does not wait
  } catch (const std::exception& e) {
    std::fprintf(stderr, "msweep: warning: %s\n", e.what());
  }
  for (MPI_Win& window : windows_) {
    report(MPI_Win_unlock_all(window), "MPI_Win_unlock_all");
    report(MPI_Win_free(&window), "MPI_Win_free");
  }
  if (node_ != MPI_COMM_NULL) report(MPI_Comm_free(&node_), "MPI_Comm_free");
}

Dataset NodeSharedData::load(const ConfigTable& section, std::uint64_t job_seed) {
  const bool builder = node_rank_ == 0;
  Dataset data;
  std::exception_ptr error;
  if (builder) {
    try {
      data = load_job_data(section, job_seed);
    } catch (...) {
      error = std::current_exception();
    }
  }
  share_outcome(node_, builder, error);  // the others wait here while the builder reads
  std::int64_t shape[2] = {data.objects(), data.features()};
  broadcast_without_spinning(node_, shape, 2);
  std::string metadata = builder ? pack_metadata(data) : std::string();
  broadcast_bytes(node_, metadata);
  if (!builder) unpack_metadata(metadata, data);
  const std::span<double> storage = window(storage_values(shape[0], shape[1]), [&](std::span<double> out) {
    move_into_storage(data, out, keeper_);  // the private copy is released
  });
  if (!builder) adopt_storage(data, shape[0], shape[1], storage, keeper_);
  return data;
}

PlacedArray NodeSharedData::place(std::size_t count, const std::function<void(std::span<double>)>& fill) {
  return {window(count, fill), keeper_};
}

std::span<double> NodeSharedData::window(std::size_t values, const std::function<void(std::span<double>)>& fill) {
  const bool builder = node_rank_ == 0;
  const std::size_t bytes = values * sizeof(double) + kAlignment;
  MPI_Win window = MPI_WIN_NULL;
  void* base = nullptr;
  check(MPI_Win_allocate_shared(static_cast<MPI_Aint>(builder ? bytes : 0), 1, MPI_INFO_NULL, node_, &base, &window),
        "MPI_Win_allocate_shared");
  windows_.push_back(window);
  check(MPI_Win_lock_all(MPI_MODE_NOCHECK, window), "MPI_Win_lock_all");
  MPI_Aint size = static_cast<MPI_Aint>(bytes);
  if (!builder) {
    int unit = 0;
    check(MPI_Win_shared_query(window, 0, &size, &unit, &base), "MPI_Win_shared_query");
  }
  // Segments are mapped at page boundaries in every process, so this offset is the same in all.
  const auto address = reinterpret_cast<std::uintptr_t>(base);
  const std::span<double> storage(reinterpret_cast<double*>((address + kAlignment - 1) / kAlignment * kAlignment), values);
  std::exception_ptr error;
  if (builder) {
    try {
      fill(storage);
      check(MPI_Win_sync(window), "MPI_Win_sync");
    } catch (...) {
      error = std::current_exception();
    }
  }
  share_outcome(node_, builder, error);  // also the barrier: the builder's copy is complete
  if (static_cast<std::size_t>(size) != bytes)  // cannot happen: the ranks of a node build the same job
    throw FarmError("sharing the data on this node: its first rank placed " + std::to_string(size) + " bytes, this rank expected " +
                    std::to_string(bytes));
  if (!builder) check(MPI_Win_sync(window), "MPI_Win_sync");
  shared_bytes_ += values * sizeof(double);
  return storage;
}

}  // namespace msweep::app
