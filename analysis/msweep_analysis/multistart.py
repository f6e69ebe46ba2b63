"""Combining the starts of a multistart-evidence run (docs/experiments/multistart-evidence.md).

One task of the engine is one start of one method in one run; the method's estimate is a
function of all the starts of a (run, method): the ensemble prediction (the mean of the
starts' predictions), the stopping point and the evidence estimate. This module is the
Python twin of ``multistart_evidence::combine_starts`` (src/experiments/multistart_evidence.cpp):
the same rules, so a figure computed here is the number the engine's unit test checks against
the starts stepped together in lockstep.

Array names are the constants below (the engine's names).
"""

import math

import numpy as np
import pandas as pd

from .reader import resolved_section

ITERATION = "iteration"                        # (C)
LOG_PRIOR = "log_prior"                        # (C)
LOG_LIKELIHOOD = "log_likelihood"              # (C)
ENTROPY = "entropy"                            # (C) the start's own (entropy methods), H(q) (mean-field-vi)
INCREMENT = "entropy_increment"                # (T) per step
VALIDATION_PREDICTION = "validation_prediction"  # (C, V)
VALIDATION_TARGET = "validation_target"        # (V)
TEST_PREDICTION = "test_prediction"            # (C, L, N): clean, then each input_noise level
TEST_TARGET = "test_target"                    # (N)
PRIOR_VALIDATION = "prior_validation_prediction"  # (G, V)
PRIOR_TEST = "prior_test_prediction"           # (G, L, N)
PRIOR_USABLE = "prior_usable"                  # (G)
ARRAYS = (ITERATION, LOG_PRIOR, LOG_LIKELIHOOD, ENTROPY, INCREMENT, VALIDATION_PREDICTION, VALIDATION_TARGET,
          TEST_PREDICTION, TEST_TARGET, PRIOR_VALIDATION, PRIOR_TEST, PRIOR_USABLE)

ENTROPY_METHODS = ("sgd-elbo", "langevin-elbo")
EVIDENCE_METHODS = ENTROPY_METHODS + ("mean-field-vi",)

# The engine's defaults, used only for files written without resolved_job.
DEFAULTS = {"tau_val": 100, "patience": 3, "input_noise": [0.5, 1.0], "init_std": 0.1, "learning_rate": 1e-5,
            "likelihood": "gaussian"}


def settings(info):
    """The keys the combination needs, from the file's resolved_job ([sweep] and [model])."""
    sweep = resolved_section(info, "sweep") or {}
    model = resolved_section(info, "model") or {}
    merged = dict(DEFAULTS)
    merged.update({k: sweep[k] for k in ("tau_val", "patience", "input_noise") if k in sweep})
    merged.update({k: model[k] for k in ("init_std", "learning_rate", "likelihood") if k in model})
    return merged


class Score:
    """How the ensemble is scored, by the job's likelihood (the engine's ``Scoring``).

    gaussian: RMSE everywhere (column test_rmse, lower is better, target units);
    logistic (predictions are P(y = 1)): the validation rules minimize the mean log loss, the
    test part is scored by accuracy of the prediction at 1/2 (column test_accuracy, higher is better).
    """

    def __init__(self, config):
        self.logistic = config.get("likelihood", "gaussian") == "logistic"
        self.column = "test_accuracy" if self.logistic else "test_rmse"
        self.label = "test accuracy" if self.logistic else "test RMSE"
        self.unit = "" if self.logistic else " [target units]"

    def validation_loss(self, prediction, target):
        if not self.logistic:
            return rmse(prediction, target)
        q = np.clip(np.where(target > 0.5, prediction, 1.0 - prediction), 1e-300, 1.0)
        return float(-np.log(q).mean())

    def test_error(self, prediction, target):
        """Lower is better: RMSE (standardized) or the error rate."""
        if not self.logistic:
            return rmse(prediction, target)
        return float(np.mean((prediction > 0.5) != (target > 0.5)))

    def reported(self, error, target_scale):
        return 1.0 - error if self.logistic else error * target_scale

    def best(self, values):
        """Index label of the best value of a Series."""
        return values.idxmax() if self.logistic else values.idxmin()


