#include "quiet_collectives.hpp"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "msweep/core/error.hpp"

namespace msweep::app {

void check_mpi(int code, const char* call, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  throw FarmError(std::string(what) + call + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

void wait_without_spinning(MPI_Request& request) {
  auto pause = std::chrono::microseconds(50);
  for (;;) {
    int done = 0;
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(2000));
  }
}

void barrier_without_spinning(MPI_Comm comm) {
  MPI_Request request = MPI_REQUEST_NULL;
  check_mpi(MPI_Ibarrier(comm, &request), "MPI_Ibarrier");
  wait_without_spinning(request);
}

void broadcast_without_spinning(MPI_Comm comm, std::int64_t* values, int count) {
  MPI_Request request = MPI_REQUEST_NULL;
  check_mpi(MPI_Ibcast(values, count, MPI_INT64_T, 0, comm, &request), "MPI_Ibcast");
  wait_without_spinning(request);
}

}  // namespace msweep::app
