// TaskResult survives Boost.Serialization unchanged (the farm's only message with a body).
#include "msweep/farm/protocol.hpp"

#include <gtest/gtest.h>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <cmath>
#include <limits>
#include <sstream>

namespace msweep {
namespace {

TEST(Protocol, TaskResultRoundTrip) {
  std::vector<TaskResult> sent(3);
  sent[0].id = 42;
  sent[0].metrics = {1.5, -0.0, std::numeric_limits<double>::quiet_NaN(), 1e308};
  sent[0].arrays = {{1, 2, 3}, {}};
  sent[0].wall_seconds = 0.25;
  sent[0].rank = 3;
  sent[1].id = (TaskId{1} << 63) + 5;
  sent[1].status = TaskStatus::failed;
  sent[1].error = std::string(1000, 'x') + " with ünïcode";
  std::stringstream buffer;
  {
    boost::archive::binary_oarchive out(buffer);
    out << sent;
  }
  std::vector<TaskResult> received;
  boost::archive::binary_iarchive in(buffer);
  in >> received;
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0].id, 42u);
  EXPECT_EQ(received[0].metrics[0], 1.5);
  EXPECT_TRUE(std::signbit(received[0].metrics[1]));
  EXPECT_TRUE(std::isnan(received[0].metrics[2]));
  EXPECT_EQ(received[0].arrays, sent[0].arrays);
  EXPECT_EQ(received[0].rank, 3);
  EXPECT_EQ(received[1].id, sent[1].id);
  EXPECT_EQ(received[1].status, TaskStatus::failed);
  EXPECT_EQ(received[1].error, sent[1].error);
}

}  // namespace
}  // namespace msweep
