"""What the report shows: test error as an outcome only, top-k overlap, digits that separate ranks,
axes that do not start at zero when values are close, no single-valued axes, runs as the unit."""

import numpy as np
import pandas as pd
import pytest

import msweep_analysis as ma
import results_files
from msweep_analysis import plots
from msweep_analysis.report import main, markdown_table


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("readable")
    path, output = directory / "four_runs.h5", directory / "report"
    results_files.write_results(path, *results_files.subset_evidence_rows(runs=4, failed_ids=(5, 6, 40)))
    assert main([str(path), "-o", str(output)]) == 0
    return path, output, (output / "index.html").read_text(encoding="utf-8")


def test_test_error_is_an_outcome_not_a_criterion(report):
    path, output, page = report
    best = pd.read_csv(output / "tables" / "best_structures.csv")
    assert set(best["criterion"]) == {"log evidence", "cross-validation MSE", "AIC", "BIC"}
    outcomes = pd.read_csv(output / "tables" / "selection_outcomes.csv")
    summary = ma.aggregate(ma.load(path), over=("run", "fold", "restart"))
    for _, row in outcomes.iterrows():
        chosen = summary[summary["structure"] == row["chosen structure"]].iloc[0]
        assert row["test MSE of the choice"] == pytest.approx(chosen["test_mse_mean"], rel=1e-12)
        assert row["sem over runs"] == pytest.approx(chosen["test_mse_sem"], rel=1e-9)
        assert row["runs"] == 4
    assert (output / "figures" / "selection_outcomes.png").is_file()
    assert "best by test MSE" not in page and "test MSE (outcome)" in page


def test_agreement_includes_top_k_overlap(report):
    _, output, _ = report
    overlap = pd.read_csv(output / "tables" / "criteria_top_overlap.csv").set_index("criterion")
    values = overlap.to_numpy()
    assert ((values >= 0) & (values <= 1)).all() and np.allclose(np.diag(values), 1)
    assert "test MSE (outcome)" in overlap.index


def test_single_valued_axes_are_not_shown(report):
    _, output, page = report
    failed = (output / "tables" / "failed_tasks.md").read_text()
    assert "| restart |" not in failed and "| run |" in failed
    assert "axes with one value" in page and "restart = 0" in page


def test_captions_say_runs_are_the_unit(report):
    _, output, page = report
    assert "over runs (folds averaged within each run first" in page
    structures = pd.read_csv(output / "tables" / "structures.csv")
    assert {"log_evidence_sem", "log_evidence_row_std", "run_count"} <= set(structures.columns)


def test_tables_print_enough_digits_to_separate_ranks():
    frame = pd.DataFrame({"structure": ["a", "b", "c"], "log_evidence": [-1234.51, -1234.56, -1234.61]})
    text = markdown_table(frame)
    assert "-1234.51" in text and "-1234.56" in text and "-1234.61" in text
    assert "| 2 | 3 |" in markdown_table(pd.DataFrame({"x": [2.0], "y": [3.0]}))  # short stays short


def test_close_values_are_not_drawn_from_zero():
    fig, (ax,) = plots.figure()
    drawn = plots.plot_bars(ax, ["a", "b", "c"], [10.0, 10.1, 10.2], [0.05, 0.05, 0.05])
    assert not hasattr(drawn, "patches") and ax.get_xlim()[0] > 9  # dots on a fitted axis, not bars
    assert "not from zero" in ax.get_xlabel()
    fig, (ax,) = plots.figure()
    drawn = plots.plot_bars(ax, ["a", "b"], [1.0, 5.0], [0.1, 0.1])
    assert len(drawn.patches) == 2 and ax.get_xlim()[0] <= 0


def test_curve_bands_average_folds_within_runs_first():
    frame = pd.DataFrame({"x": [1.0] * 6, "run": [0, 0, 0, 1, 1, 1], "fold": [0, 1, 2] * 2,
                          "y": [1.0, 2.0, 3.0, 5.0, 5.0, 5.0]})
    stats = plots.mean_over_runs(frame, "x", "y").iloc[0]
    assert stats["n"] == 2 and stats["mean"] == pytest.approx(3.5)
    assert stats["sem"] == pytest.approx(np.std([2.0, 5.0], ddof=1) / np.sqrt(2))
