// Fuzz target: the PBM/PGM reader read_image_points (src/data/curves.cpp).
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "msweep/core/error.hpp"
#include "msweep/data/curves.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = msweep::fuzz::scratch().write("image.pgm", data, size);
  try {
    const msweep::PointImage image = msweep::read_image_points(path);
    if (image.points.rows() != static_cast<Eigen::Index>(image.labels.size()) || image.points.cols() != 2) __builtin_trap();
  } catch (const msweep::InputError&) {
  }
  return 0;
}
