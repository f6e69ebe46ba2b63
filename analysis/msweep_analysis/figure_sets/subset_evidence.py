"""Figure set of the "subset-evidence" experiment: which feature subsets (structures)
each model-selection criterion prefers, how far the criteria agree, and how well the
structure each one selects predicts held-out data.

Every structure is summarised by its mean over runs (folds averaged within each run
first: runs are the unit of replication); criteria are then compared across
structures. Test error is never a selection criterion here, only the outcome a
criterion's choice is judged by. Works from 2 to 8192+ structures: everything is
vectorised over structures and the scatter is rasterised inside the PDF.
"""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import plots
from ..formatting import distinguishing_digits, mean_pm_sem
from ..streaming import Tally

INTERCEPT_ONLY = "(intercept only)"
TOP_BARS = 15
SHOWN_ROWS = 20
BEST_PER_CRITERION = 5
MAX_FEATURE_ROWS = 40
MAX_SCATTER = 50_000  # more structures than this are drawn as a 2-D histogram, not one point each
DENSITY_BINS = 200


@dataclass(frozen=True)
class Criterion:
    metric: str
    title: str
    unit: str
    higher_is_better: bool

    @property
    def direction(self):
        return "higher is better" if self.higher_is_better else "lower is better"


# Selection criteria, in the order the paper discusses them; metrics the file lacks
# (no cv_* with one fold) are skipped. All of them are computed without the test part.
CRITERIA = (
    Criterion("log_evidence", "log evidence", "nats", True),
    Criterion("cv_mse", "cross-validation MSE", "target units²", False),
    Criterion("aic", "AIC", "", False),
    Criterion("bic", "BIC", "", False),
)
# What a criterion's choice is judged by: the error on the held-out test part. Absent
# without a test part; then the report says what each criterion chose, not how well.
OUTCOME = Criterion("test_mse", "test MSE", "target units²", False)


# --------------------------------------------------------------------------- structure statistics

def available_criteria(context):
    return [c for c in CRITERIA if context.has_metric(c.metric)]


def available_outcome(context):
    return OUTCOME if context.has_metric(OUTCOME.metric) else None


def structure_summary(context, metrics=None):
    """One row per structure: aggregate over run, fold and restart (runs as the unit); all metrics by default."""
    return context.aggregate(over=("run", "fold", "restart"), metrics=metrics)


@dataclass
class PerRun:
    """What needs each run's own fold means, gathered in one sequence of per-run tables (one pass
    over a large file, or a few): per criterion the structure it chooses in each run and the
    outcome of that choice, and the paired gaps of the lead criterion's top structures."""
    choices: dict   # criterion metric -> (choice per run, outcome of the choice per run or None)
    gaps: tuple     # (mean, sem) over runs of (structure - best) for the lead criterion's top structures
    stalled: int = None  # ok rows whose fit stopped at the iteration limit (None: no converged metric)


def per_run_statistics(context, summary, criteria, outcome):
    """Reduce every run's structure means of the criteria (and the outcome) to a PerRun.

    The criteria's tables come first and each is reduced, as it arrives, to its choice per run
    (a run's row at a time: no copy of the table) and dropped; the outcome's table comes last
    and only the chosen structures' entries are read from it. A large file never holds more
    than one batch of tables (streaming.CELL_BUDGET). The fits that stalled (converged < 0.5) are
    counted in the same pass.
    """
    lead = criteria[0]
    top = ranking(summary, lead)[:TOP_BARS]
    top = summary["structure_index"].to_numpy()[top[np.isfinite(score(summary, lead)[top])]]
    metrics = [c.metric for c in criteria] + ([outcome.metric] if outcome else [])
    picks, gaps = {}, (np.zeros(0), np.zeros(0))  # criterion metric -> (run labels, choice, has_score)
    stalled = [Tally("converged", lambda converged: converged < 0.5)] if context.has_metric("converged") else []
    for metric, runs in context.run_tables("structure", list(dict.fromkeys(metrics)), stalled):
        for c in (c for c in criteria if c.metric == metric):
            picks[c.metric] = (runs.index, *run_choices(runs.to_numpy(), c.higher_is_better))
            if c is lead and top.size:
                gaps = paired_gaps(runs, c, top)
        if outcome and metric == outcome.metric:
            outcome_runs = runs  # the last table
        del runs
    choices = {}
    for metric, (index, choice, has_score) in picks.items():
        achieved = None
        if outcome:
            achieved = outcome_runs.reindex(index).to_numpy()[np.arange(len(index)), choice][has_score]
        choices[metric] = (choice[has_score], achieved)
    return PerRun(choices, gaps, stalled[0].count if stalled else None)


