"""msweep-report A.h5 B.h5 -o DIR: the paired comparison of two results files as a report.

Tables and figures of compare(a, b): per group (structure) the means of both files and
the paired difference B - A with its standard error over runs.
"""

import html
from pathlib import Path

import numpy as np

from . import plots
from .compare import compare
from .formatting import distinguishing_digits, mean_pm_sem, number
from .reader import load
# Context comes through report so that this module follows wherever report takes it from.
from .report import Context, html_page, provenance_rows, write_tables
from .summary import varying_axes

# Metrics drawn first when a file has them (the selection criteria and outcomes of the
# built-in experiments); the rest follow in file order.
PREFERRED_METRICS = ("log_evidence", "cv_mse", "test_mse", "test_log_lik", "bic", "aic",
                     "S", "final_bound", "test_loss", "train_loss")
DRAWN_METRICS = 4
TABLE_METRICS = 3
SHOWN_GROUPS = 25


def shown_metrics(table):
    """Metrics worth drawing: the preferred ones first, leaving out those equal in both files."""
    metrics = table.attrs["metrics"]
    ordered = [m for m in PREFERRED_METRICS if m in metrics] + [m for m in metrics if m not in PREFERRED_METRICS]
    differing = [m for m in ordered if np.nanmax(np.abs(table[f"{m}_diff"].to_numpy()), initial=0) > 0]
    return differing[:DRAWN_METRICS]


def group_labels(table, axes):
    if not axes:
        return ["all tasks"] * len(table)
    if len(axes) == 1:
        return [str(v) for v in table[axes[0]]]
    return [", ".join(f"{a}={v}" for a, v in zip(axes, row)) for row in table[axes].itertuples(index=False)]


def shown_rows(table, metric):
    """Row positions to show: all in grid order when few, else the largest |difference| / sem first."""
    if len(table) <= SHOWN_GROUPS:
        return np.arange(len(table))
    diff, sem = table[f"{metric}_diff"].to_numpy(), table[f"{metric}_diff_sem"].to_numpy()
    strength = np.abs(diff) / np.where(np.isfinite(sem) & (sem > 0), sem, np.nan)
    strength = np.where(np.isfinite(strength), strength, np.abs(np.nan_to_num(diff)) * 0)
    return np.argsort(-strength, kind="stable")[:SHOWN_GROUPS]


def add_difference_table(context, table, axes, metrics, order, names):
    shown = table.iloc[order].reset_index(drop=True)
    view = shown[axes].copy()
    view["pairs"] = shown["pairs"]
    for metric in metrics[:TABLE_METRICS]:
        # A and B with the same digits, enough to tell every shown value apart.
        digits = distinguishing_digits(np.concatenate([shown[f"{metric}_a"], shown[f"{metric}_b"]]))
        view[f"{metric} A"] = [number(v, digits) or "–" for v in shown[f"{metric}_a"]]
        view[f"{metric} B"] = [number(v, digits) or "–" for v in shown[f"{metric}_b"]]
        digits = distinguishing_digits(shown[f"{metric}_diff"], minimum=3)
        view[f"{metric} B − A"] = [mean_pm_sem(d, s, digits) for d, s in
                                   zip(shown[f"{metric}_diff"], shown[f"{metric}_diff_sem"])]
    which = ("every group in grid order" if len(order) == len(table) else
             f"the {len(order)} of {len(table)} groups with the largest |B − A| / sem in {metrics[0]}")
    context.add_table(
        "paired_differences", "Paired differences B − A", table.drop(columns=[c for c in table if c.endswith("_index")]),
        f"A = {names[0]}, B = {names[1]}. Runs are the unit of replication: each run's folds are averaged, run r of "
        "A is paired with run r of B, and B − A is the mean ± standard error over the paired runs ('pairs'); "
        f"A and B are the means over the same runs. Shown: {which}; the CSV has every group and metric "
        "(_a, _b, _diff, _diff_std, _diff_sem).", shown=view)


def add_scatter_figure(context, table, metrics, names):
    fig, axes = plots.figure(len(metrics), 1, panel_width=4.3, panel_height=4.0)
    for ax, metric in zip(axes, metrics):
        x, y = table[f"{metric}_a"].to_numpy(), table[f"{metric}_b"].to_numpy()
        ax.scatter(x, y, s=10 if len(x) > 500 else 22, color=plots.COLORS[0], alpha=0.6, linewidths=0,
                   rasterized=True)
        finite = np.isfinite(x) & np.isfinite(y)
        if finite.any():
            low, high = min(x[finite].min(), y[finite].min()), max(x[finite].max(), y[finite].max())
            ax.plot([low, high], [low, high], color="0.4", linewidth=1, linestyle="--", label="B = A")
            ax.legend(frameon=False, loc="best")
        ax.set_xlabel(f"{metric} in A")
        ax.set_ylabel(f"{metric} in B")
        ax.set_title(metric)
    fig.tight_layout()
    context.add_figure(fig, "compare_means", "Means of A against B",
                       f"One point per group (A = {names[0]}, B = {names[1]}): the mean over the paired runs in each "
                       "file. Points on the dashed line are equal in both.")


