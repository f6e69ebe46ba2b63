#!/usr/bin/env bash
# The README's second command (and CI's): set up, then run the whole suite with CTest.
# Pass CTest arguments to narrow it, e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/mpi-env.sh
ctest --preset release "$@"