def run_choices(table, higher_is_better):
    """Per run (row of ``table``: runs x structures), the structure with the best finite value and
    whether there is one; row by row, so temporaries are one run's size, not the table's."""
    choice = np.zeros(len(table), dtype=np.int64)
    has_score = np.zeros(len(table), dtype=bool)
    for r, row in enumerate(table):
        scores = np.where(np.isfinite(row), row if higher_is_better else -row, -np.inf)
        choice[r], has_score[r] = np.argmax(scores), np.isfinite(row).any()
    return choice, has_score


def score(summary, criterion):
    """Criterion means oriented so that larger is better (NaN for structures without ok tasks)."""
    values = summary[f"{criterion.metric}_mean"].to_numpy(dtype=np.float64)
    return values if criterion.higher_is_better else -values


def ranking(summary, criterion):
    """Row positions of structures from best to worst by ``criterion``; NaN scores last."""
    s = score(summary, criterion)
    return np.argsort(np.where(np.isfinite(s), -s, np.inf), kind="stable")


def structure_features(labels):
    """Feature names of each '+'-joined structure label; the intercept-only model has none."""
    return [[] if label == INTERCEPT_ONLY or not label else label.split("+") for label in labels]


def feature_order(labels):
    """Every feature once, in order of first appearance (i.e. the data's column order for 'all')."""
    seen = {}
    for begin in range(0, len(labels), 4096):  # one split per block of labels: fast for 2^20 of them
        named = [label for label in labels[begin:begin + 4096] if label and label != INTERCEPT_ONLY]
        if named:
            seen.update(dict.fromkeys("+".join(named).split("+")))
    return list(seen)


def membership(labels, features):
    """Boolean matrix (structures x features): does structure i include feature j.

    Vectorised per feature (a '+'-delimited token match over all labels), so a million
    structures take a second rather than a Python loop over every label.
    """
    padded = pd.Series(["+" + label + "+" for label in labels], dtype=object)
    matrix = np.zeros((len(labels), len(features)), dtype=bool)
    for j, feature in enumerate(features):
        matrix[:, j] = padded.str.contains(f"+{feature}+", regex=False).to_numpy(dtype=bool)
    return matrix


def wrap_structure(label, width):
    """Break a '+'-joined label into lines of about ``width`` characters, only after a '+'."""
    lines, line = [], ""
    for i, token in enumerate(label.split("+")):
        piece = token if i == 0 else "+" + token
        if line and len(line) + len(piece) > width:
            lines.append(line)
            line = piece
        else:
            line += piece
    return "\n".join(lines + [line])


def top_k(structure_count):
    """How many best structures count as 'top': 5% of them, at least 5, at most 100."""
    return min(structure_count, max(5, min(100, math.ceil(0.05 * structure_count))))


def sizes(summary):
    if "n_features_mean" in summary:
        return summary["n_features_mean"].to_numpy(dtype=np.float64)
    return np.array([len(f) for f in structure_features(summary["structure"])], dtype=np.float64)


# --------------------------------------------------------------------------- tables

