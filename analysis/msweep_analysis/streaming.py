"""Summaries of results files too large to load whole: from /summaries, or in passes over /tasks.

What load() + aggregate() compute from a frame in memory, computed here with memory that
depends on the grid (groups x runs), never on the number of rows:

- ``file_aggregate(path, info, over)``: aggregate()'s table. Taken from the engine's
  ``/summaries`` when that is current (its ok and failed counts add up to rows_committed)
  and reduces the same axes; otherwise streamed.
- ``run_tables(path, info, group_axes, metrics)``: per metric, every run's mean over its ok
  rows for every group (what ``unit_means`` gives, as a dense runs x groups array), yielded
  a few metrics at a time so that at most ``CELL_BUDGET`` bytes of accumulators are held.

A pass reads /tasks in blocks of READ_ROWS rows (the reader's raw-chunk path, some five
million rows a second) and keeps per (group, run) cell one float64 sum per metric and one
count of ok rows (plus a count per metric only if some ok row of it is not finite). A pass
costs as much as reading the file (20.7 GiB for 131M rows, which does not stay in a 23 GB
page cache from one pass to the next), so the work is arranged in as few passes as the
budget allows: every metric of run_tables() in one pass when their sums fit CELL_BUDGET,
together with any Tally (a count of ok rows, e.g. fits that stalled) a caller asks for.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .reader import READ_ROWS, _chunks, _sizes, axis_indices, axis_labels, open_results, text_list
from .summary import UNIT

# Bytes of (group, run) accumulators held in one pass: 1 GiB holds the five per-run tables the
# subset-evidence report needs for 2^20 structures x 25 runs (5 x 8 x 26.2M cells = 1000 MiB),
# so the 131M-row file is one pass, and the report stays under 2 GB with the rest of it.
CELL_BUDGET = 1024 * 1024 * 1024
SUMMARY_ROWS = 65536  # /summaries/table rows read at a time


@dataclass
class Tally:
    """A count of the ok rows whose ``field`` passes ``test`` (a vectorised predicate), taken in
    the same pass as run_tables() (e.g. Tally("converged", lambda v: v < 0.5): stalled fits)."""
    field: str
    test: Callable
    count: int = 0


def _coordinates(block, info, group_axes):
    """(flat group index row-major over ``group_axes``, run index) of every row of ``block``."""
    unit = [UNIT] if UNIT in info["axes"] else []
    indices = axis_indices(block, info, [*group_axes, *unit])
    group = (np.ravel_multi_index(indices[:len(group_axes)], _sizes(info, group_axes)) if group_axes
             else np.zeros(len(block), dtype=np.int64))
    return group, (indices[-1] if unit else np.zeros(len(block), dtype=np.int64))


def _local(cell):
    """(where, local index, span): the cells of a block as positions local to it, for bincount.

    Rows finish in roughly task-id order, so a block's cells usually lie in a narrow range:
    then ``where`` is that range (a slice) and the local index an offset, with no sort;
    otherwise ``where`` is the distinct cells (np.unique). Either way ``acc[where] +=
    np.bincount(local, weights, minlength=span)`` adds the block's rows to the accumulators,
    each cell's rows summed in the same order (so the sums do not depend on the route).
    """
    if not cell.size:
        return slice(0, 0), cell, 0
    low, high = int(cell.min()), int(cell.max())
    if high - low < 4 * cell.size + 4096:
        return slice(low, high + 1), cell - low, high - low + 1
    present, local = np.unique(cell, return_inverse=True)
    return present, local, len(present)


def _row_fields(metrics):
    """/tasks fields a pass reads: the id (the coordinates follow from it), status, metrics."""
    return list(dict.fromkeys(["id", "status", *metrics]))


def _blocks(info, fields):
    return _chunks(info["path"], info, fields, {}, 0, info["rows_committed"], READ_ROWS, packed=False)


def _metric_batches(metrics, cells):
    """Metrics split so that one batch's accumulators (8 bytes per cell and metric) fit CELL_BUDGET."""
    per_pass = max(1, CELL_BUDGET // max(1, 8 * cells))
    return [metrics[i:i + per_pass] for i in range(0, len(metrics), per_pass)]


def run_tables(info, group_axes, metrics, tallies=()):
    """Yield (metric, runs x groups float64 array of run means) for every metric, in passes.

    Entry [r, g] is the mean of ``metric`` over the ok rows of run r in group g (groups
    row-major over ``group_axes``), NaN where there is none: ``unit_means`` as a dense array.
    The tables of one pass are yielded together; drop each when done to keep memory bounded.
    ``tallies`` (Tally) are counted during the first pass: their counts are final once the
    first table has been yielded.
    """
    runs = len(info["axes"].get(UNIT, [0]))
    groups = int(np.prod(_sizes(info, group_axes), dtype=np.int64))
    cells = groups * runs
    for number, batch in enumerate(_metric_batches(list(metrics), cells)):
        counted = list(tallies) if number == 0 else []
        sums = {m: np.zeros(cells) for m in batch}
        missing = {}  # metric -> per-cell count of ok rows where it is not finite (rare; made on demand)
        rows_per_cell = int(np.prod([len(v) for k, v in info["axes"].items() if k not in group_axes and k != UNIT]))
        count = np.zeros(cells, dtype=np.min_scalar_type(rows_per_cell))  # uint8 for 5 folds: 1 byte a cell
        for block in _blocks(info, _row_fields([*batch, *(t.field for t in counted)])):
            ok = block["status"] == 0
            block = block if ok.all() else block[ok]
            for tally in counted:
                tally.count += int(np.count_nonzero(tally.test(block[tally.field])))
            group, run = _coordinates(block, info, group_axes)
            where, local, span = _local(group * runs + run)
            count[where] += np.bincount(local, minlength=span).astype(count.dtype)
            for m in batch:
                values = block[m].astype(np.float64)
                finite = np.isfinite(values)
                if not finite.all():
                    lost = missing.setdefault(m, np.zeros(cells, dtype=count.dtype))
                    lost[where] += np.bincount(local[~finite], minlength=span).astype(count.dtype)
                    values = np.where(finite, values, 0.0)
                sums[m][where] += np.bincount(local, weights=values, minlength=span)
        for m in batch:
            n = count - missing.pop(m) if m in missing else count
            with np.errstate(invalid="ignore", divide="ignore"):
                np.divide(sums[m], n, out=sums[m])  # in place: the sums become the means
            sums[m][n == 0] = np.nan
            table = sums.pop(m).reshape(groups, runs).T
            yield m, table
            del table


def _counts_and_spread(info, group_axes, metrics):
    """((ok_count, failed_count, run_count) per group, {metric: row spread per group}), together.

    run_count counts the runs with an ok row. The row spread is the sample standard deviation
    (ddof 1) of the single ok rows per group and metric; its sums of squares are taken about a
    per-group shift (the group's first value) so that values far from zero with a small spread
    keep their digits. One pass for both when the spread's sums fit CELL_BUDGET (the counts are
    taken in the first pass, which reads the failed rows too).
    """
    runs = len(info["axes"].get(UNIT, [0]))
    groups = int(np.prod(_sizes(info, group_axes), dtype=np.int64))
    ok_count, failed_count = np.zeros(groups, dtype=np.int64), np.zeros(groups, dtype=np.int64)
    run_seen = np.zeros(groups * runs, dtype=bool)
    result = {}
    for number, batch in enumerate(_metric_batches(list(metrics), 3 * groups) or [[]]):
        acc = {m: [np.zeros(groups), np.zeros(groups), np.zeros(groups), np.full(groups, np.nan)] for m in batch}
        for block in _blocks(info, _row_fields(batch)):
            group, run = _coordinates(block, info, group_axes)
            ok = block["status"] == 0
            if number == 0:
                ok_count += np.bincount(group[ok], minlength=groups)
                failed_count += np.bincount(group[~ok], minlength=groups)
                run_seen[group[ok] * runs + run[ok]] = True
            block, group = block[ok], group[ok]
            for m in batch:
                values = block[m].astype(np.float64)
                finite = np.isfinite(values)
                g, v = group[finite], values[finite]
                n, s, q, shift = acc[m]
                unset = np.isnan(shift[g])
                shift[g[unset]] = v[unset]  # any value of the group will do; the last assignment wins
                d = v - shift[g]
                n += np.bincount(g, minlength=groups)
                s += np.bincount(g, weights=d, minlength=groups)
                q += np.bincount(g, weights=d * d, minlength=groups)
        for m in batch:
            n, s, q, _ = acc.pop(m)
            with np.errstate(invalid="ignore", divide="ignore"):
                result[m] = np.where(n > 1, np.sqrt(np.maximum(q - s * s / n, 0.0) / (n - 1)), np.nan)
    return (ok_count, failed_count, run_seen.reshape(groups, runs).sum(axis=1)), result


def _table(info, group_axes, reduced, counts, statistics, metrics):
    """An aggregate()-shaped DataFrame from per-group arrays (groups row-major over group_axes).

    ``statistics[metric][name]`` are dense per-group arrays or functions returning one; each is
    taken (and dropped) in turn while the float columns fill one 2-D block, so a table of a
    million groups is held about once rather than once per intermediate.
    """
    ok_count, failed_count, run_count = counts
    present = np.flatnonzero(ok_count + failed_count > 0)  # aggregate() has a row only for groups with rows
    names = [f"{m}_{s}" for m in metrics for s in ("mean", "std", "sem", "row_std")]
    block = np.empty((len(present), len(names)))
    for j, (metric, name) in enumerate((m, s) for m in metrics for s in ("mean", "std", "sem", "row_std")):
        values = statistics[metric].pop(name)
        block[:, j] = (values() if callable(values) else values)[present]
    frame = pd.DataFrame(block, columns=names, copy=False)
    leading = []
    if group_axes:
        indices = np.unravel_index(present, _sizes(info, group_axes))
        for axis, index in zip(group_axes, indices):
            leading += [(axis, axis_labels(info, axis)[index]), (f"{axis}_index", index.astype(np.int64))]
    leading += [("ok_count", ok_count[present]), ("failed_count", failed_count[present])]
    by_unit = UNIT in reduced
    if by_unit:
        leading.append((f"{UNIT}_count", run_count[present].astype(np.int64)))
    for position, (name, values) in enumerate(leading):
        frame.insert(position, name, values)
    frame.attrs.update(info)
    frame.attrs.update(group_axes=list(group_axes), reduced_axes=list(reduced),
                       replicate_unit=UNIT if by_unit else "row", summary_metrics=list(metrics))
    return frame


def _from_summaries(info, group_axes, reduced, metrics):
    """aggregate()'s table from /summaries, or None when /summaries is absent, stale, or
    reduces other axes than asked (axes with one value do not count)."""
    if not info.get("has_summaries") or UNIT not in reduced:
        return None
    with open_results(info["path"]) as handle:
        group, table = handle["summaries"], handle["summaries"]["table"]
        holder = next((h.attrs for h in (table, group) if "group_axes" in h.attrs), None)
        kept = text_list(holder["group_axes"]) if holder is not None else []
        if [a for a in kept if len(info["axes"][a]) > 1] != [a for a in group_axes if len(info["axes"][a]) > 1]:
            return None
        names = set(table.dtype.names)
        needed = ["ok_count", "failed_count", "run_count"] + [
            f"{m}_{s}" for m in metrics for s in ("run_mean", "run_sem", "std")]
        if not all(n in names for n in needed):
            return None  # written before the run-based columns existed
        if any(a not in names and len(info["axes"][a]) > 1 for a in group_axes):
            return None
        fields = list(dict.fromkeys([*(a for a in group_axes if a in names), *needed]))
        columns = {f: np.empty(len(table), dtype=table.dtype.fields[f][0]) for f in fields}
        for begin in range(0, len(table), SUMMARY_ROWS):  # whole rows in blocks: one pass over the table
            block = table[begin:begin + SUMMARY_ROWS]
            for f in fields:
                columns[f][begin:begin + len(block)] = block[f]
            del block
    ok_count, failed_count = columns.pop("ok_count").astype(np.int64), columns.pop("failed_count").astype(np.int64)
    if int(ok_count.sum() + failed_count.sum()) != info["rows_committed"]:
        return None  # written before the last rows were committed: stale
    zero = np.zeros(len(ok_count), dtype=np.int64)  # an axis with one value may be left out of the table
    position = (np.ravel_multi_index([columns.pop(a, zero).astype(np.int64) for a in group_axes], _sizes(info, group_axes))
                if group_axes else np.zeros(len(ok_count), dtype=np.int64))
    groups = int(np.prod(_sizes(info, group_axes), dtype=np.int64))

    def dense(values, fill=np.nan):
        out = np.full(groups, fill, dtype=np.float64 if fill is np.nan else np.int64)
        out[position] = values
        return out
    run_count = dense(columns.pop("run_count").astype(np.int64), 0)

    def sem(m):
        values = dense(columns[f"{m}_run_sem"])
        values[run_count < 2] = np.nan  # one run measures no spread (the engine may write 0)
        return values

    def std(m):
        return sem(m) * np.sqrt(run_count)
    # Functions: each column is made when the table takes it, from the summary's own columns.
    statistics = {m: {"mean": lambda m=m: dense(columns.pop(f"{m}_run_mean")), "std": lambda m=m: std(m),
                      "sem": lambda m=m: dense(columns.pop(f"{m}_run_sem")) if run_count.min() >= 2 else sem(m),
                      "row_std": lambda m=m: dense(columns.pop(f"{m}_std"))} for m in metrics}
    counts = (dense(ok_count, 0), dense(failed_count, 0), run_count)
    return _table(info, group_axes, reduced, counts, statistics, metrics)


def failed_count_from_summaries(info):
    """The number of failed rows per /summaries when that is current (its ok and failed counts
    add up to rows_committed), else None: lets a report skip a pass that would find none."""
    if not info.get("has_summaries"):
        return None
    with open_results(info["path"]) as handle:
        table = handle["summaries"]["table"]
        if not {"ok_count", "failed_count"} <= set(table.dtype.names):
            return None
        ok = failed = 0
        for begin in range(0, len(table), SUMMARY_ROWS):
            block = table.fields(["ok_count", "failed_count"])[begin:begin + SUMMARY_ROWS]
            ok += int(block["ok_count"].sum(dtype=np.int64))
            failed += int(block["failed_count"].sum(dtype=np.int64))
    return failed if ok + failed == info["rows_committed"] else None


def file_aggregate(info, over=("run", "fold"), metrics=None):
    """aggregate(load(path), over, metrics) without loading the rows (see the module docstring)."""
    metrics = list(info["metrics"]) if metrics is None else list(metrics)
    group_axes = [a for a in info["axes"] if a not in set(over)]
    reduced = [a for a in info["axes"] if a in set(over)]
    table = _from_summaries(info, group_axes, reduced, metrics)
    if table is not None:
        return table
    counts, spread = _counts_and_spread(info, group_axes, metrics)
    statistics = {m: {"row_std": spread.pop(m)} for m in metrics}
    if UNIT in reduced:
        for m, table in run_tables(info, group_axes, metrics):
            n = np.isfinite(table).sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.nansum(table, axis=0) / n
                std = np.sqrt(np.nansum((table - mean) ** 2, axis=0) / (n - 1))
            std[n < 2] = np.nan
            statistics[m].update(mean=np.where(n > 0, mean, np.nan), std=std, sem=std / np.sqrt(np.where(n > 0, n, np.nan)))
    else:  # rows are the replicates: the mean of the ok rows, its spread and standard error
        pooled = {**info, "axes": {k: v for k, v in info["axes"].items() if k != UNIT}}
        for m, table in run_tables(pooled, group_axes, metrics):
            n = counts[0].astype(np.float64)
            spread = statistics[m]["row_std"]
            statistics[m].update(mean=table[0], std=spread, sem=spread / np.sqrt(np.where(n > 0, n, np.nan)))
    return _table(info, group_axes, reduced, counts, statistics, metrics)
