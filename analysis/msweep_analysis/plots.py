"""General plotting pieces shared by the figure sets of every experiment kind.

Each ``plot_*`` function draws on a matplotlib Axes it is given and returns what it
drew, so figure sets compose them into panels; ``figure()`` and ``save()`` give every
figure the same readable style and write it as PNG and PDF. ``legend()`` replaces
``ax.legend()`` wherever lines are drawn: series that coincide stay visible and are named
together instead of one hiding the other.
"""

import matplotlib

matplotlib.use("Agg")  # reports run on headless cluster nodes; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.legend_handler import HandlerTuple  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

# Sized for a paper column read at 100%: 10-12 pt text at the saved size.
STYLE = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9.5,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,  # TrueType in PDFs: editable text, accepted by journals
}
matplotlib.rcParams.update(STYLE)

COLORS = plt.get_cmap("tab10").colors


def figure(ncols=1, nrows=1, panel_width=5.0, panel_height=3.8, **kwargs):
    """A figure with a grid of panels; returns (fig, flat list of Axes)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_width * ncols, panel_height * nrows),
                             squeeze=False, **kwargs)
    return fig, list(axes.ravel())


def save(fig, directory, name):
    """Write ``name``.png and ``name``.pdf in ``directory``; close the figure; return both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    png, pdf = directory / f"{name}.png", directory / f"{name}.pdf"
    fig.savefig(png)
    fig.savefig(pdf)
    plt.close(fig)
    return png, pdf


def axis_label(name, unit=None):
    """'name [unit]', or the name alone when there is no unit."""
    return f"{name} [{unit}]" if unit else name


# --------------------------------------------------------------------------- statistics for bands

def mean_over_runs(frame, x, y, group=None, unit="run"):
    """Mean, sem and count of ``y`` at each ``x`` (and ``group``), runs as the unit of replication.

    When ``frame`` has a ``unit`` column (default "run"), the rows of each run (its
    folds, restarts) are averaged first and mean, std and sem are taken over the runs,
    which are independent where the rows within a run are not; otherwise over the
    rows. Returns a DataFrame with columns [group,] x, mean, std, sem, n (runs or
    rows averaged), sorted by group then x.
    """
    keys = [group, x] if group is not None else [x]
    values = frame.dropna(subset=[y])
    if unit in values.columns:
        values = values.groupby(keys + [unit], sort=True)[y].mean().reset_index()
    grouped = values.groupby(keys, sort=True)[y]
    stats = pd.DataFrame({"mean": grouped.mean(), "std": grouped.std(ddof=1), "n": grouped.count()})
    stats["sem"] = stats["std"] / np.sqrt(stats["n"])
    return stats.reset_index()


def zero_hides_differences(lows, highs, share=0.5):
    """True when an axis from zero would squash the values: all on one side of zero and their
    range (error bars included) under ``share`` of the largest magnitude, e.g. test errors
    of the best structures, which differ by a few percent."""
    lows, highs = np.asarray(lows, dtype=np.float64), np.asarray(highs, dtype=np.float64)
    finite = np.isfinite(lows) & np.isfinite(highs)
    if not finite.any():
        return False
    low, high = lows[finite].min(), highs[finite].max()
    if low <= 0 <= high:
        return False
    return (high - low) < share * max(abs(low), abs(high))


def ticks_at_values(ax, values, labels=None, axis="x"):
    """A tick at every value the data hold (labelled as the data label them, e.g. the axis labels
    of the results file) and no others: an axis of a few settings (temperatures 0.2, 1, 10 on a
    log scale) would otherwise get ticks only at round numbers, leaving settings unmarked."""
    values = np.asarray(values, dtype=np.float64)
    labels = [f"{v:g}" for v in values] if labels is None else [str(label) for label in labels]
    unique, first = np.unique(values, return_index=True)  # sorted, each value once
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_ticks(unique, [labels[i] for i in first])
    target.set_minor_locator(matplotlib.ticker.NullLocator())


# --------------------------------------------------------------------------- legends

# Two curves closer than this many of their line widths (marker sizes for marker-only series) at
# every point are drawn on top of one another: the later hides the earlier, or two neighbours
# cover a third between them, while the legend still lists all three.
COINCIDE_WIDTHS = 2.0
DASH_POINTS = 5.0


