"""Fallback for experiment kinds without their own figure set: the summary table and
one figure per metric (curves against a numeric axis, bars for few groups, else the
sorted profile of group means)."""

import textwrap

import numpy as np

from .. import plots
from ..summary import replication_caption, varying_axes

MAX_BARS = 40
MAX_CURVES = 10
SHOWN_ROWS = 50


def group_labels(summary, kept, info):
    """One text label per summary row, 'axis=label' of the kept axes that have several values."""
    varying = [a for a in kept if len(info["axes"][a]) > 1]
    if not varying:
        return ["all tasks"] * len(summary)
    return [", ".join(f"{a}={v}" for a, v in zip(varying, row))
            for row in summary[varying].itertuples(index=False)]


def numeric_axis(info, axis):
    """The axis labels as floats when they all parse as numbers, else None."""
    try:
        return np.array([float(label) for label in info["axes"][axis]])
    except ValueError:
        return None


def curve_layout(info, kept):
    """(x axis, group axis or None) when the kept axes make a sensible curve plot, else None.

    x: the numeric kept axis with the most values (at least 3); group: the one other
    kept axis, if it has at most MAX_CURVES values. Anything else would average over
    axes the reader did not ask to average, so the caller falls back to bars.
    """
    numeric = [a for a in kept if numeric_axis(info, a) is not None and len(info["axes"][a]) >= 3]
    if not numeric:
        return None
    x = max(numeric, key=lambda a: len(info["axes"][a]))
    others = [a for a in kept if a != x and len(info["axes"][a]) > 1]
    if not others:
        return x, None
    if len(others) == 1 and len(info["axes"][others[0]]) <= MAX_CURVES:
        return x, others[0]
    return None


def metric_axis_label(context, metric):
    """The metric's description (it carries the units), wrapped to fit beside a panel."""
    description = context.info["metric_descriptions"].get(metric, "")
    return textwrap.fill(description or metric, 42)


def draw_metric(context, metric, kept):
    """One figure for ``metric``: curve, bars or sorted profile, whichever the axes allow."""
    summary = context.summary
    fig, (ax,) = plots.figure(panel_width=6.4, panel_height=4.2)
    value_label = metric_axis_label(context, metric)
    # Curves average single rows; a file too large to hold them (streaming) gets bars or the profile.
    layout = None if context.streaming else curve_layout(context.info, kept)
    if layout is not None:
        x, group = layout
        frame = context.tasks[context.tasks["status"] == "ok"].copy()
        frame[x] = numeric_axis(context.info, x)[frame[f"{x}_index"].to_numpy()]
        plots.plot_curves(ax, frame, x, metric, group=group)
        ax.set_xlabel(x)
        ax.set_ylabel(value_label)
        how = "mean over runs (folds averaged within each run first); band: ± 1 standard error over runs"
    elif len(summary) <= MAX_BARS:
        plots.plot_bars(ax, group_labels(summary, kept, context.info), summary[f"{metric}_mean"], summary[f"{metric}_sem"],
                        value_label=value_label)
        how = "mean over runs (folds averaged within each run first); error bars: ± 1 standard error over runs"
    else:
        order = np.argsort(summary[f"{metric}_mean"].to_numpy())
        means = summary[f"{metric}_mean"].to_numpy()[order]
        sems = summary[f"{metric}_sem"].to_numpy()[order]
        rank = np.arange(1, len(order) + 1)
        ax.plot(rank, means, color=plots.COLORS[0], linewidth=1.6, label="group mean")
        if np.isfinite(sems).any():
            ax.fill_between(rank, means - sems, means + sems, color=plots.COLORS[0], alpha=0.2,
                            linewidth=0, label="± 1 standard error")
        varying = [a for a in kept if len(context.info["axes"][a]) > 1] or ["group"]
        ax.set_xlabel(f"{' × '.join(varying)} (rank by this metric)")
        ax.set_ylabel(value_label)
        plots.legend(ax, frameon=False)
        how = f"{len(summary)} groups sorted by their mean over runs; band: ± 1 standard error over runs"
    ax.set_title(metric)
    context.add_figure(fig, f"metric_{metric}", metric, how)


def build(context):
    """Summary table plus one figure per metric, for any experiment kind."""
    summary = context.summary
    kept = summary.attrs["group_axes"]
    shown = summary.head(SHOWN_ROWS)
    caption = replication_caption(summary) + " Failed tasks excluded and counted."
    if len(summary) > SHOWN_ROWS:
        caption += f" First {SHOWN_ROWS} of {len(summary)} rows shown; the CSV has all."
    hidden = [f"{a}_index" for a in kept] + [a for a in kept if a not in varying_axes(context.info, kept)]
    context.add_table("summary", "Summary over runs", summary, caption, shown=shown.drop(columns=hidden))
    if summary["ok_count"].sum() == 0:
        context.add_note("No task finished successfully yet: there is nothing to plot.")
        return
    for metric in summary.attrs["summary_metrics"]:
        draw_metric(context, metric, kept)
