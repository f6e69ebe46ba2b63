"""The mixture-em figure set on hand-made files: figures written, S table against numpy, the
stored points drawn under the curves (and the fallback for files without them)."""

import numpy as np
import pandas as pd
import pytest

import results_files
from msweep_analysis.figure_sets import mixture_em
from msweep_analysis.report import main

FAILED = (4, 17, 30)


def write(directory, name, **options):
    return results_files.write_experiment_file(directory, name, "mixture-em", **options)


def assert_figure(output, name, min_png=30_000):
    png, pdf = output / "figures" / f"{name}.png", output / "figures" / f"{name}.pdf"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert png.stat().st_size > min_png, name  # panels with curves, not an empty canvas
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000, name


@pytest.fixture(scope="module")
def circles_report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mixture")
    path, axes, rows, arrays = write(directory, "circles", runs=5, restarts=3, failed_ids=FAILED, seed=1, points=True)
    output = directory / "report"
    assert main([str(path), "-o", str(output)]) == 0
    return path, axes, rows, arrays, output


def expected_winners(axes, rows):
    """Reference: per (K, method, noise, run) the ok restart with the largest final bound, by plain loops."""
    ok = rows[rows["status"] == 0]
    winners = {}
    for row in ok:
        key = (row["structure"], row["method"], row["noise"], row["run"])
        if key not in winners or row["final_bound"] > winners[key]["final_bound"]:
            winners[key] = row
    return winners


def test_circles_report_has_every_figure_and_table(circles_report):
    _, _, _, _, output = circles_report
    for name in ("fitted_curves", "score_by_method", "bound_traces"):
        assert_figure(output, name)
    page = (output / "index.html").read_text(encoding="utf-8")
    assert "Dots: the points the task fitted" in page and "are not in the results file" not in page
    assert "3 of 135 tasks failed" in page
    shown = (output / "tables" / "score_by_method.md").read_text()
    assert "noise: uniform" in shown and "prior-regularizer" in shown


def test_score_table_matches_numpy(circles_report):
    _, axes, rows, _, output = circles_report
    table = pd.read_csv(output / "tables" / "score_by_method.csv")
    winners = expected_winners(axes, rows)
    assert len(table) == len(axes["method"]) * len(axes["noise"])
    for line in table.itertuples(index=False):
        m, n = axes["method"].index(line.method), axes["noise"].index(line.noise)
        s = np.array([w["score"] for key, w in winners.items() if key[1] == m and key[2] == n])
        assert line.runs == s.size
        np.testing.assert_allclose(line.S_mean, s.mean(), rtol=1e-12)
        np.testing.assert_allclose(line.S_std, s.std(ddof=1), rtol=1e-12)
        np.testing.assert_allclose(line.S_sem, s.std(ddof=1) / np.sqrt(s.size), rtol=1e-12)
        np.testing.assert_allclose(line.S_median, np.median(s), rtol=1e-12)
        np.testing.assert_allclose(line.found_share, np.mean(s < mixture_em.FOUND), rtol=1e-12)
        everything = rows[(rows["status"] == 0) & (rows["method"] == m) & (rows["noise"] == n)]["score"]
        np.testing.assert_allclose(line.S_mean_all_restarts, everything.mean(), rtol=1e-12)
    # Failed tasks are never winners; every (method, noise, run) has one because only 3 tasks failed.
    assert table["runs"].sum() == len(winners) == 3 * 3 * 5


def test_winners_follow_the_bound_and_keep_array_rows(circles_report):
    import msweep_analysis as ma
    path, axes, rows, arrays, _ = circles_report
    tasks = ma.load(path)
    best = mixture_em.winners(tasks)
    reference = expected_winners(axes, rows)
    assert len(best) == len(reference)
    traces = ma.load_array(path, mixture_em.BOUND_TRACE)
    for line in best.to_dict("records"):
        expected = reference[(line["structure_index"], line["method_index"], line["noise_index"], line["run_index"])]
        assert line["id"] == expected["id"]
        # _row points at this task's array row: its trace ends at its final bound.
        np.testing.assert_allclose(traces[line["_row"]][-1], expected["final_bound"], rtol=1e-12)


