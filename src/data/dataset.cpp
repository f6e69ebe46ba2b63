#include "msweep/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "msweep/core/error.hpp"

namespace msweep {

Eigen::MatrixXd take_rows(const Eigen::Ref<const Eigen::MatrixXd>& X, const Indices& rows) {
  return X(rows, Eigen::all);
}

Eigen::VectorXd take_entries(const Eigen::Ref<const Eigen::VectorXd>& y, const Indices& rows) { return y(rows); }

Standardizer Standardizer::fit(const Eigen::Ref<const Eigen::MatrixXd>& X) {
  require(X.rows() > 0, "Standardizer::fit", "X", "at least one row");
  Standardizer s;
  s.mean = X.colwise().mean();
  s.scale.resize(X.cols());
  for (Eigen::Index j = 0; j < X.cols(); ++j) {
    const double variance = (X.col(j).array() - s.mean(j)).square().sum() / static_cast<double>(X.rows());
    const double sd = std::sqrt(variance);
    s.scale(j) = sd > 1e-12 * (1.0 + std::abs(s.mean(j))) ? sd : 1.0;
  }
  return s;
}

Eigen::MatrixXd Standardizer::apply(const Eigen::Ref<const Eigen::MatrixXd>& X) const {
  require(X.cols() == mean.size(), "Standardizer::apply", "X", "as many columns as the fitted data");
  return (X.rowwise() - mean).array().rowwise() / scale.array();
}

Dataset select_features(const Dataset& data, const Indices& columns) {
  Dataset out;
  out.X.resize(data.objects(), static_cast<Eigen::Index>(columns.size()));
  for (std::size_t k = 0; k < columns.size(); ++k) {
    require(columns[k] >= 0 && columns[k] < data.features(), "select_features", "columns", "indices of columns of the data");
    out.X.col(static_cast<Eigen::Index>(k)) = data.X.col(columns[k]);
    out.feature_names.push_back(data.feature_names[static_cast<std::size_t>(columns[k])]);
  }
  out.y = data.y;
  out.target_name = data.target_name;
  out.description = data.description;
  out.inputs = data.inputs;  // the same files were read: they stay part of the job's identity
  return out;
}

std::size_t storage_values(Eigen::Index objects, Eigen::Index features) {
  require(objects >= 0 && features >= 0, "storage_values", "objects, features", "non-negative sizes");
  return padded_values(static_cast<std::size_t>(objects) * static_cast<std::size_t>(features)) + static_cast<std::size_t>(objects);
}

void move_into_storage(Dataset& data, std::span<double> storage, std::shared_ptr<const void> keeper) {
  const Eigen::Index objects = data.objects(), features = data.features();
  require(data.y.size() == objects, "move_into_storage", "data", "one target per object");
  require(storage.size() == storage_values(objects, features), "move_into_storage", "storage", "storage_values(objects, features) doubles");
  Eigen::Map<Eigen::MatrixXd>(storage.data(), objects, features) = data.X;
  Eigen::Map<Eigen::VectorXd>(storage.data() + padded_values(static_cast<std::size_t>(objects * features)), objects) = data.y;
  adopt_storage(data, objects, features, storage, std::move(keeper));
}

void adopt_storage(Dataset& data, Eigen::Index objects, Eigen::Index features, std::span<const double> storage,
                   std::shared_ptr<const void> keeper) {
  require(storage.size() == storage_values(objects, features), "adopt_storage", "storage", "storage_values(objects, features) doubles");
  require(keeper != nullptr, "adopt_storage", "keeper", "an owner of the storage");
  data.X = DataMatrix::view(storage.data(), objects, features, keeper);
  data.y = DataVector::view(storage.data() + padded_values(static_cast<std::size_t>(objects * features)), objects, 1, std::move(keeper));
}

Eigen::Index holdout_test_size(Eigen::Index objects, double test_fraction) {
  auto test_size = static_cast<Eigen::Index>(std::llround(test_fraction * static_cast<double>(objects)));
  if (test_fraction > 0.0) test_size = std::clamp<Eigen::Index>(test_size, 1, objects - 1);
  return test_size;
}

HoldoutSplit holdout_split(Eigen::Index objects, double test_fraction, RandomStream& rng) {
  require(objects >= 2 || test_fraction == 0.0, "holdout_split", "objects", "at least 2 objects to split");
  require(test_fraction >= 0.0 && test_fraction < 1.0, "holdout_split", "test_fraction", "a value in [0, 1)");
  Indices order(static_cast<std::size_t>(objects));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  rng.shuffle(order.begin(), order.end());
  const Eigen::Index test_size = holdout_test_size(objects, test_fraction);
  HoldoutSplit split;
  split.test.assign(order.begin(), order.begin() + test_size);
  split.train.assign(order.begin() + test_size, order.end());
  std::sort(split.test.begin(), split.test.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

std::vector<int> fold_assignment(Eigen::Index objects, int folds, RandomStream& rng) {
  require(folds >= 1, "fold_assignment", "folds", "at least 1");
  require(objects >= folds, "fold_assignment", "objects", "at least one object per fold");
  std::vector<int> assignment(static_cast<std::size_t>(objects));
  for (std::size_t i = 0; i < assignment.size(); ++i) assignment[i] = static_cast<int>(i % static_cast<std::size_t>(folds));
  rng.shuffle(assignment.begin(), assignment.end());
  return assignment;
}

Indices fold_members(const std::vector<int>& assignment, int fold, bool inside) {
  Indices members;
  for (std::size_t i = 0; i < assignment.size(); ++i)
    if ((assignment[i] == fold) == inside) members.push_back(static_cast<Eigen::Index>(i));
  return members;
}

}  // namespace msweep
