"""Figure set of the "hyperparameter-optimization" experiment (docs/science.md, hyperparameter
optimization; docs/experiments/hyperparameter-optimization.md): which method reaches the
highest criterion Q (cross-validation or the evidence bound) in the fewest trainings, and what
test error the chosen hyperparameters give.

Budgets are counted in trainings of the model: outer iteration j of a gradient method is its
(j + 1)-th training; random search's trial r (the restart axis) is one training, so its
best-so-far curve runs over restarts in trial order. Runs are the unit of replication: a
gradient method's restarts (its starting points, which are random search's trials) are averaged
within a run first, random search contributes its best trial per run; bands and ± are one
standard error over runs.

Array and metric names are the constants below: a rename in the engine is a one-line fix.
"""

import numpy as np
import pandas as pd

from .. import plots

# Names in the results file (src/experiments/hyperparameter_optimization.cpp).
CRITERION = "criterion"            # (J) Q after each outer iteration
PRIOR_LOG_STD = "prior_log_std"    # (P) h at Q-hat, one value per parameter
BEST = "best_criterion"
TRAININGS = "inner_trainings"
ITERATIONS_99 = "iterations_to_99"
# The test-error metrics and the input noise s each adds to the standardized test inputs.
ERRORS = {"test_error": None, "test_error_noise_025": 0.25, "test_error_noise_050": 0.5}
RANDOM = "random"
FRACTION = 0.99


def first_reaching(curve, fraction=FRACTION):
    """The engine's convergence rule on a sequence: first j with (Q_j - Q_0) / (max - Q_0) >= fraction."""
    curve = np.asarray(curve, dtype=np.float64)
    if curve.size == 0 or not np.isfinite(curve[0]):
        return np.nan
    top = np.nanmax(curve)
    if not top > curve[0]:
        return 0
    return int(np.argmax((curve - curve[0]) / (top - curve[0]) >= fraction))


def best_so_far(context, tasks):
    """Long table: method, criterion, run, restart, trainings (1, 2, ...), best Q so far."""
    values = context.array(CRITERION)
    rows = []
    ok = tasks[tasks["status"] == "ok"]
    for (method, criterion), part in ok.groupby(["method", "criterion"], sort=False):
        if method == RANDOM:
            for run, trials in part.groupby("run_index", sort=True):
                q = values[trials.sort_values("restart_index")["_row"].to_numpy(), 0]
                for k, best in enumerate(np.maximum.accumulate(q)):
                    rows.append({"method": method, "criterion": criterion, "run": run, "restart": 0,
                                 "trainings": k + 1, "best": best})
            continue
        for _, task in part.iterrows():
            done = int(task[TRAININGS]) if TRAININGS in task else values.shape[1]
            for k, best in enumerate(np.maximum.accumulate(values[int(task["_row"]), :done])):
                rows.append({"method": method, "criterion": criterion, "run": task["run_index"],
                             "restart": task["restart_index"], "trainings": k + 1, "best": best})
    return pd.DataFrame(rows)


