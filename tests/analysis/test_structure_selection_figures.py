"""Figure set of structure-selection on files the engine writes: the simplex figure of a relaxed
run, the ranking of an enumeration, and the two-file placement report, whose ranks are checked
against numpy on the same files. Vertex labels rebuilt from the job's edges equal those the
engine stores on an enumeration's structure axis; edges are named in figures and captions."""

import html

import numpy as np
import pytest

import msweep_analysis as ma
from msweep_analysis.figure_sets import structure_selection as ss
from msweep_analysis.report import main
from test_engine import run_engine

COMMON = """[job]
name = "structure"
experiment = "structure-selection"
seed = 3
[data]
source = "tanh-synthetic"
objects = 40
features = 3
[model]
widths = [2, 1]
edges = ["1<-0: zero tanh:1 tanh", "2<-1: linear tanh", "2<-0: zero const"]
noise_std = 0.5
iterations = 60
[sweep]
runs = 2
meta = ["1,1,1"]
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("structure")
    relaxed = run_engine(directory, "relaxed", COMMON + 'mode = "relaxed"\nrestarts = 3\ntemperatures = [0.5, 2.0]\n')
    enumeration = run_engine(directory, "enumeration", COMMON + 'mode = "enumerate"\nrestarts = 2\n')
    return relaxed, enumeration


def test_vertex_labels_follow_the_engine_numbering(files):
    info = ma.load(files[0]).attrs
    bases = ss.edge_bases(info)
    assert bases == [["zero", "tanh:1", "tanh"], ["linear", "tanh"], ["zero", "const"]]
    assert ss.vertex_label(bases, 0) == "zero|linear|zero"
    assert ss.vertex_label(bases, 1) == "zero|linear|const"  # the last edge fastest
    assert ss.vertex_label(bases, 11) == "tanh|tanh|const"
    # The enumeration names its vertices on the structure axis by the same rule (plan, inspect).
    stored = ma.load(files[1]).attrs["axes"]["structure"]
    assert stored == [ss.vertex_label(bases, v) for v in range(12)]


def test_edges_are_named_by_the_nodes_they_join(files):
    info = ma.load(files[0]).attrs
    assert ss.edge_names(info) == ["1<-0", "2<-1", "2<-0"]
    assert [ss.edge_title(info, e) for e in range(3)] == [
        "edge 1<-0 (into node 1 from the input x)", "edge 2<-1 (into the output from node 1)",
        "edge 2<-0 (into the output from the input x)"]
    assert ss.vertex_key(info) == "1<-0 | 2<-1 | 2<-0"


def test_single_file_reports_draw_the_simplex_and_the_ranking(files, tmp_path, capsys):
    for path, figure in ((files[0], "structure_edge_0"), (files[1], "vertex_ranking")):
        output = tmp_path / path.stem
        assert main([str(path), "-o", str(output)]) == 0
        assert (output / "figures" / f"{figure}.png").stat().st_size > 0
    assert (tmp_path / "relaxed" / "tables" / "most_probable_vertices.csv").is_file()
    page = html.unescape((tmp_path / "relaxed" / "index.html").read_text())
    assert "Structure distribution on edge 2<-1 (into the output from node 1)" in page
    assert "the basis on each edge: 1<-0 | 2<-1 | 2<-0" in page


def test_placement_ranks_match_numpy(files, tmp_path):
    relaxed, enumeration = ma.load(files[0]), ma.load(files[1])
    table = ss.placement(relaxed, enumeration)
    assert len(table) == len(relaxed)  # every search placed: same meta setting and runs
    for row in table.itertuples():
        same = enumeration[(enumeration["run"] == row.run) & (enumeration["meta"] == row.meta)]
        elbo = same.groupby("structure_index")["elbo"].max()
        assert row.rank == 1 + int(np.sum(elbo.to_numpy() > elbo[row.vertex]))
        assert row.elbo_gap == pytest.approx(elbo.max() - elbo[row.vertex])
        assert row.top_10pct == (row.rank <= 2)  # 12 vertices: the top 10% is the best 2
        assert row.vertex_label == enumeration.attrs["axes"]["structure"][row.vertex]  # named as the file names it
    fig, _ = ss.placement_figure(table)
    fig.canvas.draw()
    for ax in fig.axes:  # a tick at every temperature of the file, labelled as the file labels it
        assert list(ax.get_xticks()) == [0.5, 2.0]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0.5", "2"]
    assert main([str(files[0]), str(files[1]), "-o", str(tmp_path / "placement")]) == 0
    assert (tmp_path / "placement" / "figures" / "placement.png").is_file()
    assert (tmp_path / "placement" / "tables" / "placement_summary.csv").is_file()


DIGITS = """[job]
name = "digits"
experiment = "structure-selection"
seed = 3
[data]
source = "digits"
classes = [3, 8]
test_fraction = 0.3
[model]
widths = [1]
edges = ["1<-0: zero linear tanh:8"]
iterations = 20
[sweep]
runs = 1
"""


def test_two_classes_report_test_error_in_ranking_and_placement(tmp_path):
    relaxed = run_engine(tmp_path, "relaxed", DIGITS + 'mode = "relaxed"\nrestarts = 2\n')
    enumeration = run_engine(tmp_path, "enumeration", DIGITS + 'mode = "enumerate"\n')
    ranking = ss.enumeration_ranking(ma.load(enumeration), ss.edge_bases(ma.load(enumeration).attrs))
    assert "test_error" in ranking and "test_mse" not in ranking
    assert ranking["test_error"].between(0.0, 1.0).all()
    table = ss.placement(relaxed, enumeration)
    assert len(table) == 2 and table["test_error"].between(0.0, 1.0).all()
    assert main([str(relaxed), str(enumeration), "-o", str(tmp_path / "placement")]) == 0