def add_differences_figure(context, table, axes, metrics, order):
    labels = group_labels(table.iloc[order], axes)
    label_inches = 0.085 * max(len(label) for label in labels)
    fig, panels = plots.figure(len(metrics), 1, panel_width=3.6 + label_inches / len(metrics),
                               panel_height=0.3 * len(order) + 2.0, sharey=True)
    for ax, metric in zip(panels, metrics):
        plots.plot_bars(ax, labels, table[f"{metric}_diff"].to_numpy()[order],
                        table[f"{metric}_diff_sem"].to_numpy()[order], value_label=f"{metric}: B − A",
                        error_label=None, include_zero=True)  # zero is the reference of a difference
        ax.axvline(0, color="0.3", linewidth=1)
        ax.set_title(metric)
    fig.tight_layout()
    context.add_figure(fig, "compare_differences", "Paired differences B − A",
                       "Mean over the paired runs of B − A (each run's folds averaged first), error bars ± 1 "
                       "standard error over runs of the paired differences. A difference several sems from zero "
                       "is unlikely to be an accident of the splits.")


def render_comparison_html(context, table, info_a, info_b):
    title = f"msweep comparison: {info_b['job_name'] or Path(info_b['path']).stem} against " \
            f"{info_a['job_name'] or Path(info_a['path']).stem}"
    rows_a = provenance_rows(info_a, int((context.tasks["status"] == "failed").sum()))
    rows_b = provenance_rows(info_b, int((context.tasks_b["status"] == "failed").sum()))
    provenance = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(va))}</td><td>{html.escape(str(vb))}</td></tr>"
                           for (k, va), (_, vb) in zip(rows_a, rows_b))
    subtitle = (f"<p>Experiment <b>{html.escape(info_a['experiment'])}</b> · A = {html.escape(info_a['path'])} · "
                f"B = {html.escape(info_b['path'])} · {len(table.attrs['paired_runs'])} paired runs</p>")
    return html_page(title, subtitle, context, [
        "<h2>Provenance</h2><table class='provenance'><tr><th></th><th>A</th><th>B</th></tr>"
        f"{provenance}</table>",
        f"<h2>Job file A</h2><pre>{html.escape(info_a['job_text'])}</pre>",
        f"<h2>Job file B</h2><pre>{html.escape(info_b['job_text'])}</pre>",
    ])


def write_comparison_report(a, b, output_dir):
    """Compare ``b`` with ``a`` into ``output_dir``; return the index.html path.

    Raises IncomparableError (one line) when the grids differ, ResultsFileError for a bad file.
    """
    output_dir = Path(output_dir)
    tasks_a, tasks_b = load(a), load(b)
    table = compare(tasks_a, tasks_b)
    output_dir.mkdir(parents=True, exist_ok=True)
    context = Context(path=Path(a), info=tasks_a.attrs, preloaded=tasks_a, output_dir=output_dir)
    context.tasks_b = tasks_b
    names = (Path(a).name, Path(b).name)
    context.notes.extend(table.attrs["notes"])
    for info, tasks, which in ((tasks_a.attrs, tasks_a, "A"), (tasks_b.attrs, tasks_b, "B")):
        failed = int((tasks["status"] == "failed").sum())
        if info["status"] != "complete" or failed:
            context.add_note(f"{which} ({info['path']}) is {info['status']} with {info['rows_committed']} of "
                             f"{info['task_count']} tasks stored, {failed} failed: groups are compared over the "
                             "runs with results in both.")
    axes = varying_axes(tasks_a.attrs, table.attrs["group_axes"])
    metrics = shown_metrics(table)
    if not metrics:
        context.add_note("Every metric is equal in both files for every group: nothing to draw.")
        metrics = table.attrs["metrics"][:TABLE_METRICS]
    else:
        order = shown_rows(table, metrics[0])
        add_scatter_figure(context, table, metrics, names)
        add_differences_figure(context, table, axes, metrics, order)
    add_difference_table(context, table, axes, metrics, shown_rows(table, metrics[0]) if metrics else
                         np.arange(min(len(table), SHOWN_GROUPS)), names)
    write_tables(context)
    index = output_dir / "index.html"
    index.write_text(render_comparison_html(context, table, tasks_a.attrs, tasks_b.attrs), encoding="utf-8")
    return index
