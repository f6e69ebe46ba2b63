// Datasets as Eigen matrices with feature names, standardization fitted on training rows,
// and the seeded splits (held-out test part, k folds) every experiment shares.
#pragma once
#include <Eigen/Dense>
#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "msweep/core/inputs.hpp"
#include "msweep/core/random.hpp"

namespace msweep {

// A data set's matrix (Plain = Eigen::MatrixXd) or vector (Eigen::VectorXd): an Eigen::Map over
// storage it owns (what loaders and generators fill, allocated by Eigen as a Plain would be) or
// over storage it was given and only views (one read-only copy that the ranks of a node share,
// placed there by msweep run's start-up: see adopt_storage below). Numerics see a plain Eigen map
// and never know which. Assigning or resizing makes the storage owned; copies are deep, so a
// copied data set never aliases its source.
template <class Plain>
class DataArray : public Eigen::Map<Plain> {
  using Map = Eigen::Map<Plain>;
  static constexpr Eigen::Index kEmptyCols = Plain::ColsAtCompileTime == 1 ? 1 : 0;

 public:
  DataArray() : Map(nullptr, 0, kEmptyCols) {}
  DataArray(const DataArray& other) : DataArray() { take(Plain(other)); }
  DataArray(DataArray&& other) noexcept : DataArray() { swap(other); }
  template <class Other>
  DataArray(const Eigen::DenseBase<Other>& value) : DataArray() {  // NOLINT: implicit like Eigen's own
    take(Plain(value));
  }
  DataArray& operator=(const DataArray& other) {
    if (this != &other) take(Plain(other));
    return *this;
  }
  DataArray& operator=(DataArray&& other) noexcept {
    DataArray moved(std::move(other));
    swap(moved);
    return *this;
  }
  DataArray& operator=(Plain&& value) {
    take(std::move(value));
    return *this;
  }
  // Evaluated into new storage first, so an expression that reads this array is safe.
  template <class Other>
  DataArray& operator=(const Eigen::DenseBase<Other>& value) {
    take(Plain(value));
    return *this;
  }

  // As Eigen's resize: the values are undefined afterwards unless the size is unchanged and the
  // storage owned. Vectors take one argument, matrices two.
  void resize(Eigen::Index rows, Eigen::Index cols) {
    if (keeper_ || rows != this->rows() || cols != this->cols()) {
      Plain fresh(rows, cols);
      take(std::move(fresh));
    }
  }
  void resize(Eigen::Index size) { resize(size, 1); }

  // A read-only view of `rows` x `cols` values at `data` (column-major), kept alive by `keeper`.
  static DataArray view(const double* data, Eigen::Index rows, Eigen::Index cols, std::shared_ptr<const void> keeper) {
    DataArray out;
    if (!keeper) throw std::invalid_argument("DataArray::view: keeper: expected an owner of the storage");
    out.keeper_ = std::move(keeper);
    out.reseat(const_cast<double*>(data), rows, cols);  // read-only by contract: views are never written
    return out;
  }
  // True for storage given to view(): the shared copy of a node.
  bool is_view() const { return keeper_ != nullptr; }

  void swap(DataArray& other) noexcept {
    double* const mine = this->data();
    const Eigen::Index rows = this->rows(), cols = this->cols();
    reseat(other.data(), other.rows(), other.cols());
    other.reseat(mine, rows, cols);
    owned_.swap(other.owned_);  // Eigen swaps the pointers: the mapped addresses stay valid
    keeper_.swap(other.keeper_);
  }

 private:
  void take(Plain&& value) {
    owned_ = std::move(value);
    keeper_.reset();
    reseat(owned_.data(), owned_.rows(), owned_.cols());
  }
  // Eigen's documented way to point a Map elsewhere: construct it again in place.
  void reseat(double* data, Eigen::Index rows, Eigen::Index cols) {
    new (static_cast<Map*>(this)) Map(data, rows, cols);
  }

  Plain owned_;                         // the storage when owned (empty for a view)
  std::shared_ptr<const void> keeper_;  // keeps a view's storage alive (null when owned)
};

using DataMatrix = DataArray<Eigen::MatrixXd>;
using DataVector = DataArray<Eigen::VectorXd>;

struct Dataset {
  DataMatrix X;                            // objects x features
  DataVector y;                            // targets
  std::vector<std::string> feature_names;  // one per column of X
  std::string target_name;
  std::string description;                 // where it came from, for provenance
  std::vector<InputFile> inputs;           // the files it was read from (none when generated)

  Eigen::Index objects() const { return X.rows(); }
  Eigen::Index features() const { return X.cols(); }
};

using Indices = std::vector<Eigen::Index>;

// Building a data set into storage the caller provides (msweep run: memory the ranks of one node
// share), without knowing where it comes from. One block: the values of X (column-major), then y
// from the next multiple of kStorageAlignValues, so that in storage aligned like Eigen's own
// allocations (64 bytes) every part is too, and Eigen's kernels give the same bits as on a
// private copy (they peel elements up to the first aligned one).
inline constexpr std::size_t kStorageAlignValues = 8;  // 64 bytes of doubles
inline std::size_t padded_values(std::size_t values) {
  return (values + kStorageAlignValues - 1) / kStorageAlignValues * kStorageAlignValues;
}
std::size_t storage_values(Eigen::Index objects, Eigen::Index features);  // padded X, then y
// Copies X and y into `storage` (storage_values(...) doubles) and makes the data set view it,
// releasing its own copy; `keeper` keeps the storage alive. Values are unchanged bit for bit.
void move_into_storage(Dataset& data, std::span<double> storage, std::shared_ptr<const void> keeper);
// Makes X (objects x features) and y views of `storage` as move_into_storage filled it (in this
// process or another); the data set's other fields are the caller's.
void adopt_storage(Dataset& data, Eigen::Index objects, Eigen::Index features, std::span<const double> storage,
                   std::shared_ptr<const void> keeper);

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
