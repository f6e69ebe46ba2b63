"""Hand-made results files for the analysis tests, written with h5py exactly as
docs/results-format.md (format_version 1) describes them.

The synthetic subset-evidence sweep has known structure: the "true" features are
the first two, so every criterion should favour subsets containing them.
"""

import itertools
import json
import tomllib

import h5py
import numpy as np

STRING = h5py.string_dtype("utf-8")

SUBSET_METRICS = [
    ("n_features", "features in the subset"),
    ("n_params", "weights plus intercept"),
    ("log_evidence", "ln p(y | alpha, beta) on the fit part, nats"),
    ("alpha", "prior precision of the weights"),
    ("beta", "noise precision"),
    ("gamma", "effective number of parameters"),
    ("iterations", "evidence fixed-point iterations"),
    ("converged", "1 if the fixed point converged (or alpha, beta fixed), else 0"),
    ("train_mse", "mean squared error on the fit part, squared target units"),
    ("aic", "Akaike information criterion of the least-squares fit (k = n_params + 1)"),
    ("bic", "Bayesian information criterion of the least-squares fit (k = n_params + 1)"),
    ("cv_mse", "mean squared error on the validation fold"),
    ("cv_q", "k ln p(y_q | X_q, w_q): its mean over folds is the score Q of section 2"),
    ("cv_l", "-(k/(k-1) ln p(y without q | w_q) + ln p(w_q | alpha)): its fold mean is L"),
    ("test_mse", "mean squared error on the held-out test part"),
    ("test_log_lik", "mean ln N(y | x^T m_N, 1/beta) per held-out test object, nats"),
]

JOB_TEXT = """[job]
name = "synthetic"
experiment = "subset-evidence"
seed = 7
[data]
source = "synthetic-regression"
[sweep]
structures = "all"
folds = 3
runs = 2
"""


def subset_labels(features):
    """Labels of every subset in the engine's order (bit j of the mask = feature j)."""
    labels = []
    for mask in range(1 << len(features)):
        chosen = [f for j, f in enumerate(features) if mask >> j & 1]
        labels.append("+".join(chosen) if chosen else "(intercept only)")
    return labels


def task_dtype(axes, metrics):
    fields = [("id", "<u8")] + [(a, "<u4") for a in axes]
    fields += [("status", "i1"), ("error", "S256"), ("wall_time", "<f8"), ("rank", "<i4")]
    fields += [(m, "<f8") for m in metrics]
    return np.dtype(fields)


def grid(axes):
    """(task id, coordinates) of every task, row-major over the axes (the last varies fastest)."""
    sizes = [len(labels) for labels in axes.values()]
    return list(enumerate(itertools.product(*[range(s) for s in sizes])))


def subset_evidence_rows(features=("x0", "x1", "x2", "x3"), folds=3, runs=2, cv=True, test=True,
                         failed_ids=(), seed=0):
    """(axes, metric list, rows in a shuffled finishing order) of a synthetic subset-evidence sweep.

    Vectorised over tasks so that 8192 structures take a fraction of a second.
    """
    labels = subset_labels(features)
    axes = {"structure": labels, "fold": [str(i) for i in range(folds)], "restart": ["0"],
            "run": [str(i) for i in range(runs)]}
    metrics = [m for m in SUBSET_METRICS
               if (cv or not m[0].startswith("cv_")) and (test or not m[0].startswith("test_"))]
    names = [m[0] for m in metrics]
    rng = np.random.default_rng(seed)
    sizes = [len(v) for v in axes.values()]
    count = int(np.prod(sizes))
    coordinates = np.stack(np.unravel_index(np.arange(count), sizes), axis=1)  # row-major: last fastest
    structure = coordinates[:, 0]
    bits = (structure[:, None] >> np.arange(len(features))) & 1
    chosen = bits.sum(axis=1)
    # The first two features carry signal; the others only add parameters.
    missing_signal = 2 - bits[:, :2].sum(axis=1)
    mse = 1.0 + 2.0 * missing_signal + 0.05 * (chosen - bits[:, :2].sum(axis=1)) + rng.normal(0, 0.05, count)
    values = {
        "n_features": chosen, "n_params": chosen + 1,
        "log_evidence": -50 * np.log(mse) - 2.0 * chosen + rng.normal(0, 0.5, count),
        "alpha": rng.uniform(0.1, 2, count), "beta": 1 / mse, "gamma": 0.9 * chosen,
        "iterations": rng.integers(3, 20, count), "converged": np.ones(count), "train_mse": 0.95 * mse,
        "aic": 100 * np.log(mse) + 2 * (chosen + 2), "bic": 100 * np.log(mse) + 4.6 * (chosen + 2),
        "cv_mse": 1.05 * mse + rng.normal(0, 0.02, count), "cv_q": -30 * mse, "cv_l": 30 * mse,
        "test_mse": 1.1 * mse + rng.normal(0, 0.02, count), "test_log_lik": -np.log(mse) - 1.4,
    }
    rows = np.zeros(count, dtype=task_dtype(axes, names))
    rows["id"] = np.arange(count)
    for j, axis in enumerate(axes):
        rows[axis] = coordinates[:, j]
    rows["wall_time"] = rng.uniform(0.001, 0.01, count)
    rows["rank"] = 1 + np.arange(count) % 2
    failed = np.isin(np.arange(count), list(failed_ids))
    rows["status"] = failed
    rows["error"][failed] = b"fit: Cholesky factorization failed (matrix not positive definite)"
    for name in names:
        rows[name] = np.where(failed, np.nan, values[name])
    return axes, metrics, rows[rng.permutation(count)]


