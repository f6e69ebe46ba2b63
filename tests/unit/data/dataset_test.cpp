// DataArray (owned or viewed storage) and building a data set into storage the caller provides.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "msweep/core/error.hpp"
#include "msweep/data/dataset.hpp"
#include "msweep/data/loaders.hpp"

namespace msweep {
namespace {

Dataset small_regression() {
  RandomStream rng(2026);
  return make_synthetic_regression(7, 3, 0.5, rng);
}

bool same_bits(const Eigen::Ref<const Eigen::MatrixXd>& a, const Eigen::Ref<const Eigen::MatrixXd>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (Eigen::Index j = 0; j < a.cols(); ++j)
    for (Eigen::Index i = 0; i < a.rows(); ++i)
      if (std::memcmp(&a.coeffRef(i, j), &b.coeffRef(i, j), sizeof(double)) != 0) return false;
  return true;
}

TEST(DataArray, OwnsWhatItIsAssignedAndCopiesDeeply) {
  DataMatrix X;
  EXPECT_EQ(X.rows(), 0);
  X.resize(2, 3);
  X.setConstant(1.5);
  X(1, 2) = 4.0;
  EXPECT_FALSE(X.is_view());
  DataMatrix copy = X;
  copy(0, 0) = -1.0;
  EXPECT_EQ(X(0, 0), 1.5) << "a copy must not alias its source";
  X = X.transpose() * 2.0;  // an expression reading the array itself
  EXPECT_EQ(X.rows(), 3);
  EXPECT_EQ(X(2, 1), 8.0);
  DataVector y;
  y.resize(4);
  y.setZero();
  EXPECT_EQ(y.size(), 4);
  DataVector moved = std::move(y);
  EXPECT_EQ(moved.size(), 4);
  EXPECT_EQ(y.size(), 0);
}

TEST(DataArray, MoveKeepsTheAddressOfOwnedStorage) {
  DataMatrix X = Eigen::MatrixXd::Ones(5, 2);
  const double* address = X.data();
  DataMatrix moved(std::move(X));
  EXPECT_EQ(moved.data(), address);
  EXPECT_EQ(moved.sum(), 10.0);
}

TEST(DatasetStorage, MoveIntoStorageKeepsTheValuesBitForBitAndViewsIt) {
  Dataset data = small_regression();
  const Eigen::MatrixXd X = data.X;
  const Eigen::VectorXd y = data.y;
  std::vector<double> storage(storage_values(data.objects(), data.features()));
  auto keeper = std::make_shared<const int>(0);
  move_into_storage(data, storage, keeper);
  EXPECT_TRUE(data.X.is_view());
  EXPECT_TRUE(data.y.is_view());
  EXPECT_EQ(data.X.data(), storage.data());
  EXPECT_EQ(data.y.data(), storage.data() + padded_values(static_cast<std::size_t>(X.size())));
  EXPECT_EQ(padded_values(static_cast<std::size_t>(X.size())) % kStorageAlignValues, 0U);
  EXPECT_TRUE(same_bits(data.X, X));
  EXPECT_TRUE(same_bits(data.y, y));
  EXPECT_EQ(data.feature_names.size(), 3U);  // the other fields stay
}

TEST(DatasetStorage, AdoptedStorageGivesTheSameNumbersAsAPrivateCopy) {
  // Another process's view: only the storage and the shape travel.
  Dataset built = small_regression();
  const Dataset reference = small_regression();
  std::vector<double> storage(storage_values(built.objects(), built.features()));
  move_into_storage(built, storage, std::make_shared<const int>(0));
  Dataset viewer;
  adopt_storage(viewer, reference.objects(), reference.features(), storage, std::make_shared<const int>(0));
  EXPECT_TRUE(same_bits(viewer.X, reference.X));
  EXPECT_TRUE(same_bits(viewer.y, reference.y));
  // What experiments do with data: standardize and take rows.
  const Standardizer a = Standardizer::fit(viewer.X), b = Standardizer::fit(reference.X);
  EXPECT_TRUE(same_bits(a.apply(viewer.X), b.apply(reference.X)));
  EXPECT_TRUE(same_bits(take_rows(viewer.X, {4, 0, 2}), take_rows(reference.X, {4, 0, 2})));
  // A copy of a view is a private, owned copy.
  Dataset copy = viewer;
  EXPECT_FALSE(copy.X.is_view());
  EXPECT_NE(copy.X.data(), viewer.X.data());
  EXPECT_TRUE(same_bits(copy.X, reference.X));
}

TEST(DatasetStorage, RejectsStorageOfAnotherSize) {
  Dataset data = small_regression();
  std::vector<double> storage(storage_values(data.objects(), data.features()) - 1);
  EXPECT_THROW(move_into_storage(data, storage, nullptr), ArgumentError);
  EXPECT_THROW(adopt_storage(data, 7, 3, storage, nullptr), ArgumentError);
}

}  // namespace
}  // namespace msweep
