"""Shared helpers for the end-to-end tests: they run the real msweep binary, alone or
under mpirun, and read the results with h5py (Debian's python3-h5py, /usr/bin/python3)."""
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

# Helpers shared with the Slurm tests (tests/pyhelpers).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pyhelpers"))

MSWEEP = os.environ.get("MSWEEP_BIN", str(Path(__file__).resolve().parents[2] / "build" / "bin" / "msweep"))
SOURCE = Path(__file__).resolve().parents[2]


def mpirun(ranks):
    """The launcher prefix for `ranks` processes on this machine (root allowed, oversubscribed)."""
    return ["mpirun", "-n", str(ranks), "--oversubscribe"]


def environment(**extra):
    """The process environment for msweep under mpirun (root allowed, oversubscribed), plus `extra`.
    Without the caller's COLUMNS: inspect fits its tables to it, and tests must not depend on the
    terminal they were started from (a test that wants a width passes COLUMNS in `extra`)."""
    env = {name: value for name, value in os.environ.items() if name != "COLUMNS"}
    return dict(env, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMPI_MCA_rmaps_base_oversubscribe="1", **extra)


def run(args, ranks=None, timeout=300, extra_env=None, **kwargs):
    """Runs msweep with `args`, under mpirun when ranks is given, with `extra_env` added to the
    environment; returns CompletedProcess."""
    env = environment(**(extra_env or {}))
    command = (mpirun(ranks) if ranks else []) + [MSWEEP] + [str(a) for a in args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)


def write_job(directory, name, text):
    path = Path(directory) / f"{name}.toml"
    path.write_text(text)
    return path


def open_results(path):
    """The results file in SWMR read mode: readable while msweep writes it or after a kill."""
    return h5py.File(path, "r", swmr=True, locking=False)


def run_state(path):
    """/state's row (rows_committed, status, updated, finished, ...) as a dict, strings as str."""
    with open_results(path) as f:
        row = f["state"][0]
        return {name: row[name].decode() if isinstance(row[name], bytes) else row[name] for name in row.dtype.names}


def load_tasks(path):
    """Committed rows of /tasks as a numpy structured array sorted by task id, with one uint32
    field per axis added: the task's index on it, which format 3 no longer stores but computes
    from the id (row-major over /axes order, the last fastest: numpy's unravel_index)."""
    with open_results(path) as f:
        rows = f["tasks"][: f["state"][0]["rows_committed"]]
        order = [a.decode() if isinstance(a, bytes) else str(a) for a in f["axes"].attrs["order"]]
        sizes = [len(f["axes"][a]) for a in order]
    rows = np.sort(rows, order="id")
    stored = [n for n in rows.dtype.names if n not in order]
    out = np.empty(len(rows), dtype=[(n, rows.dtype[n]) for n in stored] + [(a, "<u4") for a in order])
    for name in stored:
        out[name] = rows[name]
    for axis, index in zip(order, np.unravel_index(rows["id"].astype(np.int64), sizes)):
        out[axis] = index
    return out


def metric_names(path):
    with h5py.File(path, "r") as f:
        return [str(m) for m in f["tasks"].attrs["metrics"]]


@pytest.fixture
def tmp(tmp_path):
    return tmp_path