def add_structure_table(context, summary, criteria, outcome):
    """All structures (CSV) and the best ones by the first criterion (HTML, Markdown)."""
    order = ranking(summary, criteria[0])
    shown = pd.DataFrame({"rank": np.arange(1, min(SHOWN_ROWS, len(order)) + 1)})
    top = summary.iloc[order[:SHOWN_ROWS]].reset_index(drop=True)
    shown["structure"] = top["structure"]
    shown["features"] = sizes(top).astype(int)
    for c in criteria + ([outcome] if outcome else []):
        digits = distinguishing_digits(top[f"{c.metric}_mean"])
        name = c.title + (" (outcome)" if c is outcome else "") + (f" [{c.unit}]" if c.unit else "")
        shown[name] = [mean_pm_sem(m, s, digits) for m, s in zip(top[f"{c.metric}_mean"], top[f"{c.metric}_sem"])]
    shown["runs"] = top["run_count"] if "run_count" in top else np.nan
    shown["ok / failed"] = [f"{o} / {f}" for o, f in zip(top["ok_count"], top["failed_count"])]
    context.add_table(
        "structures", f"Structures ranked by {criteria[0].title}", summary,
        "Mean ± standard error over runs (folds averaged within each run first; runs are the unit of "
        "replication). "
        + (f"All {len(summary)} structures" if len(shown) == len(summary)
           else f"The {len(shown)} best of {len(summary)} structures")
        + f" by {criteria[0].title}"
        + (f"; {outcome.title} is the outcome, not a criterion" if outcome else "")
        + ". The CSV lists every structure with mean, std and sem over runs and row_std (spread of single "
          "rows) of every metric.",
        shown=shown, csv_columns=[c for c in summary.columns if not c.endswith("_index")])


def add_best_table(context, summary, criteria, outcome):
    """The few best structures by each selection criterion, with the test error they achieve."""
    rows = []
    size = sizes(summary)
    for c in criteria:
        for rank, i in enumerate(ranking(summary, c)[:BEST_PER_CRITERION], start=1):
            row = {"criterion": c.title, "rank": rank, "structure": summary["structure"].iloc[i],
                   "features": int(size[i]), "mean": summary[f"{c.metric}_mean"].iloc[i],
                   "sem": summary[f"{c.metric}_sem"].iloc[i], "direction": c.direction}
            if outcome:
                row[f"{outcome.title} (outcome)"] = summary[f"{outcome.metric}_mean"].iloc[i]
                row[f"{outcome.title} sem"] = summary[f"{outcome.metric}_sem"].iloc[i]
            rows.append(row)
    context.add_table("best_structures", "Best structures by each selection criterion", pd.DataFrame(rows),
                      "Mean and standard error over runs of the criterion"
                      + (f", and the {outcome.title} of that structure (mean and sem over runs): the outcome "
                         "the choice is judged by, not a criterion." if outcome else "."))


def selection_outcomes(summary, criteria, outcome, per_run):
    """Per criterion: its choice on the mean over runs and that choice's outcome, and the outcome of
    choosing anew in every run (the honest figure for a selection procedure: it includes the
    variability of the choice itself), with mean and sem over runs."""
    rows = []
    for c in criteria:
        best = ranking(summary, c)[0]
        choice, achieved = per_run.choices[c.metric]
        achieved = achieved[np.isfinite(achieved)]
        rows.append({
            "criterion": c.title, "chosen structure": summary["structure"].iloc[best],
            "features": int(sizes(summary)[best]),
            f"{outcome.title} of the choice": summary[f"{outcome.metric}_mean"].iloc[best],
            "sem over runs": summary[f"{outcome.metric}_sem"].iloc[best],
            f"{outcome.title}, choosing in each run": achieved.mean() if achieved.size else np.nan,
            "sem over runs (per-run choice)": achieved.std(ddof=1) / np.sqrt(achieved.size) if achieved.size > 1 else np.nan,
            "distinct choices over runs": int(np.unique(choice).size),
            "runs": int(achieved.size),
        })
    return pd.DataFrame(rows)


