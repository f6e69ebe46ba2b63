#!/usr/bin/python3
"""Hyperparameter optimization: msweep's gradient methods (greedy, HOAG, DrMAD) against Optuna's
RandomSampler and TPESampler on the SAME criterion Q with the same inner training. The objective
is implemented once, in C++: bench_hpo_objective builds it from the job file exactly as the
experiment's tasks do and answers "eval h" (one training, its Q) and "optimize METHOD" (a whole
gradient-method run) on stdin/stdout; Optuna only proposes h.

Reported per criterion, averaged over --runs (the job's runs: data split, CV splits, ELBO pool,
w_0 and h_0 of restart 0): the best Q after the whole budget (the job's outer_iterations
trainings), the trainings each method needed to reach Optuna-TPE's final best Q (or "never"),
and wall seconds. Wall time for Optuna includes its sampler's own work; for the gradient methods
it is the helper's measurement of the whole run, spread evenly over outer iterations.

    bench/hpo_vs_optuna.py [--case polynomial|mlp] [--job JOB] [--set SECTION.KEY=VALUE ...]
                           [--runs 3] [--criteria cv elbo]

--case mlp is the Fashion-MNIST MLP (jobs/hpo-fashion-mnist.toml, 784-300-10, one run) with
the ELBO's prior grouped per layer as CV's is (--set sweep.elbo_groups="layer"): Optuna cannot
propose 238510 per-parameter hyperparameters a trial. Besides the summary table it prints the
best-so-far Q against the number of trainings and against wall seconds for every method.

Exits 3 (bench/common.py PEER_NOT_READY) when Optuna is missing: apt-get install python3-optuna
(bash scripts/setup.sh --bench installs it).
Exits 2 when the job or a --set is refused (bench_hpo_objective's one-line message comes first).
A --set replaces the case's own overrides: with --case mlp, repeat --set sweep.elbo_groups="layer".
"""
import argparse
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PEER_NOT_READY, SOURCE  # noqa: E402

HELPER = SOURCE / "build" / "bin" / "bench_hpo_objective"
METHODS = ("greedy", "hoag", "drmad")
CASES = {
    "polynomial": {"job": "hpo-polynomial.toml", "set": [], "runs": 3},
    "mlp": {"job": "hpo-fashion-mnist.toml", "set": ['sweep.elbo_groups="layer"'], "runs": 1},
}


class Objective:
    """One bench_hpo_objective process: the criterion Q of (job, criterion, run, restart 0)."""

    def __init__(self, job, criterion, run, overrides=()):
        self.process = subprocess.Popen([str(HELPER), str(job), criterion, str(run), "0", *overrides], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, bufsize=1)
        self.report = self.process.stdout.readline().strip()  # the Eigen report line
        if not self.report:
            # The helper refused the job or a --set before its first line; its one-line reason
            # (file, key, what was expected) is already on stderr.
            self.process.wait()
            print(f"hpo_vs_optuna: bench_hpo_objective refused {job} (exit {self.process.returncode}): "
                  "its message is above; --set takes SECTION.KEY=VALUE as msweep run does", file=sys.stderr)
            sys.exit(2)
        fields = self.ask("info").split()
        self.hyperparameters, self.low, self.high, self.budget = int(fields[1]), float(fields[2]), float(fields[3]), int(fields[4])

    def ask(self, line):
        self.process.stdin.write(line + "\n")
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"bench_hpo_objective stopped on: {line[:60]}")
        return answer.strip()

    def evaluate(self, h):
        fields = self.ask("eval " + " ".join(f"{v:.17g}" for v in h)).split()
        return float(fields[1])

    def optimize(self, method):
        fields = self.ask(f"optimize {method}").split()
        return float(fields[1]), np.array([float(v) for v in fields[2:]])

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def optuna_run(optuna, objective, sampler, budget):
    """Best-so-far Q and wall seconds after each of `budget` trials."""
    study = optuna.create_study(direction="maximize", sampler=sampler)
    best, seconds, start = [], [], time.perf_counter()

    def f(trial):
        h = [trial.suggest_float(f"h{g}", objective.low, objective.high) for g in range(objective.hyperparameters)]
        q = objective.evaluate(h)
        return q if math.isfinite(q) else -1e300  # a diverged training is the worst value, not an error

    for _ in range(budget):
        study.optimize(f, n_trials=1)
        best.append(study.best_value)
        seconds.append(time.perf_counter() - start)
    return np.array(best), np.array(seconds)


