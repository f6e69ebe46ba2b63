"""The param-ordering figure set on hand-made files: figures written, loss table against numpy."""

import numpy as np
import pandas as pd
import pytest

import results_files
from msweep_analysis.figure_sets import param_ordering
from msweep_analysis.report import main

FRACTIONS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
FAILED = (3,)  # run 1, order random: its pair (run 1, variance) drops out of the differences


def write(directory, name, **options):
    return results_files.write_experiment_file(directory, name, "param-ordering", **options)


def assert_figure(output, name):
    png, pdf = output / "figures" / f"{name}.png", output / "figures" / f"{name}.pdf"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert png.stat().st_size > 30_000, name
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000, name


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ordering")
    path, axes, rows, arrays = write(directory, "ordering", runs=6, fractions=FRACTIONS, failed_ids=FAILED, seed=3)
    output = directory / "report"
    assert main([str(path), "-o", str(output)]) == 0
    return path, axes, rows, arrays, output


def per_task(rows, arrays, name):
    """{(run, order index): array row} of the ok tasks, straight from the written rows."""
    values = arrays[name][0]
    return {(int(r["run"]), int(r["order"])): values[i] for i, r in enumerate(rows) if r["status"] == 0}


def test_report_has_both_figures_and_the_table(report):
    *_, output = report
    assert_figure(output, "loss_vs_fraction")
    assert_figure(output, "masks")
    shown = (output / "tables" / "loss_at_fractions.md").read_text()
    assert "variance − random (paired)" in shown
    # the shown rows are the grid points nearest 0, 0.25, 0.5, 0.75 and 1, not 0.1 and 0.9
    assert "| 0.25 |" in shown and "| 0.9 |" not in shown


@pytest.mark.parametrize("split", ["train", "test"])
def test_loss_table_matches_numpy(report, split):
    _, axes, rows, arrays, output = report
    table = pd.read_csv(output / "tables" / "loss_at_fractions.csv")
    table = table[table["split"] == split].sort_values("fraction")
    np.testing.assert_allclose(table["fraction"], FRACTIONS)
    losses = per_task(rows, arrays, f"{split}_loss")
    by_order = {o: np.array([v for (run, order), v in sorted(losses.items()) if order == o]) for o in (0, 1)}
    for o, name in enumerate(axes["order"]):
        values = by_order[o]
        np.testing.assert_allclose(table[f"{name}_mean"], values.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(table[f"{name}_sem"], values.std(axis=0, ddof=1) / np.sqrt(len(values)), rtol=1e-12)
    runs = sorted(run for (run, order) in losses if order == 0 and (run, 1) in losses)
    assert len(runs) == 5  # run 1 lost its random task
    difference = np.array([losses[(run, 0)] - losses[(run, 1)] for run in runs])
    np.testing.assert_allclose(table["difference"], difference.mean(axis=0), rtol=1e-10, atol=1e-15)
    sem = difference.std(axis=0, ddof=1) / np.sqrt(len(runs))
    np.testing.assert_allclose(table["difference_sem"], sem, rtol=1e-10, atol=1e-15)
    assert (table["pairs"] == 5).all()
    # The synthetic variance order is better inside the grid; the ends are equal by construction.
    inside = (table["fraction"] > 0) & (table["fraction"] < 1)
    assert (table.loc[inside, "difference"] < 0).all()


def test_fractions_come_from_the_resolved_job_else_frozen_counts(tmp_path):
    import msweep_analysis as ma
    from msweep_analysis.context import Context
    axes, metrics, rows, arrays, job_text = results_files.param_ordering_rows(runs=2, fractions=(0.0, 0.3, 1.0))
    path = tmp_path / "fractions.h5"
    results_files.write_results(path, axes, metrics, rows, experiment="param-ordering", arrays=arrays, job_text=job_text)
    context = Context(path, ma.info(path), ma.load(path), tmp_path / "unused")
    assert context.info["resolved_job"] is None  # a file from before resolved_job: frozen counts
    params = 13 * 4 + 4 + 4 + 1
    np.testing.assert_allclose(param_ordering.fractions(context, 3), np.round(np.array([0.0, 0.3, 1.0]) * params) / params)
    context.info["resolved_job"] = results_files.resolved_job_of(job_text, "param-ordering")
    np.testing.assert_allclose(param_ordering.fractions(context, 3), [0.0, 0.3, 1.0])
    context.info["resolved_job"] = {"sweep": {"fractions": [k / 20 for k in range(21)]}}  # the engine's default, as stored
    np.testing.assert_allclose(param_ordering.fractions(context, 21), np.arange(21) / 20)


def test_no_masks_and_renamed_arrays_need_one_constant(tmp_path, monkeypatch):
    names = ("frozen_count", "train_loss_per_fraction", "test_loss", "variance", "mask")
    path, *_ = write(tmp_path, "renamed", runs=3, masks=False, array_names=names)
    monkeypatch.setattr(param_ordering, "TRAIN_LOSS", "train_loss_per_fraction")
    output = tmp_path / "report"
    assert main([str(path), "-o", str(output)]) == 0
    assert_figure(output, "loss_vs_fraction")
    assert not (output / "figures" / "masks.png").exists()
    assert "no mask array" in (output / "index.html").read_text(encoding="utf-8")


def test_layer_blocks_follow_the_flat_layout():
    blocks = param_ordering.layer_blocks("13-20-1", True, 301)
    assert [(name, a, b) for name, a, b in blocks] == [
        ("W1 (20×13)", 0, 260), ("b1", 260, 280), ("W2 (1×20)", 280, 300), ("b2", 300, 301)]
    assert param_ordering.layer_blocks("200-1", False, 200) == [("W1 (1×200)", 0, 200)]
    assert param_ordering.layer_blocks("13-20-1", True, 300) == []  # does not add up: no labels