def line_data(line):
    """A line's points as an (n, 2) float array (categorical data as matplotlib placed them)."""
    return np.column_stack([np.asarray(line.get_xdata(orig=False), dtype=np.float64),
                            np.asarray(line.get_ydata(orig=False), dtype=np.float64)])


def series_line(handle):
    """The data line behind a legend handle (a plotted line, or an errorbar's), None for other
    artists (bars, scatters, patches) and for the empty proxies drawn only for a legend entry."""
    if isinstance(handle, ErrorbarContainer):
        handle = handle.lines[0]
    if not isinstance(handle, Line2D):
        return None
    try:
        return handle if len(line_data(handle)) else None
    except (TypeError, ValueError):  # data matplotlib could not make numbers of: nothing to compare
        return None


def line_points(ax, line):
    """(data, axes-fraction) coordinates of a line's points: the data decide "identical", the
    fractions decide "drawn on top of one another" whatever the scale (log axes too)."""
    data = line_data(line)
    with np.errstate(invalid="ignore", divide="ignore"):
        shown = ax.transAxes.inverted().transform(ax.transData.transform(data))
    return data, shown


def drawn_width(ax, line):
    """The height a line covers, as a share of the axes' height: its width, or its markers' size
    when it has no line (markers on a line cover only its points)."""
    if line.get_linestyle() not in ("None", "", " "):
        points = line.get_linewidth()
    else:
        points = line.get_markersize() if line.get_marker() not in (None, "None", "", " ") else 0.0
    return points * ax.figure.dpi / 72.0 / max(ax.bbox.height, 1.0)


def coinciding_series(ax, lines, widths=COINCIDE_WIDTHS):
    """Groups of lines drawn on top of one another: [(indices, largest difference)], the indices
    in drawing order. Two lines coincide when their data are equal (to 1e-9 relative), or when
    they have the same x and their y never differ by more than ``widths`` line widths on the
    axes; a group is every line linked to another by that (a curve covered by one neighbour
    above and one below joins both). The largest difference is in data units, 0 when the data
    are equal. Lines that coincide with no other are left out."""
    ax.get_xlim(), ax.get_ylim()  # brings autoscaled limits up to date before transforming
    points = [line_points(ax, line) for line in lines]
    covered = [drawn_width(ax, line) for line in lines]
    parent = list(range(len(lines)))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            (data_i, shown_i), (data_j, shown_j) = points[i], points[j]
            if data_i.shape != data_j.shape:
                continue
            same = np.allclose(data_i, data_j, rtol=1e-9, atol=0, equal_nan=True)
            close = np.array_equal(data_i[:, 0], data_j[:, 0], equal_nan=True) and np.allclose(
                shown_i[:, 1], shown_j[:, 1], rtol=0, atol=widths * max(covered[i], covered[j]), equal_nan=True)
            if same or close:
                parent[root(j)] = root(i)
    groups = {}
    for i in range(len(lines)):
        groups.setdefault(root(i), []).append(i)
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        ys = np.stack([points[m][0][:, 1] for m in members])
        with np.errstate(invalid="ignore"), np.testing.suppress_warnings() as quiet:
            quiet.filter(RuntimeWarning)  # all-NaN columns: nothing drawn there
            spread = np.nanmax(np.nanmax(ys, axis=0) - np.nanmin(ys, axis=0)) if np.isfinite(ys).any() else 0.0
        identical = all(np.allclose(points[members[0]][0], points[m][0], rtol=1e-9, atol=0, equal_nan=True)
                        for m in members[1:])
        out.append((members, 0.0 if identical else float(spread)))
    return out


def joined_label(labels, difference):
    """One legend label for coinciding series, a shared group title ('method = ') and a shared
    last part (', meta 1,1,1') said once: 'method = drmad', 'method = hoag' -> 'method = drmad =
    hoag (identical)', 'top 1%, meta 1,1,1', 'top 10%, meta 1,1,1' -> 'top 1% = top 10%, meta
    1,1,1 (identical)'; curves that only overlap are joined with '≈' and the largest difference
    between them (data units)."""
    first = labels[0]
    shared = 0
    while shared < min(map(len, labels)) and all(label[shared] == first[shared] for label in labels):
        shared += 1
    start = first.rfind(" = ", 0, shared) + 3 if first.rfind(" = ", 0, shared) >= 0 else 0
    shared = 0
    room = min(len(label) - start for label in labels)
    while shared < room and all(label[-1 - shared] == first[-1 - shared] for label in labels):
        shared += 1
    tail = first[len(first) - shared:] if shared else ""
    suffix = tail[tail.find(", "):] if ", " in tail else ""
    names = [label[start:len(label) - len(suffix)] for label in labels]
    joined = (" = " if difference == 0 else " ≈ ").join(names)
    note = " (identical)" if difference == 0 else f" (overlap: within {difference:.2g})"
    return first[:start] + joined + suffix + note


