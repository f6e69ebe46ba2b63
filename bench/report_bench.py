#!/usr/bin/python3
"""Time and peak memory of msweep-report on large results files; prints a Markdown table.

    bench/report_bench.py FILE.h5 [FILE.h5 ...]              # files made by bench/make_results.py
    bench/make_results.py /tmp/r5m.h5 --features 20 --folds 5 --runs 1     # 5.2M rows, 1.6 GB
    bench/make_results.py /tmp/r26m.h5 --features 20 --folds 5 --runs 5    # 26M rows, 5.4 GB
    bench/make_results.py /tmp/r131m.h5 --features 20 --folds 5 --runs 25  # 131M rows, 27 GB

Each report runs in its own process; its peak resident memory (ru_maxrss) and CPU time come
from wait4(). CPU time (user + system) is the figure to compare on a shared machine: wall time
grows with whatever else runs there. The reports go to a temporary directory.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py

REPORT = Path(__file__).resolve().parent.parent / "analysis" / "msweep-report"


def measure(path):
    """(wall s, cpu s, peak RSS MB) of one msweep-report run on ``path``."""
    with tempfile.TemporaryDirectory() as output:
        start = time.monotonic()
        child = subprocess.Popen([sys.executable, str(REPORT), str(path), "-o", output],
                                 stdout=subprocess.DEVNULL, env={**os.environ, "MPLBACKEND": "Agg"})
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - start
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"report_bench: msweep-report {path} failed with status {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main(paths):
    if not paths:
        raise SystemExit(__doc__)
    print("| rows | structures x folds x runs | file | /summaries | wall | CPU (user + sys) | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for path in paths:
        with h5py.File(path, "r", locking=False) as f:
            rows = int(f["state"][0]["rows_committed"] if "state" in f else f.attrs["rows_committed"])
            shape = " x ".join(str(len(f["axes"][a])) for a in ("structure", "fold", "run"))
            summaries = "yes" if "summaries" in f else "no"
        wall, cpu, rss = measure(path)
        print(f"| {rows / 1e6:.1f}M | {shape} | {Path(path).stat().st_size / 1e9:.1f} GB | {summaries} | "
              f"{wall:.0f} s | {cpu:.0f} s | {rss:.0f} MB |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
