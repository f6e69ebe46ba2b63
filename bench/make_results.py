#!/usr/bin/python3
"""Write a large subset-evidence results file in the engine's format, fast, for benchmarks and tests.

    bench/make_results.py OUT.h5 --features 20 --folds 5 --runs 25     # 2^20 x 5 x 25 = 131M rows
    bench/make_results.py OUT.h5 --rows 5000000                        # features chosen to reach N rows

The engine needs hours for 131M tasks on a small machine; the analysis only needs a file with
the same layout. The layout is taken from a real one: the generator runs `msweep run` on a
4-feature job (a few milliseconds), copies its root attributes, /tasks row type, chunk size
and /arrays group, and fills /axes, /tasks and /summaries for the large grid (structures
x folds x restart x runs, the engine's axis order and labels) with synthetic metrics:
features x0 and x1 carry the signal, so the criteria favour subsets containing them. Rows
are written as raw chunks (the vlen error string of an ok row is stored empty) in an
order shuffled within blocks of about a million rows, like tasks finishing on several
ranks; `--failed N` marks every N-th task failed with an error text. Deterministic: the
same arguments give the same file. `msweep inspect --summary FILE` reads the result.
"""

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "analysis"))
from msweep_analysis.reader import _stored_layout  # noqa: E402  (the same on-disk layout the reader uses)

STRING = h5py.string_dtype("utf-8")
BLOCK_STRUCTURES = 8192
ERROR = "fit: Cholesky factorization failed (matrix not positive definite)"


def template(msweep, folder):
    """A tiny engine-written file whose attributes, row type and chunking the large file copies."""
    job = folder / "template.toml"
    job.write_text('[job]\nname = "template"\nexperiment = "subset-evidence"\nseed = 1\n'
                   '[data]\nsource = "synthetic-regression"\nfeatures = 2\n'
                   '[sweep]\nstructures = "all"\nfolds = 2\nruns = 2\n'
                   f'[output]\npath = "{folder / "template.h5"}"\n')
    subprocess.run([msweep, "run", str(job)], check=True, stdout=subprocess.DEVNULL)
    return folder / "template.h5"


