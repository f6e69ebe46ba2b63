// Fashion-MNIST (the stand-in for MNIST, docs/science.md#data-sets) from Debian's
// dataset-fashion-mnist: 28x28 grey images, 60k training and 10k test, 10 classes, stored as
// gzip-compressed IDX files read through zlib.
#pragma once
#include <Eigen/Dense>
#include <string>

#include "msweep/core/random.hpp"
#include "msweep/data/dataset.hpp"

namespace msweep {

inline constexpr const char* kFashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

struct FashionMnistOptions {
  std::string directory = kFashionMnistDirectory;
  Eigen::Index train_objects = 60000;  // uniformly subsampled without replacement when < 60000
  Eigen::Index test_objects = 10000;   // likewise from the 10000 test images; 0 loads none
  bool scale_unit = true;              // pixels / 255 in [0, 1] (false: raw 0..255)
};

// The raw contents of one IDX file: images as rows (objects x 784) or labels as a vector.
// Throws InputError naming the file for a missing, truncated or malformed file.
Eigen::Matrix<unsigned char, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> read_idx_images(const std::string& path);
Eigen::Matrix<unsigned char, Eigen::Dynamic, 1> read_idx_labels(const std::string& path);

// The training rows first, then the test rows (Dataset::description says how many of each);
// y holds class indices 0..9. Subsamples draw from `rng` and come out in file order.
// Throws InputError naming the Debian package when the files are absent.
Dataset load_fashion_mnist(const FashionMnistOptions& options, RandomStream& rng);

}  // namespace msweep
