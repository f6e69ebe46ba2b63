// FitSummary: which endings are usable, and the one-line brief report.
#include "msweep/core/termination.hpp"

#include <gtest/gtest.h>

#include <string>

namespace msweep {
namespace {

TEST(FitSummary, EveryEndingButANumericalFailureIsUsable) {
  FitSummary summary;
  EXPECT_EQ(summary.termination, Termination::budget_spent);  // the default: a fixed budget ran out
  for (const auto termination : {Termination::converged, Termination::budget_spent, Termination::stopped}) {
    summary.termination = termination;
    EXPECT_TRUE(summary.usable()) << to_string(termination);
  }
  summary.termination = Termination::numerical_failure;
  EXPECT_FALSE(summary.usable());
}

TEST(FitSummary, NamesEveryTermination) {
  EXPECT_STREQ(to_string(Termination::converged), "converged");
  EXPECT_STREQ(to_string(Termination::budget_spent), "budget_spent");
  EXPECT_STREQ(to_string(Termination::stopped), "stopped");
  EXPECT_STREQ(to_string(Termination::numerical_failure), "numerical_failure");
}

TEST(FitSummary, BriefIsOneLineWithTerminationCountsAndMessage) {
  FitSummary summary;
  summary.termination = Termination::converged;
  summary.iterations = 12;
  summary.seconds = 0.25;
  summary.message = "bound changed by less than the tolerance";
  EXPECT_EQ(summary.brief(), "converged after 12 iterations in 0.25 s: bound changed by less than the tolerance");
  summary.message.clear();
  EXPECT_EQ(summary.brief(), "converged after 12 iterations in 0.25 s");
  EXPECT_EQ(summary.brief().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace msweep
