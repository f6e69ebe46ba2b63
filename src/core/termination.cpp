#include "msweep/core/termination.hpp"

#include <cstdio>

namespace msweep {

const char* to_string(Termination termination) {
  switch (termination) {
    case Termination::converged: return "converged";
    case Termination::budget_spent: return "budget_spent";
    case Termination::stopped: return "stopped";
    case Termination::numerical_failure: return "numerical_failure";
  }
  return "unknown";
}

std::string FitSummary::brief() const {
  char numbers[96];
  std::snprintf(numbers, sizeof numbers, " after %lld iterations in %.3g s", static_cast<long long>(iterations), seconds);
  std::string out = std::string(to_string(termination)) + numbers;
  if (!message.empty()) out += ": " + message;
  return out;
}

}  // namespace msweep
