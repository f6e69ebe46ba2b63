"""Summaries of a task table: mean, spread and counts over the repeated axes.

Runs are the unit of replication (docs/science.md, "Replication and error bars"): the
rows of one run share its data split, so they are averaged within the run first and
the mean, standard deviation and standard error are then taken over runs.
"""

import numpy as np
import pandas as pd

from .reader import FIXED_FIELDS, axis_labels

STATISTICS = ("mean", "std", "sem", "row_std")
UNIT = "run"  # the axis whose values are independent replicates


def axis_names(frame):
    """Axes of a load() frame in grid order (from attrs, else columns with an _index partner)."""
    if "axes" in frame.attrs:
        return [a for a in frame.attrs["axes"] if f"{a}_index" in frame.columns]
    return [c for c in frame.columns if f"{c}_index" in frame.columns]


def varying_axes(info, axes=None):
    """The axes (default: all of ``info["axes"]``) with more than one value: the ones worth showing."""
    axes = info["axes"] if axes is None else axes
    return [a for a in axes if len(info["axes"].get(a, ())) != 1]


def metric_names(frame):
    """Scalar metrics of a load() frame in file order (from attrs, else the float columns)."""
    if "metrics" in frame.attrs:
        return [m for m in frame.attrs["metrics"] if m in frame.columns]
    axes = set(axis_names(frame))
    return [c for c in frame.columns
            if c not in FIXED_FIELDS and c not in axes and not c.endswith("_index")
            and pd.api.types.is_float_dtype(frame[c])]


def _grouping(frame, keys):
    """Series to group ``frame`` by: the key columns, or one constant when every axis is reduced."""
    if keys:
        return [frame[k] for k in keys]
    return [pd.Series(np.zeros(len(frame), dtype=np.int64), index=frame.index, name="_all")]


def unit_means(frame, keys, metrics, unit=UNIT):
    """Mean of every metric over the ok rows of each (``keys``..., run): one value per run and group.

    The index is (keys..., ``<unit>_index``); a run whose rows all failed is absent.
    """
    ok = (frame["status"] == "ok").to_numpy()
    rows = frame.loc[ok]
    grouping = _grouping(rows, keys) + [rows[f"{unit}_index"]]
    return rows[metrics].groupby(grouping, sort=True).mean()


def aggregate(frame, over=("run", "fold"), metrics=None, unit=UNIT):
    """Mean, spread, standard error and counts of metrics over the axes in ``over``.

    One row per combination of the remaining axes (sorted by their indices, i.e. grid
    order), with their labels and ``<axis>_index`` columns, ``ok_count`` and
    ``failed_count``, then per metric:

    - ``<metric>_mean``: when ``over`` includes the run axis (``unit``), every run is
      first reduced to the mean of its ok rows (its folds, restarts, ...), and this is
      the mean of those per-run values; otherwise the mean of the ok rows.
    - ``<metric>_std``: sample standard deviation (ddof=1) of the per-run values (of
      the rows when ``over`` has no run axis).
    - ``<metric>_sem``: ``std / sqrt(n)`` with n the number of runs (rows) averaged:
      the standard error with runs as the unit of replication.
    - ``<metric>_row_std``: sample standard deviation of the individual ok rows, the
      spread of single (run, fold) results, for those who need it. It is not the
      basis of an error bar: rows of one run share their data split.

    With a run axis reduced there is also ``run_count``, the runs with at least one ok
    row. Fewer than 2 values give NaN std and sem (the engine's /summaries writes 0 for
    exactly one row): one run measures no spread, and NaN keeps plots from drawing
    zero-width error bars that would suggest certainty. Failed tasks are left out of
    the statistics and counted in failed_count; a combination whose tasks all failed
    has NaN statistics. Axes in ``over`` that the frame does not have are ignored, so
    the default works for experiments without folds or runs.
    """
    metrics = list(metrics) if metrics is not None else metric_names(frame)
    axes = axis_names(frame)
    kept = [a for a in axes if a not in set(over)]
    reduced = [a for a in axes if a in set(over)]
    by_unit = unit in reduced
    keys = [f"{a}_index" for a in kept]
    ok = (frame["status"] == "ok").to_numpy()

    grouping = _grouping(frame, keys)
    counts = pd.DataFrame({"ok_count": ok, "failed_count": ~ok}, index=frame.index).groupby(grouping, sort=True).sum()
    rows = frame.loc[ok, metrics].groupby([g[ok] for g in grouping], sort=True)
    row_std = rows.std(ddof=1)
    if by_unit:
        per_unit = unit_means(frame, keys, metrics, unit)
        replicates = per_unit.groupby(level=list(range(max(1, len(keys)))), sort=True)
        unit_count = replicates.size().reindex(counts.index).fillna(0).astype(np.int64)
    else:
        replicates = rows
    mean, std, n = replicates.mean(), replicates.std(ddof=1), replicates.count()
    # Groups whose every task failed exist in counts only: reindex brings them in as NaN.
    mean, std, n, row_std = (t.reindex(counts.index) for t in (mean, std, n, row_std))
    sem = std / np.sqrt(n.where(n > 0))

    result = {}
    index_values = counts.index.to_frame(index=False) if keys else None
    for axis, key in zip(kept, keys):
        indices = index_values[key].to_numpy()
        labels = axis_labels(frame.attrs, axis) if "axes" in frame.attrs else None
        result[axis] = (labels[indices] if labels is not None
                        else frame.groupby(key, sort=True)[axis].first().reindex(indices).to_numpy())
        result[key] = indices
    result["ok_count"] = counts["ok_count"].to_numpy(dtype=np.int64)
    result["failed_count"] = counts["failed_count"].to_numpy(dtype=np.int64)
    if by_unit:
        result[f"{unit}_count"] = unit_count.to_numpy()
    for metric in metrics:
        result[f"{metric}_mean"] = mean[metric].to_numpy()
        result[f"{metric}_std"] = std[metric].to_numpy()
        result[f"{metric}_sem"] = sem[metric].to_numpy()
        result[f"{metric}_row_std"] = row_std[metric].to_numpy()
    table = pd.DataFrame(result)
    table.attrs.update(frame.attrs)
    table.attrs["group_axes"] = kept
    table.attrs["reduced_axes"] = reduced
    table.attrs["replicate_unit"] = unit if by_unit else "row"
    table.attrs["summary_metrics"] = metrics
    return table


def replication_caption(table):
    """One sentence for a table or figure caption saying what an aggregate()'s mean and sem are over."""
    if table.attrs.get("replicate_unit") == "run":
        others = [a for a in table.attrs.get("reduced_axes", []) if a != UNIT]
        within = f" ({' and '.join(others)} averaged within each run first)" if others else ""
        return (f"Mean, standard deviation and standard error over runs{within}: runs are the unit of "
                "replication; row_std in the CSV is the spread of single rows.")
    reduced = " and ".join(table.attrs.get("reduced_axes", [])) or "rows"
    return f"Mean, standard deviation and standard error over {reduced}, each row counted as one replicate."