def interleave_dashes(lines):
    """Lines drawn on one another take turns along the path: the first stays solid underneath,
    each later one is dashed so that its dashes fall where the others' do not, and its markers
    are hollow so the earlier ones show through; every colour shows. Marker-only series keep
    no line."""
    count = len(lines)
    base = lines[0].get_zorder()
    for k, line in enumerate(lines[1:], start=1):
        if line.get_linestyle() not in ("None", "", " "):
            line.set_linestyle(((count - k) * DASH_POINTS, (DASH_POINTS, (count - 1) * DASH_POINTS)))
        if line.get_marker() not in (None, "None", "", " "):
            line.set_markerfacecolor("none")
        line.set_zorder(base + 0.01 * k)


def solid_sample(line):
    """A legend sample of ``line`` as first drawn: its colour, width and marker on a solid line."""
    return Line2D([], [], color=line.get_color(), linewidth=line.get_linewidth(),
                  linestyle="-" if line.get_linestyle() not in ("None", "", " ") else "None",
                  marker=line.get_marker(), markersize=line.get_markersize())


def legend(ax, **kwargs):
    """``ax.legend(**kwargs)`` that stays honest when series coincide.

    Series whose curves lie on top of one another (equal data, or closer than COINCIDE_WIDTHS
    line widths at every point, e.g. two methods that reach the same values) share one legend
    entry 'A = B (identical)' (or 'A ≈ B (overlap: within 0.066)') with both samples, redrawn with
    interleaved dashes, so the reader sees every colour instead of the last one drawn. A series of
    one point drawn without a marker (a method that stops after its first iteration) gets one:
    a line of one point is invisible. Figure sets call this instead of ax.legend.
    """
    handles, labels = ax.get_legend_handles_labels()
    lines = [series_line(handle) for handle in handles]
    for line in lines:
        if line is not None and np.isfinite(line_data(line)[:, 1]).sum() == 1 \
                and line.get_marker() in (None, "None", "", " "):
            line.set_marker("o")
            line.set_markersize(max(line.get_markersize(), 4.0))
    drawn = [i for i, line in enumerate(lines) if line is not None]
    merged_handles, merged_labels, consumed, widest = [], [], set(), 1
    groups = {drawn[members[0]]: ([drawn[m] for m in members], difference)
              for members, difference in coinciding_series(ax, [lines[i] for i in drawn])}
    for i, (handle, label) in enumerate(zip(handles, labels)):
        if i in consumed:
            continue
        if i in groups:
            members, difference = groups[i]
            # Solid samples side by side: the dashed lines themselves would show gaps in a short sample.
            samples = tuple(solid_sample(lines[m]) for m in members)
            interleave_dashes([lines[m] for m in members])
            consumed.update(members)
            merged_handles.append(samples)
            merged_labels.append(joined_label([labels[m] for m in members], difference))
            widest = max(widest, len(members))
        else:
            merged_handles.append(handle)
            merged_labels.append(label)
    handler_map = {tuple: HandlerTuple(ndivide=None, pad=0.1), **kwargs.pop("handler_map", {})}
    kwargs.setdefault("handlelength", 2.0 + 0.8 * (min(widest, 4) - 1))  # room for a sample per member
    return ax.legend(merged_handles, merged_labels, handler_map=handler_map, **kwargs)


# --------------------------------------------------------------------------- plot pieces

