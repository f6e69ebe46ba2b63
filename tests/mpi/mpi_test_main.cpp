// GoogleTest main for tests that run under mpiexec: every rank runs every test, only rank 0
// prints, and the exit status is the OR of all ranks' failures (so a failure on a worker
// rank fails the test even though rank 0 passed).
#include <gtest/gtest.h>

#include <boost/mpi/collectives.hpp>
#include <boost/mpi/communicator.hpp>
#include <boost/mpi/environment.hpp>
#include <functional>

int main(int argc, char** argv) {
  boost::mpi::environment environment(argc, argv);
  boost::mpi::communicator world;
  ::testing::InitGoogleTest(&argc, argv);
  if (world.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int local_failure = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failure = 0;
  boost::mpi::all_reduce(world, local_failure, any_failure, boost::mpi::maximum<int>());
  return any_failure;
}