def per_run(context, tasks):
    """One row per (method, criterion, run): Q-hat, trainings to 99%, test errors and the median h.

    Random search: its best trial of the run (Q-hat, that trial's errors and h), convergence over
    the trial sequence. Gradient methods: the mean over the run's restarts.
    """
    values = context.array(CRITERION)
    priors = context.array(PRIOR_LOG_STD) if PRIOR_LOG_STD in context.info["arrays"] else None
    errors = [e for e in ERRORS if context.has_metric(e)]
    rows = []
    ok = tasks[tasks["status"] == "ok"]
    for (method, criterion, run), part in ok.groupby(["method", "criterion", "run_index"], sort=False):
        row = {"method": method, "criterion": criterion, "run": run, "tasks": len(part)}
        if method == RANDOM:
            trials = part.sort_values("restart_index")
            best = trials.loc[trials[BEST].idxmax()]
            row["q_hat"] = best[BEST]
            row["iterations_to_99"] = first_reaching(np.maximum.accumulate(values[trials["_row"].to_numpy(), 0]))
            row["trainings"] = len(trials)
            for e in errors:
                row[e] = best[e]
            row["median_h"] = np.median(priors[int(best["_row"])]) if priors is not None else np.nan
        else:
            row["q_hat"] = part[BEST].mean()
            row["iterations_to_99"] = part[ITERATIONS_99].mean() if ITERATIONS_99 in part else np.nan
            row["trainings"] = part[TRAININGS].mean() if TRAININGS in part else values.shape[1]
            for e in errors:
                row[e] = part[e].mean()
            row["median_h"] = (np.mean([np.median(priors[int(r)]) for r in part["_row"]])
                               if priors is not None else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def method_table(runs):
    """Mean and standard error over runs of every per-run column, per (criterion, method)."""
    columns = [c for c in runs.columns if c not in ("method", "criterion", "run", "tasks")]
    grouped = runs.groupby(["criterion", "method"], sort=False)
    table = grouped[columns].mean().add_suffix("_mean")
    sem = grouped[columns].std(ddof=1).div(np.sqrt(grouped.size()), axis=0).add_suffix("_sem")
    table = table.join(sem)
    table["runs"] = grouped.size()
    return table.reset_index()


def pm(mean, sem, digits=4):
    if not np.isfinite(mean):
        return "–"
    return f"{mean:.{digits}g} ± {sem:.2g}" if np.isfinite(sem) else f"{mean:.{digits}g}"


def error_titles(info):
    """Column titles of the test-error metrics in words (the file's names stay as they are):
    'test error, input noise s = 0.25', or 'test MSE, ...' for a regression loss, as the metric's
    description in the file says."""
    description = info.get("metric_descriptions", {}).get("test_error", "")
    kind = "test MSE" if "squared error" in description else "test error"
    return {name: kind if noise is None else f"{kind}, input noise s = {noise:g}" for name, noise in ERRORS.items()}


def shown_table(table, errors, titles):
    shown = pd.DataFrame({"criterion": table["criterion"], "method": table["method"]})
    shown["Q-hat"] = [pm(m, s) for m, s in zip(table["q_hat_mean"], table["q_hat_sem"])]
    shown["trainings to 99%"] = [pm(m, s, 3) for m, s in zip(table["iterations_to_99_mean"], table["iterations_to_99_sem"])]
    shown["trainings"] = [f"{t:g}" for t in table["trainings_mean"]]
    for e in errors:
        shown[titles[e]] = [pm(m, s, 3) for m, s in zip(table[f"{e}_mean"], table[f"{e}_sem"])]
    shown["median h"] = [pm(m, s, 3) for m, s in zip(table["median_h_mean"], table["median_h_sem"])]
    shown["runs"] = table["runs"].to_numpy()
    return shown


def add_trajectory_figure(context, curves):
    criteria = list(pd.unique(curves["criterion"]))
    fig, panels = plots.figure(len(criteria), 1, panel_width=5.6, panel_height=4.2)
    for ax, criterion in zip(panels, criteria):
        part = curves[curves["criterion"] == criterion]
        plots.plot_curves(ax, part, "trainings", "best", group="method", group_title="method", markers=False)
        ax.set_xlabel("trainings of the model (outer iterations; random search: trials)")
        ax.set_ylabel(plots.axis_label(f"best Q so far ({criterion})", "nats"))
        ax.set_title(f"criterion: {criterion}", fontsize=11)
    fig.suptitle("Best criterion so far against the number of trainings (mean ± 1 standard error over runs)",
                 fontsize=12)
    fig.tight_layout()
    context.add_figure(
        fig, "q_trajectory", "Best Q against the number of trainings",
        "Per method, the best Q reached after n trainings of the model: outer iteration j of a gradient method "
        "is its (j + 1)-th training (the curve is averaged over its restarts within a run first), random search's "
        "curve runs over its trials (the restart axis) in order. Line: mean over runs; band: ± 1 standard error "
        "over runs (shown where at least two runs exist).")


# Up to this many parameters the figure shows h per parameter (one marker each); beyond it (an
# MLP has 10^5 or more) a per-parameter axis would need an image wider than matplotlib can draw
# and markers that no eye resolves, so each curve becomes the sorted values: the quantile function
# of h over the parameters.
PER_PARAMETER_LIMIT = 200


def add_prior_figure(context, tasks):
    priors = context.array(PRIOR_LOG_STD)
    ok = tasks[tasks["status"] == "ok"]
    groups = list(ok.groupby(["criterion", "method"], sort=False))
    parameters = priors.shape[1]
    per_parameter = parameters <= PER_PARAMETER_LIMIT
    width = max(6.0, 0.5 * parameters + 2.0) if per_parameter else 7.0
    fig, panels = plots.figure(1, 1, panel_width=width, panel_height=4.0)
    ax = panels[0]
    for i, ((criterion, method), part) in enumerate(groups):
        mean = np.nanmean(priors[part["_row"].to_numpy()], axis=0)
        x, y = (np.arange(parameters), mean) if per_parameter else \
            ((np.arange(parameters) + 0.5) / parameters, np.sort(mean))
        ax.plot(x, y, marker="o" if per_parameter else None, markersize=3, linewidth=1.2,
                linestyle="-" if criterion == groups[0][0][0] else "--",
                color=plots.COLORS[i % len(plots.COLORS)], label=f"{method}, {criterion}")
    ax.set_xlabel("parameter (flat layout of models/mlp)" if per_parameter
                  else f"share of the {parameters} parameters (sorted by h)")
    ax.set_ylabel("h = ln σ of the prior at Q-hat")
    plots.legend(ax, frameon=False, fontsize=8, ncol=2)
    fig.tight_layout()
    shown = "h per parameter" if per_parameter else \
        f"h sorted over the parameters (more than {PER_PARAMETER_LIMIT}: the quantile function of h)"
    context.add_figure(
        fig, "final_hyperparameters", "Hyperparameters at Q-hat",
        f"Mean over tasks of h per parameter at each task's best Q (random search: every trial), shown as {shown}. "
        "Small h shrinks a parameter to zero; h at the upper limit leaves it free.")


def build(context):
    """Best-Q trajectories, the method x criterion table, hyperparameters at Q-hat."""
    info = context.info
    if not {"method", "criterion"} <= set(info["axes"]) or CRITERION not in info["arrays"] \
            or not (context.tasks["status"] == "ok").any():
        context.add_note("No finished hyperparameter-optimization task with the criterion array (or no method and "
                         "criterion axes): falling back to the generic report.")
        from .generic import build as generic_build
        generic_build(context)
        return
    tasks = context.tasks.assign(_row=np.arange(len(context.tasks)))
    if context.has_metric("diverged"):
        diverged = int(np.nansum(tasks["diverged"]))
        if diverged:
            context.add_note(f"{diverged} gradient-method tasks stopped early on a non-finite training or "
                             "hypergradient; their trajectories hold the last finite Q after that point.")
    failed = int((tasks["status"] != "ok").sum())
    if failed:
        context.add_note(f"{failed} tasks failed (a first training that diverged, typically at an extreme h_0): "
                         "they are left out of every number below.")
    runs = per_run(context, tasks)
    table = method_table(runs)
    errors = [e for e in ERRORS if f"{e}_mean" in table]
    context.add_table(
        "methods", "Method x criterion: Q-hat, convergence, test error, hyperparameters", table,
        "Mean ± 1 standard error over runs. Q-hat: the best criterion value (random search: its best trial of "
        "the run; gradient methods: the mean over restarts of each task's best). Trainings to 99%: the first "
        "outer iteration (random search: trial) with (Q_j − Q_0) / (Q-hat − Q_0) ≥ 0.99. Test errors of the "
        "model at Q-hat, also with N(0, s²) noise on the standardized test inputs. Median h: the median over "
        "parameters of the prior's log std at Q-hat.",
        shown=shown_table(table, errors, error_titles(info)))
    add_trajectory_figure(context, best_so_far(context, tasks))
    if PRIOR_LOG_STD in info["arrays"]:
        add_prior_figure(context, tasks)