def plot_curves(ax, frame, x, y, group=None, band="sem", group_title=None, markers=True):
    """Curves of ``y`` against ``x`` averaged over runs, one per ``group`` value, with bands.

    band: 'sem' (standard error of the mean) or 'std'; drawn only where at least two
    rows were averaged, since one run gives no spread. Example: loss against the
    fraction of frozen parameters, one curve per order. Curves that coincide share a
    legend entry and take turns along the path (legend()).
    """
    stats = mean_over_runs(frame, x, y, group)
    groups = [None] if group is None else list(pd.unique(stats[group]))
    lines = []
    for i, value in enumerate(groups):
        part = stats if value is None else stats[stats[group] == value]
        color = COLORS[i % len(COLORS)]
        label = None if value is None else (f"{group_title or group} = {value}")
        # A curve of one point is invisible without a marker (a method stopped after one training).
        (line,) = ax.plot(part[x], part["mean"], color=color, label=label,
                          marker="o" if markers or len(part) == 1 else None, markersize=3.5, linewidth=1.6)
        spread = part["sem"] if band == "sem" else part["std"]
        if (part["n"] >= 2).any():
            ax.fill_between(part[x], part["mean"] - spread, part["mean"] + spread,
                            color=color, alpha=0.2, linewidth=0)
        lines.append(line)
    if group is not None:
        legend(ax, frameon=False)
    return lines


def plot_mask_heatmap(ax, masks, cbar_label="fraction of runs", xlabel="column", ylabel="row",
                      vmin=0.0, vmax=1.0, cmap="viridis"):
    """Heatmap of masks averaged over their first dimension (the runs), NaN rows ignored.

    masks: array (runs, rows, columns), or (runs, length) drawn as a single row.
    Returns the averaged 2-D matrix.
    """
    masks = np.asarray(masks, dtype=np.float64)
    if masks.ndim == 2:
        masks = masks[:, None, :]
    if masks.ndim != 3:
        raise ValueError(f"plot_mask_heatmap: masks: expected 2 or 3 dimensions, got shape {masks.shape}")
    with np.errstate(invalid="ignore"), np.testing.suppress_warnings() as quiet:
        quiet.filter(RuntimeWarning)  # all-NaN cells (every run failed) stay NaN on purpose
        average = np.nanmean(masks, axis=0)
    image = ax.imshow(average, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=cbar_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(False)
    return average


def plot_bars(ax, labels, means, errors=None, highlight=None, value_label="", horizontal=True,
              color=None, error_label="± 1 standard error", include_zero=None):
    """Bars (one per structure or group) with error bars; ``highlight`` indices drawn darker.

    Horizontal by default because structure labels are long. The first label is drawn
    at the top, so pass them best first. error_label=None leaves the legend out (say it
    in the title instead when the legend would cover a bar).

    include_zero=None decides by the data: when values differ by little compared with
    their size (zero_hides_differences), a bar from zero would hide the differences
    and an axis not starting at zero would make bar lengths lie, so the values are
    drawn as dots with error bars on an axis fitted to them. True forces bars, False dots.
    Returns the BarContainer (bars) or the PathCollection (dots).
    """
    labels = [str(label) for label in labels]
    means = np.asarray(means, dtype=np.float64)
    if errors is not None:
        errors = np.asarray(errors, dtype=np.float64)
        # One run gives no spread (NaN); matplotlib fails on all-NaN error bars, so draw none there.
        errors = np.nan_to_num(errors) if np.isfinite(errors).any() else None
    spread = np.zeros_like(means) if errors is None else errors
    if include_zero is None:
        include_zero = not zero_hides_differences(means - spread, means + spread)
    positions = np.arange(len(labels))
    base = color or COLORS[0]
    colors = [base] * len(labels)
    for i in highlight or []:
        colors[i] = COLORS[3]
    if include_zero:
        draw = ax.barh if horizontal else ax.bar
        drawn = draw(positions, means, color=colors, alpha=0.85,
                     **({"xerr": errors} if horizontal else {"yerr": errors}),
                     error_kw={"capsize": 2.5, "elinewidth": 1})
    else:
        xy = (means, positions) if horizontal else (positions, means)
        if errors is not None:
            ax.errorbar(*xy, **({"xerr": errors} if horizontal else {"yerr": errors}), fmt="none",
                        ecolor="0.25", capsize=2.5, elinewidth=1)
        drawn = ax.scatter(*xy, c=colors, s=36, zorder=3)
        ax.margins(**({"x": 0.08} if horizontal else {"y": 0.08}))
    if horizontal:
        ax.set_yticks(positions, labels)
        if not ax.yaxis_inverted():  # a shared y axis may have been inverted already
            ax.invert_yaxis()
        ax.set_xlabel(value_label + ("" if include_zero else " (axis not from zero)"))
        ax.grid(axis="y", visible=False)
    else:
        ax.set_xticks(positions, labels, rotation=45, ha="right")
        ax.set_ylabel(value_label + ("" if include_zero else " (axis not from zero)"))
        ax.grid(axis="x", visible=False)
    if error_label and errors is not None:
        ax.plot([], [], color="black", linewidth=1, label=error_label)
        ax.legend(frameon=False, loc="best")
    return drawn


def plot_points_with_circles(ax, points, circles, point_label="points", circle_label="fitted circle",
                             xlabel="x", ylabel="y"):
    """Scatter of 2-D points with fitted circles (cx, cy, r) overlaid, equal aspect."""
    points = np.asarray(points, dtype=np.float64)
    ax.scatter(points[:, 0], points[:, 1], s=14, color=COLORS[0], alpha=0.8, label=point_label, zorder=3)
    for i, (cx, cy, radius) in enumerate(circles):
        ax.add_patch(Circle((cx, cy), radius, fill=False, linewidth=1.6, color=COLORS[(i + 1) % len(COLORS)],
                            label=circle_label if i == 0 else None))
        ax.plot([cx], [cy], marker="+", color=COLORS[(i + 1) % len(COLORS)], markersize=8)
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, loc="best")


