#include "msweep/core/inputs.hpp"

#include <array>
#include <cstdio>
#include <fstream>

#include "msweep/core/error.hpp"

namespace msweep {

InputFile fingerprint_file(const std::string& path, std::string kind) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read the data file to fingerprint it (permission denied?)");
  std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64: the same hash as the job text's
  std::uint64_t bytes = 0;
  std::array<char, 1 << 16> chunk{};
  while (in) {
    in.read(chunk.data(), chunk.size());
    const auto got = static_cast<std::size_t>(in.gcount());
    for (std::size_t i = 0; i < got; ++i) {
      hash ^= static_cast<unsigned char>(chunk[i]);
      hash *= 0x100000001b3ULL;
    }
    bytes += got;
  }
  if (in.bad()) throw InputError(path + ": read error while fingerprinting the data file");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return {path, std::move(kind), bytes, std::string("fnv1a64:") + hex};
}

std::string describe_input(const InputFile& input) {
  return input.path + " (" + input.kind + ", " + std::to_string(input.bytes) + " bytes, " + input.digest + ")";
}

bool key_changes_results(std::string_view key) {
  // Where the results go and how often they are flushed, and the job's name (it names the
  // default output file, not a seed stream): nothing a task computes reads them.
  static constexpr std::string_view kHarmless[] = {"job.name", "output.path", "output.flush_rows", "output.flush_seconds",
                                                    "output.summary_seconds"};
  for (std::string_view harmless : kHarmless)
    if (key == harmless) return false;
  return true;
}

}  // namespace msweep
