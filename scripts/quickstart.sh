#!/usr/bin/env bash
# The README's first command: set up, then run the default job (jobs/quickstart.toml) on all
# cores and write its report. Pass another job file as $1 to run that instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/mpi-env.sh
job="${1:-jobs/quickstart.toml}"
output="results/$(basename "$job" .toml).h5"
status=0
"${MPIRUN[@]}" build/bin/msweep run "$job" -o "$output" --force || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then exit "$status"; fi
if [ -x analysis/msweep-report ]; then
  analysis/msweep-report "$output" -o "reports/$(basename "$job" .toml)"
fi
exit "$status"