def plot_matrix(ax, matrix, row_labels, col_labels, cbar_label="", fmt="{:.2f}", cmap="viridis",
                vmin=None, vmax=None):
    """Annotated heatmap of a small matrix (correlations, frequencies); NaN cells left blank."""
    matrix = np.asarray(matrix, dtype=np.float64)
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=cbar_label)
    ax.set_xticks(np.arange(len(col_labels)), col_labels, rotation=30, ha="right")
    ax.set_yticks(np.arange(len(row_labels)), row_labels)
    ax.grid(False)
    if matrix.size <= 400:  # beyond that the numbers would be unreadable anyway
        for (i, j), value in np.ndenumerate(matrix):
            if np.isfinite(value):
                red, green, blue, _ = image.cmap(image.norm(value))
                dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5  # text must contrast with its cell
                ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=9,
                        color="white" if dark else "black")
    return image


def plot_grouped_bars(ax, groups, series, means, errors=None, points=None, value_label="",
                      series_title=None, colors=None, error_label="± 1 standard error", log=False):
    """Vertical bars grouped on the x axis: one group per ``groups`` entry, one bar per ``series``.

    means, errors: arrays (len(series), len(groups)); NaN errors draw no error bar (one run
    gives no spread). points: optional nested list points[s][g] of the values behind each
    bar (e.g. one per run), drawn as small dots over the bar so bimodal results show.
    Example: score by noise variant (groups), one bar per method (series).
    """
    groups, series = [str(g) for g in groups], [str(s) for s in series]
    means = np.asarray(means, dtype=np.float64).reshape(len(series), len(groups))
    errors = None if errors is None else np.asarray(errors, dtype=np.float64).reshape(means.shape)
    colors = colors or [COLORS[i % len(COLORS)] for i in range(len(series))]
    width = 0.8 / max(1, len(series))
    centres = np.arange(len(groups))
    jitter = np.random.default_rng(0)
    bars = []
    for i, name in enumerate(series):
        x = centres - 0.4 + width * (i + 0.5)
        error = None
        if errors is not None and np.isfinite(errors[i]).any():
            error = np.nan_to_num(errors[i])
        label = f"{series_title} = {name}" if series_title else name
        bars.append(ax.bar(x, means[i], width=width * 0.92, color=colors[i], alpha=0.8, label=label,
                           yerr=error, error_kw={"capsize": 3, "elinewidth": 1}))
        if points is not None:
            for g in range(len(groups)):
                values = np.asarray(points[i][g], dtype=np.float64)
                values = values[np.isfinite(values)]
                if values.size:
                    ax.scatter(x[g] + jitter.uniform(-0.3, 0.3, values.size) * width, values, s=9,
                               color="black", alpha=0.55, linewidths=0, zorder=4,
                               label="each run" if (i == 0 and g == 0) else None)
    if log:
        ax.set_yscale("log")
    ax.set_xticks(centres, groups)
    ax.set_ylabel(value_label)
    ax.grid(axis="x", visible=False)
    if error_label and errors is not None and np.isfinite(errors).any():
        ax.plot([], [], color="black", linewidth=1, label=error_label)
    ax.legend(frameon=False, loc="best")
    return bars