def add_selection_outcomes(context, summary, criteria, outcome, per_run):
    """Table and figure: the test error each selection criterion's choice achieves."""
    if outcome is None:
        context.add_note("The file has no test part (test_mse): the report shows what each criterion "
                         "selects, not how well the choice predicts.")
        return
    table = selection_outcomes(summary, criteria, outcome, per_run)
    context.add_table(
        "selection_outcomes", f"{outcome.title} of each criterion's choice", table,
        f"Each criterion chooses the structure it ranks best on the mean over runs; its {outcome.title} is "
        "the outcome (mean and standard error over runs). 'Choosing in each run': the criterion chooses "
        f"anew from each run's fold means and the {outcome.title} of that run's choice is averaged over "
        "runs, which includes the variability of the choice itself.")
    fig, (ax,) = plots.figure(panel_width=6.4, panel_height=0.45 * len(table) + 1.8)
    labels = [f"{c} → {wrap_structure(s, 30)}" for c, s in zip(table["criterion"], table["chosen structure"])]
    plots.plot_bars(ax, labels, table[f"{outcome.title} of the choice"], table["sem over runs"],
                    value_label=plots.axis_label(outcome.title, outcome.unit), error_label=None)
    ax.set_title(f"{outcome.title} of the structure each criterion selects\n(mean ± 1 standard error over runs)")
    context.add_figure(fig, "selection_outcomes", f"{outcome.title} of each criterion's choice",
                       f"For each selection criterion, the {outcome.title} of the structure it ranks best "
                       "(mean ± 1 standard error over runs, folds averaged within each run first). Test error "
                       "is the outcome a criterion is judged by, never a criterion itself.")


# --------------------------------------------------------------------------- figures

def draw_density(ax, size, values):
    """Structures as a grey 2-D histogram (one column per size, DENSITY_BINS value bins, log
    shading): what a scatter of more than MAX_SCATTER points would show, at a fixed cost."""
    finite = np.isfinite(values)
    if not finite.any():
        return
    x_edges = np.arange(np.nanmin(size[finite]) - 0.4, np.nanmax(size[finite]) + 0.6, 1.0)
    y_edges = np.linspace(values[finite].min(), values[finite].max() + 1e-12, DENSITY_BINS + 1)
    counts, _, _ = np.histogram2d(size[finite], values[finite], bins=(x_edges, y_edges))
    counts[counts == 0] = np.nan
    ax.pcolormesh(x_edges, y_edges, np.log10(counts.T), cmap="Greys", vmin=-0.5, rasterized=True)
    ax.plot([], [], "s", color="0.55", label="structures (shade: log count)")


def draw_criterion_panel(ax, summary, criterion, size, jitter):
    """All structures as faint points, the best of each size as a line, the best overall as a star."""
    values = summary[f"{criterion.metric}_mean"].to_numpy(dtype=np.float64)
    sems = summary[f"{criterion.metric}_sem"].to_numpy(dtype=np.float64)
    if len(values) > MAX_SCATTER:
        draw_density(ax, size, values)
    else:
        ax.scatter(size + jitter, values, s=7 if len(values) > 500 else 16, color="0.55",
                   alpha=0.35 if len(values) > 500 else 0.7, linewidths=0, rasterized=True, label="each structure")
    s = score(summary, criterion)
    best_of_size = []
    for k in np.unique(size[np.isfinite(s)]):
        members = np.flatnonzero((size == k) & np.isfinite(s))
        best_of_size.append(members[np.argmax(s[members])])
    best_of_size = np.array(best_of_size, dtype=int)
    if best_of_size.size:
        ax.errorbar(size[best_of_size], values[best_of_size], yerr=np.nan_to_num(sems[best_of_size]),
                    color=plots.COLORS[0], marker="o", markersize=4.5, linewidth=1.6, capsize=3,
                    label="best of each size (± sem)")
        best = best_of_size[np.argmax(s[best_of_size])]
        ax.scatter([size[best]], [values[best]], marker="*", s=220, color=plots.COLORS[3], zorder=5,
                   edgecolors="black", linewidths=0.6, label="best overall")
        # In the title, where it cannot hide points; long subsets wrap onto more lines.
        best_line = wrap_structure(f"best: {summary['structure'].iloc[best]}", 40)
        ax.set_title(f"{criterion.title} ({criterion.direction})\n{best_line}", fontsize=10.5)
    else:
        ax.set_title(f"{criterion.title} ({criterion.direction})", fontsize=11)
    ax.set_xlabel("structure size [features]")
    ax.set_ylabel(plots.axis_label(criterion.title, criterion.unit))
    ax.xaxis.get_major_locator().set_params(integer=True)


