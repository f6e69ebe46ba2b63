#!/usr/bin/env bash
# The README's second command (and CI's): set up, then run the whole suite with CTest.
# Pass CTest arguments to narrow it, e.g. scripts/test.sh -L unit
# scripts/test.sh --asan [ARGS]: the unit, mpi, e2e and fuzz-replay tests under AddressSanitizer
# and UndefinedBehaviorSanitizer instead (preset asan, build-asan/; README "Checks").
set -euo pipefail
cd "$(dirname "$0")/.."
preset=release
if [ "${1:-}" = "--asan" ]; then
  preset=asan
  shift
fi
bash scripts/setup.sh
source scripts/mpi-env.sh
if [ "$preset" = asan ]; then
  cmake --preset asan > /dev/null
  cmake --build --preset asan -j "$(nproc)"
elif grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
  # The v3 preset's binary, for e2e_v3_bitwise (its bitwise contract, README "Performance"):
  # only the msweep target, a few minutes; on a CPU without AVX2/FMA the test says it skips.
  cmake --preset v3 > /dev/null
  cmake --build --preset v3 -j "$(nproc)" --target msweep
fi
ctest --preset "$preset" "$@"
