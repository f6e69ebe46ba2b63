// Private to the store: a test-only hook that makes a chosen step of a flush, a journal
// commit or an fsync fail, so tests can prove the failure paths (docs/architecture.md,
// "Failure model"). Compiled in always, inert unless the environment variable
//   MSWEEP_TEST_FAIL_AT=<step>[:<n>][:stop]
// names a step: the n-th time (default 1) the process reaches it, that step fails once
// (with ":stop", the process stops itself with SIGSTOP there instead, for end-to-end tests
// that need a live writer at a known point). Not a user setting: tests only.
#pragma once

namespace msweep::store_detail {

// True exactly once: the n-th time `step` is reached while MSWEEP_TEST_FAIL_AT names it.
bool fault_due(const char* step);

// Throws StoreError("injected failure at STEP ...") when fault_due(step).
void fault_point(const char* step);

}  // namespace msweep::store_detail
