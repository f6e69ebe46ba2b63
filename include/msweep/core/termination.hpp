// The fit vocabulary every model and optimizer shares (after Ceres' TerminationType and
// Summary::IsSolutionUsable): why an iterative fit ended, and whether its result may be used.
// Optimizer, mixture and Bayesian linear summaries extend FitSummary with their own numbers,
// so an experiment asks `usable()` instead of writing its own rule per model.
#pragma once
#include <cstdint>
#include <string>

namespace msweep {

enum class Termination {
  converged,          // the method's own convergence test passed (or there was nothing to iterate)
  budget_spent,       // the iteration budget ran out first: a status, not an error
  stopped,            // a callback asked to stop (early stopping, time limits)
  numerical_failure,  // a non-finite value appeared; the message says where. The result is not usable
};

// "converged", "budget_spent", "stopped", "numerical_failure".
const char* to_string(Termination termination);

struct FitSummary {
  Termination termination = Termination::budget_spent;
  std::string message;        // one line on why it ended, for logs and failed-task messages
  std::int64_t iterations = 0;  // iterations (steps) completed
  double seconds = 0.0;       // wall time of the fit

  // Whether the fitted state may be used: every ending but a numerical failure.
  bool usable() const { return termination != Termination::numerical_failure; }
  // One line: "<termination> after <iterations> iterations in <seconds> s: <message>".
  std::string brief() const;
};

}  // namespace msweep
