"""A researcher's workflow (issue 16) with the real binary: plan's data shape, values and
estimates; choosing CSV feature columns and sweeping small subsets; the summary with runs as
the unit of replication, sorted, limited and as CSV; progress modes; the resume hint."""
import csv
import io
import os
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

from conftest import MSWEEP, load_tasks, run, write_job

BOSTON = """[job]
name = "wf"
experiment = "subset-evidence"
seed = 3
[data]
source = "boston"
features = ["RM", "LSTAT", "PTRATIO"]
[sweep]
folds = 3
runs = 3
"""


def test_plan_shows_data_values_and_labelled_estimates(tmp):
    job = write_job(tmp, "wf", BOSTON)
    plan = run(["plan", job])
    assert plan.returncode == 0, plan.stderr
    out = plan.stdout
    assert "506 objects x 3 features, target MEDV" in out
    assert "split, redrawn per run: test 101, train 405; 3 folds: validation 135, fit 270" in out
    assert '[data] {"features": ["RM", "LSTAT", "PTRATIO"], "source": "boston", "standardize": true, "test_fraction": 0.2}' in out
    assert '"max_iterations": 1000' in out  # a default, shown as used
    assert "tasks: 72" in out  # 8 subsets x 3 folds x 3 runs
    assert "estimate: results file about" in out and "estimate: run time about" in out
    assert not (tmp / "results").exists()  # plan writes nothing
    quick = run(["plan", job, "--no-estimate"])
    assert quick.returncode == 0 and "estimate: run time" not in quick.stdout and "estimate: results file" in quick.stdout


def test_plan_stays_cheap_for_a_huge_grid(tmp):
    """2^20 structures x 250 runs: 262 million tasks, whose subsets and labels are made from
    their index: described by their axes, not built."""
    job = write_job(tmp, "huge", "[job]\nname = \"huge\"\nexperiment = \"subset-evidence\"\n[data]\n"
                    "source = \"synthetic-regression\"\nfeatures = 20\nobjects = 100\n[sweep]\nruns = 250\n")
    plan = run(["plan", job, "--no-estimate"], timeout=120)
    assert plan.returncode == 0, plan.stderr
    assert f"tasks: {2**20 * 250}" in plan.stdout


def test_csv_features_exclude_and_max_features(tmp):
    rng = np.random.default_rng(7)
    names = [f"f{j}" for j in range(30)]
    X = rng.normal(size=(60, 30))
    y = X[:, 0] - 2 * X[:, 5] + rng.normal(size=60)
    lines = [",".join(names + ["y"])] + [",".join(f"{v:.6f}" for v in list(row) + [t]) for row, t in zip(X, y)]
    (tmp / "wide.csv").write_text("\n".join(lines) + "\n")
    head = "[job]\nname = \"wide\"\nexperiment = \"subset-evidence\"\n[data]\nsource = \"csv:wide.csv\"\ntarget = \"y\"\n"
    # 30 features: "all" is refused, max_features = 2 sweeps 1 + 30 + 435 subsets, counted exactly.
    job = write_job(tmp, "wide", head + "[sweep]\nmax_features = 2\n")
    plan = run(["plan", job, "--no-estimate"])
    assert plan.returncode == 0, plan.stderr
    assert "tasks: 466" in plan.stdout and "f28+f29" in plan.stdout
    refused = run(["plan", write_job(tmp, "all", head)])
    assert refused.returncode == 2 and "set max_features" in refused.stderr
    chosen = run(["plan", write_job(tmp, "chosen", head + "features = [\"f5\", \"f0\"]\n"), "--no-estimate"])
    assert chosen.returncode == 0 and "tasks: 4" in chosen.stdout and "f5+f0" in chosen.stdout  # kept in the order given
    excluded = run(["plan", write_job(tmp, "excluded", head + "exclude = [" + ", ".join(f'"f{j}"' for j in range(2, 30)) + "]\n"),
                    "--no-estimate"])
    assert excluded.returncode == 0 and "tasks: 4" in excluded.stdout
    missing = run(["plan", write_job(tmp, "missing", head + "features = [\"f0\", \"nope\"]\n")])
    assert missing.returncode == 2 and '[data] features: no feature column named "nope"' in missing.stderr
    # A header that repeats a name is refused, naming the file, the name and both positions.
    (tmp / "twice.csv").write_text("a,b,a,y\n1,2,3,4\n5,6,7,8\n9,1,2,3\n")
    twice = run(["plan", write_job(tmp, "twice", head.replace("wide.csv", "twice.csv"))])
    assert twice.returncode == 2
    assert f'{tmp / "twice.csv"}:1: column name "a" appears twice in the header (columns 1 and 3)' in twice.stderr


def run_means_and_sems(path, metric):
    """Per structure: fold means per run, then mean and sem over runs (numpy, from /tasks)."""
    rows = load_tasks(path)
    out = {}
    for s in np.unique(rows["structure"]):
        mine = rows[rows["structure"] == s]
        means = np.array([mine[mine["run"] == r][metric].mean() for r in np.unique(mine["run"])])
        out[int(s)] = (means.mean(), means.std(ddof=1) / np.sqrt(len(means)))
    return out