def summaries_table(axes, metrics, rows, reduced=("run", "fold")):
    """/summaries/table as the engine writes it, computed with numpy loops (the reference)."""
    kept = [a for a in axes if a not in reduced]
    names = [m[0] for m in metrics]
    fields = [(a, "<u4") for a in kept] + [("ok_count", "<u8"), ("failed_count", "<u8")]
    for name in names:
        fields += [(f"{name}_mean", "<f8"), (f"{name}_std", "<f8")]
    groups = list(itertools.product(*[range(len(axes[a])) for a in kept]))
    table = np.zeros(len(groups), dtype=fields)
    for out, coordinates in zip(table, groups):
        member = np.ones(len(rows), dtype=bool)
        for axis, index in zip(kept, coordinates):
            member &= rows[axis] == index
            out[axis] = index
        ok = member & (rows["status"] == 0)
        out["ok_count"], out["failed_count"] = ok.sum(), (member & ~ok).sum()
        for name in names:
            values = rows[name][ok]
            out[f"{name}_mean"] = values.mean() if values.size else np.nan
            out[f"{name}_std"] = values.std(ddof=1) if values.size > 1 else np.nan
    return table, kept


def write_results(path, axes, metrics, rows, *, experiment="subset-evidence", status="complete",
                  rows_committed=None, garbage_rows=0, arrays=None, format_version=1, summaries=True,
                  job_text=JOB_TEXT, job_name="synthetic", variable_length_error=False, resolved_job=None):
    """Write a results file; rows past ``rows_committed`` plus ``garbage_rows`` junk rows model a cut batch.

    arrays: name -> (values of shape (len(rows), ...), description).
    variable_length_error: store /tasks error as a variable-length string (what the engine
    writes today) instead of the fixed 256 bytes the format document specifies.
    resolved_job: section -> key -> value, stored as the JSON root attribute resolved_job
    (None: left out, as in files written before it existed).
    """
    rows_committed = len(rows) if rows_committed is None else rows_committed
    names = [m[0] for m in metrics]
    stored = np.concatenate([rows, np.zeros(garbage_rows, dtype=rows.dtype)])
    if garbage_rows:  # an incomplete batch: ids and coordinates out of range, as a torn write might leave
        stored["id"][len(rows):] = 2**63
        for axis in axes:
            stored[axis][len(rows):] = 4_000_000_000
    with h5py.File(path, "w") as f:
        attrs = f.attrs
        attrs["format"] = "msweep-results"
        attrs["format_version"] = np.int64(format_version)
        attrs["msweep_version"] = "0.1.0"
        attrs["job_name"] = job_name
        attrs["experiment"] = experiment
        attrs["job_path"] = "jobs/synthetic.toml"
        attrs["job_text"] = job_text
        if resolved_job is not None:
            attrs["resolved_job"] = json.dumps(resolved_job)
        attrs["job_hash"] = "0123456789abcdef"
        attrs["job_seed"] = np.uint64(7)
        attrs["task_count"] = np.uint64(int(np.prod([len(v) for v in axes.values()])))
        attrs["rows_committed"] = np.uint64(rows_committed)
        attrs["status"] = status
        attrs["created"] = "2026-11-21T10:00:00Z"
        attrs["updated"] = "2026-11-21T10:05:00Z"
        attrs["finished"] = "" if status == "running" else "2026-11-21T10:05:00Z"
        attrs["ranks"] = np.int64(3)
        attrs["hosts"] = "node1,node1,node2"
        attrs["wall_seconds"] = np.float64(300.5)

        axes_group = f.create_group("axes")
        axes_group.attrs.create("order", data=list(axes), dtype=STRING)
        for name, labels in axes.items():
            axes_group.create_dataset(name, data=np.array(labels, dtype=object), dtype=STRING)

        if variable_length_error:
            dtype = np.dtype([(n, STRING if n == "error" else stored.dtype[n]) for n in stored.dtype.names])
            converted = np.empty(len(stored), dtype=dtype)
            for name in stored.dtype.names:
                converted[name] = [e.decode() for e in stored[name]] if name == "error" else stored[name]
            stored = converted
        tasks = f.create_dataset("tasks", data=stored, chunks=(64,), maxshape=(None,))
        tasks.attrs.create("metrics", data=names, dtype=STRING)
        tasks.attrs.create("metric_descriptions", data=[m[1] for m in metrics], dtype=STRING)

        for name, (values, description) in (arrays or {}).items():
            padded = np.concatenate([values, np.full((garbage_rows, *values.shape[1:]), 7.0)])
            dataset = f.create_dataset(f"arrays/{name}", data=padded.astype(np.float64),
                                       chunks=(64, *values.shape[1:]), maxshape=(None, *values.shape[1:]))
            dataset.attrs["description"] = description

        if summaries and status != "running":
            table, kept = summaries_table(axes, metrics, rows[:rows_committed])
            dataset = f.create_dataset("summaries/table", data=table)
            dataset.attrs.create("reduced_axes", data=["run", "fold"], dtype=STRING)
            dataset.attrs.create("group_axes", data=kept, dtype=STRING)


