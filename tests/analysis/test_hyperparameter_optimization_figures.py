"""The hyperparameter-optimization figure set on a real engine run of jobs/hpo-polynomial-small.toml:
figures written, the method table against numbers recomputed from the file (random search's best
trial per run, gradient methods' mean over restarts, both averaged over runs)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import msweep_analysis as ma
from msweep_analysis.figure_sets.hyperparameter_optimization import first_reaching
from msweep_analysis.report import main
from test_engine import run_engine

JOB = (Path(__file__).resolve().parents[2] / "jobs" / "hpo-polynomial-small.toml").read_text()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("hpo")
    results = run_engine(directory, "hpo", JOB)
    output = directory / "report"
    assert main([str(results), "-o", str(output)]) == 0
    return results, output


def test_figures_and_table_are_written(report):
    _, output = report
    for name in ("q_trajectory", "final_hyperparameters"):
        png = output / "figures" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000, name
    shown = (output / "tables" / "methods.md").read_text()
    for method in ("random", "greedy", "hoag", "drmad"):
        assert f"| {method} |" in shown
    # Error columns in words (the polynomial job's loss is MSE); the CSV keeps the file's names.
    header = next(line for line in shown.splitlines() if line.startswith("| criterion |"))
    assert "| test MSE | test MSE, input noise s = 0.25 | test MSE, input noise s = 0.5 |" in header, header
    assert "test_error_noise_025_mean" in (output / "tables" / "methods.csv").read_text().splitlines()[0]


def test_method_table_matches_the_file(report):
    results, output = report
    tasks = ma.load(results)
    trajectories = ma.load_array(results, "criterion")
    table = pd.read_csv(output / "tables" / "methods.csv").set_index(["criterion", "method"])
    for (criterion, method), part in tasks.groupby(["criterion", "method"]):
        if method == "random":
            per_run = part.groupby("run_index")["best_criterion"].max()
            # Trials in restart order: the convergence rule on the best-so-far sequence.
            steps = [first_reaching(np.maximum.accumulate(trajectories[p.sort_values("restart_index").index, 0]))
                     for _, p in part.groupby("run_index")]
            assert table.loc[(criterion, method), "iterations_to_99_mean"] == pytest.approx(np.mean(steps))
        else:
            per_run = part.groupby("run_index")["best_criterion"].mean()
            np.testing.assert_allclose(part["best_criterion"], trajectories[part.index].max(axis=1))
        assert table.loc[(criterion, method), "q_hat_mean"] == pytest.approx(per_run.mean())
        assert table.loc[(criterion, method), "runs"] == len(per_run)


def test_first_reaching_follows_the_engine_rule():
    assert first_reaching([0.0, 0.5, 0.995, 1.0]) == 2
    assert first_reaching([1.0, 1.0]) == 0


def test_many_parameters_draw_the_sorted_hyperparameters(tmp_path):
    # An MLP's hundreds of thousands of parameters once asked matplotlib for an image millions of
    # pixels wide; beyond PER_PARAMETER_LIMIT the figure shows h sorted over the parameters.
    job = JOB.replace("runs = 2\nrestarts = 2", "runs = 1\nrestarts = 1") \
        + "\n[model]\nhidden = [20]    # 11*20 + 20 + 20 + 1 = 261 parameters\n"
    results = run_engine(tmp_path, "hpo-mlp", job)
    assert ma.load_array(results, "prior_log_std").shape[1] == 261
    output = tmp_path / "report"
    assert main([str(results), "-o", str(output)]) == 0
    png = output / "figures" / "final_hyperparameters.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "quantile function" in (output / "index.html").read_text()
