"""Figure set of the "multistart-evidence" experiment (docs/experiments/multistart-evidence.md):
which of six ways of stopping and regularizing a network generalizes best, and does the
multistart evidence estimate pick a good stopping point?

The engine stores one start per task; the methods' estimates (ensemble prediction, stopping
point, evidence) are combined here over the starts of each (run, method) by multistart.py,
with the engine's rules. Runs are the replicates: every error bar is ± 1 standard error of
the mean over runs (the spread of the run-level estimates over sqrt(runs)).
"""

import numpy as np
import pandas as pd

from .. import plots
from ..multistart import Score, combine_all, method_table, settings


def upper_first(text):
    return text[:1].upper() + text[1:]


def pm(mean, sem, digits=4):
    if not np.isfinite(mean):
        return "–"
    return f"{mean:.{digits}g} ± {sem:.2g}" if np.isfinite(sem) else f"{mean:.{digits}g}"


def shown_table(table, noise, single_structure, score):
    shown = pd.DataFrame()
    if not single_structure:
        shown["structure"] = table["structure"]
    shown["method"] = table["method"]
    shown["runs"] = table["runs"]
    shown[score.label] = [pm(m, s) for m, s in zip(table[f"{score.column}_mean"], table[f"{score.column}_sem"])]
    for s in noise:
        column = f"{score.column}_noise_{s:g}"
        shown[f"{score.label.removeprefix('test ')}, input noise s = {s:g}"] = [pm(m, e) for m, e in zip(table[f"{column}_mean"], table[f"{column}_sem"])]
    shown["stop iteration"] = [pm(m, s) for m, s in zip(table["stop_iteration_mean"], table["stop_iteration_sem"])]
    shown["test-optimal iteration"] = [pm(m, s) for m, s in zip(table["best_test_iteration_mean"],
                                                                 table["best_test_iteration_sem"])]
    shown["evidence at stop"] = [pm(m, s, 6) for m, s in zip(table["evidence_at_stop_mean"], table["evidence_at_stop_sem"])]
    return shown


def add_evidence_figure(context, curves, methods):
    """Evidence terms against iteration, per evidence method (mean over runs)."""
    evidence_methods = [m for m in methods if any(k[2] == m and v["evidence"] is not None for k, v in curves.items())]
    if not evidence_methods:
        return
    fig, panels = plots.figure(len(evidence_methods), 1, panel_width=4.8, panel_height=3.8)
    for ax, method in zip(panels, evidence_methods):
        parts = [v for k, v in curves.items() if k[2] == method]
        x = parts[0]["iterations"]
        for term, label, color in (("log_prior", "ln p(w)", plots.COLORS[0]), ("log_likelihood", "ln p(y | X, w)", plots.COLORS[1]),
                                   ("entropy", "entropy S", plots.COLORS[2]), ("evidence", "evidence estimate", "black")):
            values = np.stack([p[term] for p in parts])
            ax.plot(x, values.mean(axis=0), label=label, color=color)
        ax.set_title(method)
        ax.set_xlabel("iteration")
    panels[0].set_ylabel("nats (mean over starts, then runs)")
    plots.legend(panels[0], fontsize="small")
    context.add_figure(fig, "evidence_terms", "Evidence terms along the trajectory",
                       "Mean over the starts of ln p(w) and ln p(y | X, w) on the training part, the cloud's entropy "
                       "(mean-field-vi: the mean of H(q)), and their sum, the evidence estimate; averaged over runs. "
                       "The method stops at the largest evidence.")


def add_score_figure(context, table, methods, score):
    structures = list(pd.unique(table["structure"]))
    fig, panels = plots.figure(len(structures), 1, panel_width=6.0, panel_height=3.6)
    for ax, structure in zip(panels, structures):
        part = table[table["structure"] == structure].set_index("method").reindex([m for m in methods])
        part = part[part["runs"].notna()]
        plots.plot_bars(ax, list(part.index), part[f"{score.column}_mean"], part[f"{score.column}_sem"],
                        value_label=f"{score.label} of the ensemble{score.unit}",
                        error_label="± 1 standard error over runs")
        ax.set_title(f"{structure}: {score.label} by method (± 1 s.e.m. over runs)")
    context.add_figure(fig, f"{score.column}_by_method", f"{upper_first(score.label)} by method",
                       f"{score.label.removeprefix('test ').capitalize() if score.logistic else 'RMSE'} of the starts' averaged prediction at the method's stopping point; error bars are ± 1 "
                       "standard error of the mean over runs (each run a new split).")


