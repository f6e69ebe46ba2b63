// Non-template parts of the stochastic optimizers.
#include "msweep/optim/first_order.hpp"

namespace msweep {

std::string to_string(OptimStatus status) {
  switch (status) {
    case OptimStatus::max_iterations: return "max_iterations";
    case OptimStatus::converged: return "converged";
    case OptimStatus::stopped: return "stopped";
    case OptimStatus::diverged: return "diverged";
  }
  return "?";
}

}  // namespace msweep
