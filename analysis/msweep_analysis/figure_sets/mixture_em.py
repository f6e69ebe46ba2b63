"""Figure set of the "mixture-em" experiment (docs/science.md#mixtures-of-linear-experts): which method (no prior,
prior, prior + regularizer) lets a mixture of linear experts find the true circles (or
second-order curves) under each noise variant.

Restarts are multistart initial points: for every (K, method, noise, run) the restart
with the highest final variational bound (the lower bound on the log-likelihood) is the
winner, as a practitioner without the truth would pick it; S of the winners is compared
over runs. The fit figure draws each task's data points (array "points", coloured by the
true curve that drew them, background in grey) under the true and the fitted curves; files
without the array (older ones, or [output] store_points = false) get the true and fitted
curves with the regions the noise puts points in. The true curves and the noise settings are
the values the engine used, read from the file (root attribute resolved_job), never from the
job text or a copy of the engine's defaults.

Array and metric names are the constants below: a rename in the engine is a one-line fix.
"""

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Rectangle
from matplotlib.ticker import FuncFormatter

from .. import plots
from ..reader import resolved_section

# Names in the results file (src/experiments/mixture_em.cpp).
SCORE = "score"
WINNER_METRIC = "final_bound"  # restarts are compared by the final lower bound on ln p(y), nats
EXPERTS = "experts"            # (K_max, 3) circles [x0, y0, r] or (K_max, 5) conics; row t matched to truth t
MIXING_WEIGHTS = "mixing_weights"
BOUND_TRACE = "bound_trace"
POINTS = "points"              # (N_max, 3) [x, y, label]; the first n_points rows are data, the rest zero
N_POINTS = "n_points"
BACKGROUND, UNKNOWN = -1, -2   # labels: uniform-noise points, pixels of an image file (curve unknown)
CELL_AXES = ("structure", "method", "noise")  # kept axes; run and restart are reduced
MODEL = "model"  # optional axis ([sweep] models): noise model variants, folded into the method (fold_model_axis)
FOUND = 0.01  # S below this counts as "the curves were found" (docs/experiments/mixture-em.md)


# --------------------------------------------------------------------------- the job's truth

WRAP_COLUMNS = 4  # panels per row of the fit figure when one noise variant meets many methods


def job_data(info):
    """The [data] keys with the values the engine used, defaults included (resolved_job);
    empty for files written before that attribute."""
    return resolved_section(info, "data") or {}


def image_scale(data, points_all=None):
    """Coordinate units per pixel of an image source: the [data] scale the engine used, else
    (scale 0: 4 / max(width, height), chosen by the engine) the pixel lattice's spacing in the
    stored points; None when neither is known."""
    scale = float(data.get("scale") or 0)
    if scale > 0:
        return scale
    if points_all is None or len(points_all) == 0:
        return None
    pixels = points_all[0][points_all[0][:, 2] == UNKNOWN]
    gaps = np.diff(np.unique(np.round(pixels[:, 0], 12))) if len(pixels) else np.array([])
    return float(gaps.min()) if gaps.size and gaps.min() > 0 else None


def coordinate_labels(data, points_all=None):
    """(x label, y label, pixel scale or None) of the fit panels, from the data source: the
    synthetic generators draw plain x and y; an image's points are pixels, x = (column - centre)
    * scale, so its panels count pixels from the image centre (y up) when the scale is known."""
    if data.get("source") != "image":
        return "x", "y", None
    scale = image_scale(data, points_all)
    if scale is None:
        return "x [pixels x scale, from the image centre]", "y [pixels x scale, from the image centre]", None
    return "x [pixels from the image centre]", "y [pixels from the image centre, up]", scale


def truth(info, circles):
    """The true curves: rows [x0, y0, r] (circles) or [a, b, c, d, e] (conics); no rows when
    the file does not say (written before resolved_job)."""
    width = 3 if circles else 5
    values = job_data(info).get("circles" if circles else "conics", [])
    return np.asarray(values, dtype=np.float64).reshape(-1, width)


def is_circles(context):
    shape = context.info["arrays"].get(EXPERTS, {}).get("shape", (0, 3))
    return shape[-1] == 3


# --------------------------------------------------------------------------- winners among restarts

def with_row(tasks):
    """Tasks with `_row`, the position of each row in the arrays (load_array is aligned with load)."""
    return tasks.assign(_row=np.arange(len(tasks)))