# --------------------------------------------------------------------------- mixture-em

MIXTURE_METRICS = [
    ("score", "S = sum over matched pairs of squared parameter errors (circles: dx0^2 + dy0^2 + dr^2); optimal matching"),
    ("final_bound", "variational lower bound at the last iteration (+ ln p(W0) with the regularizer), nats"),
    ("final_log_likelihood", "plug-in mixture log-likelihood of the points at the last iteration, nats"),
    ("iterations", "EM iterations run"),
    ("converged", "1 if the bound converged within the tolerance, else 0 (budget spent)"),
    ("noise_sd", "fitted noise standard deviation 1/sqrt(b), target units"),
    ("experts", "number of experts K"),
    ("distinct_experts", "experts left after merging pairs with s-score above similarity_threshold"),
    ("max_similarity", "largest s-score between two different experts (0 when K = 1)"),
    ("unmatched_truth", "true curves left without an expert (K smaller than their number); each adds its squared norm to S"),
]
MIXTURE_POINTS_METRIC = ("n_points", "points fitted: the leading rows of the points array that are data (the rest are zero)")

MIXTURE_JOB_TEXT = """[job]
name = "mixture-synthetic"
experiment = "mixture-em"
seed = 11
[data]
source = "{source}"
{truth}
radius_noise = 0.1
[model]
max_iterations = {iterations}
[sweep]
experts = {experts}
restarts = {restarts}
runs = {runs}
"""


def mixture_points(truth, circles, noise, per_curve, background, rng):
    """[x, y, label] rows as the engine's generators draw them: per_curve points per true curve
    (label t), then for noise "uniform" the background points in [-2, 2]^2 (label -1)."""
    rows = []
    for t, curve in enumerate(truth):
        if circles:
            angle = rng.uniform(0, 2 * np.pi, per_curve)
            radius = curve[2] + (rng.normal(0, 0.1, per_curve) if noise == "noisy-radius" else 0.0)
            x, y = curve[0] + radius * np.cos(angle), curve[1] + radius * np.sin(angle)
        else:  # x^2 - (a y + c) x - (b y^2 + d y + e) = 0 for y in [-2, 2], where a real x exists
            a, b, c, d, e = curve
            y = rng.uniform(-2, 2, 50 * per_curve)
            p, q = a * y + c, b * y * y + d * y + e
            real = p * p + 4 * q >= 0
            y, p, q = y[real][:per_curve], p[real][:per_curve], q[real][:per_curve]
            x = 0.5 * (p + rng.choice([-1.0, 1.0], y.size) * np.sqrt(p * p + 4 * q))
            if noise == "noisy-radius":
                x, y = x + rng.normal(0, 0.1, y.size), y + rng.normal(0, 0.1, y.size)
        x, y = x + rng.uniform(-0.05, 0.05, x.size), y + rng.uniform(-0.05, 0.05, y.size)
        rows.append(np.column_stack([x, y, np.full(x.size, float(t))]))
    if noise == "uniform":
        rows.append(np.column_stack([rng.uniform(-2, 2, (background, 2)), np.full(background, -1.0)]))
    return np.concatenate(rows)


