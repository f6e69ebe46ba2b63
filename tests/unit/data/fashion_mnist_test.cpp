// The Fashion-MNIST loader: subsampling, scaling and labels (skipped without the
// dataset-fashion-mnist package), and the message naming the package when files are missing.
#include "msweep/data/fashion_mnist.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "msweep/core/error.hpp"

namespace msweep {
namespace {

TEST(FashionMnist, LoadsSubsamplesScaledWithClassIndices) {
  if (!std::filesystem::is_directory(kFashionMnistDirectory)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  FashionMnistOptions options;
  options.train_objects = 300;
  options.test_objects = 100;
  RandomStream a(1), b(1);
  const Dataset data = load_fashion_mnist(options, a);
  EXPECT_EQ(data.objects(), 400);
  EXPECT_EQ(data.features(), 784);
  EXPECT_GE(data.X.minCoeff(), 0.0);
  EXPECT_LE(data.X.maxCoeff(), 1.0);
  EXPECT_GT(data.X.maxCoeff(), 0.9);
  EXPECT_EQ(data.y.minCoeff(), 0.0);
  EXPECT_EQ(data.y.maxCoeff(), 9.0);
  EXPECT_EQ(data.y, data.y.array().floor().matrix());
  EXPECT_EQ(data.X, load_fashion_mnist(options, b).X);
  const auto labels = read_idx_labels(std::string(kFashionMnistDirectory) + "/t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(labels.size(), 10000);
  for (int c = 0; c < 10; ++c) EXPECT_EQ((labels.array() == c).count(), 1000);  // the test set is balanced
}

TEST(FashionMnist, MissingFilesNameThePackage) {
  FashionMnistOptions options;
  options.directory = "/nonexistent/fashion-mnist";
  RandomStream rng(1);
  try {
    load_fashion_mnist(options, rng);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("dataset-fashion-mnist"), std::string::npos) << e.what();
  }
}

// Dimensions whose product wraps around 2^64 to the file's size once passed the size check and
// mapped rows past the buffer (tests/fuzz, idx target; corpus/idx/regression-*).
TEST(FashionMnist, IdxDimensionsThatOverflowAreRefused) {
  const auto directory = std::filesystem::temp_directory_path() / ("msweep-idx-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  auto write = [&](const std::string& name, const std::string& bytes) {
    const std::string path = (directory / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  };
  using namespace std::string_literals;
  const std::string wraps_to_zero = write("wrap", "\0\0\x08\x03"s + "\x7a\0\0\0"s + "\x01\0\0\0"s + "\0\x1a\0\0"s);
  const std::string no_images_huge_pixels = write("huge", "\0\0\x08\x03"s + "\0\0\0\0"s + "\xff\xff\0\xff"s + "\xff\xff\x07\0"s);
  for (const std::string& path : {wraps_to_zero, no_images_huge_pixels}) {
    try {
      read_idx_images(path);
      ADD_FAILURE() << path << ": expected InputError";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("IDX dimensions"), std::string::npos) << e.what();
    }
  }
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace msweep
