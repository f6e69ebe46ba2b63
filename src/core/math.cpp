#include "msweep/core/math.hpp"

#include "msweep/core/error.hpp"

namespace msweep {

double digamma(double x) {
  require(x > 0.0, "digamma", "x", "a positive number");
  double result = 0.0;
  while (x < 10.0) {
    result -= 1.0 / x;
    x += 1.0;
  }
  const double f = 1.0 / (x * x);
  return result + std::log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))));
}

}  // namespace msweep
