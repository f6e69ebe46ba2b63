"""Figure set of the "structure-selection" experiment (docs/experiments/structure-selection.md).

One file, mode "relaxed": where the Gumbel-softmax search ends on the simplex of each edge
(a ternary plot for three choices, mean probabilities per basis otherwise), per meta setting
and temperature over runs and restarts, and how often each vertex is the most probable one.
One file, mode "enumerate": the ranking of every vertex by its ELBO (mean over runs), with the
data term and the parametric complexity, the best vertices by name.

Two files (``msweep-report RELAXED ENUMERATION -o DIR``, or ``placement(relaxed, enumeration)``):
the relaxed search's most probable vertex placed in the enumeration's ranking of the same meta
setting and run: its rank, the ELBO gap to the best vertex, and the share of searches landing
in the top 1% and top 10%, per temperature.

Edges are named as the job names them ([model] edges, "TARGET<-SOURCE", stored in the file's
resolved_job), and each edge figure says which nodes it joins. A vertex label lists the basis on
each edge in that order ("zero|tanh|linear"): an enumeration file stores them as its structure
axis labels; a relaxed file has only the vertex index (a metric), so labels are rebuilt from
the edges by the engine's rule (vertex_label, tested against the stored labels).
"""

import numpy as np
import pandas as pd

from .. import plots
from ..reader import load, resolved_section

# Names in the results file (src/experiments/structure_selection.cpp).
EDGE_PROBABILITIES = "edge_probabilities"  # (sum K_e) softmax(a_e) per edge
VERTEX = "vertex"
ELBO = "elbo"
TEST_METRICS = ("test_mse", "test_error")  # regression, or two classes (the share misclassified)
MAX_EDGE_FIGURES = 6
TOP_SHOWN = 15


# --------------------------------------------------------------------------- the job's graph

def edge_bases(info):
    """[[basis names of edge 0], [edge 1], ...] from the resolved [model] edges."""
    edges = (resolved_section(info, "model") or {}).get("edges") or ["1<-0: const tanh:1 tanh"]
    return [[b for b in text.split(":", 1)[1].split()] for text in edges]


def edge_names(info):
    """["1<-0", "2<-1", ...]: each edge as [model] edges names it, TARGET<-SOURCE."""
    edges = (resolved_section(info, "model") or {}).get("edges") or ["1<-0: const tanh:1 tanh"]
    return [text.split(":", 1)[0].strip() for text in edges]


def node_name(node, last):
    return "the input x" if node == 0 else "the output" if node == last else f"node {node}"


def edge_title(info, e):
    """'edge 2<-1 (into the output from node 1)': the edge's name and the nodes it joins."""
    name = edge_names(info)[e]
    widths = (resolved_section(info, "model") or {}).get("widths") or [1]
    try:
        target, source = (int(part) for part in name.split("<-"))
    except ValueError:  # not the engine's syntax: the name alone
        return f"edge {name}"
    return f"edge {name} (into {node_name(target, len(widths))} from {node_name(source, len(widths))})"


def vertex_key(info):
    """'1<-0 | 2<-1 | 2<-0': which edge each part of a vertex label stands for."""
    return " | ".join(edge_names(info))


def vertex_label(bases, index):
    """The engine's StructureGraph::vertex_label: mixed radix, the last edge fastest."""
    chosen = []
    for names in reversed(bases):
        chosen.append(names[index % len(names)])
        index //= len(names)
    return "|".join(reversed(chosen))


def mode(info):
    return (resolved_section(info, "sweep") or {}).get("mode", "relaxed")


# --------------------------------------------------------------------------- one file

def ternary_xy(p):
    """Barycentric (p0, p1, p2) to the plane: vertices at (0, 0), (1, 0), (1/2, sqrt(3)/2)."""
    p = np.asarray(p, dtype=float)
    return p[:, 1] + 0.5 * p[:, 2], np.sqrt(3.0) / 2.0 * p[:, 2]


def draw_ternary(ax, points, names):
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3.0) / 2.0], [0.0, 0.0]])
    ax.plot(corners[:, 0], corners[:, 1], color="0.4", linewidth=0.8)
    for (x, y), name, align in zip(corners[:3], names, ("right", "left", "center")):
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(0, -12 if y == 0 else 4), ha=align, fontsize=8)
    x, y = ternary_xy(points)
    ax.scatter(x, y, s=14, alpha=0.6)
    ax.set_xlim(-0.1, 1.1)
    ax.set_ylim(-0.12, 0.95)
    ax.set_aspect("equal")
    ax.axis("off")


