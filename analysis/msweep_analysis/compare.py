"""Two results files side by side: paired differences per structure, over the runs both have.

    import msweep_analysis as ma
    table = ma.compare("results/evidence.h5", "results/fixed.h5")
    table[["structure", "pairs", "log_evidence_a", "log_evidence_b", "log_evidence_diff", "log_evidence_diff_sem"]]

Two jobs over the same grid (same experiment, same axes and labels; e.g. another prior,
noise level or optimiser) are compared structure by structure. Runs are the unit of
replication: each run's folds are averaged first, run r of A is paired with run r of B
(same label), and the mean and standard error of the R differences B - A are reported.
With the same job seed and data, run r draws the same split in both files, so the
split-to-split variation cancels and the paired sem is small; with different seeds the
pairing is still valid but cancels nothing.
"""

import pandas as pd

from .reader import load
from .summary import axis_names, metric_names, unit_means, UNIT


class IncomparableError(Exception):
    """The two files do not have the same grid; the message is one line naming both and the difference."""

    def __init__(self, a, b, problem):
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{a} and {b} cannot be compared: {self.problem}")


def _frame(source):
    """A load() frame from a path, or the frame itself."""
    return source if isinstance(source, pd.DataFrame) else load(source)


def _name(frame):
    return frame.attrs.get("path", "A")


def _shown(labels, limit=6):
    return ", ".join(labels[:limit]) + (", ..." if len(labels) > limit else "")


def check_comparable(a, b, over):
    """Raise IncomparableError unless ``a`` and ``b`` (load() frames) have the same experiment,
    axes and labels on every axis outside ``over`` and share at least one run."""
    ia, ib = a.attrs, b.attrs
    name_a, name_b = _name(a), _name(b)
    if ia["experiment"] != ib["experiment"]:
        raise IncomparableError(name_a, name_b, f"experiment '{ia['experiment']}' in the first, "
                                                f"'{ib['experiment']}' in the second")
    if list(ia["axes"]) != list(ib["axes"]):
        raise IncomparableError(name_a, name_b, f"different axes: {', '.join(ia['axes'])} in the first, "
                                                f"{', '.join(ib['axes'])} in the second")
    for axis in ia["axes"]:
        if axis in over:
            continue
        first, second = ia["axes"][axis], ib["axes"][axis]
        if first != second:
            if len(first) != len(second):
                what = f"{len(first)} values in the first ({_shown(first)}), {len(second)} in the second ({_shown(second)})"
            else:
                i = next(i for i, (x, y) in enumerate(zip(first, second)) if x != y)
                what = f"value {i} is '{first[i]}' in the first and '{second[i]}' in the second"
            raise IncomparableError(name_a, name_b, f"axis {axis} differs: {what}")
    if UNIT not in ia["axes"]:
        raise IncomparableError(name_a, name_b, f"no {UNIT} axis to pair the files over")
    if not set(ia["axes"][UNIT]) & set(ib["axes"][UNIT]):
        raise IncomparableError(name_a, name_b, "no run in common (run labels "
                                                f"{_shown(ia['axes'][UNIT])} and {_shown(ib['axes'][UNIT])})")


