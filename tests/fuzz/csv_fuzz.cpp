// Fuzz target: load_csv (src/data/loaders.cpp). The target column is "y"; a rejected file must
// end in InputError, anything else (crash, other exception, leak) is a finding.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "msweep/core/error.hpp"
#include "msweep/data/loaders.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = msweep::fuzz::scratch().write("data.csv", data, size);
  try {
    const msweep::Dataset loaded = msweep::load_csv(path, "y");
    if (loaded.X.rows() != loaded.y.size() || loaded.X.cols() != static_cast<Eigen::Index>(loaded.feature_names.size()))
      __builtin_trap();  // the loader's promise: one target value per row, one name per feature
  } catch (const msweep::InputError&) {
  }
  return 0;
}