def first_reaching(best, target):
    hits = np.flatnonzero(best >= target)
    return int(hits[0]) + 1 if hits.size else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=sorted(CASES), default="polynomial",
                        help="default job, overrides and runs: the polynomial set or the Fashion-MNIST MLP")
    parser.add_argument("--job", help="job file (default: the case's)")
    parser.add_argument("--set", action="append", default=None, metavar="SECTION.KEY=VALUE",
                        help="override a job key as msweep run --set does (default: the case's)")
    parser.add_argument("--runs", type=int, help="runs (default: the case's)")
    parser.add_argument("--criteria", nargs="+", default=["cv", "elbo"])
    args = parser.parse_args()
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    case = CASES[args.case]
    job = args.job or str(SOURCE / "jobs" / case["job"])
    overrides = case["set"] if args.set is None else args.set
    runs = args.runs or case["runs"]
    try:
        import optuna
    except ImportError:
        print("hpo_vs_optuna: Optuna is missing: apt-get install python3-optuna (or bash scripts/setup.sh --bench)",
              file=sys.stderr)
        sys.exit(PEER_NOT_READY)
    if not HELPER.is_file():
        sys.exit(f"hpo_vs_optuna: no {HELPER}: build the target bench_hpo_objective")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"peer: Optuna {optuna.__version__} (Python {sys.version.split()[0]}), 1 thread; it only proposes h, "
          "every Q is computed by bench_hpo_objective (C++)")
    for criterion in args.criteria:
        results = {}
        for run in range(runs):
            objective = Objective(job, criterion, run, overrides)
            if run == 0 and criterion == args.criteria[0]:
                print(objective.report)
            budget = objective.budget
            for name, sampler in (("optuna-random", optuna.samplers.RandomSampler(seed=run)),
                                  ("optuna-tpe", optuna.samplers.TPESampler(seed=run))):
                results.setdefault(name, []).append(optuna_run(optuna, objective, sampler, budget))
            for method in METHODS:
                seconds, trajectory = objective.optimize(method)
                best = np.maximum.accumulate(np.where(np.isfinite(trajectory), trajectory, -np.inf))
                best = np.concatenate([best, np.full(budget - len(best), best[-1])])
                results.setdefault(method, []).append((best, seconds * np.arange(1, budget + 1) / budget))
            objective.close()
        print(f"\ncriterion {criterion}: {budget} trainings per method, {runs} runs "
              f"({objective.hyperparameters} hyperparameters, h in [{objective.low:g}, {objective.high:g}])")
        print(f"{'method':<14} {'best Q (mean over runs)':>24} {'trainings to TPE final':>24} {'seconds to it':>14} "
              f"{'total seconds':>14}")
        for name, per_run in results.items():
            finals = [best[-1] for best, _ in per_run]
            reach, reach_seconds = [], []
            for (best, seconds), (tpe_best, _) in zip(per_run, results["optuna-tpe"]):
                k = first_reaching(best, tpe_best[-1])
                reach.append(k)
                reach_seconds.append(seconds[k - 1] if k else None)
            reached = [k for k in reach if k]
            text = (f"{np.mean(reached):.1f} ({len(reached)}/{len(reach)} runs)" if reached else "never")
            seconds_text = f"{np.mean([s for s in reach_seconds if s is not None]):.3g}" if reached else "-"
            total = np.mean([seconds[-1] for _, seconds in per_run])
            print(f"{name:<14} {np.mean(finals):>24.4f} {text:>24} {seconds_text:>14} {total:>14.3g}")
        print_curves(results, budget)


def print_curves(results, budget):
    """Best-so-far Q (mean over runs) after n trainings, and the wall seconds those n took."""
    marks = sorted({n for n in (1, 2, 5, 10, 25, 50, 100, budget // 2, budget) if 1 <= n <= budget})
    print("best Q after n trainings (mean over runs) | seconds to n trainings")
    print(f"{'method':<14}" + "".join(f"{'n=' + str(n):>12}" for n in marks) + " |"
          + "".join(f"{'n=' + str(n):>9}" for n in marks))
    for name, per_run in results.items():
        q = [np.mean([best[n - 1] for best, _ in per_run]) for n in marks]
        seconds = [np.mean([s[n - 1] for _, s in per_run]) for n in marks]
        print(f"{name:<14}" + "".join(f"{v:>12.5g}" for v in q) + " |" + "".join(f"{v:>9.3g}" for v in seconds))


if __name__ == "__main__":
    main()