def cell_axes(tasks):
    return [a for a in CELL_AXES if a in tasks.columns]


def winners(tasks):
    """One row per (structure, method, noise, run): the ok restart with the highest final bound."""
    tasks = with_row(tasks) if "_row" not in tasks else tasks
    ok = tasks[(tasks["status"] == "ok") & np.isfinite(tasks[WINNER_METRIC])]
    keys = [f"{a}_index" for a in cell_axes(tasks)] + ["run_index"]
    best = ok.groupby(keys, sort=True)[WINNER_METRIC].idxmax()
    return ok.loc[best.to_numpy()].reset_index(drop=True)


def score_table(tasks, info):
    """S of the winners per (structure, method, noise): mean, spread over runs, share found.

    Also the mean S over all restarts, which says how much picking by the bound helps.
    """
    axes = cell_axes(tasks)
    best = winners(tasks)
    ok = tasks[tasks["status"] == "ok"]
    keys = [f"{a}_index" for a in axes]
    grouped = best.groupby(keys, sort=True)
    table = pd.DataFrame({
        "runs": grouped[SCORE].count(),
        "S_mean": grouped[SCORE].mean(),
        "S_std": grouped[SCORE].std(ddof=1),
        "S_median": grouped[SCORE].median(),
        "found_share": grouped[SCORE].apply(lambda s: float((s < FOUND).mean())),
        "S_mean_all_restarts": ok.groupby(keys, sort=True)[SCORE].mean(),
        "final_bound_mean": grouped[WINNER_METRIC].mean(),
    })
    table["S_sem"] = table["S_std"] / np.sqrt(table["runs"])
    for extra in ("distinct_experts", "max_similarity", "noise_sd", "converged"):
        if extra in best:
            table[f"{extra}_mean"] = grouped[extra].mean()
    table = table.reset_index()
    for axis, key in zip(axes, keys):
        table.insert(axes.index(axis), axis, np.asarray(info["axes"][axis], dtype=object)[table[key]])
    order = ["runs", "S_mean", "S_std", "S_sem", "S_median", "found_share", "S_mean_all_restarts"]
    rest = [c for c in table.columns if c not in axes and c not in keys and c not in order]
    return table[axes + keys + order + rest]


def shown_score_table(table, axes, info):
    """Method (and K) rows x noise columns: 'mean ± sd (found %)' of the winners' S."""
    rows = [a for a in axes if a != "noise" and (a != "structure" or len(info["axes"][a]) > 1)]
    cells = table.assign(text=[
        "–" if not np.isfinite(m) else (f"{m:.3g} ± {s:.2g}" if np.isfinite(s) else f"{m:.3g}") + f" ({f:.0%} found)"
        for m, s, f in zip(table["S_mean"], table["S_std"], table["found_share"])])
    if "noise" not in axes:
        return cells[rows + ["text"]].rename(columns={"text": "S"})
    shown = cells.pivot_table(index=rows or None, columns="noise", values="text", aggfunc="first", sort=False)
    shown = shown.reindex(columns=[n for n in info["axes"]["noise"] if n in shown.columns])
    shown.columns = [f"noise: {c}" for c in shown.columns]
    return shown.reset_index()


def representative_run(best, axes):
    """The run whose winner S ranks closest to the median run, averaged over the panels (cells)."""
    keys = [f"{a}_index" for a in axes]
    ranks = best.assign(pct=best.groupby(keys)[SCORE].rank(pct=True, method="average"))
    counts = best.groupby(keys).ngroups
    per_run = ranks.assign(distance=(ranks["pct"] - 0.5).abs()).groupby("run_index").agg(
        distance=("distance", "mean"), cells=("distance", "size"))
    complete = per_run[per_run["cells"] == counts]
    pool = complete if len(complete) else per_run
    return int(pool["distance"].idxmin())


# --------------------------------------------------------------------------- drawing curves

def draw_conic(ax, coefficients, extent, **style):
    """The curve x^2 = a x y + b y^2 + c x + d y + e as a zero contour over ``extent``."""
    a, b, c, d, e = coefficients
    xs = np.linspace(extent[0], extent[1], 400)
    ys = np.linspace(extent[2], extent[3], 400)
    x, y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        field = x * x - (a * x * y + b * y * y + c * x + d * y + e)
    if np.nanmin(field) < 0 < np.nanmax(field):
        ax.contour(x, y, field, levels=[0.0], colors=[style.get("color", "black")],
                   linewidths=style.get("linewidth", 1.6), linestyles=style.get("linestyle", "solid"),
                   zorder=style.get("zorder", 2))


