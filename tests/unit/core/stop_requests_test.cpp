// The stop-request rule with a given clock: a SIGTERM repeated within the window is one request
// (Slurm's double SIGTERM at a time limit), anything else counts.
#include "msweep/core/stop_requests.hpp"

#include <gtest/gtest.h>

#include <csignal>

namespace msweep {
namespace {

constexpr std::int64_t kMs = 1'000'000;

TEST(StopRequests, SigtermRepeatedWithinTheWindowIsOneRequest) {
  StopRequests requests;
  requests.record(SIGTERM, 1000 * kMs);
  requests.record(SIGTERM, 1018 * kMs);  // Slurm: step and srun, 18 ms apart
  EXPECT_EQ(requests.count(), 1);
  EXPECT_EQ(requests.repeats_merged(), 1);
  requests.record(SIGTERM, 1018 * kMs + StopRequests::kRepeatWindowNs);  // later: a second request
  EXPECT_EQ(requests.count(), 2);
}

TEST(StopRequests, OtherSignalsCountEachTime) {
  for (int signal : {SIGINT, SIGUSR1, SIGUSR2}) {
    StopRequests requests;
    requests.record(signal, 0);
    requests.record(signal, 1);
    EXPECT_EQ(requests.count(), 2) << signal;
    EXPECT_EQ(requests.last_signal(), signal);
  }
}

TEST(StopRequests, AnotherSignalAfterSigtermCounts) {
  StopRequests requests;
  requests.record(SIGTERM, 0);
  requests.record(SIGUSR1, 1);
  requests.record(SIGTERM, 2);  // the previous one was USR1: not a repeat
  EXPECT_EQ(requests.count(), 3);
}

}  // namespace
}  // namespace msweep