def gaussian_entropy(dimension, std):
    return 0.5 * dimension * (1.0 + math.log(2.0 * math.pi)) + dimension * math.log(std)


def add_independent_noise(entropy, noise_entropy, dimension):
    """The entropy power inequality: D/2 ln(exp(2 S / D) + exp(2 S_eps / D))."""
    a, b = 2.0 * entropy / dimension, 2.0 * noise_entropy / dimension
    top = max(a, b)
    return 0.5 * dimension * (top + math.log(math.exp(a - top) + math.exp(b - top)))


def cloud_entropy(initial, increments, langevin, noise_entropy, dimension):
    """S_0 .. S_T of the cloud from the starts' per-step increments (starts x T)."""
    mean = np.asarray(increments, dtype=np.float64).mean(axis=0)
    out = [initial]
    for step in mean:
        s = out[-1] + step
        out.append(add_independent_noise(s, noise_entropy, dimension) if langevin else s)
    return np.asarray(out)


def rmse(prediction, target):
    return float(np.sqrt(np.mean((prediction - target) ** 2)))


def stop_by_patience(loss, patience):
    """Index of the smallest loss, stopping once `patience` checkpoints in a row did not improve on it."""
    best = 0
    for c in range(1, len(loss)):
        if c - best > patience:
            break
        if loss[c] < loss[best]:
            best = c
    return best


def combine(starts, method, config, parameters, target_scale):
    """The method's estimate from ``starts``: a dict of the arrays above, each (starts, ...).

    Returns stop and best-test checkpoints, the chosen prior (grid method), the test score of the
    ensemble at the stop ("test_score": RMSE in target units or accuracy, see Score; clean, then
    per input noise level), and for the evidence methods the evidence and entropy per checkpoint.
    """
    score = Score(config)
    validation_y, test_y = starts[VALIDATION_TARGET][0], starts[TEST_TARGET][0]
    ensemble_validation = starts[VALIDATION_PREDICTION].mean(axis=0)  # (C, V)
    ensemble_test = starts[TEST_PREDICTION].mean(axis=0)              # (C, L, N)
    checkpoints = ensemble_validation.shape[0]
    validation_loss = [score.validation_loss(ensemble_validation[c], validation_y) for c in range(checkpoints)]
    test_error = [score.test_error(ensemble_test[c, 0], test_y) for c in range(checkpoints)]
    out = {"best_test_checkpoint": int(np.argmin(test_error)), "stop_checkpoint": checkpoints - 1, "prior_choice": -1,
           "evidence": None, "entropy": None,
           "test_score_curve": np.asarray([score.reported(e, target_scale) for e in test_error])}
    if method == "early-stopping":
        out["stop_checkpoint"] = stop_by_patience(validation_loss, int(config["patience"]))
    tau = int(config["tau_val"])
    if method in ENTROPY_METHODS:
        lr = float(config["learning_rate"])
        cloud = cloud_entropy(gaussian_entropy(parameters, float(config["init_std"])), starts[INCREMENT],
                              method == "langevin-elbo", gaussian_entropy(parameters, math.sqrt(2.0 * lr)), parameters)
        out["entropy"] = cloud[::tau][:checkpoints]
    elif method == "mean-field-vi":
        out["entropy"] = starts[ENTROPY].mean(axis=0)
    if method in EVIDENCE_METHODS:
        out["evidence"] = starts[LOG_PRIOR].mean(axis=0) + starts[LOG_LIKELIHOOD].mean(axis=0) + out["entropy"]
        out["stop_checkpoint"] = int(np.argmax(out["evidence"]))
    if method == "validation-prior-grid":
        usable = (starts[PRIOR_USABLE] > 0).all(axis=0)
        ensemble = starts[PRIOR_VALIDATION].mean(axis=0)
        grid_loss = [score.validation_loss(ensemble[k], validation_y) if usable[k] else np.inf for k in range(len(usable))]
        if np.isfinite(min(grid_loss)):
            out["prior_choice"] = int(np.argmin(grid_loss))
    if out["prior_choice"] >= 0:
        chosen = starts[PRIOR_TEST].mean(axis=0)[out["prior_choice"]]
    else:
        chosen = ensemble_test[out["stop_checkpoint"]]
    out["test_score"] = [score.reported(score.test_error(chosen[level], test_y), target_scale)
                         for level in range(chosen.shape[0])]
    return out