def mixture_em_rows(runs=4, restarts=3, experts=(2,), methods=("no-prior", "prior", "prior-regularizer"),
                    noises=("none", "noisy-radius", "uniform"), circles=True, iterations=20, failed_ids=(), seed=0,
                    points=False, per_curve=40, background=60):
    """(axes, metrics, rows in finishing order, arrays aligned with the rows, job text) of a mixture-em sweep.

    The "prior" method finds the truth (small S) far more often than "no-prior", and the
    restart with the highest final bound has the smallest S more often than not, as in the
    engine's results; the truth is circles (0, 0, 0.5) and (0, 0, 1.5) or two conics.
    points: also the metric n_points and the array "points" (N_max, 3) [x, y, label] of the
    engine, zero rows beyond n_points; the points depend on (run, noise) only. Without it the
    file looks like one written before the engine stored points.
    """
    axes = {"structure": [f"K={k}" for k in experts], "fold": ["0"], "restart": [str(i) for i in range(restarts)],
            "run": [str(i) for i in range(runs)], "method": list(methods), "noise": list(noises)}
    names = [m[0] for m in MIXTURE_METRICS]
    rng = np.random.default_rng(seed)
    sizes = [len(v) for v in axes.values()]
    count = int(np.prod(sizes))
    coordinates = np.stack(np.unravel_index(np.arange(count), sizes), axis=1)
    k_values = np.asarray(experts)[coordinates[:, 0]]
    method, noise = coordinates[:, 4], coordinates[:, 5]
    found_probability = np.array([0.3, 0.9, 0.7, 0.5, 0.5])[method] * np.array([1.0, 0.8, 0.0, 0.5])[noise]
    found = rng.uniform(size=count) < found_probability
    score = np.where(found, rng.uniform(1e-5, 5e-3, count), rng.uniform(0.2, 1.6, count))
    bound = -300.0 - 100.0 * noise - 40.0 * score + rng.normal(0, 5, count)
    values = {
        "score": score, "final_bound": bound, "final_log_likelihood": bound + 3.0,
        "iterations": np.full(count, float(iterations)), "converged": (rng.uniform(size=count) < 0.3).astype(float),
        "noise_sd": rng.uniform(0.05, 0.5, count), "experts": k_values.astype(float),
        "distinct_experts": k_values - (rng.uniform(size=count) < 0.2), "max_similarity": rng.uniform(0, 1, count),
        "unmatched_truth": np.zeros(count),
    }
    k_max, d = max(experts), (3 if circles else 5)
    truth = (np.array([[0.0, 0.0, 0.5], [0.0, 0.0, 1.5]]) if circles
             else np.array([[0.0, -4.0, 0.0, 0.0, 4.0], [0.0, 0.0, 0.0, 2.0, 0.0]]))
    metrics = MIXTURE_METRICS
    if points:
        metrics = MIXTURE_METRICS + [MIXTURE_POINTS_METRIC]
        names.append(MIXTURE_POINTS_METRIC[0])
        n_max = len(truth) * per_curve + (background if "uniform" in noises else 0)
        images = {(r, n): mixture_points(truth, circles, noises[n], per_curve, background,
                                         np.random.default_rng([seed, r, n]))
                  for r in range(runs) for n in range(len(noises))}
        stored_points = np.zeros((count, n_max, 3))
        for i in range(count):
            image = images[(coordinates[i, 3], coordinates[i, 5])]
            stored_points[i, :len(image)] = image
        values["n_points"] = np.array([len(images[(c[3], c[5])]) for c in coordinates], dtype=float)
    fitted = np.zeros((count, k_max, d))
    weights = np.zeros((count, k_max))
    similarity = np.zeros((count, k_max, k_max))
    for i in range(count):
        k = k_values[i]
        for t in range(k):
            base = truth[t] if t < len(truth) else rng.normal(0, 1, d) * [1, 1, 0.3][:d] if circles else rng.normal(0, 1, d)
            spread = np.sqrt(score[i] / max(1, min(k, len(truth))) / d)
            fitted[i, t] = base + rng.normal(0, spread, d)
            if circles:
                fitted[i, t, 2] = abs(fitted[i, t, 2])
        w = rng.dirichlet(np.ones(k))
        weights[i, :k] = w
        similarity[i, :k, :k] = np.eye(k) + (1 - np.eye(k)) * rng.uniform(0, 0.5)
    steps = np.arange(1, iterations + 1)
    traces = bound[:, None] - 200.0 * (np.exp(-steps[None, :] / 4.0) - np.exp(-iterations / 4.0))  # ends at the bound
    rows = np.zeros(count, dtype=task_dtype(axes, names))
    rows["id"] = np.arange(count)
    for j, axis in enumerate(axes):
        rows[axis] = coordinates[:, j]
    rows["wall_time"] = rng.uniform(0.001, 0.01, count)
    failed = np.isin(np.arange(count), list(failed_ids))
    rows["status"] = failed
    rows["error"][failed] = b"mixture-em: non-finite lower bound"
    for name in names:
        rows[name] = np.where(failed, np.nan, values[name])
    arrays = {
        "experts": (fitted, "fitted circles [x0, y0, r]; row t is the expert matched to true circle t, then the "
                            "unmatched; zero rows beyond K" if circles else "fitted conic coefficients [a, b, c, d, e]"),
        "mixing_weights": (weights, "mixing weight of each expert (rows as in experts)"),
        "similarity": (similarity, "pairwise s-scores of the experts' posteriors (rows as in experts); zero beyond K"),
        "bound_trace": (traces, "lower bound per EM iteration, padded with the last value"),
    }
    if points:
        arrays["points"] = (stored_points, "the fitted points [x, y, label]; label: index of the true curve that drew "
                                           "the point, -1 background (uniform noise), -2 unknown (image file); rows "
                                           "beyond the metric n_points are zero")
    order = rng.permutation(count)
    arrays = {name: (np.where(failed[:, *([None] * (v.ndim - 1))], np.nan, v)[order], text)
              for name, (v, text) in arrays.items()}
    truth_text = ("circles = [0.0, 0.0, 0.5, 0.0, 0.0, 1.5]" if circles
                  else "conics = [0.0, -4.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 2.0, 0.0]")
    job_text = MIXTURE_JOB_TEXT.format(source="circles" if circles else "conics", truth=truth_text,
                                       iterations=iterations, experts=list(experts), restarts=restarts, runs=runs)
    return axes, metrics, rows[order], arrays, job_text


