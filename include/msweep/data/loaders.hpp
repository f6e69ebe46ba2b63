// Data sources by name. Loaders throw InputError naming the file (and line) or the Debian
// package that provides a missing data set; generators are seeded and deterministic.
#pragma once
#include <string>
#include <vector>

#include "msweep/core/random.hpp"
#include "msweep/data/dataset.hpp"

namespace msweep {

// A numeric CSV with a header row of column names; `target` names the target column.
// The first line may be a sklearn-style count line ("506,13,,,") which is skipped.
Dataset load_csv(const std::string& path, const std::string& target);

// Throws InputError unless `path` is a regular file: "not found", "is a directory" or "is not
// a regular file", naming `what` ("data file", "image file") so the message says what is wrong.
void require_regular_file(const std::string& path, const std::string& what);

// The whole decompressed contents of a gzip file (zlib); InputError naming it when it cannot be
// opened or read.
std::vector<unsigned char> read_gzip_file(const std::string& path);

// A data file of Debian's python3-sklearn (sklearn/datasets/data/FILE); throws InputError naming
// the package and the [data] source that needs it when absent.
std::string sklearn_data_file(const std::string& file, const std::string& source);

// Boston Housing as shipped by Debian's python3-sklearn (506 x 13, target MEDV).
std::string boston_csv_path();  // throws InputError naming the package when absent
Dataset load_boston();

// Synthetic sets (docs/science.md#data-sets): x ~ N(0, I_n), w ~ N(0, I_n);
// regression y ~ N(w^T x, noise^2); classification y ~ Bernoulli(sigmoid(w^T x)) in {0, 1}.
Dataset make_synthetic_regression(Eigen::Index objects, Eigen::Index features, double noise, RandomStream& rng);
Dataset make_synthetic_classification(Eigen::Index objects, Eigen::Index features, RandomStream& rng);

// Polynomial set (docs/science.md#data-sets): x, eps ~ N(0, 1), y = x + noise * eps; features
// x, x^2, ..., x^degree, then sin x and cos x when `trigonometric` (the constant is the intercept).
Dataset make_polynomial(Eigen::Index objects, int degree, bool trigonometric, double noise, RandomStream& rng);

}  // namespace msweep
