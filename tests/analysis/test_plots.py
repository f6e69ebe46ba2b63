"""The general plotting pieces on synthetic DataFrames, for the figure sets still to come."""

import numpy as np
import pandas as pd
import pytest

from msweep_analysis import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_figure_files(png, pdf, min_png_bytes=10_000):
    assert png.read_bytes()[:8] == PNG_SIGNATURE and png.stat().st_size > min_png_bytes
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000


@pytest.fixture
def pruning_frame():
    """Loss against fraction of frozen parameters for 3 orders, 5 runs each (seed 3)."""
    rng = np.random.default_rng(3)
    rows = [{"order": order, "fraction": fraction, "run": run,
             "loss": 1 + order * fraction ** 2 + rng.normal(0, 0.05)}
            for order in (1, 2, 3) for fraction in np.linspace(0, 0.9, 10) for run in range(5)]
    return pd.DataFrame(rows)


def test_mean_over_runs_matches_numpy(pruning_frame):
    stats = plots.mean_over_runs(pruning_frame, "fraction", "loss", group="order")
    assert len(stats) == 30
    row = stats[(stats["order"] == 2) & np.isclose(stats["fraction"], 0.5)].iloc[0]
    values = pruning_frame.loc[(pruning_frame["order"] == 2) & np.isclose(pruning_frame["fraction"], 0.5), "loss"]
    assert row["mean"] == pytest.approx(values.mean())
    assert row["sem"] == pytest.approx(values.std(ddof=1) / np.sqrt(5))
    assert row["n"] == 5


def test_curves_with_bands_one_per_group(pruning_frame, tmp_path):
    fig, (ax,) = plots.figure()
    lines = plots.plot_curves(ax, pruning_frame, "fraction", "loss", group="order")
    assert len(lines) == 3
    assert len(ax.collections) == 3  # one band per curve: 5 runs give a spread
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["order = 1", "order = 2", "order = 3"]
    ax.set_xlabel("fraction of frozen parameters")
    ax.set_ylabel(plots.axis_label("loss", "nats"))
    assert_figure_files(*plots.save(fig, tmp_path, "curves"))


def test_curves_without_repeats_have_no_band(pruning_frame):
    fig, (ax,) = plots.figure()
    single_run = pruning_frame[(pruning_frame["run"] == 0) & (pruning_frame["order"] == 1)]
    plots.plot_curves(ax, single_run, "fraction", "loss")
    assert len(ax.collections) == 0 and ax.get_legend() is None


def test_mask_heatmap_averages_runs_and_ignores_failed(tmp_path):
    rng = np.random.default_rng(5)
    masks = (rng.random((6, 8, 12)) < np.linspace(0, 1, 12)).astype(float)
    masks[2] = np.nan  # a failed run
    fig, (ax,) = plots.figure()
    average = plots.plot_mask_heatmap(ax, masks, xlabel="input unit", ylabel="hidden unit")
    np.testing.assert_allclose(average, masks[[0, 1, 3, 4, 5]].mean(axis=0))
    assert_figure_files(*plots.save(fig, tmp_path, "masks"), min_png_bytes=5_000)
    with pytest.raises(ValueError, match="expected 2 or 3 dimensions"):
        plots.plot_mask_heatmap(ax, np.zeros(4))


def test_bars_with_error_bars_best_first(tmp_path):
    fig, (ax,) = plots.figure()
    labels = ["RM+LSTAT", "RM", "LSTAT", "(intercept only)"]
    bars = plots.plot_bars(ax, labels, [1.0, 2.0, 3.0, 5.0], [0.1, 0.2, 0.1, 0.3], highlight=[0],
                           value_label="test MSE [target units²]")
    assert len(bars) == 4
    assert [t.get_text() for t in ax.get_yticklabels()] == labels
    assert ax.yaxis_inverted()  # first label on top
    assert_figure_files(*plots.save(fig, tmp_path, "bars"), min_png_bytes=5_000)


def test_bars_without_spread_draw_no_error_bars():
    """A single run gives NaN standard errors: bars still draw, without error bars or legend."""
    fig, (ax,) = plots.figure()
    plots.plot_bars(ax, ["a", "b"], [1.0, 2.0], [np.nan, np.nan])
    assert ax.get_legend() is None


def test_points_with_fitted_circles(tmp_path):
    angle = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    points = np.column_stack([2 + 3 * np.cos(angle), -1 + 3 * np.sin(angle)])
    fig, (ax,) = plots.figure()
    plots.plot_points_with_circles(ax, points, [(2, -1, 3), (2.1, -0.9, 2.8)], xlabel="x [m]", ylabel="y [m]")
    assert len(ax.patches) == 2
    assert_figure_files(*plots.save(fig, tmp_path, "circles"))


