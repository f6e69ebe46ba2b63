// Information criteria from a maximized log-likelihood (docs/science.md#information-criteria-aic-and-bic).
#pragma once
#include <cmath>

namespace msweep {

// AIC = 2k - 2 ln L
inline double akaike_information(double max_log_likelihood, double parameters) {
  return 2.0 * parameters - 2.0 * max_log_likelihood;
}

// BIC = k ln m - 2 ln L
inline double bayesian_information(double max_log_likelihood, double parameters, double objects) {
  return parameters * std::log(objects) - 2.0 * max_log_likelihood;
}

}  // namespace msweep