def relaxed_figures(context, ok):
    info = context.info
    bases = edge_bases(info)
    probabilities = context.array(EDGE_PROBABILITIES)[ok.index.to_numpy()]
    metas = list(info["axes"]["meta"])
    temperatures = list(info["axes"]["temperature"])
    offsets = np.cumsum([0] + [len(b) for b in bases])
    for e, names in enumerate(bases[:MAX_EDGE_FIGURES]):
        fig, axes = plots.figure(ncols=len(temperatures), nrows=len(metas), panel_width=3.2, panel_height=3.0)
        fig.suptitle(f"{edge_title(info, e)}: where the searches end", fontsize=11)
        for i, meta in enumerate(metas):
            for j, temperature in enumerate(temperatures):
                ax = axes[i * len(temperatures) + j]
                rows = ((ok["meta"] == meta) & (ok["temperature"] == temperature)).to_numpy()
                points = probabilities[rows, offsets[e]:offsets[e + 1]]
                if len(names) == 3:
                    draw_ternary(ax, points, names)
                else:
                    ax.bar(range(len(names)), points.mean(axis=0) if len(points) else np.zeros(len(names)))
                    ax.set_xticks(range(len(names)), names, rotation=30, fontsize=8)
                    ax.set_ylim(0, 1)
                ax.set_title(f"meta {meta}, c = {temperature}", fontsize=9)
        context.add_figure(fig, f"structure_edge_{e}", f"Structure distribution on {edge_title(info, e)}",
                           "softmax(a_e) where each search (run x restart) ends, per meta setting (l_LL, l_CQ, l_CL; rows) and "
                           "temperature (columns)" + (": a point per search on the simplex." if len(names) == 3
                                                      else ": the mean probability of each basis over searches."))
    counts = (ok.assign(vertex_label=[vertex_label(bases, int(v)) for v in ok[VERTEX]])
              .groupby(["meta", "temperature", "vertex_label"]).size().rename("searches").reset_index()
              .sort_values(["meta", "temperature", "searches"], ascending=[True, True, False]))
    context.add_table("most_probable_vertices", "Most probable vertex at the end of each search", counts,
                      "How many searches (runs x restarts) end with each vertex most probable, per meta setting and temperature. "
                      f"A vertex label gives the basis on each edge: {vertex_key(info)}.")


def enumeration_ranking(tasks, bases):
    """Mean over runs of ELBO, data term, parametric complexity and test MSE (or test error, for
    two classes) per (meta, vertex), ranked."""
    metrics = [m for m in (ELBO, "data_term", "parametric_complexity") + TEST_METRICS + ("active_weights",) if m in tasks]
    table = tasks.groupby(["meta", "structure_index"])[metrics].mean().reset_index()
    table["rank"] = table.groupby("meta")[ELBO].rank(ascending=False, method="min").astype(int)
    table["vertex_label"] = [vertex_label(bases, int(v)) for v in table["structure_index"]]
    return table.sort_values(["meta", "rank"]).rename(columns={"structure_index": "vertex"})


def enumeration_figures(context, ok):
    bases = edge_bases(context.info)
    table = enumeration_ranking(ok, bases)
    context.add_table("vertex_ranking", "Vertices ranked by ELBO", table,
                      "Means over runs; rank 1 is the best ELBO of its meta setting. A vertex label gives the basis on each "
                      f"edge: {vertex_key(context.info)}.",
                      shown=table.groupby("meta").head(TOP_SHOWN))
    fig, axes = plots.figure(ncols=2)
    for meta, group in table.groupby("meta"):
        axes[0].plot(group["rank"], group[ELBO], ".", markersize=3, label=f"meta {meta}")
        axes[1].plot(group["active_weights"], group[ELBO], ".", markersize=3, label=f"meta {meta}")
    axes[0].set_xlabel("rank")
    axes[1].set_xlabel("weights the vertex uses")
    for ax in axes:
        ax.set_ylabel("ELBO (nats, mean over runs)")
    plots.legend(axes[0], fontsize=8)
    context.add_figure(fig, "vertex_ranking", "ELBO of every vertex",
                       f"{len(table)} (meta, vertex) pairs: the ranking (left) and the ELBO against the vertex's parameter count (right).")


def build(context):
    ok = context.tasks[context.tasks["status"] == "ok"]
    if ok.empty:
        context.add_note("no task finished: nothing to draw")
        return
    if mode(context.info) == "enumerate":
        enumeration_figures(context, ok)
    else:
        relaxed_figures(context, ok)


# --------------------------------------------------------------------------- two files

