"""Figure set of the "param-ordering" experiment (docs/science.md#parameter-ordering-by-gradient-variance): does freezing the
parameters of smallest gradient variance first (order "variance") cost less loss than
freezing a random subset of the same size (order "random")?

Tasks that differ only in order share the data split, initial weights, warm-up and
minibatches (docs/experiments/param-ordering.md), so orders are compared by paired
differences over (run, restart): their standard error is far smaller than the spread of
either curve. Runs and restarts are both replicates here.

Array names are the constants below: a rename in the engine is a one-line fix.
"""

import re

import numpy as np
import pandas as pd

from .. import plots
from ..reader import resolved_section

# Names in the results file (src/experiments/param_ordering.cpp).
TRAIN_LOSS = "train_loss"      # (F) loss after the continuation, per fraction frozen
TEST_LOSS = "test_loss"        # (F)
FROZEN_COUNT = "frozen_count"  # (F) parameters frozen at each fraction
MASK = "mask"                  # (F, P) 1 trained, 0 frozen
N_PARAMS = "n_params"
UNIT_METRIC = "test_loss_t0"   # its description ends with "(MSE, standardized target units)" or similar
DIVERGED = "diverged_fractions"
REPLICATES = ("run", "restart", "fold")
TABLE_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)  # the shown table: grid points nearest these


def splits():
    """(split, array name) pairs, read at call time so that renaming an array is one constant above."""
    return (("train", TRAIN_LOSS), ("test", TEST_LOSS))


# --------------------------------------------------------------------------- what the job says

def fractions(context, count):
    """The fraction grid: [sweep] fractions as the engine used them (resolved_job, defaults
    included), else (files written before resolved_job) frozen_count / n_params."""
    listed = (resolved_section(context.info, "sweep") or {}).get("fractions")
    if listed is not None and len(listed) == count:
        return np.asarray(listed, dtype=np.float64)
    if FROZEN_COUNT in context.info["arrays"] and context.has_metric(N_PARAMS):
        ok = np.flatnonzero((context.tasks["status"] == "ok").to_numpy())
        if ok.size:
            return context.array(FROZEN_COUNT)[ok[0]] / context.tasks[N_PARAMS].iloc[ok[0]]
    return np.linspace(0.0, 1.0, count)


def loss_label(context, split):
    """'test loss: MSE [standardized target units]' from the metric description's parenthesis."""
    description = context.info["metric_descriptions"].get(UNIT_METRIC, "")
    found = re.search(r"\(([^,()]+),\s*([^()]+)\)\s*$", description)
    if not found:
        return f"{split} loss"
    return plots.axis_label(f"{split} loss: {found.group(1).strip()}", found.group(2).strip())


def unit_of(context):
    found = re.search(r"\(([^,()]+),\s*([^()]+)\)\s*$", context.info["metric_descriptions"].get(UNIT_METRIC, ""))
    return (found.group(1).strip(), found.group(2).strip()) if found else ("loss", "")


def layer_blocks(structure, bias, parameters):
    """[(name, start, stop)] of the flat parameter layout (per layer W, then b), or [] if it does not add up."""
    try:
        widths = [int(w) for w in structure.split("-")]
    except ValueError:
        return []
    blocks, start = [], 0
    for layer, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        blocks.append((f"W{layer} ({n_out}×{n_in})", start, start + n_in * n_out))
        start += n_in * n_out
        if bias:
            blocks.append((f"b{layer}", start, start + n_out))
            start += n_out
    return blocks if start == parameters else []


# --------------------------------------------------------------------------- numbers

def replicate_keys(tasks):
    return [f"{a}_index" for a in REPLICATES if f"{a}_index" in tasks]


def loss_curves(context, tasks, grid):
    """Long table: structure, order, split, fraction, mean, std, sem, n over runs (and restarts)."""
    ok = (tasks["status"] == "ok").to_numpy()
    rows = []
    for split, array in splits():
        values = context.array(array)
        for (s, o), part in tasks[ok].groupby(["structure_index", "order_index"], sort=True):
            block = values[part["_row"].to_numpy()]
            n = np.isfinite(block).sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.nanmean(block, axis=0) if len(block) else np.full(len(grid), np.nan)
                std = np.nanstd(block, axis=0, ddof=1) if len(block) > 1 else np.full(len(grid), np.nan)
            for k, fraction in enumerate(grid):
                rows.append({"structure": part["structure"].iloc[0], "order": part["order"].iloc[0],
                             "split": split, "fraction": fraction, "mean": mean[k], "std": std[k],
                             "sem": std[k] / np.sqrt(n[k]) if n[k] > 1 else np.nan, "n": int(n[k]),
                             "structure_index": s, "order_index": o, "fraction_index": k})
    return pd.DataFrame(rows)