def add_criteria_figure(context, summary, criteria):
    """Every criterion against structure size, best structures marked."""
    ncols = 2 if len(criteria) == 4 else min(3, len(criteria))  # 2x2 rather than 3+1
    nrows = math.ceil(len(criteria) / ncols)
    fig, axes = plots.figure(ncols, nrows, panel_width=4.6, panel_height=3.7)
    size = sizes(summary)
    # Deterministic jitter separates structures of equal size without implying an order.
    jitter = np.random.default_rng(0).uniform(-0.18, 0.18, len(size)) if len(size) > 1 else np.zeros(len(size))
    for ax, criterion in zip(axes, criteria):
        draw_criterion_panel(ax, summary, criterion, size, jitter)
    handles, labels = axes[0].get_legend_handles_labels()
    spare = axes[len(criteria):]
    for ax in spare:
        ax.set_axis_off()
    if spare:
        spare[0].legend(handles, labels, loc="center", frameon=False, fontsize=11)
    else:
        fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, -0.04))
    fig.suptitle(f"Criteria against structure size ({len(summary)} structures, mean over runs)",
                 fontsize=13)
    fig.tight_layout()
    context.add_figure(fig, "criteria_vs_size", "Criteria against structure size",
                       ("Grey: every structure (jittered horizontally), its mean over runs (folds averaged within "
                        "each run first). " if len(summary) <= MAX_SCATTER else
                        f"Grey: the {len(summary)} structures' means over runs (folds averaged within each run "
                        f"first) as a 2-D histogram, one column per size and {DENSITY_BINS} value bins, darker = "
                        "more structures (log scale). ")
                       + "Blue: the best structure of each size, error bars ± 1 standard error "
                       "over runs. Star: the best structure overall.")


def agreement_matrix(summary, criteria):
    """Spearman rank correlation between criteria over structures, all oriented larger = better."""
    scores = pd.DataFrame({c.title: score(summary, c) for c in criteria}).dropna()
    return scores.corr(method="spearman"), len(scores)


def top_overlap_matrix(summary, criteria, k):
    """Share of the top-k structures two criteria have in common (1 = the same k structures).

    A rank correlation over all structures is dominated by the many bad ones, which
    every criterion ranks alike; what matters for selection is agreement at the top.
    """
    tops = [set(ranking(summary, c)[:k].tolist()) for c in criteria]
    matrix = np.array([[len(a & b) / k for b in tops] for a in tops])
    names = [c.title for c in criteria]
    return pd.DataFrame(matrix, index=pd.Index(names, name="criterion"), columns=names)


def add_agreement_figure(context, summary, criteria, outcome):
    compared = criteria + ([Criterion(outcome.metric, f"{outcome.title} (outcome)", outcome.unit,
                                      outcome.higher_is_better)] if outcome else [])
    if len(compared) < 2 or len(summary) < 3:
        context.add_note("Agreement between criteria not shown: it needs at least 2 criteria and 3 structures.")
        return
    matrix, count = agreement_matrix(summary, compared)
    k = top_k(len(summary))
    overlap = top_overlap_matrix(summary, compared, k)
    context.add_table("criteria_agreement", "Agreement between criteria (Spearman ρ)", matrix.reset_index(
        names="criterion"), f"Rank correlation over {count} structures, every criterion oriented so larger is better"
        + (f"; {outcome.title} ranks structures by the outcome, for comparison." if outcome else "."))
    context.add_table("criteria_top_overlap", f"Overlap of the top {k} structures between criteria",
                      overlap.reset_index(), f"Share of the {k} best structures of one criterion that are also "
                      "among the k best of the other (1 = the same structures at the top).")
    fig, axes = plots.figure(2, 1, panel_width=5.8, panel_height=4.6)
    plots.plot_matrix(axes[0], matrix.to_numpy(), list(matrix.index), list(matrix.columns),
                      cbar_label="Spearman ρ", cmap="RdBu_r", vmin=-1, vmax=1)
    axes[0].set_title(f"Rank correlation over all {count} structures")
    plots.plot_matrix(axes[1], overlap.to_numpy(), list(overlap.index), list(overlap.columns),
                      cbar_label=f"share of top {k} in common", cmap="viridis", vmin=0, vmax=1)
    axes[1].set_title(f"Overlap of the top {k} structures")
    fig.tight_layout()
    context.add_figure(fig, "criteria_agreement", "Agreement between criteria",
                       "Left: Spearman rank correlation between the structure rankings of each pair of criteria "
                       "(oriented so that larger is better for all: 1 = identical rankings); it is dominated by "
                       f"the many poor structures. Right: the share of the {k} best structures two criteria have "
                       "in common, the agreement that matters for selection."
                       + (f" The {outcome.title} row ranks structures by the outcome, for comparison; it is not "
                          "a criterion." if outcome else ""))


