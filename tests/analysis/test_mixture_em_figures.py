"""The mixture-em figure set on hand-made files: figures written, S table against numpy."""

import numpy as np
import pandas as pd
import pytest

import results_files
from msweep_analysis.figure_sets import mixture_em
from msweep_analysis.report import main

FAILED = (4, 17, 30)


def write(directory, name, **options):
    axes, metrics, rows, arrays, job_text = results_files.mixture_em_rows(**options)
    path = directory / f"{name}.h5"
    results_files.write_results(path, axes, metrics, rows, experiment="mixture-em", arrays=arrays,
                                job_text=job_text, job_name=name)
    return path, axes, rows, arrays


def assert_figure(output, name, min_png=30_000):
    png, pdf = output / "figures" / f"{name}.png", output / "figures" / f"{name}.pdf"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert png.stat().st_size > min_png, name  # panels with curves, not an empty canvas
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000, name


@pytest.fixture(scope="module")
def circles_report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mixture")
    path, axes, rows, arrays = write(directory, "circles", runs=5, restarts=3, failed_ids=FAILED, seed=1)
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
    assert "are not in the results file" in page  # the fit figure says the points are missing
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


def test_representative_run_is_the_median_like_one():
    frame = pd.DataFrame({"structure_index": 0, "method_index": 0, "noise_index": [0, 0, 0, 1, 1, 1],
                          "run_index": [0, 1, 2, 0, 1, 2], "score": [0.1, 0.5, 0.9, 3.0, 2.0, 1.0]})
    # run 1 is the median in both cells
    assert mixture_em.representative_run(frame, ["structure", "method", "noise"]) == 1


def test_conics_with_two_k_values_draw_one_fit_figure_per_k(tmp_path):
    path, *_ = write(tmp_path, "curves", runs=3, restarts=2, experts=(2, 3), methods=("prior",),
                     noises=("none", "uniform"), circles=False, iterations=12, seed=2)
    output = tmp_path / "report"
    assert main([str(path), "-o", str(output)]) == 0
    for name in ("fitted_curves_K2", "fitted_curves_K3", "score_by_method", "bound_traces"):
        assert_figure(output, name, min_png=15_000)
    table = pd.read_csv(output / "tables" / "score_by_method.csv")
    assert sorted(set(table["structure"])) == ["K=2", "K=3"] and len(table) == 2 * 1 * 2


def test_truth_comes_from_the_job_or_the_engine_defaults():
    info = {"job_text": "[data]\ncircles = [1.0, 2.0, 0.3]\n"}
    np.testing.assert_array_equal(mixture_em.truth(info, True), [[1.0, 2.0, 0.3]])
    np.testing.assert_array_equal(mixture_em.truth({"job_text": ""}, True), [[0, 0, 0.5], [0, 0, 1.5]])
    assert mixture_em.truth({"job_text": "not toml ["}, False).shape == (2, 5)


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
