// Fuzz target: the journal reader (src/store/journal.cpp) through its public API only, so it
// survives changes of the record format: scan_journal and read_journal_header.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "msweep/core/error.hpp"
#include "msweep/store/journal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = msweep::fuzz::scratch().write("results.h5.journal", data, size);
  try {
    msweep::read_journal_header(path);
  } catch (const msweep::InputError&) {
  }
  try {
    std::uint64_t visited = 0;
    const msweep::JournalScan scan = msweep::scan_journal(path, [&](msweep::TaskResult&&) { ++visited; });
    // The scan's promises: it counts what it visited, and the valid prefix lies within the file.
    if (scan.rows != visited || scan.valid_bytes > scan.file_bytes || scan.file_bytes != size) __builtin_trap();
  } catch (const msweep::InputError&) {
  }
  return 0;
}