def panel_extent(true_curves, circles, data, noise, points=None):
    """Square plot limits covering the true curves, the uniform-noise square and the points."""
    if circles:
        reach = float(np.max(np.abs(true_curves[:, :2]) + true_curves[:, 2:3])) if len(true_curves) else 2.0
    else:
        reach = max(float(data.get("y_half_range", 0.0)) * 1.2, 2.0)
    if noise == "uniform":
        reach = max(reach, float(data.get("half_width", 0.0)))
    if points is not None and len(points):
        reach = max(reach, float(np.max(np.abs(points[:, :2]))))
    reach *= 1.2
    return (-reach, reach, -reach, reach)


def task_points(values, n_points=None):
    """The data rows of one task's points array: the first n_points (without the metric, the non-zero rows)."""
    if n_points is not None and np.isfinite(n_points):
        return values[: int(n_points)]
    return values[np.any(values != 0, axis=1)]


def tint(color, amount):
    """``color`` mixed with white: points in a pale shade of their curve's colour stay under its line."""
    return tuple(1 - amount * (1 - np.asarray(color[:3])))


def point_style(label):
    """(colour, size, label text stem) of the points with one label."""
    if label == BACKGROUND:
        return "0.62", 5, "background points (uniform noise)"
    if label == UNKNOWN:
        return "0.3", 5, "image pixels"
    return tint(expert_color(int(label)), 0.6), 8, f"points drawn from true curve {int(label) + 1}"


def draw_points(ax, points):
    """Scatter the points, background first, each true curve's points in a pale shade of its expert colour."""
    labels = points[:, 2]
    for label in sorted(set(labels.tolist())):  # -2, -1, then the curves: curves on top of the background
        chosen = points[labels == label]
        color, size, _ = point_style(label)
        ax.scatter(chosen[:, 0], chosen[:, 1], s=size, color=color, linewidths=0, zorder=1, rasterized=True)


def expert_color(t):
    """Experts get colours the methods (blue, orange, green in the other figures) do not use."""
    return plots.COLORS[(t + 3) % len(plots.COLORS)]


def draw_fit_panel(ax, fitted, weights, true_curves, circles, data, noise, k, points=None):
    """The points (when stored, else the noise region), true curves (grey, dashed), the K fitted experts in colours."""
    extent = panel_extent(true_curves, circles, data, noise, points)
    if points is not None:
        draw_points(ax, points)
    elif noise == "uniform" and "half_width" in data:
        h = float(data["half_width"])
        ax.add_patch(Rectangle((-h, -h), 2 * h, 2 * h, fill=True, facecolor="0.93", edgecolor="0.6",
                               linestyle=":", linewidth=1.0, zorder=0))
    for curve in true_curves:
        if circles:
            if noise == "noisy-radius" and points is None and "radius_noise" in data:
                sd = float(data["radius_noise"])
                ax.add_patch(Circle(curve[:2], curve[2] + 2 * sd, fill=False, edgecolor="0.8",
                                    linewidth=0.8, linestyle=":"))
                ax.add_patch(Circle(curve[:2], max(curve[2] - 2 * sd, 0.0), fill=False, edgecolor="0.8",
                                    linewidth=0.8, linestyle=":"))
            ax.add_patch(Circle(curve[:2], curve[2], fill=False, edgecolor="0.25", linewidth=2.6,
                                linestyle="--", alpha=0.8, zorder=0.5))
        else:
            draw_conic(ax, curve, extent, color="0.25", linewidth=2.6, linestyle="dashed", zorder=0.5)
    for t in range(k):
        expert = fitted[t]
        if not np.all(np.isfinite(expert)):
            continue
        color = expert_color(t)
        if circles:
            ax.add_patch(Circle(expert[:2], expert[2], fill=False, edgecolor=color, linewidth=1.6, zorder=3))
            ax.plot([expert[0]], [expert[1]], marker="+", color=color, markersize=8, zorder=3)
        else:
            draw_conic(ax, expert, extent, color=color, linewidth=1.6, zorder=3)
    if weights is not None:
        text = "π = " + ", ".join(f"{w:.2f}" for w in weights[:k])
        rest = 1.0 - float(np.nansum(weights[:k]))
        if rest > 0.005:  # the experts' weights leave the rest to a background component
            text += f"; background {rest:.2f}"
        ax.text(0.02, 0.02, text, transform=ax.transAxes, fontsize=9, va="bottom", ha="left",
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5})
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal", adjustable="box")