def add_noise_figure(context, table, methods, noise, score):
    structures = list(pd.unique(table["structure"]))
    fig, panels = plots.figure(len(structures), 1, panel_width=5.4, panel_height=3.8)
    levels = [0.0] + list(noise)
    columns = [score.column] + [f"{score.column}_noise_{s:g}" for s in noise]
    for ax, structure in zip(panels, structures):
        for i, method in enumerate(methods):
            row = table[(table["structure"] == structure) & (table["method"] == method)]
            if row.empty:
                continue
            means = [row[f"{c}_mean"].iloc[0] for c in columns]
            sems = [row[f"{c}_sem"].iloc[0] for c in columns]
            ax.errorbar(levels, means, yerr=np.nan_to_num(sems), marker="o", capsize=3, label=method,
                        color=plots.COLORS[i % len(plots.COLORS)])
        ax.set_xlabel("input noise s (standardized features)")
        ax.set_ylabel(f"{score.label}{score.unit}")
        ax.set_title(f"{structure}: {score.label.removeprefix('test ')} with N(0, s²) input noise")
        plots.legend(ax, fontsize="small")
    name = score.column.removeprefix("test_")
    context.add_figure(fig, f"{name}_vs_input_noise", f"{name.capitalize() if name == 'accuracy' else 'RMSE'} against input noise",
                       f"{upper_first(score.label)} of the ensemble when N(0, s²) noise is added to the standardized test inputs (the "
                       "same noise for every method of a run); ± 1 standard error over runs.")


def add_stopping_figure(context, combined, methods):
    stopping = [m for m in methods if m in ("early-stopping", "sgd-elbo", "langevin-elbo", "mean-field-vi")]
    part = combined[combined["method"].isin(stopping)]
    if part.empty:
        return
    fig, panels = plots.figure(1, 1, panel_width=5.0, panel_height=4.4)
    ax = panels[0]
    for i, method in enumerate(methods):
        rows = part[part["method"] == method]
        if rows.empty:
            continue
        ax.scatter(rows["best_test_iteration"], rows["stop_iteration"], label=method, alpha=0.7,
                   color=plots.COLORS[i % len(plots.COLORS)])
    top = float(max(part["best_test_iteration"].max(), part["stop_iteration"].max(), 1.0))
    ax.plot([0, top], [0, top], color="gray", linestyle=":", label="chosen = test-optimal")
    ax.set_xlabel("test-optimal iteration (hindsight)")
    ax.set_ylabel("chosen stopping iteration")
    ax.legend(fontsize="small")
    context.add_figure(fig, "stopping_iteration", "Chosen against test-optimal stopping iteration",
                       "One point per run and method: the checkpoint the method stops at against the checkpoint where "
                       "the ensemble's test RMSE (logistic: error rate) is smallest.")


def build(context):
    """Method table, evidence terms, RMSE by method and against input noise, stopping points."""
    info = context.info
    from ..multistart import ARRAYS
    if ("method" not in info["axes"] or not set(ARRAYS) <= set(info["arrays"])
            or not (context.tasks["status"] == "ok").any()):
        context.add_note("No finished multistart-evidence task with its trajectory arrays: falling back to the generic report.")
        from .generic import build as generic_build
        generic_build(context)
        return
    combined, curves = combine_all(context)
    if combined.empty:
        context.add_note("No (run, method) has all its starts stored yet: nothing to combine.")
        from .generic import build as generic_build
        generic_build(context)
        return
    methods = [m for m in info["axes"]["method"] if (combined["method"] == m).any()]
    noise = [float(s) for s in settings(info)["input_noise"]]
    table = method_table(combined, methods)
    score = Score(settings(info))
    single = len(pd.unique(table["structure"])) == 1
    context.add_table("methods", "The six methods: ensemble of the starts, mean ± 1 standard error over runs", table,
                      f"{upper_first(score.label)} of the starts' averaged prediction at the method's stopping point{score.unit}, "
                      "the same with N(0, s²) input noise, the stopping iteration and the test-optimal one, and the "
                      "evidence estimate at the stop (ELBO methods). ± 1 standard error of the mean over runs.",
                      shown=shown_table(table, noise, single, score))
    best = table.loc[table.groupby("structure")[f"{score.column}_mean"].apply(score.best)]
    for _, row in best.iterrows():
        context.add_note(f"{row['structure']}: {'highest' if score.logistic else 'lowest'} {score.label} with {row['method']} "
                         f"({row[f'{score.column}_mean']:.4g} ± {row[f'{score.column}_sem']:.2g} over {int(row['runs'])} runs).")
    add_evidence_figure(context, curves, methods)
    add_score_figure(context, table, methods, score)
    add_noise_figure(context, table, methods, noise, score)
    add_stopping_figure(context, combined, methods)
    context.add_table("runs", "Combined estimate per run and method", combined,
                      "One row per (structure, run, method) whose starts are all stored.")
