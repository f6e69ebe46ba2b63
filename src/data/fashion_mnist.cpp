// Fashion-MNIST IDX reader (gzip via zlib) and the subsampled, scaled data set.
#include "msweep/data/fashion_mnist.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "msweep/core/error.hpp"
#include "msweep/data/loaders.hpp"

namespace msweep {
namespace {

// Fashion-MNIST's files, with the package that provides them when absent.
std::vector<unsigned char> read_gzip(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw InputError(path + ": file not found (Fashion-MNIST comes from the Debian package dataset-fashion-mnist: "
                            "apt-get install dataset-fashion-mnist)");
  return read_gzip_file(path);
}

std::uint32_t big_endian(const std::vector<unsigned char>& bytes, std::size_t at) {
  return std::uint32_t{bytes[at]} << 24 | std::uint32_t{bytes[at + 1]} << 16 | std::uint32_t{bytes[at + 2]} << 8 | bytes[at + 3];
}

// Checks the IDX header (magic 0x0000 08 dims: unsigned bytes) and returns the dimensions.
std::vector<std::size_t> idx_header(const std::vector<unsigned char>& bytes, int dims, const std::string& path) {
  const std::size_t header = 4 + 4 * static_cast<std::size_t>(dims);
  if (bytes.size() < header || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 || bytes[3] != dims)
    throw InputError(path + ": not an IDX file of unsigned bytes with " + std::to_string(dims) + " dimensions");
  std::vector<std::size_t> sizes;
  for (int d = 0; d < dims; ++d) sizes.push_back(big_endian(bytes, 4 + 4 * static_cast<std::size_t>(d)));
  // Multiplied from the last dimension with overflow checks, so every trailing product (an
  // image's pixel count, an Eigen::Index) fits too: a wrapped product of 0 once passed the
  // size check below and mapped rows far past the buffer (found by tests/fuzz, idx target).
  std::int64_t total = 1;
  for (int d = dims - 1; d >= 0; --d) {
    if (__builtin_mul_overflow(total, static_cast<std::int64_t>(sizes[static_cast<std::size_t>(d)]), &total)) {
      std::string shape;
      for (const std::size_t size : sizes) shape += (shape.empty() ? "" : " x ") + std::to_string(size);
      throw InputError(path + ": IDX dimensions " + shape + " are too large for the " + std::to_string(bytes.size()) + " bytes of the file");
    }
  }
  if (bytes.size() != header + static_cast<std::size_t>(total))
    throw InputError(path + ": expected " + std::to_string(header + total) + " bytes after decompression, got " +
                     std::to_string(bytes.size()));
  return sizes;
}

// `count` of `total` indices, uniformly without replacement, in increasing order.
std::vector<Eigen::Index> subsample(Eigen::Index total, Eigen::Index count, RandomStream& rng) {
  std::vector<Eigen::Index> rows(static_cast<std::size_t>(total));
  std::iota(rows.begin(), rows.end(), Eigen::Index{0});
  if (count < total) {
    rng.shuffle(rows.begin(), rows.end());
    rows.resize(static_cast<std::size_t>(count));
    std::sort(rows.begin(), rows.end());
  }
  return rows;
}

}  // namespace

Eigen::Matrix<unsigned char, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> read_idx_images(const std::string& path) {
  const auto bytes = read_gzip(path);
  const auto sizes = idx_header(bytes, 3, path);
  const auto rows = static_cast<Eigen::Index>(sizes[0]), cols = static_cast<Eigen::Index>(sizes[1] * sizes[2]);
  return Eigen::Map<const Eigen::Matrix<unsigned char, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(bytes.data() + 16, rows, cols);
}

Eigen::Matrix<unsigned char, Eigen::Dynamic, 1> read_idx_labels(const std::string& path) {
  const auto bytes = read_gzip(path);
  const auto sizes = idx_header(bytes, 1, path);
  return Eigen::Map<const Eigen::Matrix<unsigned char, Eigen::Dynamic, 1>>(bytes.data() + 8, static_cast<Eigen::Index>(sizes[0]));
}

Dataset load_fashion_mnist(const FashionMnistOptions& options, RandomStream& rng) {
  require(options.train_objects >= 1 && options.train_objects <= 60000, "load_fashion_mnist", "options.train_objects", "in [1, 60000]");
  require(options.test_objects >= 0 && options.test_objects <= 10000, "load_fashion_mnist", "options.test_objects", "in [0, 10000]");
  if (!std::filesystem::is_directory(options.directory))
    throw InputError(options.directory + ": Fashion-MNIST not found (install the Debian package dataset-fashion-mnist)");

  Dataset data;
  data.X.resize(options.train_objects + options.test_objects, 28 * 28);
  data.y.resize(data.X.rows());
  const double scale = options.scale_unit ? 1.0 / 255.0 : 1.0;
  Eigen::Index out = 0;
  auto take = [&](const std::string& prefix, Eigen::Index count) {
    if (count == 0) return;
    const std::string images_path = options.directory + "/" + prefix + "-images-idx3-ubyte.gz";
    const std::string labels_path = options.directory + "/" + prefix + "-labels-idx1-ubyte.gz";
    const auto images = read_idx_images(images_path);
    const auto labels = read_idx_labels(labels_path);
    data.inputs.push_back(fingerprint_file(images_path, "idx-images"));
    data.inputs.push_back(fingerprint_file(labels_path, "idx-labels"));
    if (images.rows() != labels.size() || images.cols() != 28 * 28)
      throw InputError(images_path + ": " + std::to_string(images.rows()) + " images of " + std::to_string(images.cols()) +
                       " pixels but " + std::to_string(labels.size()) + " labels");
    if (count > images.rows())
      throw InputError(images_path + ": holds " + std::to_string(images.rows()) + " images, " + std::to_string(count) + " requested");
    for (auto row : subsample(images.rows(), count, rng)) {
      if (labels(row) > 9) throw InputError(labels_path + ": label " + std::to_string(labels(row)) + " outside 0..9");
      data.X.row(out) = images.row(row).cast<double>() * scale;
      data.y(out) = labels(row);
      ++out;
    }
  };
  take("train", options.train_objects);
  take("t10k", options.test_objects);
  for (int r = 0; r < 28; ++r)
    for (int c = 0; c < 28; ++c) data.feature_names.push_back("px_" + std::to_string(r) + "_" + std::to_string(c));
  data.target_name = "class";
  data.description = "Fashion-MNIST (" + options.directory + "): " + std::to_string(options.train_objects) + " training rows then " +
                     std::to_string(options.test_objects) + " test rows" + (options.scale_unit ? ", pixels scaled to [0, 1]" : "");
  return data;
}

}  // namespace msweep