def compare(a, b, metrics=None, over=("run", "fold")):
    """Paired differences B - A per group of the axes outside ``over`` (e.g. per structure).

    ``a`` and ``b`` are results file paths or load() frames. Raises IncomparableError
    (one line) when the experiments, axes or labels of the kept axes differ, or the
    files share no run; ValueError naming a metric one of them lacks. The folds in
    ``over`` may differ between the files (they are averaged within each run).

    Returns one row per group in grid order: labels and ``<axis>_index`` of the kept
    axes, ``pairs`` (runs with an ok result in both), then per metric ``<m>_a`` and
    ``<m>_b`` (means over the paired runs), ``<m>_diff`` (mean of B - A over them),
    ``<m>_diff_std`` and ``<m>_diff_sem`` (std / sqrt(pairs); NaN for one pair).
    ``attrs``: ``a`` and ``b`` (info of each file), ``group_axes``, ``metrics``,
    ``paired_runs`` (labels) and ``notes`` (sentences about runs left unpaired and seeds).
    """
    a, b = _frame(a), _frame(b)
    over = tuple(over) + ((UNIT,) if UNIT not in over else ())
    check_comparable(a, b, over)
    common = [m for m in metric_names(a) if m in set(metric_names(b))]
    if metrics is None:
        metrics = common
    for metric in metrics:
        if metric not in common:
            raise ValueError(f"compare(): metric '{metric}' is not in both files (common: {', '.join(common)})")
    kept = [axis for axis in axis_names(a) if axis not in over]
    keys = [f"{axis}_index" for axis in kept]
    per_run = []
    for frame in (a, b):
        means = unit_means(frame, keys, list(metrics)).reset_index()
        # Pair runs by label, which is what a run index means in both files.
        means[UNIT] = [frame.attrs["axes"][UNIT][i] for i in means[f"{UNIT}_index"]]
        per_run.append(means.drop(columns=[f"{UNIT}_index"]).set_index(keys + [UNIT]))
    joined = per_run[0].join(per_run[1], how="inner", lsuffix="_a", rsuffix="_b")
    level = list(range(len(keys))) if keys else None
    result = {}
    columns = {}
    for metric in metrics:
        difference = joined[f"{metric}_b"] - joined[f"{metric}_a"]
        paired = difference.notna()
        grouped = (lambda s: s[paired].groupby(level=level, sort=True)) if keys else (lambda s: s[paired].groupby(lambda _: 0))
        columns[f"{metric}_a"] = grouped(joined[f"{metric}_a"]).mean()
        columns[f"{metric}_b"] = grouped(joined[f"{metric}_b"]).mean()
        columns[f"{metric}_diff"] = grouped(difference).mean()
        columns[f"{metric}_diff_std"] = grouped(difference).std(ddof=1)
        count = grouped(difference).count()
        columns[f"{metric}_diff_sem"] = columns[f"{metric}_diff_std"] / count.pow(0.5)
        columns.setdefault("pairs", count)
    table = pd.DataFrame(columns)
    if keys:  # every group of the grid, also those without a single pair (pairs 0, NaN statistics)
        grid = a[keys].drop_duplicates().sort_values(keys)
        table = table.reindex(pd.MultiIndex.from_frame(grid) if len(keys) > 1 else pd.Index(grid[keys[0]]))
        table.index = table.index.set_names(keys)
        index = table.index.to_frame(index=False)
        for axis, key in zip(kept, keys):
            result[axis] = [a.attrs["axes"][axis][i] for i in index[key]]
            result[key] = index[key].to_numpy()
    result["pairs"] = table["pairs"].fillna(0).astype(int).to_numpy()
    for metric in metrics:
        for suffix in ("a", "b", "diff", "diff_std", "diff_sem"):
            result[f"{metric}_{suffix}"] = table[f"{metric}_{suffix}"].to_numpy()
    out = pd.DataFrame(result)
    runs_a, runs_b = a.attrs["axes"].get(UNIT, []), b.attrs["axes"].get(UNIT, [])
    paired_runs = [r for r in runs_a if r in set(runs_b)]
    notes = []
    unpaired = [r for r in runs_a if r not in set(runs_b)] + [r for r in runs_b if r not in set(runs_a)]
    if unpaired:
        notes.append(f"Run{'s' if len(unpaired) > 1 else ''} {_shown(unpaired)} "
                     f"{'are' if len(unpaired) > 1 else 'is'} in one file only and left out; "
                     f"{len(paired_runs)} runs are paired.")
    seed_a, seed_b = a.attrs.get("job_seed"), b.attrs.get("job_seed")
    if seed_a is not None and seed_b is not None and seed_a != seed_b:
        notes.append(f"The job seeds differ ({seed_a} and {seed_b}): run r has different splits in the two files, "
                     "so pairing by run cancels no split-to-split variation and the paired sem is not reduced.")
    out.attrs.update({"a": dict(a.attrs), "b": dict(b.attrs), "group_axes": kept, "metrics": list(metrics),
                      "paired_runs": paired_runs, "notes": notes})
    return out
