#!/usr/bin/python3
"""Subset-evidence sweep speed, msweep against a loop over scikit-learn's BayesianRidge on the
same data and subsets, with the same log evidence to 1e-6 relative.

  /usr/bin/python3 bench/subset_vs_sklearn.py [--subsets N] [--allow-reference-blas]

Boston Housing (506 x 13) fitted on all rows, no standardization, so both see the same
centred data; BayesianRidge with its Gamma hyperpriors switched off maximizes the same
evidence. Both start the fixed point from alpha = 1, beta = 1/var(y) (scikit-learn's start):
on unscaled features the evidence can have several local maxima in (alpha, beta), and
different starts may end on different ones. msweep runs all 8192 subsets on one process;
scikit-learn runs the first N subsets (all by default) and its time per subset is scaled to 8192.
Both sides print the BLAS and threads they compute with (scikit-learn on one BLAS thread); on the
reference BLAS no ratio is printed (exit 3) unless --allow-reference-blas. MSWEEP_BIN picks the
msweep binary (default build/bin/msweep).
"""
import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from sklearn.linear_model import BayesianRidge

from common import msweep_build_report, report_peer_blas, run_msweep

JOB = """[job]
name = "bench-subsets"
experiment = "subset-evidence"
seed = 1
[data]
source = "boston"
standardize = false
test_fraction = 0.0
[model]
tolerance = 1e-13
alpha = 1.0
beta = {beta!r}
[sweep]
structures = "all"
"""


def boston():
    path = "/usr/lib/python3/dist-packages/sklearn/datasets/data/boston_house_prices.csv"
    data = np.loadtxt(path, delimiter=",", skiprows=2)
    return data[:, :13], data[:, 13]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subsets", type=int, default=8192)
    parser.add_argument("--allow-reference-blas", action="store_true", help="compare even when scikit-learn runs on the reference BLAS")
    args = parser.parse_args()
    print(msweep_build_report(), flush=True)
    limiter = report_peer_blas("scikit-learn", args.allow_reference_blas)  # noqa: F841 (kept while timing)
    X, y = boston()

    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "subsets.h5"
        tasks, rate, _ = run_msweep(JOB.format(beta=1.0 / np.var(y)), 1, output=output)
        with h5py.File(output, "r") as f:
            rows = f["tasks"][:]
            rows = rows[np.argsort(rows["id"])]  # one fold, restart and run: the id is the structure
    ours_seconds = tasks / rate

    worst = 0.0
    start = time.perf_counter()
    evidence = []
    for structure in range(min(args.subsets, 8192)):
        columns = [j for j in range(13) if structure >> j & 1]
        if not columns:
            evidence.append(None)
            continue
        model = BayesianRidge(n_iter=10000, tol=1e-12, alpha_1=0, alpha_2=0, lambda_1=0, lambda_2=0, compute_score=True)
        model.fit(X[:, columns], y)
        evidence.append(model.scores_[-1])
    sklearn_seconds = (time.perf_counter() - start) * 8192 / len(evidence)
    for structure, value in enumerate(evidence):
        if value is not None:
            worst = max(worst, abs(rows["log_evidence"][structure] - value) / abs(value))

    print(f"Boston, {tasks} subsets, log evidence per subset")
    print(f"  msweep (1 process):               {ours_seconds * 1e3:9.1f} ms  ({1e6 * ours_seconds / tasks:7.2f} us per subset)")
    print(f"  scikit-learn BayesianRidge loop:  {sklearn_seconds * 1e3:9.1f} ms  ({1e6 * sklearn_seconds / 8192:7.2f} us per subset)")
    print(f"  speed-up: {sklearn_seconds / ours_seconds:.0f}x; largest relative difference in log evidence: {worst:.2e}")


if __name__ == "__main__":
    main()
