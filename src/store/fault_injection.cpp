// The test-only fault hook (fault_injection.hpp). The variable is read at every step, so a
// unit test may set and unset it between calls; a changed value restarts the count.
#include "fault_injection.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <string>

#include "msweep/core/error.hpp"

namespace msweep::store_detail {

bool fault_due(const char* step) {
  static std::string armed;      // the value of MSWEEP_TEST_FAIL_AT the count belongs to
  static unsigned long seen = 0;  // times the named step was reached under that value
  const char* value = std::getenv("MSWEEP_TEST_FAIL_AT");
  if (value == nullptr || *value == '\0') return false;
  if (armed != value) {
    armed = value;
    seen = 0;
  }
  const std::string spec = armed;
  const auto colon = spec.find(':');
  if (spec.substr(0, colon) != step) return false;
  const unsigned long n = colon == std::string::npos ? 1 : std::strtoul(spec.c_str() + colon + 1, nullptr, 10);
  return ++seen == std::max(n, 1UL);
}

void fault_point(const char* step) {
  if (!fault_due(step)) return;
  // "<step>[:<n>]:stop": the process stops itself (SIGSTOP) there instead, so an end-to-end
  // test can act while a writer is alive at a known point and continue it with SIGCONT.
  const std::string spec = std::getenv("MSWEEP_TEST_FAIL_AT");
  if (spec.size() >= 5 && spec.compare(spec.size() - 5, 5, ":stop") == 0) {
    std::raise(SIGSTOP);
    return;
  }
  throw StoreError(std::string("injected failure at ") + step + " (MSWEEP_TEST_FAIL_AT, a test-only hook)");
}

}  // namespace msweep::store_detail
