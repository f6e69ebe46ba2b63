"""Reports of files too large to hold: streamed (MSWEEP_IN_MEMORY_ROWS=0) they need a fraction of
the memory a whole load() needs, and give the same tables as the in-memory path.

The file (409,600 rows, 8192 structures x 5 folds x 10 runs, every 997th task failed) is written
by bench/make_results.py, which takes the layout from a tiny file the engine writes: skipped
when the engine binary is not built.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import msweep_analysis as ma

ROOT = Path(__file__).resolve().parents[2]
MAKE_RESULTS = ROOT / "bench" / "make_results.py"
REPORT = ROOT / "analysis" / "msweep-report"
BINARY = Path(os.environ.get("MSWEEP_BIN", ROOT / "build" / "bin" / "msweep"))


def run_measured(arguments, **env):
    """(exit status, peak resident bytes) of a child process (wait4's ru_maxrss)."""
    child = subprocess.Popen(arguments, stdout=subprocess.DEVNULL,
                             env={**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT / "analysis"), **env})
    _, status, usage = os.wait4(child.pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024


@pytest.fixture(scope="module")
def large_file(tmp_path_factory):
    if not BINARY.exists():
        pytest.skip(f"engine binary {BINARY} not built")
    path = tmp_path_factory.mktemp("large") / "large.h5"
    subprocess.run([sys.executable, str(MAKE_RESULTS), str(path), "--features", "13", "--folds", "5", "--runs", "10",
                    "--failed", "997", "--msweep", str(BINARY)], check=True, stdout=subprocess.DEVNULL)
    return path


def test_generated_file_is_what_the_engine_writes(large_file):
    """The engine itself reads the generated file, and the rows are the grid."""
    shown = subprocess.run([str(BINARY), "inspect", "--summary", str(large_file)], check=True,
                           capture_output=True, text=True).stdout
    assert "409600 of 409600 stored" in shown and "410 failed" in shown
    ids = ma.load(large_file, columns=["structure"])["id"].to_numpy()
    assert np.array_equal(ids, np.arange(409_600))


def test_streamed_report_needs_a_fraction_of_a_whole_load(large_file, tmp_path):
    whole = int(ma.load(large_file).memory_usage(deep=True).sum())  # what holding the rows costs
    # The interpreter with the report's imports, a rendered figure and info(): the floor of any report.
    floor = ("import sys, matplotlib.pyplot as plt, msweep_analysis as ma, msweep_analysis.report; "
             "fig = plt.figure(figsize=(9.2, 7.4)); fig.savefig(sys.argv[2], dpi=150); ma.info(sys.argv[1])")
    status, baseline = run_measured([sys.executable, "-c", floor, str(large_file), str(tmp_path / "floor.png")])
    assert status == 0
    status, peak = run_measured([sys.executable, str(REPORT), str(large_file), "-o", str(tmp_path / "report")],
                                MSWEEP_IN_MEMORY_ROWS="0", MSWEEP_READ_ROWS="8192")
    assert status == 0
    assert peak - baseline < whole / 4, (peak, baseline, whole)
    assert "without holding them in memory" in (tmp_path / "report" / "index.html").read_text()


@pytest.mark.parametrize("summaries", [True, False], ids=["from-summaries", "streamed-passes"])
def test_streamed_report_tables_equal_the_in_memory_ones(large_file, tmp_path, summaries):
    path = large_file
    if not summaries:  # without /summaries every statistic comes from passes over /tasks
        path = tmp_path / "no-summaries.h5"
        path.write_bytes(large_file.read_bytes())
        with h5py.File(path, "r+") as f:
            del f["summaries"]
    for name, rows in (("memory", "1000000000"), ("streamed", "0")):
        status, _ = run_measured([sys.executable, str(REPORT), str(path), "-o", str(tmp_path / name)],
                                 MSWEEP_IN_MEMORY_ROWS=rows, MSWEEP_READ_ROWS="50000")
        assert status == 0
    # The fits that stopped at the iteration limit are counted alike (streamed: in the per-run tables' pass).
    stalled = [re.search(r"(\d+) of (\d+) fits stopped at the iteration limit", (tmp_path / name / "index.html").read_text())
               for name in ("memory", "streamed")]
    assert stalled[0] and stalled[1] and stalled[0].groups() == stalled[1].groups(), stalled
    tables = sorted((tmp_path / "memory" / "tables").glob("*.csv"))
    assert {t.name for t in tables} == {t.name for t in (tmp_path / "streamed" / "tables").glob("*.csv")}
    assert "failed_tasks.csv" in {t.name for t in tables}
    for table in tables:
        memory, streamed = pd.read_csv(table), pd.read_csv(tmp_path / "streamed" / "tables" / table.name)
        assert list(memory.columns) == list(streamed.columns) and memory.shape == streamed.shape, table.name
        for column in memory.columns:
            if memory[column].dtype.kind == "f":
                assert np.allclose(memory[column], streamed[column], rtol=1e-9, atol=1e-9, equal_nan=True), \
                    (table.name, column)
            else:
                assert (memory[column].astype(str) == streamed[column].astype(str)).all(), (table.name, column)


def test_a_streamed_subset_evidence_report_never_holds_the_rows(large_file, tmp_path, monkeypatch):
    """Streamed, the subset-evidence report works from /summaries and passes over the file: it never
    reads Context.tasks (every row's axes and metrics at once; 131M rows did not fit in 23 GB)."""
    from msweep_analysis import context as context_module
    from msweep_analysis import report
    monkeypatch.setattr(report, "IN_MEMORY_ROWS", 0)
    monkeypatch.setenv("MSWEEP_READ_ROWS", "50000")

    def refuse(self):
        raise AssertionError("Context.tasks read while streaming")

    monkeypatch.setattr(context_module.Context, "tasks", property(refuse))
    index = report.write_report(large_file, tmp_path / "report")
    assert re.search(r"\d+ of \d+ fits stopped at the iteration limit", Path(index).read_text())


def test_run_choices_match_a_whole_table_argmax():
    """The per-run choice, made a run's row at a time (no copy of a runs x 1M-structures table), is the
    argmax of the oriented finite scores; a run without any finite score is flagged."""
    from msweep_analysis.figure_sets.subset_evidence import run_choices
    table = np.random.default_rng(3).normal(size=(6, 50))
    table[1, [4, 9]] = np.nan
    table[2, 7] = np.inf * -1
    table[4] = np.nan
    for higher_is_better in (True, False):
        scores = table if higher_is_better else -table
        expected = np.argmax(np.where(np.isfinite(scores), scores, -np.inf), axis=1)
        choice, has_score = run_choices(table, higher_is_better)
        assert np.array_equal(has_score, np.isfinite(table).any(axis=1))
        assert np.array_equal(choice[has_score], expected[has_score])
