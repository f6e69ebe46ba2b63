// Rank agreement between model-selection criteria.
#pragma once
#include <vector>

namespace msweep {

// Spearman's rho with average ranks for ties; NaN entries are dropped pairwise.
// O(n log n). Returns NaN when fewer than two pairs remain or a side is constant.
double spearman_correlation(const std::vector<double>& a, const std::vector<double>& b);

// Average ranks (1-based) of the values; ties share the mean of their positions.
std::vector<double> average_ranks(const std::vector<double>& values);

}  // namespace msweep
