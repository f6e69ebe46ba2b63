"""The real engine on a tiny job, read back by the analysis package and turned into a report.

The binary comes from MSWEEP_BIN (CTest passes $<TARGET_FILE:msweep>), default
/work/main/build/bin/msweep. The test is skipped only when that file does not exist.
"""

import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

import msweep_analysis as ma
from msweep_analysis.report import main

MSWEEP_BIN = Path(os.environ.get("MSWEEP_BIN", "/work/main/build/bin/msweep"))

TINY_JOB = """[job]
name = "tiny"
experiment = "subset-evidence"
seed = 1
[data]
source = "synthetic-regression"
objects = 60
features = 4
[sweep]
structures = "all"
folds = 3
runs = 2
"""


def run_engine(directory, name, job_text):
    """Run msweep on ``job_text`` in ``directory``; return the results file."""
    if not MSWEEP_BIN.is_file():
        pytest.skip(f"no msweep binary at {MSWEEP_BIN} (set MSWEEP_BIN)")
    job, results = directory / f"{name}.toml", directory / f"{name}.h5"
    job.write_text(job_text)
    run = subprocess.run([str(MSWEEP_BIN), "run", str(job), "-o", str(results)],
                         capture_output=True, text=True, timeout=300, cwd=directory)
    assert run.returncode == 0, f"msweep run failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    assert results.is_file(), f"msweep run exited 0 but wrote no {results}:\n{run.stdout}\n{run.stderr}"
    return results


@pytest.fixture(scope="module")
def tiny_results(tmp_path_factory):
    return run_engine(tmp_path_factory.mktemp("engine"), "tiny", TINY_JOB)


def test_engine_file_loads_with_every_task(tiny_results):
    tasks = ma.load(tiny_results)
    meta = tasks.attrs
    assert meta["status"] == "complete"
    assert meta["experiment"] == "subset-evidence" and meta["job_name"] == "tiny"
    assert meta["job_text"] == TINY_JOB
    # Every key read, with the value used: the job's own and the engine's defaults.
    resolved = meta["resolved_job"]
    assert resolved["job"] == {"name": "tiny", "experiment": "subset-evidence", "seed": 1}
    assert resolved["sweep"]["structures"] == "all" and resolved["sweep"]["restarts"] == 1
    assert resolved["data"]["test_fraction"] == 0.2 and resolved["data"]["noise"] == 1.0
    assert resolved["model"] == {"prior": "evidence", "alpha": 1.0, "beta": 1.0, "max_iterations": 1000, "tolerance": 1e-12}
    assert list(meta["axes"]) == ["structure", "fold", "restart", "run"]
    assert len(meta["axes"]["structure"]) == 16 and "(intercept only)" in meta["axes"]["structure"]
    assert meta["task_count"] == meta["rows_committed"] == len(tasks) == 16 * 3 * 1 * 2
    assert sorted(tasks["id"]) == list(range(96))
    for metric in ("n_features", "log_evidence", "aic", "bic", "cv_mse", "cv_q", "cv_l", "test_mse"):
        assert metric in tasks.columns, metric
    ok = tasks[tasks["status"] == "ok"]
    assert len(ok) > 0 and np.isfinite(ok["log_evidence"]).all()
    sizes = ok["structure"].map(lambda s: 0 if s == "(intercept only)" else len(s.split("+")))
    np.testing.assert_array_equal(ok["n_features"], sizes)