# --------------------------------------------------------------------------- param-ordering

PARAM_ORDERING_METRICS = [
    ("n_params", "parameters of the network"),
    ("train_loss_t0", "training loss at t0, before freezing (MSE, standardized target units)"),
    ("test_loss_t0", "test loss at t0, before freezing (MSE, standardized target units)"),
    ("train_loss_mean", "training loss averaged over the fraction grid (area under the curve) (MSE, standardized target units)"),
    ("test_loss_mean", "test loss averaged over the fraction grid (area under the curve) (MSE, standardized target units)"),
    ("diverged_fractions", "fractions whose continuation stopped on a non-finite loss"),
]

PARAM_ORDERING_JOB_TEXT = """[job]
name = "param-ordering-synthetic"
experiment = "param-ordering"
seed = 3
[data]
source = "boston"
test_fraction = 0.2
[model]
hidden = [{hidden}]
[sweep]
runs = {runs}
fractions = {fractions}
"""


def param_ordering_rows(runs=5, fractions=(0.0, 0.25, 0.5, 0.75, 1.0), hidden=4, features=13,
                        orders=("variance", "random"), masks=True, failed_ids=(), seed=0,
                        array_names=("frozen_count", "train_loss", "test_loss", "variance", "mask")):
    """(axes, metrics, rows in finishing order, arrays aligned with the rows, job text) of a param-ordering sweep.

    Network features-hidden-1 with biases. The variance order loses less than the random one
    between the ends of the grid, where both are equal (as the engine guarantees); the
    variance order freezes the last hidden-layer block last, every run alike.
    array_names: the names to store the arrays under (to test a rename in the engine).
    """
    structure = f"{features}-{hidden}-1"
    params = features * hidden + hidden + hidden + 1
    axes = {"structure": [structure], "fold": ["0"], "restart": ["0"], "run": [str(i) for i in range(runs)],
            "order": list(orders)}
    names = [m[0] for m in PARAM_ORDERING_METRICS]
    rng = np.random.default_rng(seed)
    sizes = [len(v) for v in axes.values()]
    count = int(np.prod(sizes))
    coordinates = np.stack(np.unravel_index(np.arange(count), sizes), axis=1)
    run, order = coordinates[:, 3], coordinates[:, 4]
    grid = np.asarray(fractions, dtype=np.float64)
    frozen = np.round(grid * params)
    run_level = rng.normal(0, 0.05, runs)  # shared by both orders of a run: the pairing
    noise = rng.normal(0, 0.01, (runs, len(grid)))
    shape = grid * (1 - grid)
    train = 0.1 + 0.2 * grid[None, :] + run_level[run][:, None] + noise[run] + 0.05 * shape[None, :] * (order[:, None] == 1)
    train += rng.normal(0, 0.004, train.shape) * shape[None, :]
    test = train + 0.1 + rng.normal(0, 0.01, train.shape) * shape[None, :]
    variance = rng.uniform(0, 1, (count, params))
    mask = np.ones((count, len(grid), params))
    for i in range(count):
        ranking = np.argsort(variance[i] if orders[order[i]] == "variance" else rng.permutation(params))
        if orders[order[i]] == "variance":
            ranking = np.concatenate([np.arange(params - hidden - 1), np.arange(params - hidden - 1, params)])
            ranking = np.concatenate([rng.permutation(ranking[: params - hidden - 1]), ranking[params - hidden - 1:]])
        for k, z in enumerate(frozen.astype(int)):
            mask[i, k, ranking[:z]] = 0.0
    values = {"n_params": np.full(count, float(params)), "train_loss_t0": train[:, -1], "test_loss_t0": test[:, -1],
              "train_loss_mean": train.mean(axis=1), "test_loss_mean": test.mean(axis=1),
              "diverged_fractions": np.zeros(count)}
    rows = np.zeros(count, dtype=task_dtype(axes, names))
    rows["id"] = np.arange(count)
    for j, axis in enumerate(axes):
        rows[axis] = coordinates[:, j]
    rows["wall_time"] = rng.uniform(0.01, 0.1, count)
    failed = np.isin(np.arange(count), list(failed_ids))
    rows["status"] = failed
    rows["error"][failed] = b"warm-up Adam diverged: non-finite loss"
    for name in names:
        rows[name] = np.where(failed, np.nan, values[name])
    stored = [np.tile(frozen, (count, 1)), train, test, variance] + ([mask] if masks else [])
    descriptions = ["parameters frozen at each fraction of the grid", "training loss after the continuation, per fraction frozen",
                    "test loss after the continuation, per fraction frozen", "diagonal of the gradient covariance C_t0",
                    "alpha per fraction and parameter: 1 trained, 0 frozen"]
    order_rows = rng.permutation(count)
    arrays = {}
    for name, value, text in zip(array_names, stored, descriptions):
        value = np.where(failed.reshape(-1, *([1] * (value.ndim - 1))), np.nan, value)
        arrays[name] = (value[order_rows], text)
    job_text = PARAM_ORDERING_JOB_TEXT.format(hidden=hidden, runs=runs, fractions=list(fractions))
    return axes, PARAM_ORDERING_METRICS, rows[order_rows], arrays, job_text