def test_each_panel_draws_its_winners_stored_points(circles_report, monkeypatch):
    import msweep_analysis as ma
    path, axes, rows, arrays, _ = circles_report
    drawn = []
    original = mixture_em.draw_points
    monkeypatch.setattr(mixture_em, "draw_points", lambda ax, points: (drawn.append(points), original(ax, points)))
    assert main([str(path), "-o", str(path.parent / "again")]) == 0
    assert len(drawn) == len(axes["method"]) * len(axes["noise"])
    tasks = ma.load(path)
    best = mixture_em.winners(tasks)
    run = mixture_em.representative_run(best, ["structure", "method", "noise"])
    stored = ma.load_array(path, mixture_em.POINTS)
    panels = best[best["run_index"] == run].sort_values(["method_index", "noise_index"]).to_dict("records")
    for points, line in zip(drawn, panels):
        assert len(points) == line["n_points"]  # padding rows are not drawn
        np.testing.assert_array_equal(points, stored[line["_row"]][: int(line["n_points"])])
        uniform = axes["noise"][line["noise_index"]] == "uniform"
        assert set(points[:, 2]) == ({0.0, 1.0, -1.0} if uniform else {0.0, 1.0})


def test_files_without_points_fall_back_to_the_curves(tmp_path):
    path, *_ = write(tmp_path, "old", runs=3, restarts=2, seed=3)
    output = tmp_path / "report"
    assert main([str(path), "-o", str(output)]) == 0
    assert_figure(output, "fitted_curves")
    page = (output / "index.html").read_text(encoding="utf-8")
    assert "are not in the results file" in page  # the fit figure says the points are missing


def test_fit_panel_scatters_the_points_by_label():
    from msweep_analysis import plots
    truth = np.array([[0.0, 0.0, 0.5], [0.0, 0.0, 1.5]])
    points = results_files.mixture_points(truth, True, "uniform", 30, 20, np.random.default_rng(0))
    padded = np.concatenate([points, np.zeros((15, 3))])
    np.testing.assert_array_equal(mixture_em.task_points(padded, 80.0), points)
    np.testing.assert_array_equal(mixture_em.task_points(padded), points)  # without n_points: the non-zero rows
    fig, (ax,) = plots.figure()
    mixture_em.draw_fit_panel(ax, truth, np.array([0.5, 0.5]), truth, True, {}, "uniform", 2, points)
    scattered = [c for c in ax.collections if len(c.get_offsets())]
    assert sorted(len(c.get_offsets()) for c in scattered) == [20, 30, 30]
    background = next(c for c in scattered if len(c.get_offsets()) == 20)
    np.testing.assert_allclose(background.get_facecolor()[0][:3], [0.62] * 3)  # background in grey
    np.testing.assert_array_equal(np.asarray(background.get_offsets()), points[points[:, 2] == -1][:, :2])
    assert ax.get_xlim()[1] >= np.abs(points[:, :2]).max()  # no point outside the panel
    assert not any(isinstance(p, mixture_em.Rectangle) for p in ax.patches)  # the points replace the square


def test_representative_run_is_the_median_like_one():
    frame = pd.DataFrame({"structure_index": 0, "method_index": 0, "noise_index": [0, 0, 0, 1, 1, 1],
                          "run_index": [0, 1, 2, 0, 1, 2], "score": [0.1, 0.5, 0.9, 3.0, 2.0, 1.0]})
    # run 1 is the median in both cells
    assert mixture_em.representative_run(frame, ["structure", "method", "noise"]) == 1


def test_conics_with_two_k_values_draw_one_fit_figure_per_k(tmp_path):
    path, *_ = write(tmp_path, "curves", runs=3, restarts=2, experts=(2, 3), methods=("prior",),
                     noises=("none", "uniform"), circles=False, iterations=12, seed=2, points=True)
    output = tmp_path / "report"
    assert main([str(path), "-o", str(output)]) == 0
    for name in ("fitted_curves_K2", "fitted_curves_K3", "score_by_method", "bound_traces"):
        assert_figure(output, name, min_png=15_000)
    table = pd.read_csv(output / "tables" / "score_by_method.csv")
    assert sorted(set(table["structure"])) == ["K=2", "K=3"] and len(table) == 2 * 1 * 2


def test_truth_comes_from_the_resolved_job_in_the_file():
    info = {"resolved_job": {"data": {"circles": [1.0, 2.0, 0.3]}}}
    np.testing.assert_array_equal(mixture_em.truth(info, True), [[1.0, 2.0, 0.3]])
    conics = {"resolved_job": {"data": {"conics": [0.0, -4.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 2.0, 0.0]}}}
    assert mixture_em.truth(conics, False).shape == (2, 5)
    assert mixture_em.truth({"resolved_job": None, "job_text": "[data]\ncircles = [1.0, 2.0, 0.3]\n"}, True).shape == (0, 3)