def paired_differences(context, tasks, grid, first, second):
    """Long table: structure, split, fraction, mean and sem of (first - second) over paired replicates."""
    ok = tasks[tasks["status"] == "ok"]
    keys = replicate_keys(tasks)
    rows = []
    for split, array in splits():
        values = context.array(array)
        for s, part in ok.groupby("structure_index", sort=True):
            a = part[part["order"] == first].set_index(keys)
            b = part[part["order"] == second].set_index(keys)
            common = a.index.intersection(b.index)
            difference = (values[a.loc[common, "_row"].to_numpy()] - values[b.loc[common, "_row"].to_numpy()]
                          if len(common) else np.full((0, len(grid)), np.nan))
            n = np.isfinite(difference).sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.nanmean(difference, axis=0) if len(difference) else np.full(len(grid), np.nan)
                std = np.nanstd(difference, axis=0, ddof=1) if len(difference) > 1 else np.full(len(grid), np.nan)
            for k, fraction in enumerate(grid):
                rows.append({"structure": part["structure"].iloc[0], "split": split, "fraction": fraction,
                             "difference": mean[k], "difference_sem": std[k] / np.sqrt(n[k]) if n[k] > 1 else np.nan,
                             "pairs": int(n[k]), "structure_index": s, "fraction_index": k})
    return pd.DataFrame(rows)


def table_indices(grid):
    """Grid positions nearest TABLE_FRACTIONS, each once, in grid order."""
    return sorted({int(np.argmin(np.abs(grid - f))) for f in TABLE_FRACTIONS})


def loss_table(curves, differences, orders):
    """One row per (structure, split, fraction): each order's mean and sem, the paired difference."""
    wide = curves.pivot_table(index=["structure", "split", "fraction", "structure_index", "fraction_index"],
                              columns="order", values=["mean", "sem", "n"], aggfunc="first")
    table = pd.DataFrame(index=wide.index)
    for order in orders:
        if ("mean", order) in wide:
            table[f"{order}_mean"] = wide[("mean", order)]
            table[f"{order}_sem"] = wide[("sem", order)]
            table[f"{order}_runs"] = wide[("n", order)]
    table = table.reset_index()
    if differences is not None and len(differences):
        table = table.merge(differences[["structure_index", "split", "fraction_index", "difference",
                                         "difference_sem", "pairs"]],
                            on=["structure_index", "split", "fraction_index"], how="left")
        with np.errstate(invalid="ignore", divide="ignore"):
            table["difference_over_sem"] = table["difference"] / table["difference_sem"]
    split_order = {name: i for i, (name, _) in enumerate(splits())}
    table = table.sort_values(["structure_index", "split", "fraction_index"],
                              key=lambda c: c.map(split_order) if c.name == "split" else c)
    return table.reset_index(drop=True)


def pm(mean, sem):
    if not np.isfinite(mean):
        return "–"
    return f"{mean:.4g} ± {sem:.2g}" if np.isfinite(sem) else f"{mean:.4g}"


def shown_loss_table(table, grid, orders, first, second, single_structure):
    keep = table[table["fraction_index"].isin(table_indices(grid))]
    shown = pd.DataFrame()
    if not single_structure:
        shown["structure"] = keep["structure"]
    shown["split"] = keep["split"]
    shown["fraction frozen"] = [f"{f:g}" for f in keep["fraction"]]
    for order in orders:
        if f"{order}_mean" in keep:
            shown[order] = [pm(m, s) for m, s in zip(keep[f"{order}_mean"], keep[f"{order}_sem"])]
    if second is not None and "difference" in keep:
        shown[f"{first} − {second} (paired)"] = [pm(m, s) for m, s in zip(keep["difference"], keep["difference_sem"])]
        shown["difference / sem"] = [f"{v:.2f}" if np.isfinite(v) else "–" for v in keep["difference_over_sem"]]
        shown["pairs"] = keep["pairs"].to_numpy()
    return shown.reset_index(drop=True)


# --------------------------------------------------------------------------- figures