def fit_legend(fig, true_count, k, circles, noises, point_labels=None):
    """point_labels: the labels of the points drawn, or None when the file has no points."""
    curve = "circle" if circles else "curve"
    truth_line = Line2D([], [], color="0.25", linestyle="--", linewidth=2.6, label=f"true {curve}s")
    experts = [Line2D([], [], color=expert_color(t), linewidth=1.6,
                      label=f"expert matched to true {curve} {t + 1}" if t < true_count else f"expert {t + 1} (unmatched)")
               for t in range(k)]
    if point_labels is None:
        handles = [truth_line, *experts]
        if circles and "noisy-radius" in noises:
            handles.append(Line2D([], [], color="0.8", linestyle=":", label="true r ± 2 sd (noisy-radius)"))
        if "uniform" in noises:
            handles.append(Rectangle((0, 0), 1, 1, facecolor="0.93", edgecolor="0.6", linestyle=":",
                                     label="uniform background square"))
        columns = min(len(handles), 4)
    else:
        # Two rows, filled column by column: the true curves over the background, each expert over
        # the points of the curve it is matched to, so a column pairs a line with its dots.
        def dots(label):
            color, _, text = point_style(label)
            return Line2D([], [], linestyle="none", marker="o", markersize=5, markerfacecolor=color,
                          markeredgewidth=0, label=text.replace("curve", curve) if label >= 0 else text)

        blank = Line2D([], [], linestyle="none", label=" ")
        drawn = sorted(int(v) for v in point_labels if v >= 0)
        others = [dots(v) for v in (BACKGROUND, UNKNOWN) if v in point_labels]
        pairs = [(truth_line, others[0] if others else blank)]
        for t in range(max(k, drawn[-1] + 1 if drawn else 0)):
            pairs.append((experts[t] if t < k else blank, dots(t) if t in drawn else blank))
        pairs += [(h, blank) for h in others[1:]]
        handles = [h for pair in pairs for h in pair]
        columns = len(pairs)
    fig.legend(handles=handles, loc="lower center", ncol=columns, frameon=False, bbox_to_anchor=(0.5, -0.01))