def inclusion_frequencies(summary, criteria, k):
    """DataFrame features x criteria: share of the top-k structures that include the feature."""
    labels = summary["structure"].tolist()
    features = feature_order(labels)
    member = membership(labels, features)
    columns = {c.title: member[ranking(summary, c)[:k]].mean(axis=0) for c in criteria}
    columns[f"all {len(summary)} structures"] = member.mean(axis=0)  # baseline to compare against
    return pd.DataFrame(columns, index=pd.Index(features, name="feature"))


def add_inclusion_figure(context, summary, criteria):
    k = top_k(len(summary))
    frequencies = inclusion_frequencies(summary, criteria, k)
    if frequencies.empty:
        context.add_note("Feature inclusion not shown: no structure has a feature.")
        return
    context.add_table("feature_inclusion", f"Feature inclusion in the top {k} structures",
                      frequencies.reset_index(), "Share of the top-k structures by each criterion that include "
                      "the feature; last column: share among all structures, the baseline.")
    if len(frequencies) > MAX_FEATURE_ROWS:  # keep the heatmap readable: the most selected features
        frequencies = frequencies.loc[frequencies.iloc[:, :-1].mean(axis=1).nlargest(MAX_FEATURE_ROWS).index]
    fig, (ax,) = plots.figure(panel_width=1.1 * frequencies.shape[1] + 2.5,
                              panel_height=0.38 * len(frequencies) + 2.0)
    plots.plot_matrix(ax, frequencies.to_numpy(), list(frequencies.index), list(frequencies.columns),
                      cbar_label=f"share of top {k} structures", cmap="viridis", vmin=0, vmax=1)
    ax.set_xlabel("criterion")
    ax.set_ylabel("feature")
    ax.set_title(f"Feature inclusion in the top {k} structures by each criterion")
    context.add_figure(fig, "feature_inclusion", "Feature inclusion in the top structures",
                       f"Share of the {k} best structures by each criterion that contain each feature; "
                       "the last column is the share among all structures, for comparison.")


def paired_gaps(runs, criterion, chosen):
    """Mean and sem over runs of (structure - best), paired within each run.

    ``runs``: each run's mean per structure; ``chosen``: structure positions, the best first.
    Structures of one run share its data split, so the per-run difference (of fold
    means) has far less spread than either mean: its standard error over runs is the
    one that says whether the best structure is really better.
    """
    table = runs[chosen]
    differences = table.sub(table[chosen[0]], axis=0)
    if not criterion.higher_is_better:
        differences = -differences  # gaps <= 0 mean worse, whatever the direction of the criterion
    count = differences.count()
    return differences.mean().to_numpy(), (differences.std(ddof=1) / np.sqrt(count)).to_numpy()


def prediction_criterion(context):
    """The out-of-sample error available for this file, best first: test, then CV, then training."""
    for metric, title in (("test_mse", "test MSE"), ("cv_mse", "cross-validation MSE"), ("train_mse", "training MSE")):
        if context.has_metric(metric):
            return metric, title
    return None, None