def add_loss_figure(context, curves, differences, orders, first, second, grid, name="loss_vs_fraction"):
    structures = list(pd.unique(curves["structure"]))
    ncols = 2 if second is not None else 1
    fig, panels = plots.figure(ncols, len(structures), panel_width=5.4, panel_height=4.0)
    loss_name, unit = unit_of(context)
    for s, structure in enumerate(structures):
        ax = panels[s * ncols]
        for o, order in enumerate(orders):
            color = plots.COLORS[o % len(plots.COLORS)]
            for split, style in (("train", "--"), ("test", "-")):
                part = curves[(curves["structure"] == structure) & (curves["order"] == order)
                              & (curves["split"] == split)]
                if part.empty:
                    continue
                ax.plot(part["fraction"], part["mean"], linestyle=style, color=color, marker="o", markersize=3,
                        linewidth=1.7, label=f"{order} order, {split}")
                if (part["n"] >= 2).any():
                    ax.fill_between(part["fraction"], part["mean"] - part["sem"], part["mean"] + part["sem"],
                                    color=color, alpha=0.18, linewidth=0)
        ax.set_xlabel("fraction of parameters frozen")
        ax.set_ylabel(plots.axis_label(f"loss ({loss_name})", unit))
        runs = int(curves[curves["structure"] == structure]["n"].max())
        ax.set_title(f"{structure}: loss after the continuation ({runs} runs)", fontsize=11)
        plots.legend(ax, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)  # below: hides no curve
        if second is None:
            continue
        ax = panels[s * ncols + 1]
        for split, style, color in (("train", "--", plots.COLORS[4]), ("test", "-", "0.15")):
            part = differences[(differences["structure"] == structure) & (differences["split"] == split)]
            ax.plot(part["fraction"], part["difference"], linestyle=style, color=color, marker="o",
                    markersize=3, linewidth=1.7, label=f"{split} loss")
            if (part["pairs"] >= 2).any():
                ax.fill_between(part["fraction"], part["difference"] - part["difference_sem"],
                                part["difference"] + part["difference_sem"], color=color, alpha=0.2, linewidth=0)
        ax.axhline(0.0, color=plots.COLORS[3], linewidth=1, linestyle=":")
        ax.set_xlabel("fraction of parameters frozen")
        ax.set_ylabel(f"{first} − {second}" + (f"\n[{unit}]" if unit else ""))
        ax.set_title(f"paired difference (< 0: {first} order better)", fontsize=11)
        plots.legend(ax, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)
    fig.suptitle("Loss against the fraction of frozen parameters (mean ± 1 standard error over runs)", fontsize=12)
    fig.tight_layout()
    context.add_figure(
        fig, name, "Loss against the fraction of frozen parameters" + ("" if name == "loss_vs_fraction" else f" ({first} − {second})"),
        "Left: training (dashed) and test (solid) loss after the continuation, mean over runs, band ± 1 standard "
        "error over runs. " + (f"Right: the paired difference {first} − {second} (the orders share split, "
                               "initialisation, warm-up and minibatches), band ± 1 standard error of the paired "
                               "difference; below zero the variance order loses less." if second else ""))


