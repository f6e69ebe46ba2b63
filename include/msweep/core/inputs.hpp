// What a job's results depend on besides its keys: the files its data were read from
// (recorded by the loaders, stored in the results file, checked by resume and merge), and
// which job keys cannot change a task's numbers (the only changes resume --force accepts).
// Plain vocabulary: data fills InputFile, the store compares and stores them.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace msweep {

// One file a data set was read from, fingerprinted by its bytes.
struct InputFile {
  std::string path;       // as opened (csv paths resolved against the job file's directory)
  std::string kind;       // what it holds: "csv", "image", "idx-images", "idx-labels"
  std::uint64_t bytes = 0;
  std::string digest;     // "fnv1a64:" + 16 hex digits of the file's bytes (compressed files as stored)

  bool same_content(const InputFile& other) const { return kind == other.kind && bytes == other.bytes && digest == other.digest; }
};

// Reads `path` whole and fingerprints it. Throws InputError naming the file when unreadable.
InputFile fingerprint_file(const std::string& path, std::string kind);

// "path (kind, N bytes, fnv1a64:...)" for messages.
std::string describe_input(const InputFile& input);

// The one classification of job keys ("section.key", e.g. "output.flush_seconds"): false for
// the keys that cannot change any task's numbers (output location and flush cadence, the
// job's name), true for every other key, including keys added later (safe by default).
// docs/job-spec.md marks the same keys.
bool key_changes_results(std::string_view section_dot_key);

}  // namespace msweep