def fnv1a64(text):
    value = 0xcbf29ce484222325
    for byte in text.encode():
        value = ((value ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def labels(features):
    """Structure labels in the engine's order: bit j of the structure index includes x<j>."""
    names = np.array([f"x{j}" for j in range(features)])
    out = []
    for mask in range(1 << features):
        chosen = names[[(mask >> j) & 1 == 1 for j in range(features)]]
        out.append("+".join(chosen) if chosen.size else "(intercept only)")
    return out


def metric_values(structures, folds, runs, rng):
    """Metrics of every task of ``structures``, shape (structures, folds, runs) each."""
    shape = (len(structures), folds, runs)
    bits = (structures[:, None] >> np.arange(20)) & 1
    chosen = bits.sum(axis=1)[:, None, None] * np.ones(shape)
    signal = bits[:, :2].sum(axis=1)[:, None, None]
    run_effect = np.linspace(-0.05, 0.05, runs)[None, None, :]
    mse = 1.0 + 2.0 * (2 - signal) + 0.05 * (chosen - signal) + run_effect + rng.normal(0, 0.05, shape)
    values = {
        "n_features": chosen, "n_params": chosen + 1,
        "log_evidence": -50 * np.log(mse) - 2.0 * chosen + rng.normal(0, 0.5, shape),
        "alpha": rng.uniform(0.1, 2, shape), "beta": 1 / mse, "gamma": 0.9 * chosen,
        "iterations": rng.integers(3, 20, shape).astype(np.float64), "converged": np.ones(shape),
        "train_mse": 0.95 * mse, "aic": 100 * np.log(mse) + 2 * (chosen + 2),
        "bic": 100 * np.log(mse) + 4.6 * (chosen + 2), "cv_mse": 1.05 * mse + rng.normal(0, 0.02, shape),
        "cv_q": -30 * mse, "cv_l": 30 * mse, "test_mse": 1.1 * mse + rng.normal(0, 0.02, shape),
        "test_log_lik": -np.log(mse) - 1.4,
    }
    # A fit that used the whole iteration budget (19) did not converge: about 1 in 17, so the
    # report's convergence note has fits to count (it must count them without holding the rows).
    values["converged"] = (values["iterations"] < 19).astype(np.float64)
    return values


def summaries(values, ok, metrics, summary_dtype, structures):
    """/summaries/table rows of these structures, computed as the engine does (rows pooled; runs as unit)."""
    table = np.zeros(len(structures), dtype=summary_dtype)
    table["structure"] = structures
    table["ok_count"] = ok.sum(axis=(1, 2))
    table["failed_count"] = (~ok).sum(axis=(1, 2))
    run_ok = ok.sum(axis=1)                      # (structures, runs)
    runs = (run_ok > 0).sum(axis=1)
    table["run_count"] = runs
    with np.errstate(invalid="ignore", divide="ignore"):
        for m in metrics:
            v = np.where(ok, values[m], 0.0)
            n = table["ok_count"].astype(np.float64)
            mean = v.sum(axis=(1, 2)) / n
            sq = np.where(ok, (values[m] - mean[:, None, None]) ** 2, 0.0).sum(axis=(1, 2))
            table[f"{m}_mean"] = mean
            table[f"{m}_std"] = np.where(n > 1, np.sqrt(sq / (n - 1)), np.nan)
            run_means = np.where(run_ok > 0, v.sum(axis=1) / run_ok, np.nan)
            table[f"{m}_run_mean"] = np.nanmean(run_means, axis=1)
            table[f"{m}_run_sem"] = np.where(runs > 1, np.nanstd(run_means, axis=1, ddof=1) / np.sqrt(runs), np.nan)
    return table


def write(out, features, folds, runs, failed_every, msweep):
    with tempfile.TemporaryDirectory() as folder:
        source = h5py.File(template(msweep, Path(folder)), "r")
        structures = 1 << features
        axes = {"structure": labels(features), "fold": [str(i) for i in range(folds)], "restart": ["0"],
                "run": [str(i) for i in range(runs)]}
        task_count = structures * folds * runs
        job_text = (f'[job]\nname = "synthetic-{features}"\nexperiment = "subset-evidence"\nseed = 1\n'
                    f'[data]\nsource = "synthetic-regression"\nfeatures = {features}\n'
                    f'[sweep]\nstructures = "all"\nfolds = {folds}\nruns = {runs}\n')
        resolved = json.loads(source.attrs["resolved_job"])
        resolved["job"]["name"] = f"synthetic-{features}"
        resolved["data"]["features"] = features
        resolved["sweep"].update(folds=folds, runs=runs)
        with h5py.File(out, "w", libver=source.libver) as f:
            for name, value in source.attrs.items():
                f.attrs[name] = value
            f.attrs.update({"job_name": f"synthetic-{features}", "job_path": "jobs/synthetic.toml",
                            "job_text": job_text, "job_hash": fnv1a64(job_text), "resolved_job": json.dumps(resolved),
                            "task_count": np.uint64(task_count), "rows_committed": np.uint64(task_count),
                            "status": "complete", "wall_seconds": 0.0})
            if "state" in source:  # format 2: the run's state is the one-row /state, not root attributes
                for name in ("rows_committed", "status", "wall_seconds"):
                    if name in f.attrs:
                        del f.attrs[name]
                state = source["state"][:]
                for name, value in (("rows_committed", task_count), ("summarized_rows", task_count),
                                    ("status", "complete"), ("wall_seconds", 0.0)):
                    if name in state.dtype.names:
                        as_bytes = isinstance(value, str) and state.dtype[name].kind == "S"
                        state[name][0] = value.encode() if as_bytes else value
                f.create_dataset("state", data=state, maxshape=source["state"].maxshape,
                                 chunks=source["state"].chunks)
            group = f.create_group("axes")
            group.attrs.create("order", data=list(axes), dtype=STRING)
            for name, values in axes.items():
                group.create_dataset(name, data=np.array(values, dtype=object), dtype=STRING)
            source.copy(source["arrays"], f, "arrays")
            row_type = source["tasks"].dtype
            chunk = source["tasks"].chunks[0]
            tasks = f.create_dataset("tasks", shape=(task_count,), maxshape=(None,), dtype=row_type, chunks=(chunk,))
            for name, value in source["tasks"].attrs.items():
                tasks.attrs[name] = value
            metrics = [m.decode() if isinstance(m, bytes) else m for m in source["tasks"].attrs["metrics"]]
            summary_group = f.create_group("summaries")
            for name, value in source["summaries"].attrs.items():
                summary_group.attrs[name] = value
            summary_dtype = source["summaries/table"].dtype
            table = summary_group.create_dataset("table", shape=(structures,), dtype=summary_dtype)
            layout = _stored_layout(tasks)
            pending = np.zeros(0, dtype=layout)
            written = 0
            for first in range(0, structures, BLOCK_STRUCTURES):
                block = np.arange(first, min(structures, first + BLOCK_STRUCTURES))
                rng = np.random.default_rng([first, features, folds, runs])
                values = metric_values(block, folds, runs, rng)
                ids = ((block[:, None, None] * folds + np.arange(folds)[None, :, None]) * runs
                       + np.arange(runs)[None, None, :])
                ok = np.ones(ids.shape, dtype=bool) if not failed_every else (ids % failed_every != failed_every - 1)
                table[first:first + len(block)] = summaries(values, ok, metrics, summary_dtype, block)
                rows = np.zeros(ids.size, dtype=layout)
                rows["id"] = ids.ravel()  # format 3: the coordinates are not stored, they follow from the id
                rows["status"] = ~ok.ravel()
                rows["wall_time"] = 0.001
                rows["rank"] = 1 + rows["id"] % 2
                for m in metrics:
                    rows[m] = np.where(ok, values[m], np.nan).ravel()
                pending = np.concatenate([pending, rows[rng.permutation(len(rows))]])
                full = len(pending) // chunk * chunk
                for offset in range(0, full, chunk):
                    tasks.id.write_direct_chunk((written + offset,), pending[offset:offset + chunk].tobytes())
                written += full
                pending = pending[full:]
            if len(pending):
                padded = np.zeros(chunk, dtype=layout)
                padded[:len(pending)] = pending
                tasks.id.write_direct_chunk((written,), padded.tobytes())
            if failed_every:  # error texts through HDF5 (heap strings), for the few failed rows
                status = tasks.fields("status")[:]
                for position in np.flatnonzero(status):
                    row = tasks[position]
                    row["error"] = ERROR
                    tasks[position] = row
        source.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output")
    parser.add_argument("--features", type=int, help="2^features structures (at most 20)")
    parser.add_argument("--rows", type=int, help="instead of --features: the fewest features giving at least ROWS rows")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--failed", type=int, default=0, help="every FAILED-th task failed (0: none)")
    parser.add_argument("--msweep", default=str(ROOT / "build" / "bin" / "msweep"))
    arguments = parser.parse_args(argv)
    features = arguments.features or max(1, math.ceil(math.log2(arguments.rows / (arguments.folds * arguments.runs))))
    if not 1 <= features <= 20:
        parser.error(f"--features must be 1..20, got {features}")
    write(arguments.output, features, arguments.folds, arguments.runs, arguments.failed, arguments.msweep)
    print(f"{arguments.output}: {(1 << features) * arguments.folds * arguments.runs} rows "
          f"({1 << features} structures x {arguments.folds} folds x {arguments.runs} runs)")


if __name__ == "__main__":
    sys.exit(main())
