"""Helpers shared by the benchmark drivers: run msweep under mpirun and parse its summary line."""
import os
import re
import subprocess
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]
MSWEEP = os.environ.get("MSWEEP_BIN", str(SOURCE / "build" / "bin" / "msweep"))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
SUMMARY = re.compile(r"this run: (\d+) tasks in \S+ on (\d+) ranks? \(([\d.]+) tasks/s while farming, (?:master )?CPU ([\d.]+)%\)")


def mpirun(ranks):
    return ["mpirun", "-n", str(ranks), "--oversubscribe", "--bind-to", "none"]


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
