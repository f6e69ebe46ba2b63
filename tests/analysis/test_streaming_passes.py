"""Streamed statistics in as few passes over /tasks as the memory budget allows: every metric's
per-run table and the tallies (e.g. stalled fits) from one pass equal what one pass per metric,
and the rows in memory, give; the failed-row pass is skipped when /summaries counts none."""

import h5py
import numpy as np
import pytest

import msweep_analysis as ma
import results_files
from msweep_analysis import reader, streaming
from msweep_analysis.context import Context

METRICS = ["log_evidence", "cv_mse", "aic", "bic", "test_mse"]
FINITE = ["log_evidence", "bic", "test_mse"]  # the fixture makes some cv_mse and aic values non-finite


@pytest.fixture
def sweep(tmp_path):
    """32 structures x 3 folds x 4 runs, some failed rows, some non-finite metrics, some stalled fits."""
    axes, metrics, rows = results_files.subset_evidence_rows(features=("x0", "x1", "x2", "x3", "x4"), runs=4,
                                                             failed_ids=(3, 50, 51, 200))
    rows["converged"][rows["id"] % 7 == 0] = 0.0
    rows["cv_mse"][rows["id"] % 11 == 0] = np.inf
    rows["aic"][rows["id"] == 17] = np.nan
    path = tmp_path / "sweep.h5"
    results_files.write_results(path, axes, metrics, rows)
    return path, rows


def counted_passes(monkeypatch):
    """A list that gets one entry (the fields read) per pass over /tasks."""
    passes = []
    original = streaming._blocks

    def counting(info, fields):
        passes.append(list(fields))
        return original(info, fields)
    monkeypatch.setattr(streaming, "_blocks", counting)
    return passes


def test_one_pass_gives_every_table_and_tally_of_one_pass_per_metric(sweep, monkeypatch):
    path, rows = sweep
    info = ma.info(path)
    passes = counted_passes(monkeypatch)
    stalled = streaming.Tally("converged", lambda v: v < 0.5)
    together = {m: t.copy() for m, t in streaming.run_tables(info, ["structure"], METRICS, [stalled])}
    assert len(passes) == 1 and set(METRICS) | {"id", "status", "converged"} == set(passes[0])
    ok = rows[rows["status"] == 0]
    assert stalled.count == int((ok["converged"] < 0.5).sum()) > 0

    cells = len(info["axes"]["structure"]) * len(info["axes"]["run"])
    monkeypatch.setattr(streaming, "CELL_BUDGET", 8 * cells)  # one metric's sums a pass
    passes.clear()
    again = streaming.Tally("converged", lambda v: v < 0.5)
    apart = {m: t.copy() for m, t in streaming.run_tables(info, ["structure"], METRICS, [again])}
    assert len(passes) == len(METRICS) and again.count == stalled.count  # tallied once, in the first pass
    for metric in METRICS:
        assert np.array_equal(together[metric], apart[metric], equal_nan=True), metric

    # And the tables are each run's mean over its ok, finite rows (what unit_means gives from memory).
    for metric in METRICS:
        finite = ok[np.isfinite(ok[metric])]
        for structure, run in [(0, 0), (5, 3), (17, 2), (31, 1)]:
            member = finite[(finite["structure"] == structure) & (finite["run"] == run)]
            expected = member[metric].mean() if len(member) else np.nan
            assert np.allclose(together[metric][run, structure], expected, rtol=1e-12, equal_nan=True), metric


def test_scattered_blocks_sum_like_narrow_ones(sweep, monkeypatch):
    """A block whose cells are far apart goes through np.unique, a narrow one through an offset:
    both add every cell's rows in the same order, so the sums are the same to the bit."""
    path, _ = sweep
    info = ma.info(path)
    narrow = {m: t.copy() for m, t in streaming.run_tables(info, ["structure"], METRICS)}
    original = streaming._local

    def scattered(cell):
        if not cell.size:
            return original(cell)
        present, local = np.unique(cell, return_inverse=True)
        return present, local, len(present)
    monkeypatch.setattr(streaming, "_local", scattered)
    for metric, table in streaming.run_tables(info, ["structure"], METRICS):
        assert np.array_equal(table, narrow[metric], equal_nan=True), metric


def test_streamed_context_counts_stalled_fits_like_the_rows_in_memory(sweep):
    path, rows = sweep
    info = ma.info(path)
    counts = []
    for streamed in (False, True):
        context = Context(path=path, info=info, streaming=streamed)
        tally = streaming.Tally("converged", lambda v: v < 0.5)
        tables = {m: t.to_numpy().copy() for m, t in context.run_tables("structure", FINITE, [tally])}
        counts.append((tally.count, tables))
    assert counts[0][0] == counts[1][0] > 0
    for metric in FINITE:
        assert np.allclose(counts[0][1][metric], counts[1][1][metric], rtol=1e-12, equal_nan=True), metric


def test_the_failed_row_pass_is_skipped_only_when_summaries_count_none(tmp_path, monkeypatch):
    from msweep_analysis import report
    monkeypatch.setattr(report, "IN_MEMORY_ROWS", 0)
    read = []
    original = reader._chunks

    def counting(path, meta, fields, masks, start, stop, chunksize):
        read.append((list(fields), stop - start))
        return original(path, meta, fields, masks, start, stop, chunksize)
    monkeypatch.setattr(reader, "_chunks", counting)
    for failed_ids, name in (((), "clean"), ((4, 9), "failing")):
        axes, metrics, rows = results_files.subset_evidence_rows(failed_ids=failed_ids)
        path = tmp_path / f"{name}.h5"
        results_files.write_results(path, axes, metrics, rows)
        info = ma.info(path)
        assert streaming.failed_count_from_summaries(info) == len(failed_ids)
        read.clear()
        context = Context(path=path, info=info, streaming=True)
        failed = report.failed_tasks(context)
        assert [rows_read for _, rows_read in read] == [0 if not failed_ids else len(rows)]
        assert len(failed) == len(failed_ids)
        assert list(failed.columns) == list(ma.load(path, columns=[*axes, "rank", "error"]).columns)


def test_stale_or_missing_summaries_say_nothing_about_failures(tmp_path):
    axes, metrics, rows = results_files.subset_evidence_rows(failed_ids=(2,))
    stale = tmp_path / "stale.h5"  # /summaries written before the last rows were committed
    results_files.write_results(stale, axes, metrics, rows)
    with h5py.File(stale, "r+") as f:
        table = f["summaries/table"][...]
        table["ok_count"][0] -= 1
        f["summaries/table"][...] = table
    missing = tmp_path / "missing.h5"
    results_files.write_results(missing, axes, metrics, rows, summaries=False)
    for path in (stale, missing):
        assert streaming.failed_count_from_summaries(ma.info(path)) is None, path.name