def add_mask_figure(context, tasks, orders, grid):
    masks = context.array(MASK)
    structures = context.info["axes"]["structure"]
    bias = bool((resolved_section(context.info, "model") or {}).get("bias", True))  # files before resolved_job: the default
    fig, panels = plots.figure(len(orders), len(structures), panel_width=4.6, panel_height=4.6)
    ok = tasks["status"] == "ok"
    for s, structure in enumerate(structures):
        for o, order in enumerate(orders):
            ax = panels[s * len(orders) + o]
            rows = tasks[ok & (tasks["structure_index"] == s) & (tasks["order"] == order)]["_row"].to_numpy()
            if rows.size == 0:
                ax.set_axis_off()
                continue
            chosen = np.transpose(masks[rows], (0, 2, 1))  # (runs, parameters, fractions)
            plots.plot_mask_heatmap(ax, chosen, cbar_label="share of runs training it (α̂)",
                                    xlabel="fraction of parameters frozen", ylabel="parameter (flat layout)")
            step = max(1, len(grid) // 6)
            ticks = list(range(0, len(grid), step))
            if ticks[-1] != len(grid) - 1:
                ticks.append(len(grid) - 1)
            ax.set_xticks(ticks, [f"{grid[k]:g}" for k in ticks])
            blocks = layer_blocks(structure, bias, chosen.shape[1])
            if blocks:
                for _, start, _stop in blocks[1:]:
                    ax.axhline(start - 0.5, color="white", linewidth=0.8)
                shown = [(name, (a + b - 1) / 2) for name, a, b in blocks if b - a >= 0.04 * chosen.shape[1]]
                ax.set_yticks([c for _, c in shown], [n for n, _ in shown])
                ax.set_ylabel("parameter (layer blocks, flat layout)")
            ax.set_title(f"{structure}, order: {order} ({rows.size} runs)", fontsize=11)
    fig.suptitle("Run-averaged masks α̂: 1 = trained in every run, 0 = frozen in every run", fontsize=12)
    fig.tight_layout()
    context.add_figure(
        fig, "masks", "Run-averaged masks",
        "For each fraction of the grid (columns) the share of runs in which each parameter (rows, the flat layout "
        "of models/mlp: per layer W then b, blocks separated by white lines) kept training. A random order gives "
        "1 − fraction everywhere; a consistent variance order gives sharp 0/1 stripes.")


# --------------------------------------------------------------------------- the set

EXACT = "exact-variance"  # the order by the exact per-object gradient variance at t0 (engine's orders)


def build(context):
    """Loss against frozen fraction (both orders, paired difference), masks, loss table."""
    info = context.info
    needed_axes = {"structure", "order"}
    if (not needed_axes <= set(info["axes"]) or not {TRAIN_LOSS, TEST_LOSS} <= set(info["arrays"])
            or not (context.tasks["status"] == "ok").any()):
        context.add_note(f"No finished param-ordering task with the {TRAIN_LOSS} and {TEST_LOSS} arrays (or no "
                         "structure and order axes): falling back to the generic report.")
        from .generic import build as generic_build
        generic_build(context)
        return
    tasks = context.tasks.assign(_row=np.arange(len(context.tasks)))  # _row: the row of the arrays
    grid = fractions(context, info["arrays"][TRAIN_LOSS]["shape"][0])
    orders = [o for o in info["axes"]["order"] if ((tasks["order"] == o) & (tasks["status"] == "ok")).any()]
    first, second = (orders[0], orders[1]) if len(orders) >= 2 else (orders[0], None)
    if "variance" in orders and "random" in orders:
        first, second = "variance", "random"
    curves = loss_curves(context, tasks, grid)
    differences = paired_differences(context, tasks, grid, first, second) if second else None
    if context.has_metric(DIVERGED):
        diverged = int(np.nansum(context.tasks[DIVERGED]))
        if diverged:
            context.add_note(f"{diverged} continuations (task x fraction) stopped on a non-finite loss; their losses "
                             "are those of the last finite step.")
    table = loss_table(curves, differences, orders)
    single = len(info["axes"]["structure"]) == 1
    context.add_table(
        "loss_at_fractions", "Loss at a few fractions frozen, per order", table,
        "Mean ± 1 standard error over runs of the loss after the continuation"
        + (f"; the paired difference {first} − {second} over the runs both orders finished, with its standard error "
           "(negative: the variance order loses less)" if second else "")
        + f". Shown: the grid points nearest {', '.join(f'{f:g}' for f in TABLE_FRACTIONS)}; the CSV has every "
        "fraction of the grid.",
        shown=shown_loss_table(table, grid, orders, first, second, single))
    add_loss_figure(context, curves, differences, orders, first, second, grid)
    if EXACT in orders and "random" in orders and first != EXACT:  # the noise-free ranking against the baseline too
        exact = paired_differences(context, tasks, grid, EXACT, "random")
        exact_table = loss_table(curves, exact, orders)
        context.add_table(
            "loss_at_fractions_exact_variance", f"Loss at a few fractions frozen: {EXACT} against random", exact_table,
            f"As loss_at_fractions, with the paired difference {EXACT} − random over the runs both orders finished "
            "(negative: the exact-variance order loses less), with its standard error.",
            shown=shown_loss_table(exact_table, grid, orders, EXACT, "random", single))
        add_loss_figure(context, curves, exact, orders, EXACT, "random", grid, name="loss_vs_fraction_exact_variance")
    if MASK in info["arrays"]:
        add_mask_figure(context, tasks, orders, grid)
    else:
        context.add_note("The file has no mask array ([sweep] store_masks = false): no mask figure.")
    summary = context.summary
    context.add_table("summary", "Metrics per order (mean over runs)", summary,
                      "aggregate() over runs: mean, std and sem of every scalar metric.",
                      shown=summary[[c for c in summary.columns if not c.endswith(("_index", "_std"))]])