def test_coordinates_computed_from_ids_match_the_engines_grid(tiny_results):
    """Format 3 stores no coordinate fields: load() computes them from the id, and they must be
    those of the engine's grid (TaskGrid::coordinates), which `msweep inspect --rows` prints."""
    with h5py.File(tiny_results, "r", swmr=True) as f:
        assert int(f.attrs["format_version"]) == 3
        assert set(f["tasks"].dtype.names).isdisjoint(f["axes"].attrs["order"])
    tasks = ma.load(tiny_results)
    axes = list(tasks.attrs["axes"])
    assert [len(tasks.attrs["axes"][a]) for a in axes] == [16, 3, 1, 2]  # three axes of more than one value
    shown = subprocess.run([str(MSWEEP_BIN), "inspect", str(tiny_results), "--rows", str(len(tasks))],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    lines = shown[shown.index("\nid\t"):].strip().splitlines()
    assert lines[0].split("\t")[:1 + len(axes)] == ["id", *axes]
    engine = {int(fields[0]): fields[1:1 + len(axes)] for fields in (line.split("\t") for line in lines[1:])}
    assert len(engine) == len(tasks) == 96
    mine = {int(row.id): [str(getattr(row, a)) for a in axes] for row in tasks.itertuples()}
    assert mine == engine
    # The index columns are the positions of those labels, and filtering by an axis uses them.
    for axis in axes:
        labels = np.asarray(tasks.attrs["axes"][axis], dtype=object)
        assert list(labels[tasks[f"{axis}_index"]]) == [str(v) for v in tasks[axis]]
    part = ma.load(tiny_results, columns=["fold", "log_evidence"], where={"run": 1, "structure_index": [5]})
    assert list(part["id"]) == [5 * 6 + fold * 2 + 1 for fold in range(3)]
    assert list(part["fold"]) == [0, 1, 2] and "run" not in part.columns


def test_engine_summaries_agree_with_aggregate(tiny_results):
    theirs = ma.load_summaries(tiny_results)
    assert theirs is not None, "a complete run writes /summaries/table"
    mine = ma.aggregate(ma.load(tiny_results))
    assert list(theirs["structure"]) == list(mine["structure"])
    np.testing.assert_array_equal(theirs["ok_count"], mine["ok_count"])
    np.testing.assert_array_equal(theirs["failed_count"], mine["failed_count"])
    for metric in mine.attrs["metrics"]:
        np.testing.assert_allclose(theirs[f"{metric}_mean"], mine[f"{metric}_mean"], rtol=1e-9, atol=1e-12)
        # The engine's std pools the (run, fold) rows: aggregate's row_std, not its std over runs.
        np.testing.assert_allclose(theirs[f"{metric}_std"], mine[f"{metric}_row_std"], rtol=1e-6, atol=1e-12)


def test_engine_file_makes_a_report(tiny_results, tmp_path, capsys):
    output = tmp_path / "report"
    assert main([str(tiny_results), "-o", str(output)]) == 0
    assert capsys.readouterr().out.strip().endswith("index.html")
    for name in ("criteria_vs_size", "criteria_agreement", "feature_inclusion", "top_structures"):
        png = output / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000, name


def test_engine_files_compare_paired_over_runs(tiny_results, tmp_path, capsys):
    """The same job with the prior fixed instead of evidence-maximised: same seed, so run r has
    the same splits in both files and the comparison pairs them; a 3-feature job is refused."""
    fixed = run_engine(tmp_path, "fixed", TINY_JOB.replace("[sweep]", '[model]\nprior = "fixed"\n[sweep]'))
    table = ma.compare(tiny_results, fixed)
    assert len(table) == 16 and (table["pairs"] == 2).all()
    assert (table["n_features_diff"] == 0).all()
    assert np.abs(table["log_evidence_diff"]).max() > 0
    a, b = ma.load(tiny_results), ma.load(fixed)
    runs = [b[(b["structure_index"] == 5) & (b["run"] == r)]["log_evidence"].mean()
            - a[(a["structure_index"] == 5) & (a["run"] == r)]["log_evidence"].mean() for r in (0, 1)]
    assert table.loc[5, "log_evidence_diff"] == pytest.approx(np.mean(runs), rel=1e-12)
    assert table.loc[5, "log_evidence_diff_sem"] == pytest.approx(np.std(runs, ddof=1) / np.sqrt(2), rel=1e-9)
    output = tmp_path / "comparison"
    assert main([str(tiny_results), str(fixed), "-o", str(output)]) == 0
    assert (output / "figures" / "compare_differences.png").is_file()
    capsys.readouterr()
    smaller = run_engine(tmp_path, "three", TINY_JOB.replace("features = 4", "features = 3"))
    assert main([str(tiny_results), str(smaller), "-o", str(tmp_path / "refused")]) == 2
    assert "axis structure differs: 16 values in the first" in capsys.readouterr().err
