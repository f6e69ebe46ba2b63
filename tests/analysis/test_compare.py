"""compare() and `msweep-report A.h5 B.h5`: paired differences over runs, refusal of other grids."""

import numpy as np
import pandas as pd
import pytest

import msweep_analysis as ma
import results_files
from msweep_analysis.report import main


def write(path, **options):
    axes, metrics, rows = results_files.subset_evidence_rows(**options)
    results_files.write_results(path, axes, metrics, rows)
    return rows


def per_run_fold_means(rows, structure, metric):
    """{run: mean of the ok folds of ``structure``} by hand."""
    ok = (rows["structure"] == structure) & (rows["status"] == 0)
    return {int(run): rows[metric][ok & (rows["run"] == run)].mean() for run in np.unique(rows["run"][ok])}


def test_compare_is_paired_over_runs(tmp_path):
    rows_a = write(tmp_path / "a.h5", runs=4, failed_ids=(0, 1, 2))  # run 0..2 of structure 0, fold 0 fail
    rows_b = write(tmp_path / "b.h5", runs=3, seed=5)
    table = ma.compare(tmp_path / "a.h5", tmp_path / "b.h5")
    assert list(table["structure"]) == results_files.subset_labels(("x0", "x1", "x2", "x3"))
    assert table.attrs["paired_runs"] == ["0", "1", "2"]
    assert any("Run 3 is in one file only" in note for note in table.attrs["notes"])
    for structure in (0, 3, 9):
        a = per_run_fold_means(rows_a, structure, "log_evidence")
        b = per_run_fold_means(rows_b, structure, "log_evidence")
        runs = sorted(set(a) & set(b))
        differences = np.array([b[r] - a[r] for r in runs])
        row = table[table["structure_index"] == structure].iloc[0]
        assert row["pairs"] == len(runs)
        assert row["log_evidence_diff"] == pytest.approx(differences.mean(), rel=1e-12)
        assert row["log_evidence_diff_sem"] == pytest.approx(differences.std(ddof=1) / np.sqrt(len(runs)), rel=1e-9)
        assert row["log_evidence_a"] == pytest.approx(np.mean([a[r] for r in runs]), rel=1e-12)
    assert (table["n_features_diff"] == 0).all()


@pytest.mark.parametrize("options, message", [
    ({"features": ("x0", "x1", "x2")}, "axis structure differs: 16 values in the first"),
    ({"runs": 2, "cv": True, "folds": 3, "features": ("x0", "x1", "x2", "y3")},
     "axis structure differs: value 8 is 'x3' in the first and 'y3' in the second"),
])
def test_other_grids_are_refused_in_one_line(tmp_path, capsys, options, message):
    write(tmp_path / "a.h5")
    write(tmp_path / "b.h5", **options)
    with pytest.raises(ma.IncomparableError, match=message) as error:
        ma.compare(tmp_path / "a.h5", tmp_path / "b.h5")
    assert "\n" not in str(error.value)
    output = tmp_path / "report"
    assert main([str(tmp_path / "a.h5"), str(tmp_path / "b.h5"), "-o", str(output)]) == 2
    printed = capsys.readouterr().err.strip().splitlines()
    assert len(printed) == 1 and "cannot be compared" in printed[0] and message in printed[0]
    assert not output.exists()  # nothing created


def test_other_experiment_and_disjoint_runs_are_refused(tmp_path):
    axes, metrics, rows = results_files.subset_evidence_rows()
    results_files.write_results(tmp_path / "a.h5", axes, metrics, rows)
    results_files.write_results(tmp_path / "b.h5", axes, metrics, rows, experiment="synthetic-load")
    with pytest.raises(ma.IncomparableError, match="experiment 'subset-evidence' in the first, 'synthetic-load'"):
        ma.compare(tmp_path / "a.h5", tmp_path / "b.h5")
    moved = dict(axes, run=["7", "8"])
    results_files.write_results(tmp_path / "c.h5", moved, metrics, rows)
    with pytest.raises(ma.IncomparableError, match="no run in common"):
        ma.compare(tmp_path / "a.h5", tmp_path / "c.h5")


def test_comparison_report_writes_figures_and_table(tmp_path, capsys):
    write(tmp_path / "a.h5", runs=3)
    write(tmp_path / "b.h5", runs=3, seed=2)
    output = tmp_path / "report"
    assert main([str(tmp_path / "a.h5"), str(tmp_path / "b.h5"), "-o", str(output)]) == 0
    assert capsys.readouterr().out.strip() == str(output / "index.html")
    for name in ("compare_means", "compare_differences"):
        assert (output / "figures" / f"{name}.png").stat().st_size > 10_000
    written = pd.read_csv(output / "tables" / "paired_differences.csv")
    expected = ma.compare(tmp_path / "a.h5", tmp_path / "b.h5")
    np.testing.assert_allclose(written["test_mse_diff"], expected["test_mse_diff"], rtol=1e-12)
    page = (output / "index.html").read_text()
    assert "Paired differences B − A" in page and "3 paired runs" in page
    shown = (output / "tables" / "paired_differences.md").read_text()
    assert "| restart |" not in shown  # an axis with one value is not a column


def test_three_files_are_refused(tmp_path, capsys):
    write(tmp_path / "a.h5")
    with pytest.raises(SystemExit) as exit_status:
        main([str(tmp_path / "a.h5")] * 3 + ["-o", str(tmp_path / "r")])
    assert exit_status.value.code == 2
    assert "at most two results files" in capsys.readouterr().err
