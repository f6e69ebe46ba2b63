"""One copy of the data per node (src/app/node_shared_data.hpp): under mpirun the ranks of a node
share the data set (and param-ordering's fixed split) in an MPI-3 shared-memory window. The shared
path must be taken, and every result must equal, bit for bit, a one-rank run and a run with
sharing turned off (MSWEEP_SHARED_DATA=0)."""
import os
import subprocess

import numpy as np
import pytest

from conftest import MSWEEP, SOURCE, environment, load_tasks, mpirun, open_results, write_job

# Fashion-MNIST's fixed test part: the data set and the split are both shared.
PARAM_ORDERING = (SOURCE / "jobs" / "param-ordering-fashion-mnist-small.toml").read_text()

# Per-run splits: only the data set is shared, the splits stay per rank.
SUBSETS = """[job]
name = "shared-subsets"
experiment = "subset-evidence"
seed = 11
[data]
source = "synthetic-regression"
objects = 81
features = 5
[sweep]
folds = 3
runs = 3
"""


def run_msweep(job, output, ranks=None, shared=True):
    env = environment() if shared else environment(MSWEEP_SHARED_DATA="0")
    command = (mpirun(ranks) if ranks else []) + [MSWEEP, "run", str(job), "-o", str(output), "--progress", "none",
                                                  "--batch-seconds", "0.0001", "--in-flight", "2"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)


def results(path):
    """Every task's id, metrics and arrays as raw bytes, in task order."""
    rows = load_tasks(path)  # sorted by id
    with open_results(path) as f:
        committed = f["state"][0]["rows_committed"]
        names = [str(m) for m in f["tasks"].attrs["metrics"]]
        order = np.argsort(f["tasks"]["id"][:committed])
        arrays = {name: f["arrays"][name][:committed][order].tobytes() for name in f.get("arrays", {})}
    metrics = np.stack([rows[m] for m in names], axis=1)
    return rows["id"].tobytes(), metrics.tobytes(), arrays


@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"), reason="dataset-fashion-mnist is not installed")
@pytest.mark.parametrize("text", [PARAM_ORDERING, SUBSETS], ids=["param-ordering-fashion-mnist", "subset-evidence"])
def test_shared_data_gives_the_results_of_private_copies(tmp, text):
    job = write_job(tmp, "job", text)
    single = run_msweep(job, tmp / "one.h5")
    assert single.returncode == 0, single.stderr
    assert "data shared" not in single.stderr, "one process has nothing to share"
    reference = results(tmp / "one.h5")
    for ranks in [2, 4]:
        shared = run_msweep(job, tmp / f"shared{ranks}.h5", ranks=ranks)
        assert shared.returncode == 0, shared.stderr
        assert f"data shared by the {ranks} ranks of this node" in shared.stderr, shared.stderr
        private = run_msweep(job, tmp / f"private{ranks}.h5", ranks=ranks, shared=False)
        assert private.returncode == 0, private.stderr
        assert "data shared" not in private.stderr
        assert results(tmp / f"shared{ranks}.h5") == reference, f"{ranks} ranks sharing the data differ from one rank"
        assert results(tmp / f"private{ranks}.h5") == reference, f"{ranks} ranks with private copies differ from one rank"


def test_a_data_error_on_the_loading_rank_reaches_every_rank(tmp):
    """Only the node's first rank reads the data: its error must end every rank with status 2
    (mpirun reports a rank's non-zero status as its own), printed once."""
    job = write_job(tmp, "job", SUBSETS.replace('source = "synthetic-regression"', 'source = "csv:missing.csv"\ntarget = "y"')
                    .replace("objects = 81\nfeatures = 5\n", ""))
    result = run_msweep(job, tmp / "out.h5", ranks=3)
    assert result.returncode != 0
    assert result.stderr.count("missing.csv") == 1, result.stderr
    assert not (tmp / "out.h5").exists()


@pytest.mark.parametrize("ranks", [None, 3])
def test_a_misspelt_switch_is_refused_in_one_line(tmp_path, ranks):
    """MSWEEP_SHARED_DATA takes 0/off/no or 1/on/yes: a typo is bad input (status 2, one line,
    nothing created), on one rank and under mpirun, not silently 'on'."""
    job = write_job(tmp_path, "job", SUBSETS)
    output = tmp_path / "typo.h5"
    command = (mpirun(ranks) if ranks else []) + [MSWEEP, "run", str(job), "-o", str(output), "--progress", "none"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env=environment(MSWEEP_SHARED_DATA="offf"))
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("msweep: error:")]
    assert errors == ['msweep: error: environment variable MSWEEP_SHARED_DATA: expected 0, off or no (every rank loads '
                      'its own copy) or 1, on or yes (the default: the ranks of a node share one), got "offf"']
    assert not output.exists() and not list(tmp_path.glob("typo.h5*"))