def test_summary_uses_runs_as_the_unit_sorts_limits_and_writes_csv(tmp):
    job = write_job(tmp, "wf", BOSTON)
    output = tmp / "wf.h5"
    done = run(["run", job, "-o", output], ranks=2)
    assert done.returncode == 0, done.stderr
    # The report judges each criterion by the test error of its choice; test MSE is no criterion.
    assert "best by test MSE" not in done.stdout
    assert "outcome: test MSE of its choice" in done.stdout and "(sem over 3 runs)" in done.stdout
    expected = run_means_and_sems(output, "log_evidence")
    with h5py.File(output, "r") as f:  # /summaries keeps its old columns and gains the run-unit ones
        table = f["summaries"]["table"][()]
    assert {"ok_count", "log_evidence_mean", "log_evidence_std", "run_count", "log_evidence_run_mean",
            "log_evidence_run_sem"} <= set(table.dtype.names)
    for row in table:
        mean, sem = expected[int(row["structure"])]
        assert row["run_count"] == 3
        assert np.isclose(row["log_evidence_run_mean"], mean, rtol=1e-12) and np.isclose(row["log_evidence_run_sem"], sem, rtol=1e-9)

    shown = run(["inspect", output, "--summary", "--by", "log_evidence", "--top", "3"])
    assert shown.returncode == 0, shown.stderr
    assert "runs as the unit of replication" in shown.stdout and "sorted by log_evidence descending, first 3 of 8" in shown.stdout
    as_csv = run(["inspect", output, "--summary", "--by", "test_mse", "--csv", "-"])
    assert as_csv.returncode == 0, as_csv.stderr
    records = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(records) == 8
    test_mse = [float(r["test_mse_mean"]) for r in records]
    assert test_mse == sorted(test_mse)  # errors: ascending
    for r in records:
        mean, sem = expected[int(r["structure_index"])]
        assert np.isclose(float(r["log_evidence_mean"]), mean, rtol=1e-12) and np.isclose(float(r["log_evidence_sem"]), sem, rtol=1e-9)
    descending = run(["inspect", output, "--summary", "--by", "test_mse", "--descending", "--csv", tmp / "d.csv"])
    assert descending.returncode == 0 and descending.stdout == ""
    values = [float(r["test_mse_mean"]) for r in csv.DictReader(open(tmp / "d.csv"))]
    assert values == sorted(values, reverse=True)
    unknown = run(["inspect", output, "--summary", "--by", "nope", "--csv", tmp / "x.csv"])
    assert unknown.returncode == 2 and "--by nope" in unknown.stderr and not (tmp / "x.csv").exists()
    assert unknown.stdout == ""


@pytest.mark.parametrize("mode", ["lines", "bar", "none"])
def test_progress_modes_under_mpirun(tmp, mode):
    job = write_job(tmp, "wf", BOSTON)
    done = run(["run", job, "-o", tmp / f"{mode}.h5", "--progress", mode], ranks=2)
    assert done.returncode == 0, done.stderr
    final = "72/72 tasks (100.0%)"
    if mode == "none":
        assert final not in done.stderr
    elif mode == "bar":  # mpirun forwards the rewriting line as it is (text mode reads its \r as a newline)
        assert "\033[K" in done.stderr and final in done.stderr
    else:  # plain lines in logs: no control characters
        assert final in done.stderr and "\033" not in done.stderr
    bad = run(["run", job, "-o", tmp / "bad.h5", "--progress", "fancy"])
    assert bad.returncode == 2 and "--progress" in bad.stderr


SLOW = """[job]
name = "slow"
experiment = "synthetic-load"
seed = 2
[model]
work = 300000
[sweep]
structures = 4000
[output]
flush_seconds = 0.1
"""


def interrupt_single_process(tmp, env):
    job = write_job(tmp, "slow", SLOW)
    output = tmp / "slow.h5"
    environment = dict(os.environ, **env)
    process = subprocess.Popen([MSWEEP, "run", job, "-o", output, "-q"], env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait for committed rows: the run is under way
        assert process.poll() is None, process.communicate()
        try:
            with h5py.File(output, "r", swmr=True, locking=False) as f:
                if int(f["state"][0]["rows_committed"]) > 0:
                    break
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    process.send_signal(signal.SIGUSR1)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 4, stderr
    return job, output, stdout.strip().splitlines()[-1]


def test_resume_hint_of_a_single_process_and_the_slurm_override(tmp):
    job, output, last = interrupt_single_process(tmp, {})
    assert last.startswith("msweep: interrupted (exit 4; the file's status is interrupted")
    assert last.endswith(f"resume with: {MSWEEP} run {job} -o {output} --resume")
    assert run(["inspect", "--status", output]).stdout == "interrupted\n"
    other = tmp / "other"
    other.mkdir()
    _, _, hinted = interrupt_single_process(other, {"MSWEEP_RESUME_HINT": "resubmit the job (see below)"})
    assert hinted.endswith("resume with: resubmit the job (see below)")