def test_files_without_resolved_job_still_give_a_report(tmp_path):
    axes, metrics, rows, arrays, job_text = results_files.mixture_em_rows()
    path = tmp_path / "old.h5"
    results_files.write_results(path, axes, metrics, rows, experiment="mixture-em", arrays=arrays, job_text=job_text)
    output = tmp_path / "report"
    assert main([str(path), "-o", str(output)]) == 0
    assert "resolved_job" in (output / "index.html").read_text()


def test_grouped_bars_draw_one_bar_per_series_and_group(tmp_path):
    from msweep_analysis import plots
    fig, (ax,) = plots.figure()
    means = np.array([[1.0, 2.0, 3.0], [0.5, 0.1, np.nan]])
    errors = np.array([[0.1, np.nan, 0.2], [np.nan, np.nan, np.nan]])  # NaN: no error bar, no failure
    points = [[[0.9, 1.1], [2.0], []], [[0.5], [0.1, 0.1], []]]
    bars = plots.plot_grouped_bars(ax, ["none", "noisy", "uniform"], ["a", "b"], means, errors, points=points)
    assert [len(b) for b in bars] == [3, 3]
    np.testing.assert_allclose([r.get_height() for r in bars[0]], [1, 2, 3])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "noisy", "uniform"]
    png, pdf = plots.save(fig, tmp_path, "bars")
    assert png.stat().st_size > 10_000 and pdf.stat().st_size > 5_000


def test_model_axis_folds_into_the_method_axis():
    """A [sweep] models axis: each (method, variant) pair is one method "method / variant", method-major."""
    from types import SimpleNamespace
    info = {"axes": {"method": ["no-prior", "prior"], "noise": ["uniform"], "model": ["shared", "per-expert+background"]}}
    tasks = pd.DataFrame({"method": ["no-prior", "prior", "prior", "no-prior"], "method_index": [0, 1, 1, 0],
                          "model": ["shared", "shared", "per-expert+background", "per-expert+background"],
                          "model_index": [0, 0, 1, 1], "score": [1.0, 2.0, 3.0, 4.0]})
    context = SimpleNamespace(info=info)
    folded = mixture_em.fold_model_axis(context, tasks)
    assert info["axes"]["method"] == ["no-prior / shared", "no-prior / per-expert+background",
                                      "prior / shared", "prior / per-expert+background"]
    assert "model" not in info["axes"] and "model" not in folded and "model_index" not in folded
    assert folded["method_index"].tolist() == [0, 2, 3, 1]
    assert folded["method"].tolist() == ["no-prior / shared", "prior / shared", "prior / per-expert+background",
                                         "no-prior / per-expert+background"]
    # Files without the axis are left alone.
    plain = {"axes": {"method": ["prior"], "noise": ["none"]}}
    same = mixture_em.fold_model_axis(SimpleNamespace(info=plain), tasks.drop(columns=["model", "model_index"]))
    assert plain["axes"]["method"] == ["prior"] and same["method_index"].tolist() == [0, 1, 1, 0]


def test_axis_labels_come_from_the_data_source():
    """Synthetic circles and conics are plain x / y; an image's panels count pixels from its
    centre, with the scale the engine used or, when it chose one, the pixel lattice's spacing."""
    assert mixture_em.coordinate_labels({"source": "circles"})[:2] == ("x", "y")
    assert mixture_em.coordinate_labels({"source": "conics"}) == ("x", "y", None)
    x, y, scale = mixture_em.coordinate_labels({"source": "image", "scale": 0.05})
    assert "pixels" in x and "pixels" in y and scale == 0.05
    columns, rows = np.meshgrid(np.arange(5), np.arange(4))
    lattice = np.column_stack([(columns.ravel() - 2) * 0.25, (1.5 - rows.ravel()) * 0.25,
                               np.full(columns.size, mixture_em.UNKNOWN)])
    assert mixture_em.coordinate_labels({"source": "image", "scale": 0.0}, [lattice])[2] == pytest.approx(0.25)
    assert mixture_em.coordinate_labels({"source": "image", "scale": 0.0})[2] is None  # no points: no pixel ticks


def test_circle_fit_panels_are_labelled_x_and_y(circles_report, monkeypatch):
    from matplotlib.axes import Axes
    path, *_ = circles_report
    labels = set()
    for setter in ("set_xlabel", "set_ylabel"):
        original = getattr(Axes, setter)
        monkeypatch.setattr(Axes, setter, lambda ax, text, *a, _o=original, **k: (labels.add(text), _o(ax, text, *a, **k))[1])
    assert main([str(path), "-o", str(path.parent / "labels")]) == 0
    assert {"x", "y"} <= labels and not any("image units" in label for label in labels)
