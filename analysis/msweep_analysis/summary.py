"""Summaries of a task table: mean, spread and counts over the repeated axes."""

import numpy as np
import pandas as pd

from .reader import FIXED_FIELDS

STATISTICS = ("mean", "std", "sem")


def axis_names(frame):
    """Axes of a load() frame in grid order (from attrs, else columns with an _index partner)."""
    if "axes" in frame.attrs:
        return list(frame.attrs["axes"])
    return [c for c in frame.columns if f"{c}_index" in frame.columns]


def metric_names(frame):
    """Scalar metrics of a load() frame in file order (from attrs, else the float columns)."""
    if "metrics" in frame.attrs:
        return [m for m in frame.attrs["metrics"] if m in frame.columns]
    axes = set(axis_names(frame))
    return [c for c in frame.columns
            if c not in FIXED_FIELDS and c not in axes and not c.endswith("_index")
            and pd.api.types.is_float_dtype(frame[c])]


def aggregate(frame, over=("run", "fold"), metrics=None):
    """Mean, sample std, standard error and counts of metrics over the axes in ``over``.

    One row per combination of the remaining axes (sorted by their indices, i.e. grid
    order), with their labels and ``<axis>_index`` columns, ``ok_count`` and
    ``failed_count``, then ``<metric>_mean``, ``<metric>_std`` (ddof=1; NaN for fewer
    than 2 ok rows, where the engine's /summaries writes 0 for exactly one: a single
    run has no measured spread, and NaN keeps plots from drawing zero-width error
    bars that would suggest certainty) and ``<metric>_sem`` (std / sqrt(n))
    per metric. Failed tasks are left out of the statistics and counted in
    failed_count; a combination whose tasks all failed has NaN statistics.
    Axes in ``over`` that the frame does not have are ignored, so the default works
    for experiments without folds or runs.
    """
    metrics = list(metrics) if metrics is not None else metric_names(frame)
    kept = [a for a in axis_names(frame) if a not in set(over)]
    keys = [f"{a}_index" for a in kept]
    ok = (frame["status"] == "ok").to_numpy()

    if keys:
        grouping = [frame[k] for k in keys]
    else:  # everything reduced: one group holding every row
        grouping = [pd.Series(np.zeros(len(frame), dtype=np.int64), index=frame.index, name="_all")]
    counts = pd.DataFrame({"ok_count": ok, "failed_count": ~ok}, index=frame.index).groupby(grouping, sort=True).sum()

    ok_rows = frame.loc[ok, metrics]
    ok_grouping = [g[ok] for g in grouping]
    grouped = ok_rows.groupby(ok_grouping, sort=True)
    mean, std, n = grouped.mean(), grouped.std(ddof=1), grouped.count()
    # Groups whose every task failed exist in counts only: reindex brings them in as NaN.
    mean, std, n = (t.reindex(counts.index) for t in (mean, std, n))
    sem = std / np.sqrt(n.where(n > 0))

    result = {}
    index_values = counts.index.to_frame(index=False) if keys else None
    for axis, key in zip(kept, keys):
        indices = index_values[key].to_numpy()
        labels = frame.attrs.get("axes", {}).get(axis)
        result[axis] = (np.asarray(labels, dtype=object)[indices] if labels is not None
                        else frame.groupby(key, sort=True)[axis].first().reindex(indices).to_numpy())
        result[key] = indices
    result["ok_count"] = counts["ok_count"].to_numpy(dtype=np.int64)
    result["failed_count"] = counts["failed_count"].to_numpy(dtype=np.int64)
    for metric in metrics:
        result[f"{metric}_mean"] = mean[metric].to_numpy()
        result[f"{metric}_std"] = std[metric].to_numpy()
        result[f"{metric}_sem"] = sem[metric].to_numpy()
    table = pd.DataFrame(result)
    table.attrs.update(frame.attrs)
    table.attrs["group_axes"] = kept
    table.attrs["reduced_axes"] = [a for a in axis_names(frame) if a in set(over)]
    table.attrs["summary_metrics"] = metrics
    return table