def test_matrix_annotations_contrast_with_cells(tmp_path):
    fig, (ax,) = plots.figure()
    plots.plot_matrix(ax, [[1.0, -1.0], [0.0, np.nan]], ["a", "b"], ["c", "d"], cmap="RdBu_r", vmin=-1, vmax=1)
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["1.00", "-1.00", "0.00"]  # NaN cell left blank
    assert_figure_files(*plots.save(fig, tmp_path, "matrix"), min_png_bytes=5_000)


def two_methods_frame(offset):
    """Q against trainings for methods a, b (b = a + offset) and c (far below), 3 runs each."""
    rows = [{"method": method, "trainings": t, "run": run,
             "q": -10 + np.log(t) + run * 0.1 + {"a": 0.0, "b": offset, "c": -5.0}[method]}
            for method in ("a", "b", "c") for t in range(1, 11) for run in range(3)]
    return pd.DataFrame(rows)


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_identical_curves_share_one_legend_entry_and_both_stay_visible(tmp_path):
    fig, (ax,) = plots.figure()
    lines = plots.plot_curves(ax, two_methods_frame(0.0), "trainings", "q", group="method", markers=False)
    assert legend_texts(ax) == ["method = a = b (identical)", "method = c"]
    # The later curve is dashed over the earlier, which stays solid: both colours show.
    assert lines[0].get_linestyle() == "-" and lines[1].get_linestyle() == "--" and lines[2].get_linestyle() == "-"
    assert lines[1].get_zorder() > lines[0].get_zorder()
    assert_figure_files(*plots.save(fig, tmp_path, "identical"), min_png_bytes=5_000)


def test_curves_closer_than_a_line_width_are_named_as_overlapping_not_identical():
    fig, (ax,) = plots.figure()
    plots.plot_curves(ax, two_methods_frame(1e-3), "trainings", "q", group="method")
    assert legend_texts(ax) == ["method = a ≈ b (overlap: within 0.001)", "method = c"]


def test_a_curve_covered_by_its_two_neighbours_joins_them():
    """The Fashion-MNIST case: drmad lies between greedy and hoag, each within a line width of
    it, so the two together hide it although neither alone does."""
    frame = two_methods_frame(0.0)
    frame.loc[frame["method"] == "a", "q"] -= 0.03  # 1% of the axis below b: within two line widths
    frame.loc[frame["method"] == "c", "q"] += 5.0 + 0.03  # 1% above b, 2% above a: linked through b
    fig, (ax,) = plots.figure()
    lines = plots.plot_curves(ax, frame, "trainings", "q", group="method", markers=False)
    assert legend_texts(ax) == ["method = a ≈ b ≈ c (overlap: within 0.06)"]
    assert [line.get_linestyle() for line in lines] == ["-", "--", "--"]
    fig, (ax,) = plots.figure()
    plots.plot_curves(ax, two_methods_frame(0.5), "trainings", "q", group="method")  # apart: listed apart
    assert legend_texts(ax) == ["method = a", "method = b", "method = c"]


def test_a_curve_of_one_point_gets_a_marker():
    """A method that stops after its first training is one point: invisible as a line alone."""
    frame = two_methods_frame(0.5)
    frame = frame[(frame["method"] != "b") | (frame["trainings"] == 1)]
    fig, (ax,) = plots.figure()
    lines = plots.plot_curves(ax, frame, "trainings", "q", group="method", markers=False)
    assert [line.get_marker() for line in lines] == ["None", "o", "None"]


def test_legend_merges_identical_errorbar_series_too():
    fig, (ax,) = plots.figure()
    for method in ("early-stopping", "sgd"):
        ax.errorbar([0, 0.5, 1], [3.0, 4.0, 6.0], yerr=[0.1, 0.2, 0.3], marker="o", label=method)
    ax.plot([0, 1], [1, 2], label="reference")
    plots.legend(ax)
    assert legend_texts(ax) == ["reference", "early-stopping = sgd (identical)"]  # matplotlib lists containers last


def test_ticks_at_every_value_of_the_data_on_a_log_axis():
    fig, (ax,) = plots.figure()
    ax.plot([0.2, 1.0, 10.0], [1, 2, 3])
    ax.set_xscale("log")
    plots.ticks_at_values(ax, [10.0, 0.2, 1.0, 0.2], ["10", "0.2", "1", "0.2"])
    fig.canvas.draw()
    assert list(ax.get_xticks()) == [0.2, 1.0, 10.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.2", "1", "10"]
    assert len(ax.xaxis.get_minorticklocs()) == 0
