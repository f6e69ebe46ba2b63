// Datasets as Eigen matrices with feature names, standardization fitted on training rows,
// and the seeded splits (held-out test part, k folds) every experiment shares.
#pragma once
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "msweep/core/inputs.hpp"
#include "msweep/core/random.hpp"

namespace msweep {

struct Dataset {
  Eigen::MatrixXd X;                       // objects x features
  Eigen::VectorXd y;                       // targets
  std::vector<std::string> feature_names;  // one per column of X
  std::string target_name;
  std::string description;                 // where it came from, for provenance
  std::vector<InputFile> inputs;           // the files it was read from (none when generated)

  Eigen::Index objects() const { return X.rows(); }
  Eigen::Index features() const { return X.cols(); }
};

using Indices = std::vector<Eigen::Index>;

// The data with only the feature columns `columns` (in that order), their names kept.
Dataset select_features(const Dataset& data, const Indices& columns);

// Rows `rows` of X (entries of y): thin wrappers over Eigen's indexed views that return copies.
Eigen::MatrixXd take_rows(const Eigen::Ref<const Eigen::MatrixXd>& X, const Indices& rows);
Eigen::VectorXd take_entries(const Eigen::Ref<const Eigen::VectorXd>& y, const Indices& rows);

// Per-column centring and scaling fitted on training rows; constant columns keep scale 1
// so they standardize to zero instead of NaN.
struct Standardizer {
  Eigen::RowVectorXd mean, scale;
  static Standardizer fit(const Eigen::Ref<const Eigen::MatrixXd>& X);
  Eigen::MatrixXd apply(const Eigen::Ref<const Eigen::MatrixXd>& X) const;
};

struct HoldoutSplit {
  Indices train, test;
};

// A uniformly random held-out part of round(test_fraction * m) objects (at least one object
// stays on each side when 0 < test_fraction < 1). Indices come out sorted.
HoldoutSplit holdout_split(Eigen::Index objects, double test_fraction, RandomStream& rng);
// The size of holdout_split's test part: round(test_fraction * objects), at least 1 and at
// most objects - 1 when test_fraction > 0.
Eigen::Index holdout_test_size(Eigen::Index objects, double test_fraction);

// Balanced k-fold assignment: fold sizes differ by at most one, order random.
std::vector<int> fold_assignment(Eigen::Index objects, int folds, RandomStream& rng);

// Positions (into `positions`) whose assignment is / is not `fold`.
Indices fold_members(const std::vector<int>& assignment, int fold, bool inside);

}  // namespace msweep