ROW_BUILDERS = {"mixture-em": mixture_em_rows, "param-ordering": param_ordering_rows}

# Keys the engine would add to resolved_job with their defaults (the figures read these).
RESOLVED_DEFAULTS = {
    "mixture-em": {"data": {"half_width": 2.0, "radius_noise": 0.1, "y_half_range": 2.0, "jitter": 0.1}},
    "param-ordering": {"sweep": {"fractions": [k / 20 for k in range(21)]}},
}


def resolved_job_of(job_text, experiment):
    """What the engine writes as resolved_job for this job text: its keys plus the defaults used."""
    resolved = {section: dict(keys) for section, keys in RESOLVED_DEFAULTS.get(experiment, {}).items()}
    for section, keys in tomllib.loads(job_text).items():
        resolved.setdefault(section, {}).update(keys)
    return resolved


def write_experiment_file(directory, name, experiment, **options):
    """Hand-made results file of `experiment` (a key of ROW_BUILDERS) at directory/name.h5;
    returns (path, axes, rows, arrays) for the figure tests to check against."""
    axes, metrics, rows, arrays, job_text = ROW_BUILDERS[experiment](**options)
    path = directory / f"{name}.h5"
    write_results(path, axes, metrics, rows, experiment=experiment, arrays=arrays, job_text=job_text, job_name=name,
                  resolved_job=resolved_job_of(job_text, experiment))
    return path, axes, rows, arrays