def placement(relaxed, enumeration):
    """One row per relaxed search: its most probable vertex (index and label) and that vertex's rank
    among the enumerated vertices of the same meta setting and run (1 = best ELBO; a vertex trained
    from several restarts counts with its best, the tightest bound), the ELBO gap to the best
    vertex, the top 1% / 10% flags, and the search's own test metric (test_mse or test_error, at
    its vertex and w = mu).
    Arguments are paths or load() frames."""
    relaxed = relaxed if isinstance(relaxed, pd.DataFrame) else load(relaxed)
    enumeration = enumeration if isinstance(enumeration, pd.DataFrame) else load(enumeration)
    bases = edge_bases(relaxed.attrs)
    relaxed = relaxed[relaxed["status"] == "ok"]
    enumeration = enumeration[enumeration["status"] == "ok"]
    rows = []
    for (meta, run), group in enumeration.groupby(["meta", "run"]):
        elbo = group.groupby("structure_index")[ELBO].max()  # a vertex's best restart: the tightest bound
        ranks = elbo.rank(ascending=False, method="min")
        count = len(elbo)
        for search in relaxed[(relaxed["meta"] == meta) & (relaxed["run"] == run)].itertuples():
            vertex = int(search.vertex)
            if vertex not in ranks.index:
                continue
            rank = int(ranks[vertex])
            rows.append({"meta": meta, "temperature": search.temperature, "run": run, "restart": search.restart,
                         "vertex": vertex, "vertex_label": vertex_label(bases, vertex),
                         "rank": rank, "vertices": count, "elbo_gap": float(elbo.max() - elbo[vertex]),
                         "top_1pct": rank <= max(1, int(np.ceil(0.01 * count))),
                         "top_10pct": rank <= max(1, int(np.ceil(0.10 * count))),
                         **{m: getattr(search, m) for m in TEST_METRICS if m in relaxed}})
    return pd.DataFrame(rows)


def placement_summary(table):
    """Per (meta, temperature): searches, median rank, mean ELBO gap, shares in the top 1% and 10%."""
    return (table.groupby(["meta", "temperature"])
            .agg(searches=("rank", "size"), median_rank=("rank", "median"), mean_elbo_gap=("elbo_gap", "mean"),
                 top_1pct=("top_1pct", "mean"), top_10pct=("top_10pct", "mean"))
            .reset_index())


def placement_figure(table):
    summary = placement_summary(table)
    fig, axes = plots.figure(ncols=2)
    for i, (meta, group) in enumerate(summary.groupby("meta")):
        c = group["temperature"].astype(float)
        order = np.argsort(c.to_numpy())
        color = f"C{i}"  # one color per meta setting: solid top 1%, dashed top 10%
        axes[0].plot(c.to_numpy()[order], group["top_1pct"].to_numpy()[order], "o-", color=color, label=f"top 1%, meta {meta}")
        axes[0].plot(c.to_numpy()[order], group["top_10pct"].to_numpy()[order], "s--", color=color, alpha=0.6,
                     label=f"top 10%, meta {meta}")
        axes[1].plot(c.to_numpy()[order], group["mean_elbo_gap"].to_numpy()[order], "o-", color=color, label=f"meta {meta}")
    axes[0].set_ylabel("share of searches")
    axes[0].set_ylim(-0.02, 1.02)
    axes[1].set_ylabel("ELBO gap to the best vertex (nats)")
    temperatures = summary.drop_duplicates("temperature")
    for ax in axes:
        ax.set_xscale("log")
        plots.ticks_at_values(ax, temperatures["temperature"].astype(float), temperatures["temperature"].astype(str))
        ax.set_xlabel("temperature c")
        plots.legend(ax, fontsize=7)
    return fig, summary


def write_placement_report(relaxed_path, enumeration_path, output_dir):
    """The two-file report: placement table, summary and figure into output_dir; returns index.html."""
    from pathlib import Path

    from ..context import Context
    from ..report import html_page, write_tables

    relaxed = load(relaxed_path)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    context = Context(path=Path(relaxed_path), info=relaxed.attrs, preloaded=relaxed, output_dir=output_dir)
    table = placement(relaxed, enumeration_path)
    if table.empty:
        context.add_note("no relaxed search shares a meta setting and run with the enumeration")
    else:
        fig, summary = placement_figure(table)
        context.add_figure(fig, "placement", "The relaxed search in the enumeration's ranking",
                           "Share of searches (runs x restarts) whose most probable vertex is among the best 1% / 10% of all "
                           "vertices by ELBO (same meta setting and run), and the mean ELBO gap to the best vertex, per temperature.")
        context.add_table("placement_summary", "Placement per meta setting and temperature", summary)
        context.add_table("placement", "Every search's vertex in the ranking", table)
    write_tables(context)
    index = output_dir / "index.html"
    index.write_text(html_page(f"msweep structure placement: {Path(relaxed_path).stem} in {Path(enumeration_path).stem}",
                               "", context, []), encoding="utf-8")
    return index


def is_placement_pair(a, b):
    """True when a is a relaxed and b an enumeration results file of structure-selection."""
    from ..reader import info

    try:
        first, second = info(a), info(b)
    except Exception:  # not results files: the ordinary comparison reports it
        return False
    return (first["experiment"] == second["experiment"] == "structure-selection"
            and mode(first) == "relaxed" and mode(second) == "enumerate")
