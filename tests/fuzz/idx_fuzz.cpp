// Fuzz target: the IDX readers of Fashion-MNIST (src/data/fashion_mnist.cpp). zlib reads plain
// files as well as gzip ones, so the input is tried both as an image file and as a label file.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "msweep/core/error.hpp"
#include "msweep/data/fashion_mnist.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = msweep::fuzz::scratch().write("input-idx-ubyte.gz", data, size);
  try {
    const auto images = msweep::read_idx_images(path);
    volatile unsigned sum = 0;  // touch every byte so ASan sees any read past the buffer
    for (Eigen::Index i = 0; i < images.size(); ++i) sum = sum + images.data()[i];
  } catch (const msweep::InputError&) {
  }
  try {
    const auto labels = msweep::read_idx_labels(path);
    volatile unsigned sum = 0;
    for (Eigen::Index i = 0; i < labels.size(); ++i) sum = sum + labels(i);
  } catch (const msweep::InputError&) {
  }
  return 0;
}
