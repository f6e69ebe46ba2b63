"""The multistart-evidence figure set on a real engine run: figures written, and the Python
combination of starts (msweep_analysis.multistart) against the engine's own numbers."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from msweep_analysis import multistart
from msweep_analysis.context import Context
from msweep_analysis.reader import info, load
from msweep_analysis.report import main
from test_engine import run_engine

JOB = (Path(__file__).resolve().parents[2] / "jobs" / "multistart-evidence-small.toml").read_text()  # 2 runs x 3 starts
RUNS = 2


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_engine(tmp_path_factory.mktemp("multistart"), "ms", JOB)


def context_of(path, directory):
    return Context(path=path, info=info(path), preloaded=load(path), output_dir=directory)


def report_table(results, output, figures):
    """Render the report of ``results`` into ``output``; check ``figures`` were drawn; the methods table."""
    assert main([str(results), "-o", str(output)]) == 0
    for name in figures:
        assert (output / "figures" / f"{name}.png").stat().st_size > 10_000, name
    return pd.read_csv(output / "tables" / "methods.csv")


def test_report_has_the_figures_and_the_method_table(results, tmp_path):
    table = report_table(results, tmp_path / "report",
                         ("evidence_terms", "test_rmse_by_method", "rmse_vs_input_noise", "stopping_iteration"))
    assert list(table["method"]) == ["sgd", "early-stopping", "validation-prior-grid", "sgd-elbo", "langevin-elbo",
                                     "mean-field-vi"]
    assert (table["runs"] == RUNS).all()


def test_one_start_cloud_is_the_engines_own_entropy(results, tmp_path):
    # The engine stores each entropy start's own entropy (its C++ recursion over its increments);
    # the Python combination of that start alone must give the same numbers.
    context = context_of(results, tmp_path)
    config = multistart.settings(context.info)
    tasks = context.tasks
    increments, own = context.array(multistart.INCREMENT), context.array(multistart.ENTROPY)
    checked = 0
    for row, task in enumerate(tasks.itertuples()):
        if task.method not in multistart.ENTROPY_METHODS:
            continue
        d, lr = int(task.n_params), float(config["learning_rate"])
        cloud = multistart.cloud_entropy(multistart.gaussian_entropy(d, float(config["init_std"])), increments[row:row + 1],
                                         task.method == "langevin-elbo",
                                         multistart.gaussian_entropy(d, math.sqrt(2.0 * lr)), d)
        np.testing.assert_allclose(cloud[::int(config["tau_val"])], own[row], rtol=1e-12)
        checked += 1
    assert checked == 2 * 3 * RUNS


def sgd_ensembles(path, tmp_path):
    """Per run: the combined table's SGD row, the SGD starts' final test predictions, the test
    targets and the target scale, for checking the combination against a direct mean."""
    context = context_of(path, tmp_path)
    combined, _ = multistart.combine_all(context)
    tasks = context.tasks
    predictions, targets = context.array(multistart.TEST_PREDICTION), context.array(multistart.TEST_TARGET)
    for run in range(RUNS):
        rows = np.flatnonzero(((tasks["method"] == "sgd") & (tasks["run_index"] == run)).to_numpy())
        row = combined[(combined["method"] == "sgd") & (combined["run"] == run)].iloc[0]
        yield row, predictions[rows, -1, 0], targets[rows[0]], tasks["target_scale"].iloc[rows[0]], combined


def test_sgd_ensemble_is_the_mean_prediction_at_the_budget(results, tmp_path):
    for row, starts, target, scale, combined in sgd_ensembles(results, tmp_path):
        expected = np.sqrt(np.mean((starts.mean(axis=0) - target) ** 2)) * scale
        assert row["test_rmse"] == pytest.approx(expected, rel=1e-12)
    assert set(combined["starts"]) == {3}
    assert (combined[combined["method"].isin(multistart.EVIDENCE_METHODS)]["evidence_at_stop"].notna()).all()


def test_patience_rule():
    assert multistart.stop_by_patience([5, 4, 3, 3.5, 3.6, 3.7, 1.0], 3) == 2
    assert multistart.stop_by_patience([5, 4, 3, 3.5, 3.6, 1.0], 3) == 5
    assert multistart.stop_by_patience([1.0], 3) == 0


DIGITS_JOB = (Path(__file__).resolve().parents[2] / "jobs" / "multistart-evidence-digits-small.toml").read_text()


@pytest.fixture(scope="module")
def digits_results(tmp_path_factory):
    return run_engine(tmp_path_factory.mktemp("multistart-digits"), "msd", DIGITS_JOB)


def test_logistic_job_reports_accuracy_of_the_ensemble(digits_results, tmp_path):
    # The classification variant: accuracy in place of RMSE, from the averaged P(y = 1) at 1/2.
    table = report_table(digits_results, tmp_path / "report",
                         ("evidence_terms", "test_accuracy_by_method", "accuracy_vs_input_noise", "stopping_iteration"))
    assert "test_rmse_mean" not in table.columns
    assert ((table["test_accuracy_mean"] > 0.5) & (table["test_accuracy_mean"] <= 1.0)).all()
    for row, starts, target, _, _ in sgd_ensembles(digits_results, tmp_path):
        expected = np.mean((starts.mean(axis=0) > 0.5) == (target > 0.5))
        assert row["test_accuracy"] == pytest.approx(expected, rel=1e-12)
