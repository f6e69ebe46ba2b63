// Portable random streams and seed derivation.
// std:: distributions differ between standard libraries, so every draw the results depend on
// goes through these samplers: a task's numbers depend only on its seed, on any platform.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace msweep {

// SplitMix64 finalizer: a bijective 64-bit mixer with good avalanche.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// One named coordinate entering a seed, e.g. {"run", 3}.
using SeedPart = std::pair<std::string_view, std::uint64_t>;

// Seed of stream `stream` for the given coordinates: a hash of (job seed, stream name,
// each coordinate's name and value). Streams that leave out a coordinate are shared
// across it, which is how tasks differing only in structure get the same data split.
std::uint64_t derive_seed(std::uint64_t job_seed, std::string_view stream,
                          std::initializer_list<SeedPart> coordinates) noexcept;

// xoshiro256** generator with its own uniform and normal samplers.
class RandomStream {
 public:
  explicit RandomStream(std::uint64_t seed) noexcept;

  std::uint64_t next_u64() noexcept;
  double uniform() noexcept;                                  // [0, 1), 53 random bits
  double uniform(double low, double high) noexcept;           // [low, high)
  double normal() noexcept;                                   // N(0, 1), Marsaglia polar method
  double normal(double mean, double stddev) noexcept { return mean + stddev * normal(); }
  std::uint64_t below(std::uint64_t bound) noexcept;          // uniform in [0, bound), unbiased; bound > 0

  // Fisher-Yates shuffle driven by this stream (std::shuffle's algorithm is unspecified).
  template <class RandomIt>
  void shuffle(RandomIt first, RandomIt last) noexcept {
    const auto n = static_cast<std::uint64_t>(last - first);
    for (std::uint64_t i = n; i > 1; --i) {
      const std::uint64_t j = below(i);
      std::swap(first[static_cast<std::ptrdiff_t>(i - 1)], first[static_cast<std::ptrdiff_t>(j)]);
    }
  }

 private:
  std::uint64_t state_[4];
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace msweep