def combine_all(context_or_path, arrays=None):
    """One row per (structure, run, method) whose starts all finished: the combined estimate.

    Columns: structure, run, method, starts, stop_iteration, best_test_iteration, prior_choice,
    test_rmse, test_rmse_noise_<s> per input noise level (logistic: test_accuracy,
    test_accuracy_noise_<s>; see Score), evidence_at_stop (NaN for methods
    without evidence); and a dict of curves {(structure, run, method): combine() output}.
    """
    context = context_or_path
    tasks = context.tasks.assign(_row=np.arange(len(context.tasks)))
    config = settings(context.info)
    column = Score(config).column
    noise = [float(s) for s in config["input_noise"]]
    loaded = {name: context.array(name) for name in ARRAYS}
    ok = tasks[tasks["status"] == "ok"]
    restarts = len(context.info["axes"]["restart"]) if "restart" in context.info["axes"] else ok["restart_index"].max() + 1
    rows, curves = [], {}
    for (structure, run, method), part in ok.groupby(["structure", "run_index", "method"], sort=True):
        if len(part) < restarts:
            continue  # a run whose starts are not all stored yet (a running or failed file)
        part = part.sort_values("restart_index")
        index = part["_row"].to_numpy()
        starts = {name: values[index] for name, values in loaded.items()}
        parameters = int(part["n_params"].iloc[0])
        result = combine(starts, method, config, parameters, float(part["target_scale"].iloc[0]))
        iterations = starts[ITERATION][0]
        row = {"structure": structure, "run": int(run), "method": method, "starts": len(part),
               "stop_iteration": float(iterations[result["stop_checkpoint"]]),
               "best_test_iteration": float(iterations[result["best_test_checkpoint"]]),
               "prior_choice": result["prior_choice"], column: result["test_score"][0],
               "evidence_at_stop": float(result["evidence"][result["stop_checkpoint"]])
               if result["evidence"] is not None else np.nan}
        for level, s in enumerate(noise, start=1):
            row[f"{column}_noise_{s:g}"] = result["test_score"][level]
        rows.append(row)
        curves[(structure, int(run), method)] = dict(result, iterations=iterations,
                                                     log_prior=starts[LOG_PRIOR].mean(axis=0),
                                                     log_likelihood=starts[LOG_LIKELIHOOD].mean(axis=0))
    return pd.DataFrame(rows), curves


def method_table(combined, methods):
    """Mean and standard error over runs of the combined estimates, one row per (structure, method)."""
    value_columns = [c for c in combined.columns if c.startswith(("test_rmse", "test_accuracy"))] + ["stop_iteration",
                                                                                   "best_test_iteration",
                                                                                   "evidence_at_stop"]
    rows = []
    for (structure, method), part in combined.groupby(["structure", "method"], sort=False):
        row = {"structure": structure, "method": method, "runs": len(part)}
        for column in value_columns:
            values = part[column].to_numpy(dtype=np.float64)
            values = values[np.isfinite(values)]
            row[f"{column}_mean"] = values.mean() if len(values) else np.nan
            row[f"{column}_sem"] = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    order = {m: i for i, m in enumerate(methods)}
    return table.sort_values(["structure", "method"], key=lambda c: c.map(order) if c.name == "method" else c
                             ).reset_index(drop=True)