def add_fit_figures(context, tasks, best, axes):
    info = context.info
    circles = is_circles(context)
    data = job_data(info)
    true_curves = truth(info, circles)
    if info.get("resolved_job") is None:
        context.add_note("This file was written before msweep stored the values of the job's keys "
                         "(attribute resolved_job): the true curves are not drawn.")
    fitted_all = context.array(EXPERTS)
    weights_all = context.array(MIXING_WEIGHTS) if MIXING_WEIGHTS in info["arrays"] else None
    points_all = context.array(POINTS) if POINTS in info["arrays"] else None
    run = representative_run(best, axes)
    run_label = info["axes"]["run"][run]
    x_label, y_label, pixel_scale = coordinate_labels(data, points_all)
    methods = info["axes"].get("method", ["(one method)"])
    noises = info["axes"].get("noise", ["none"])
    structures = info["axes"].get("structure", ["K=?"])
    for s_index, structure in enumerate(structures):
        part = best[(best["run_index"] == run) & (best["structure_index"] == s_index)]
        if part.empty:
            continue
        k = int(part["experts"].iloc[0]) if "experts" in part else fitted_all.shape[1]
        # One noise variant and many methods (e.g. method x noise model folded into one axis):
        # wrap the single column into rows of WRAP_COLUMNS panels instead of one tall strip.
        wrap = len(noises) == 1 and len(methods) > WRAP_COLUMNS
        ncols = WRAP_COLUMNS if wrap else len(noises)
        nrows = -(-len(methods) // WRAP_COLUMNS) if wrap else len(methods)
        fig, panels = plots.figure(ncols, nrows, panel_width=3.5, panel_height=3.5,
                                   sharex="all" if wrap else "col", sharey="all" if wrap else "col")
        for unused in panels[len(methods) * len(noises):]:
            unused.set_visible(False)
        seen = set()  # labels of the points drawn, for the legend
        for m, method in enumerate(methods):
            for n, noise in enumerate(noises):
                index = m if wrap else m * len(noises) + n
                ax = panels[index]
                row = part[(part["method_index"] == m) & (part["noise_index"] == n)]
                if row.empty:
                    ax.set_title(f"{method} / {noise}: no finished task", fontsize=10)
                    continue
                position = int(row["_row"].iloc[0])
                weights = None if weights_all is None else weights_all[position]
                points = None
                if points_all is not None:
                    points = task_points(points_all[position], row[N_POINTS].iloc[0] if N_POINTS in row else None)
                    seen.update(points[:, 2].tolist())
                draw_fit_panel(ax, fitted_all[position], weights, true_curves, circles, data, noise, k, points)
                restart = info["axes"]["restart"][int(row["restart_index"].iloc[0])]
                ax.set_title(f"{method} / {noise}\nS = {row[SCORE].iloc[0]:.3g} (restart {restart})", fontsize=9 if wrap else 10.5)
                if pixel_scale is not None:  # ticks in pixels; the drawing stays in the engine's units
                    pixels = FuncFormatter(lambda value, _: f"{value / pixel_scale:.0f}")
                    ax.xaxis.set_major_formatter(pixels)
                    ax.yaxis.set_major_formatter(pixels)
                if index // ncols == nrows - 1 or (wrap and index + ncols >= len(methods)):
                    ax.set_xlabel(x_label)
                if index % ncols == 0:
                    ax.set_ylabel(y_label)
        with_points = points_all is not None
        fit_legend(fig, len(true_curves), k, circles, noises, seen if with_points else None)
        curve = "circles" if circles else "curves"
        detail = (f"dots: the fitted points, true {curve} dashed" if with_points else
                  f"data points are not stored in the results file: true {curve} dashed")
        layout = "one panel per method" if wrap else "rows: method, columns: noise"
        fig.suptitle(f"Fitted {curve} ({structure}), run {run_label}, best-bound restart; {layout}\n({detail})",
                     fontsize=12)
        # Room in inches, not as a share of the height: the title and legend keep their size
        # however many rows there are.
        height = fig.get_figheight()
        fig.tight_layout(rect=(0, min(0.3, 1.0 / height), 1, 1 - min(0.2, 0.75 / height)))
        name = "fitted_curves" if len(structures) == 1 else f"fitted_curves_{safe(structure)}"
        if with_points:
            drawn = (f"Dots: the points the task fitted (the same in every row of a column: the data depend on run "
                     f"and noise only), in a pale shade of the expert matched to the true {curve[:-1]} that drew "
                     "them; grey: uniform background points.")
        else:
            drawn = ("The data points themselves are not in the results file, so they are not drawn: the dotted "
                     "lines mark where the noise puts them.")
        context.add_figure(
            fig, name, f"Fitted {curve} of a representative run ({structure})",
            f"Run {run_label}, the run whose S ranks closest to the median over runs (averaged over panels). "
            f"Each panel: the restart with the highest final bound for that method and noise variant; "
            f"dashed grey: the true {curve}; colours: the fitted experts, each matched to the true {curve[:-1]} "
            f"it is scored against; π: mixing weights of the experts (and the background component's share, when the model has one). {drawn}")


def safe(label):
    return "".join(ch for ch in label if ch.isalnum() or ch in "-_")


# --------------------------------------------------------------------------- S and bound figures

def method_colors(methods):
    """Distinct colours for up to 20 methods (tab10 first, then tab20's paler shades), so the bars
    of folded method x variant axes never share a colour."""
    if len(methods) <= len(plots.COLORS):
        return list(plots.COLORS[:len(methods)])
    wide = plots.plt.get_cmap("tab20").colors
    palette = list(wide[0::2]) + list(wide[1::2])
    return [palette[i % len(palette)] for i in range(len(methods))]


def add_score_figure(context, table, best):
    info = context.info
    methods = info["axes"].get("method", ["(one method)"])
    noises = info["axes"].get("noise", ["none"])
    structures = info["axes"].get("structure", ["K=?"])
    fig, panels = plots.figure(2, len(structures), panel_width=5.6, panel_height=3.9)
    for s_index, structure in enumerate(structures):
        ax_s, ax_found = panels[2 * s_index], panels[2 * s_index + 1]
        rows = table[table["structure_index"] == s_index]
        shape = (len(methods), len(noises))
        means, errors, found = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
        points = [[[] for _ in noises] for _ in methods]
        for r in rows.itertuples(index=False):
            m, n = r.method_index, r.noise_index
            means[m, n], errors[m, n], found[m, n] = r.S_mean, r.S_sem, r.found_share
        part = best[best["structure_index"] == s_index]
        for (m, n), values in part.groupby([part["method_index"], part["noise_index"]])[SCORE]:
            points[m][n] = values.to_numpy()
        colors = method_colors(methods)
        plots.plot_grouped_bars(ax_s, noises, methods, means, errors, points=points, colors=colors,
                                value_label="S (lower is better)", error_label="± 1 standard error over runs")
        ax_s.set_xlabel("noise variant")
        ax_s.set_ylim(bottom=0)
        ax_s.set_title(f"S of the best-bound restart{'' if len(structures) == 1 else f' ({structure})'}")
        bars = plots.plot_grouped_bars(ax_found, noises, methods, 100 * found, colors=colors,
                                       value_label=f"runs with S < {FOUND} [%]", error_label=None)
        for container in bars:  # 0 % bars are invisible without their number
            ax_found.bar_label(container, fmt="%.0f", fontsize=8.5, padding=1)
        ax_found.set_ylim(0, 110)
        ax_found.set_xlabel("noise variant")
        ax_found.set_title(f"Share of runs that found the {'circles' if is_circles(context) else 'curves'}")
        ax_found.get_legend().remove()
    handles, labels = panels[0].get_legend_handles_labels()
    for ax in panels[::2]:
        ax.get_legend().remove()  # one legend below the panels, where it hides no run
    columns = min(len(handles), 6)  # a folded model axis gives many methods: wrap the legend
    legend_rows = -(-len(handles) // columns)
    fig.legend(handles, labels, loc="lower center", ncol=columns, frameon=False, bbox_to_anchor=(0.5, -0.01))
    runs = len(info["axes"].get("run", []))
    fig.suptitle(f"S = sum of squared parameter errors against the truth ({runs} runs)", fontsize=12)
    fig.tight_layout(rect=(0, 0.06 * legend_rows / len(structures), 1, 1))
    context.add_figure(fig, "score_by_method", "S by method and noise variant",
                       "Left: mean S over runs of the restart with the highest final bound, error bars ± 1 standard "
                       "error over runs, dots: the individual runs. Right: the share of runs whose S is below "
                       f"{FOUND} (the curves found).")


def add_trace_figure(context, best):
    info = context.info
    traces = context.array(BOUND_TRACE)
    methods = info["axes"].get("method", ["(one method)"])
    noises = info["axes"].get("noise", ["none"])
    structures = info["axes"].get("structure", ["K=?"])
    iterations = traces.shape[1]
    fig, panels = plots.figure(len(noises), len(structures), panel_width=4.3, panel_height=3.5)
    colors = method_colors(methods)
    for s_index, structure in enumerate(structures):
        for n, noise in enumerate(noises):
            ax = panels[s_index * len(noises) + n]
            part = best[(best["structure_index"] == s_index) & (best["noise_index"] == n)]
            lows, highs = [], []
            for m, method in enumerate(methods):
                rows = part[part["method_index"] == m]["_row"].to_numpy()
                if rows.size == 0:
                    continue
                values = traces[rows]
                mean = np.nanmean(values, axis=0)
                x = np.arange(1, iterations + 1)
                ax.plot(x, mean, color=colors[m], linewidth=1.8, label=method)
                if rows.size >= 2:
                    sem = np.nanstd(values, axis=0, ddof=1) / np.sqrt(rows.size)
                    ax.fill_between(x, mean - sem, mean + sem, color=colors[m], alpha=0.2, linewidth=0)
                later = mean[min(2, iterations - 1):]
                band = sem[min(2, iterations - 1):] if rows.size >= 2 else np.zeros_like(later)
                lows.append(np.nanmin(later - np.nan_to_num(band)))
                highs.append(np.nanmax(later + np.nan_to_num(band)))
            if lows and np.isfinite(lows).any():  # iterations 1-2 lie far below: keep the rest readable
                low, top = np.nanmin(lows), np.nanmax(highs)
                pad = 0.05 * max(top - low, 1e-9)
                ax.set_ylim(low - pad, top + pad)
            ax.set_title(f"noise: {noise}" + ("" if len(structures) == 1 else f", {structure}"))
            ax.set_xlabel("EM iteration")
            if n == 0:
                ax.set_ylabel("lower bound [nats]")
            plots.legend(ax, frameon=False, loc="lower right", title="method", title_fontsize=9.5)
    fig.suptitle("Variational lower bound during EM (best-bound restart, mean over runs ± 1 sem)", fontsize=12)
    fig.tight_layout()
    context.add_figure(fig, "bound_traces", "Lower bound per EM iteration",
                       "Mean over runs of the bound trace of the restart with the highest final bound; band ± 1 "
                       "standard error over runs. The y range starts at iteration 3 (the first iterations lie far "
                       "below). Bounds of different methods use different priors, so their levels differ.")


# --------------------------------------------------------------------------- the set

def add_notes(context, tasks, best):
    if "converged" in best and len(best):
        stalled = int((best["converged"] < 0.5).sum())
        if stalled:
            budget = context.info["arrays"].get(BOUND_TRACE, {}).get("shape", ("?",))[0]
            context.add_note(f"{stalled} of {len(best)} best-bound fits stopped at the EM budget ({budget} iterations) "
                             "before the bound met the tolerance; their S is that of the last iteration.")


def fold_model_axis(context, tasks):
    """With a "model" axis each (method, model variant) pair becomes one method "method / variant"
    (method-major), so every table and figure below compares the variants, paired like the methods."""
    axes = context.info["axes"]
    if MODEL not in axes or "method" not in axes or f"{MODEL}_index" not in tasks:
        return tasks
    variants = list(axes.pop(MODEL))
    axes["method"] = [f"{m} / {v}" for m in axes["method"] for v in variants]
    index = tasks["method_index"].to_numpy() * len(variants) + tasks[f"{MODEL}_index"].to_numpy()
    return tasks.assign(method_index=index, method=np.asarray(axes["method"], dtype=object)[index]).drop(
        columns=[MODEL, f"{MODEL}_index"], errors="ignore")


def build(context):
    """S table, fitted curves of a representative run, S by method and noise, bound traces."""
    tasks = fold_model_axis(context, with_row(context.tasks))
    needed = {SCORE, WINNER_METRIC}
    if (not needed <= set(context.info["metrics"]) or not set(CELL_AXES + ("run", "restart")) <= set(context.info["axes"])
            or not (tasks["status"] == "ok").any()):
        context.add_note("No finished mixture-em task with S and a final bound (or axes other than structure, "
                         "restart, run, method, noise): falling back to the generic report.")
        from .generic import build as generic_build
        generic_build(context)
        return
    axes = cell_axes(tasks)
    best = winners(tasks)
    table = score_table(tasks, context.info)
    add_notes(context, tasks, best)
    context.add_table(
        "score_by_method", "S by method and noise variant (best-bound restart per run)", table,
        f"S of the restart with the highest final bound in each run: mean ± standard deviation over runs, and the "
        f"share of runs with S < {FOUND}. The CSV adds sem, median, the mean over all restarts (no selection), "
        "the mean final bound, distinct experts and the fitted noise sd.",
        shown=shown_score_table(table, axes, context.info))
    if EXPERTS in context.info["arrays"]:
        add_fit_figures(context, tasks, best, axes)
    add_score_figure(context, table, best)
    if BOUND_TRACE in context.info["arrays"]:
        add_trace_figure(context, best)
    context.add_table("summary", "All metrics per K, method, noise and restart (mean over runs)", context.summary,
                      "aggregate() over runs: every restart separately.",
                      shown=summary_shown(context.summary))


def summary_shown(summary):
    columns = [c for c in ("structure", "method", "noise", "restart", "ok_count", "failed_count") if c in summary]
    columns += [c for c in (f"{SCORE}_mean", f"{SCORE}_sem", f"{WINNER_METRIC}_mean", "distinct_experts_mean",
                            "noise_sd_mean") if c in summary]
    return summary[columns].head(40)