def add_top_structures_figure(context, summary, criteria, per_run):
    """The best structures by the first criterion: their evidence gap and how well they predict."""
    lead = criteria[0]
    order = ranking(summary, lead)[:TOP_BARS]
    order = order[np.isfinite(score(summary, lead)[order])]
    if order.size == 0:
        return
    labels = list(summary["structure"].iloc[order])
    metric, title = prediction_criterion(context)
    label_inches = 0.085 * max(len(label) for label in labels)  # tick labels at 10 pt
    fig, axes = plots.figure(2 if metric else 1, 1, panel_width=4.2 + label_inches / 2,
                             panel_height=0.32 * len(order) + 2.2, sharey=True)
    gap, gap_sem = per_run.gaps
    positions = np.arange(len(order))
    axes[0].errorbar(gap, positions, xerr=np.nan_to_num(gap_sem), fmt="o", color=plots.COLORS[0], capsize=3,
                     label="± 1 sem of the paired difference")
    axes[0].axvline(0, color="0.4", linewidth=1)
    axes[0].set_yticks(positions, labels)
    if not axes[0].yaxis_inverted():
        axes[0].invert_yaxis()
    axes[0].set_xlabel(plots.axis_label(f"{lead.title} − best", lead.unit))
    axes[0].set_title(f"Top {len(order)} by {lead.title}")
    axes[0].legend(frameon=False, loc="lower left")
    if metric:
        plots.plot_bars(axes[1], labels, summary[f"{metric}_mean"].to_numpy()[order],
                        summary[f"{metric}_sem"].to_numpy()[order], highlight=[0],
                        value_label=plots.axis_label(title, "target units²"), error_label=None)
        axes[1].set_title(f"their {title} (± 1 standard error)")
    fig.tight_layout()
    context.add_figure(fig, "top_structures", f"Top structures by {lead.title}",
                       f"Left: {lead.title} of the best structures relative to the best one "
                       f"({'a log Bayes factor' if lead.metric == 'log_evidence' else 'difference'}), "
                       "taken within each run (folds averaged first; structures of a run share its data split) "
                       "and averaged over runs; error bars: ± 1 standard error over runs of these paired "
                       "differences. "
                       + (f"Right: their {title} (mean ± 1 standard error over runs), the outcome; red: the "
                          f"structure {lead.title} prefers. An axis that does not start at zero is marked "
                          "and drawn with dots, not bars." if metric else ""))


def add_convergence_note(context, summary, stalled):
    """The note on fits that stopped at the iteration limit (``stalled``: PerRun.stalled)."""
    if stalled:
        ok_count = int(summary["ok_count"].sum())
        context.add_note(f"{stalled} of {ok_count} fits stopped at the iteration limit before the evidence "
                         "fixed point converged; their alpha, beta and log evidence are approximate.")


def build(context):
    """Criteria against size, what each criterion's choice achieves, agreement, feature inclusion, top structures."""
    criteria = available_criteria(context)
    # The per-run statistics need only the lead criterion's ranking: computed from a summary of that
    # metric alone, so that a large file's per-run tables and the full summary are never held together.
    lead_summary = structure_summary(context, [criteria[0].metric]) if criteria else None
    if not criteria or "structure" not in lead_summary or lead_summary["ok_count"].sum() == 0:
        context.add_note("No structure has a finished task with criteria yet: falling back to the generic report.")
        from .generic import build as generic_build
        generic_build(context)
        return
    outcome = available_outcome(context)
    per_run = per_run_statistics(context, lead_summary, criteria, outcome)
    del lead_summary
    summary = structure_summary(context)
    add_convergence_note(context, summary, per_run.stalled)
    add_structure_table(context, summary, criteria, outcome)
    add_best_table(context, summary, criteria, outcome)
    add_selection_outcomes(context, summary, criteria, outcome, per_run)
    add_criteria_figure(context, summary, criteria)
    add_agreement_figure(context, summary, criteria, outcome)
    add_inclusion_figure(context, summary, criteria)
    add_top_structures_figure(context, summary, criteria, per_run)
