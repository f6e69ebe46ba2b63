"""msweep-report end to end on hand-made files: files written, links valid, bad input refused."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import msweep_analysis as ma
import results_files
from msweep_analysis import figure_sets, plots
from msweep_analysis.report import main

ANALYSIS_DIR = Path(__file__).resolve().parents[2] / "analysis"
SUBSET_FIGURES = ("criteria_vs_size", "criteria_agreement", "feature_inclusion", "top_structures")


def run_report(path, output, capsys):
    status = main([str(path), "-o", str(output)])
    printed = capsys.readouterr().out.strip().splitlines()
    assert status == 0
    assert printed[-1] == str(output / "index.html")
    return (output / "index.html").read_text(encoding="utf-8")


def assert_figures(output, names):
    for name in names:
        png, pdf = output / "figures" / f"{name}.png", output / "figures" / f"{name}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert png.stat().st_size > 20_000, name
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000, name


def assert_links_resolve(output, page):
    """Every src/href in index.html is relative and names a file that exists (self-contained report)."""
    links = re.findall(r"(?:src|href)='([^']+)'", page)
    assert links
    for link in links:
        assert not re.match(r"[a-z]+:", link) and not link.startswith("/"), link
        assert (output / link).is_file(), link


@pytest.fixture(scope="module")
def complete_report(tmp_path_factory):
    """One report of the complete synthetic sweep, shared by the tests that only read it (it takes seconds)."""
    directory = tmp_path_factory.mktemp("complete")
    axes, metrics, rows = results_files.subset_evidence_rows(failed_ids=(5, 6, 40))
    path = directory / "complete.h5"
    results_files.write_results(path, axes, metrics, rows)
    output = directory / "report"
    assert main([str(path), "-o", str(output)]) == 0
    return path, output, (output / "index.html").read_text(encoding="utf-8")


def test_subset_evidence_report_writes_tables_figures_and_index(complete_report):
    _, output, page = complete_report
    assert_figures(output, SUBSET_FIGURES)
    assert_links_resolve(output, page)
    for table in ("structures", "best_structures", "criteria_agreement", "feature_inclusion", "failed_tasks"):
        assert (output / "tables" / f"{table}.csv").stat().st_size > 0
        assert (output / "tables" / f"{table}.md").read_text().count("|") > 4
    assert "[sweep]" in page and "structures = &quot;all&quot;" in page  # the job text, escaped
    assert "complete" in page and "node2" in page and "96 of 96" in page
    assert "3 of 96 tasks failed" in page and "Cholesky" in page


def test_structure_table_csv_matches_aggregate(complete_report):
    import pandas as pd
    path, output, _ = complete_report
    written = pd.read_csv(output / "tables" / "structures.csv", keep_default_na=False, na_values=[""])
    expected = ma.aggregate(ma.load(path), over=("run", "fold", "restart"))
    assert list(written["structure"]) == list(expected["structure"])
    np.testing.assert_allclose(written["log_evidence_mean"], expected["log_evidence_mean"], rtol=1e-12)
    best = pd.read_csv(output / "tables" / "best_structures.csv")
    # The synthetic data put the signal in x0 and x1: every criterion must find x0+x1 first.
    assert set(best.loc[best["rank"] == 1, "structure"]) == {"x0+x1"}


def test_report_without_folds_or_test_part(tmp_path, capsys):
    """The simplest sweep: one fold, one run (no spread anywhere), no test part."""
    axes, metrics, rows = results_files.subset_evidence_rows(folds=1, runs=1, cv=False, test=False)
    path = tmp_path / "plain.h5"
    results_files.write_results(path, axes, metrics, rows)
    output = tmp_path / "report"
    page = run_report(path, output, capsys)
    assert_figures(output, SUBSET_FIGURES)
    agreement = (output / "tables" / "criteria_agreement.csv").read_text()
    assert "cross-validation" not in agreement and "test MSE" not in agreement and "BIC" in agreement
    assert "training MSE" in page  # the top-structures figure falls back to the training error


def test_report_handles_8192_structures(tmp_path, capsys):
    features = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT"]
    axes, metrics, rows = results_files.subset_evidence_rows(features=features, folds=1, runs=2, cv=False)
    path = tmp_path / "boston.h5"
    results_files.write_results(path, axes, metrics, rows, summaries=False)
    output = tmp_path / "report"
    run_report(path, output, capsys)  # no wall-clock assertion: speed is measured in bench/, not tested
    assert_figures(output, SUBSET_FIGURES)
    inclusion = (output / "tables" / "feature_inclusion.csv").read_text().splitlines()
    assert len(inclusion) == 1 + 13 and inclusion[1].startswith("CRIM,1.0")
    assert (output / "figures" / "criteria_vs_size.pdf").stat().st_size < 1_000_000  # scatter rasterised


def test_report_on_interrupted_run_says_so(tmp_path, capsys):
    axes, metrics, rows = results_files.subset_evidence_rows()
    path = tmp_path / "interrupted.h5"
    results_files.write_results(path, axes, metrics, rows, status="interrupted", rows_committed=30, garbage_rows=2)
    output = tmp_path / "report"
    page = run_report(path, output, capsys)
    assert "The run was interrupted: 30 of 96" in page and "class='status interrupted'" in page
    assert_figures(output, SUBSET_FIGURES)


def test_status_notes_for_running_and_complete_runs():
    from msweep_analysis.report import describe_status
    running = describe_status({"status": "running", "rows_committed": 40, "task_count": 96}, failed=0)
    assert len(running) == 1 and "still running: 40 of 96" in running[0]
    assert describe_status({"status": "complete", "rows_committed": 96, "task_count": 96}, failed=0) == []
    failed = describe_status({"status": "complete", "rows_committed": 96, "task_count": 96}, failed=2)
    assert failed == ["2 of 96 tasks failed; they are excluded from every mean and listed under 'Failed tasks'."]


def test_report_on_file_without_rows_yet(tmp_path, capsys):
    axes, metrics, rows = results_files.subset_evidence_rows()
    path = tmp_path / "started.h5"
    results_files.write_results(path, axes, metrics, rows[:0], status="running")
    page = run_report(path, tmp_path / "report", capsys)
    assert "No task finished successfully yet" in page


# --------------------------------------------------------------------------- other experiment kinds

def pruning_file(path, experiment="pruning-curves"):
    """A kind the report does not know: axes order x fraction x run, metrics loss and accuracy, a mask array."""
    axes = {"order": ["1", "2", "3"], "fraction": [f"{f:.1f}" for f in np.linspace(0, 0.9, 10)],
            "run": ["0", "1", "2"]}
    metrics = [("loss", "cross-entropy on the test part, nats"), ("accuracy", "test accuracy, fraction")]
    rng = np.random.default_rng(11)
    grid = results_files.grid(axes)
    rows = np.zeros(len(grid), dtype=results_files.task_dtype(axes, [m[0] for m in metrics]))
    for row, (task_id, (order, fraction, run)) in zip(rows, grid):
        row["id"], row["order"], row["fraction"], row["run"] = task_id, order, fraction, run
        row["loss"] = 0.3 + (order + 1) * (fraction / 10) ** 2 + rng.normal(0, 0.02)
        row["accuracy"] = 0.95 - 0.1 * (fraction / 10) * order + rng.normal(0, 0.01)
    masks = rng.random((len(rows), 4, 6))
    results_files.write_results(path, axes, metrics, rows, experiment=experiment, summaries=False,
                                arrays={"mask": (masks, "kept weights, 1 = kept")})


def test_unknown_kind_gets_generic_curves_per_metric(tmp_path, capsys):
    path = tmp_path / "pruning.h5"
    pruning_file(path)
    output = tmp_path / "report"
    page = run_report(path, output, capsys)
    assert_figures(output, ("metric_loss", "metric_accuracy"))
    assert_links_resolve(output, page)
    summary = (output / "tables" / "summary.csv").read_text().splitlines()
    assert len(summary) == 1 + 30  # order x fraction, runs averaged


def test_unknown_kind_with_many_groups_gets_sorted_profile(tmp_path, capsys):
    axes, metrics, rows = results_files.subset_evidence_rows(features=("a", "b", "c", "d", "e", "f"))
    metrics = [m for m in metrics if m[0] in ("log_evidence", "test_mse")]  # fewer figures: faster
    path = tmp_path / "other.h5"
    results_files.write_results(path, axes, metrics, rows, experiment="some-new-kind", summaries=False)
    output = tmp_path / "report"
    page = run_report(path, output, capsys)
    assert_figures(output, ("metric_log_evidence", "metric_test_mse"))
    assert "64 groups sorted" in page


def test_registered_figure_set_is_used_for_its_kind(tmp_path, capsys, monkeypatch):
    def build(context):
        fig, (ax,) = plots.figure()
        frame = context.tasks.assign(fraction=context.tasks["fraction"].astype(float))
        plots.plot_curves(ax, frame, "fraction", "loss", group="order")
        context.add_figure(fig, "loss_curves", "Loss against frozen fraction")
        fig, (ax,) = plots.figure()
        plots.plot_mask_heatmap(ax, context.array("mask"))
        context.add_figure(fig, "masks", "Run-averaged masks")

    monkeypatch.setitem(figure_sets.FIGURE_SETS, "pruning-curves", build)
    assert "pruning-curves" in figure_sets.registered_kinds()
    path = tmp_path / "pruning.h5"
    pruning_file(path)
    output = tmp_path / "report"
    page = run_report(path, output, capsys)
    assert_figures(output, ("loss_curves",))
    assert "Run-averaged masks" in page and not (output / "figures" / "metric_loss.png").exists()


# --------------------------------------------------------------------------- the command line

def run_command(arguments):
    environment = dict(os.environ, PYTHONPATH=str(ANALYSIS_DIR), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(arguments, capture_output=True, text=True, env=environment, timeout=120)


def assert_bad_input(result, path, fragment):
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(path) in lines[0] and fragment in lines[0]


def test_script_refuses_a_file_that_is_not_hdf5(tmp_path):
    path = tmp_path / "results.h5"
    path.write_bytes(b"not hdf5 at all")
    result = run_command([str(ANALYSIS_DIR / "msweep-report"), str(path), "-o", str(tmp_path / "out")])
    assert_bad_input(result, path, "not an HDF5 file")


def test_module_refuses_another_format_version(tmp_path):
    axes, metrics, rows = results_files.subset_evidence_rows()
    path = tmp_path / "v3.h5"
    results_files.write_results(path, axes, metrics, rows, format_version=3)
    result = run_command([sys.executable, "-m", "msweep_analysis.report", str(path), "-o", str(tmp_path / "out")])
    assert_bad_input(result, path, "format_version 3")


def test_script_refuses_missing_and_empty_files(tmp_path):
    import h5py
    missing = tmp_path / "missing.h5"
    assert_bad_input(run_command([str(ANALYSIS_DIR / "msweep-report"), str(missing), "-o", str(tmp_path / "o")]),
                     missing, "no such file")
    empty = tmp_path / "empty.h5"
    h5py.File(empty, "w").close()
    assert_bad_input(run_command([str(ANALYSIS_DIR / "msweep-report"), str(empty), "-o", str(tmp_path / "o")]),
                     empty, "msweep root attributes")


def test_script_prints_index_path_on_success(tmp_path):
    path = tmp_path / "pruning.h5"
    pruning_file(path)
    output = tmp_path / "out"
    result = run_command([str(ANALYSIS_DIR / "msweep-report"), str(path), "-o", str(output)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(output / "index.html")
