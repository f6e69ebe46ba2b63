#!/usr/bin/env bash
# Installs the Debian packages msweep needs (only those missing) and builds it in build/.
# Used by quickstart.sh and test.sh; safe to run again (both steps are incremental).
#   scripts/setup.sh           the engine, its tests and the analysis
#   scripts/setup.sh --bench   also the peers the benchmarks compare against (bench/README in README.md)
#   scripts/setup.sh --fuzz    also clang-14 and its libFuzzer runtime, for the fuzz preset (tests/fuzz/, README "Checks")
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config procps
  openmpi-bin libopenmpi-dev libboost-mpi-dev libboost-serialization-dev
  libeigen3-dev libhdf5-dev hdf5-tools libtomlplusplus-dev libcli11-dev zlib1g-dev
  libgtest-dev
  python3 python3-h5py python3-numpy python3-pandas python3-matplotlib python3-sklearn python3-pytest python3-mpi4py
  slurm-wlm munge
  dataset-fashion-mnist
)
# Extra packages a caller needs: MSWEEP_EXTRA_PACKAGES="pkg1 pkg2". (slurm-wlm and munge are in
# the list above: the slurm-labelled tests start a private one-node Slurm; no daemon is enabled.)
read -r -a EXTRA <<< "${MSWEEP_EXTRA_PACKAGES:-}"
# The benchmark peers in their strong configuration (README: Performance): PyTorch, Optuna,
# OpenBLAS (which Debian's numpy, scikit-learn and PyTorch then use) and threadpoolctl (which
# the benchmarks use to report the peers' BLAS and threads). Not needed to build, test or run msweep.
BENCH_PACKAGES=(python3-torch python3-optuna libopenblas0-pthread python3-threadpoolctl)
for argument in "$@"; do
  case "$argument" in
    --bench) EXTRA+=("${BENCH_PACKAGES[@]}") ;;
    --fuzz) EXTRA+=(clang-14 libclang-rt-14-dev) ;;
    *) echo "scripts/setup.sh: unknown option '$argument' (expected --bench or --fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${PACKAGES[@]}" "${EXTRA[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "msweep setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
else
  echo "msweep setup: every package needed is installed${EXTRA[*]:+ (including ${EXTRA[*]})}"
fi

cmake --preset release > /dev/null
cmake --build --preset release -j "$(nproc)"
