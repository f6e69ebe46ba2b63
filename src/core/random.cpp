#include "msweep/core/random.hpp"

#include <cmath>

namespace msweep {
namespace {

constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

// FNV-1a over the bytes, then mixed: stable across platforms and compilers.
std::uint64_t hash_bytes(std::uint64_t h, std::string_view bytes) noexcept {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

}  // namespace

std::uint64_t derive_seed(std::uint64_t job_seed, std::string_view stream,
                          std::initializer_list<SeedPart> coordinates) noexcept {
  std::uint64_t h = mix64(job_seed ^ 0x6d73776565702d31ULL);  // "msweep-1"
  h = hash_bytes(h, stream);
  for (const auto& [name, value] : coordinates) {
    h = hash_bytes(h, name);
    h = mix64(h ^ mix64(value));
  }
  return h;
}

RandomStream::RandomStream(std::uint64_t seed) noexcept {
  // Expand the seed with SplitMix64 as the xoshiro authors recommend; never all zero.
  std::uint64_t s = seed;
  for (auto& word : state_) {
    s += 0x9e3779b97f4a7c15ULL;
    word = mix64(s - 0x9e3779b97f4a7c15ULL);
  }
  if ((state_[0] | state_[1] | state_[2] | state_[3]) == 0) state_[0] = 1;
}

std::uint64_t RandomStream::next_u64() noexcept {
  const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const std::uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

double RandomStream::uniform() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double RandomStream::uniform(double low, double high) noexcept { return low + (high - low) * uniform(); }

double RandomStream::normal() noexcept {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  double u, v, s;
  do {
    u = 2.0 * uniform() - 1.0;
    v = 2.0 * uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * std::log(s) / s);
  spare_normal_ = v * factor;
  has_spare_ = true;
  return u * factor;
}

std::uint64_t RandomStream::below(std::uint64_t bound) noexcept {
  // Lemire's nearly divisionless method: unbiased and fast.
  __uint128_t product = static_cast<__uint128_t>(next_u64()) * bound;
  auto low = static_cast<std::uint64_t>(product);
  if (low < bound) {
    const std::uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      product = static_cast<__uint128_t>(next_u64()) * bound;
      low = static_cast<std::uint64_t>(product);
    }
  }
  return static_cast<std::uint64_t>(product >> 64);
}

}  // namespace msweep
