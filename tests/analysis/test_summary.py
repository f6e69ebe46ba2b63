"""aggregate() against a direct numpy computation and against the file's /summaries."""

import numpy as np
import pytest

import msweep_analysis as ma
import results_files


def reference_statistics(rows, structure, metric):
    """Statistics of one structure by hand, runs as the unit: each run's mean over its ok folds,
    then mean, std (ddof=1) and sem over those run means; plus the std over single rows."""
    member = rows["structure"] == structure
    ok = member & (rows["status"] == 0)
    run_means = np.array([rows[metric][ok & (rows["run"] == run)].mean()
                          for run in np.unique(rows["run"][ok])])
    std = run_means.std(ddof=1) if run_means.size > 1 else np.nan
    mean = run_means.mean() if run_means.size else np.nan
    sem = std / np.sqrt(run_means.size) if run_means.size else np.nan
    values = rows[metric][ok]
    row_std = values.std(ddof=1) if values.size > 1 else np.nan
    return mean, std, sem, row_std, ok.sum(), (member & ~ok).sum(), run_means.size


def test_aggregate_sem_is_over_runs_and_matches_numpy(tmp_path):
    """5 runs x 3 folds with failures that leave runs unbalanced: the mean is the mean of run means,
    sem is their std / sqrt(runs), and row_std is the separate per-row spread."""
    axes, metrics, rows = results_files.subset_evidence_rows(runs=5, failed_ids=(0, 1, 5, 6, 40, 77))
    path = tmp_path / "five_runs.h5"
    results_files.write_results(path, axes, metrics, rows)
    table = ma.aggregate(ma.load(path))
    assert table.attrs["replicate_unit"] == "run"
    assert len(table) == len(axes["structure"])  # restart has one value, so one row per structure
    assert list(table["structure_index"]) == list(range(len(axes["structure"])))
    assert list(table["structure"]) == axes["structure"]
    for structure in range(len(axes["structure"])):
        row = table.iloc[structure]
        for name, _ in metrics:
            mean, std, sem, row_std, ok, failed, runs = reference_statistics(rows, structure, name)
            assert row[f"{name}_mean"] == pytest.approx(mean, rel=1e-12, abs=1e-12)
            assert row[f"{name}_std"] == pytest.approx(std, rel=1e-9, abs=1e-12)
            assert row[f"{name}_sem"] == pytest.approx(sem, rel=1e-9, abs=1e-12)
            assert row[f"{name}_row_std"] == pytest.approx(row_std, rel=1e-9, abs=1e-12)
        assert (row["ok_count"], row["failed_count"], row["run_count"]) == (ok, failed, runs)
    # Rows of one run are not independent: the row-based sem is a different (wrong) number.
    rows_sem = table["log_evidence_row_std"] / np.sqrt(table["ok_count"])
    assert not np.allclose(rows_sem, table["log_evidence_sem"])


def test_aggregate_without_run_axis_reduced_uses_rows(complete_file):
    path, axes, _, rows = complete_file
    table = ma.aggregate(ma.load(path), over=("fold",), metrics=["aic"])
    assert table.attrs["replicate_unit"] == "row" and "run_count" not in table
    row = table[(table["structure_index"] == 3) & (table["run"] == 1)].iloc[0]
    values = rows["aic"][(rows["structure"] == 3) & (rows["run"] == 1) & (rows["status"] == 0)]
    assert row["aic_sem"] == pytest.approx(values.std(ddof=1) / np.sqrt(values.size))


def test_failed_tasks_are_excluded_and_counted(complete_file):
    path, _, _, rows = complete_file
    table = ma.aggregate(ma.load(path))
    assert table["failed_count"].sum() == 3
    assert table["ok_count"].sum() == len(rows) - 3
    # 6 tasks per structure: task 5 is the last of structure 0, task 6 the first of structure 1.
    assert table.loc[0, "ok_count"] == 5 and table.loc[0, "failed_count"] == 1
    assert table.loc[1, "ok_count"] == 5 and table.loc[1, "failed_count"] == 1


def test_group_whose_tasks_all_failed_has_nan_statistics(tmp_path):
    axes, metrics, rows = results_files.subset_evidence_rows(failed_ids=range(6, 12))  # all of structure 1
    path = tmp_path / "failed.h5"
    results_files.write_results(path, axes, metrics, rows)
    table = ma.aggregate(ma.load(path))
    row = table[table["structure"] == "x0"].iloc[0]
    assert row["ok_count"] == 0 and row["failed_count"] == 6
    assert np.isnan(row["log_evidence_mean"]) and np.isnan(row["log_evidence_sem"])


def test_aggregate_agrees_with_file_summaries(complete_file):
    path = complete_file[0]
    mine = ma.aggregate(ma.load(path))
    theirs = ma.load_summaries(path)
    np.testing.assert_array_equal(mine["ok_count"], theirs["ok_count"])
    np.testing.assert_array_equal(mine["failed_count"], theirs["failed_count"])
    # The engine's /summaries pools the (run, fold) rows: that is aggregate's row_std, and the
    # means agree wherever no task failed (elsewhere runs weigh equally, not rows).
    balanced = (mine["failed_count"] == 0).to_numpy()
    assert balanced.sum() >= 10
    for metric in mine.attrs["metrics"]:
        np.testing.assert_allclose(mine[f"{metric}_mean"][balanced], theirs[f"{metric}_mean"][balanced], rtol=1e-12)
        np.testing.assert_allclose(mine[f"{metric}_row_std"], theirs[f"{metric}_std"], rtol=1e-9, atol=1e-12)


def test_aggregate_over_other_axes_and_over_everything(complete_file):
    path, axes, _, rows = complete_file
    tasks = ma.load(path)
    per_run = ma.aggregate(tasks, over=("structure", "fold", "restart"), metrics=["test_mse"])
    assert list(per_run["run"]) == [int(r) for r in axes["run"]]  # integer labels come as int64
    for run in range(len(axes["run"])):
        ok = (rows["run"] == run) & (rows["status"] == 0)
        assert per_run.loc[run, "test_mse_mean"] == pytest.approx(rows["test_mse"][ok].mean())
    everything = ma.aggregate(tasks, over=tuple(axes))
    assert len(everything) == 1 and everything.loc[0, "ok_count"] == len(rows) - 3
    run_means = [np.nanmean(rows["aic"][rows["run"] == run]) for run in range(len(axes["run"]))]
    assert everything.loc[0, "aic_mean"] == pytest.approx(np.mean(run_means))


def test_aggregate_ignores_axes_the_frame_lacks(complete_file):
    tasks = ma.load(complete_file[0])
    table = ma.aggregate(tasks, over=("run", "fold", "seed"))
    assert table.attrs["reduced_axes"] == ["fold", "run"]


def test_aggregate_works_on_frames_without_attrs(complete_file):
    """Filtering or building frames by hand may drop attrs: axes and metrics are then inferred."""
    tasks = ma.load(complete_file[0])
    plain = tasks.copy()
    plain.attrs = {}
    table = ma.aggregate(plain)
    reference = ma.aggregate(tasks)
    np.testing.assert_allclose(table["bic_mean"], reference["bic_mean"])
    assert list(table["structure"]) == list(reference["structure"])
