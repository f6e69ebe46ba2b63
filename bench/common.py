"""Helpers shared by the benchmark drivers: run msweep under mpirun and parse its summary line;
report the BLAS and threads each side computes with (a ratio means something only against a
peer as a well-informed user runs it: on an optimized BLAS, not Debian's reference BLAS)."""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]
MSWEEP = os.environ.get("MSWEEP_BIN", str(SOURCE / "build" / "bin" / "msweep"))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
SUMMARY = re.compile(r"this run: (\d+) tasks in \S+ on (\d+) ranks? \(([\d.]+) tasks/s while farming, (?:master )?CPU ([\d.]+)%(?:, workers in tasks ([\d.]+)%)?\)")


def mpirun(ranks):
    return ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none"]


def set_arguments(overrides):
    """msweep's command-line form of job-key overrides: --set SECTION.KEY=VALUE for each."""
    return [part for override in overrides for part in ("--set", override)]


def run_msweep(job_text, ranks, extra=(), output=None):
    """Runs a job; returns (tasks, tasks_per_second, master_cpu_percent) from msweep's summary
    line. The results file is kept at `output` when given, else discarded."""
    with tempfile.TemporaryDirectory() as directory:
        job = Path(directory) / "bench.toml"
        job.write_text(job_text)
        output = output or Path(directory) / "out.h5"
        command = (mpirun(ranks) if ranks > 1 else []) + [MSWEEP, "run", str(job), "-o", str(output), "-q", "--force", *extra]
        result = subprocess.run(command, capture_output=True, text=True, env=ENV, check=False)
        match = SUMMARY.search(result.stdout)
        if result.returncode not in (0, 1) or not match:
            raise RuntimeError(f"msweep failed ({result.returncode}): {result.stdout}{result.stderr}")
        return int(match.group(1)), float(match.group(3)), float(match.group(4))


def synthetic_load_job(structures, work=0, runs=1):
    return f"""[job]
name = "bench"
experiment = "synthetic-load"
seed = 1
[model]
work = {work}
[sweep]
structures = {structures}
runs = {runs}
"""


# Exit status of a benchmark that refuses to compare: a peer is missing or runs on the reference BLAS.
PEER_NOT_READY = 3
OPENBLAS_HINT = ("apt-get install libopenblas0-pthread (Debian's numpy, scikit-learn and PyTorch then use OpenBLAS "
                 "through the BLAS alternatives; or: bash scripts/setup.sh --bench)")


def report_peer_blas(peer, allow_reference_blas=False, threads=1):
    """Limits the BLAS and OpenMP pools of this process to `threads`, prints (to stderr, so a
    driver that parses stdout is unaffected) the library, version, kernel and threads of each, and
    exits PEER_NOT_READY when the BLAS that `peer` (already imported) uses is the reference BLAS,
    unless allow_reference_blas. Returns the threadpoolctl limiter (keep it alive while timing)."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        sys.exit(f"{peer}: threadpoolctl is missing, so the peer's BLAS cannot be reported: apt-get install python3-threadpoolctl")
    limiter = threadpool_limits(limits=threads)
    pools = threadpool_info()
    for pool in pools:
        print(f"peer {peer}: {pool['user_api']} {pool['internal_api']} {pool.get('version') or ''} "
              f"kernel {pool.get('architecture', '-')}, {pool['num_threads']} thread(s) ({pool['filepath']})",
              file=sys.stderr, flush=True)
    if not any(pool["user_api"] == "blas" for pool in pools):
        # threadpoolctl knows optimized BLAS libraries only: Debian's reference libblas is invisible to it.
        mapped = sorted({line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines() if "libblas" in line})
        print(f"peer {peer}: reference BLAS (no thread pool), 1 thread ({', '.join(mapped) or 'no BLAS mapped'})",
              file=sys.stderr, flush=True)
        if not allow_reference_blas:
            print(f"peer {peer} runs on the reference BLAS, the slowest a user could have: no ratio printed. "
                  f"Install an optimized one: {OPENBLAS_HINT}; or pass --allow-reference-blas to compare anyway.",
                  file=sys.stderr, flush=True)
            sys.exit(PEER_NOT_READY)
    return limiter



def import_torch(script):
    """PyTorch, or exit naming the Debian package that provides it (a driver's first step)."""
    try:
        import torch
    except ImportError:
        print(f"{script}: PyTorch is missing: install the Debian package python3-torch "
              "(scripts/setup.sh --bench installs every benchmark peer)", file=sys.stderr)
        sys.exit(PEER_NOT_READY)
    return torch


def start_torch_peer(torch, allow, products):
    """One intra-op thread, the peer's BLAS reported (and refused if it is the reference BLAS,
    unless `allow` is --allow-reference-blas), and a line saying how the peer computes
    `products`. Returns the threadpoolctl limiter: keep it alive while timing."""
    torch.set_num_threads(1)
    limiter = report_peer_blas("torch", allow_reference_blas=allow == "--allow-reference-blas")
    print(f"peer torch {torch.__version__}: {torch.get_num_threads()} intra-op thread(s), float64, {products}",
          file=sys.stderr, flush=True)
    return limiter

def msweep_build_report(binary=MSWEEP):
    """One line on how the msweep binary computes: its build's compiler flags (from the CMakeCache
    beside bin/), hence Eigen's SIMD kernels, and its threads (one per rank: no OpenMP)."""
    cache = Path(binary).resolve().parents[1] / "CMakeCache.txt"
    entries = dict(re.findall(r"^(CMAKE_CXX_FLAGS|CMAKE_BUILD_TYPE|CMAKE_CXX_COMPILER):\w+=(.*)$",
                              cache.read_text(), re.M)) if cache.exists() else {}
    flags = entries.get("CMAKE_CXX_FLAGS", "?")
    simd = "AVX2+FMA" if "x86-64-v3" in flags or "-mavx2" in flags else "SSE2 (no -m flags)" if cache.exists() else "?"
    return (f"msweep: {binary}, Eigen's own kernels (no external BLAS), SIMD {simd}, CXX_FLAGS '{flags}', "
            f"build type {entries.get('CMAKE_BUILD_TYPE', '?')}; 1 thread per rank")
