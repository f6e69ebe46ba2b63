#!/usr/bin/python3
"""Full structure sweeps at scale (issue 14): jobs/sweep-20-features.toml (every subset of 20
features, 5 folds, synthetic regression) with 1, 5 and 25 runs, i.e. 5.2M, 26M and 131M tasks,
on master + 2 workers, and what each rank costs.

    /usr/bin/python3 bench/scale_bench.py [--runs 1 5] [--full] [--ranks 3] [--directory DIR] [--keep]

--full adds the papers' protocol, 25 runs (131M tasks: about 24 GB of results plus as much
journal while it runs). Prints one row per size: tasks, wall time, the throughput msweep
reports, master and worker peak RSS (while farming, and over the whole run including the
end-of-run summaries), results file size, journal size at its peak, master CPU seconds
(user + sys), and the share of the workers' time inside tasks (msweep's closing line: the
end-to-end throughput against the compute-only one of the same run). The master CPU percentage is its CPU
seconds over the whole run's wall time, end-of-run summaries included (msweep's own closing
line gives the farm phase's). With --stop-after a long
size is stopped (SIGUSR1) and its row shows the tasks stored by then. A baseline row (the same job with 4 structures, 20 tasks) shows what
a rank holds whatever the task count (binary, MPI, HDF5, the data set).

How it measures, without psutil: every rank runs under GNU time (/usr/bin/time -f, the
kernel's wait4 rusage: ru_maxrss is the peak resident set, the whole run included, and user and
system CPU seconds); the journal's size is polled every 0.2 s (its peak is just before the
run completes and deletes it).
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from common import ENV, MSWEEP, SOURCE, mpirun, msweep_build_report, set_arguments

JOB = SOURCE / "jobs" / "sweep-20-features.toml"
TIME_FORMAT = "%M %U %S %e"  # peak RSS (KiB), user s, system s, elapsed s
# msweep's closing line; a run too short to time (the baseline) has no rate.
SUMMARY = re.compile(r"this run: (\d+) tasks in \S+ on (\d+) ranks? \((?:([\d.]+) tasks/s|farm phase too short)")
# The share of the workers' time inside tasks: end-to-end against compute-only throughput.
IN_TASKS = re.compile(r"workers in tasks ([\d.]+)%")


def gib(size_bytes):
    return f"{size_bytes / 2**30:.2f} GiB"


def mib(kib):
    return f"{kib / 1024:.0f} MiB" if kib else "-"  # "-": the run ended before the journal was seen growing


def rank_processes(msweep, output):
    """{rank: pid} of the msweep processes writing `output` (read from /proc: no psutil)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if not argv or argv[0].decode() != msweep or str(output).encode() not in argv:
                continue
            environ = dict(v.split(b"=", 1) for v in (entry / "environ").read_bytes().split(b"\0") if b"=" in v)
            found[int(environ[b"OMPI_COMM_WORLD_RANK"])] = int(entry.name)
        except (OSError, KeyError, ValueError):
            continue
    return found


def status_kib(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Watch(threading.Thread):
    """Polls every 0.2 s: the journal's largest size, and the master's and workers' peak RSS
    (VmHWM) as of the last poll at which the journal grew, i.e. while tasks were being stored,
    before the end-of-run summaries."""

    def __init__(self, msweep, output):
        super().__init__(daemon=True)
        self.msweep, self.output = msweep, output
        self.journal = Path(str(output) + ".journal")
        self.peak, self.farming_master, self.farming_worker, self.stopped = 0, 0, 0, threading.Event()
        self.ranks = {}

    def run(self):
        while not self.stopped.wait(0.2):
            try:
                size = self.journal.stat().st_size
            except FileNotFoundError:
                continue
            if len(self.ranks) < 2:
                self.ranks = rank_processes(self.msweep, self.output)
            if size > self.peak:
                self.peak = size
                try:
                    self.farming_master = status_kib(self.ranks[0], "VmHWM")
                    self.farming_worker = max(status_kib(pid, "VmHWM") for rank, pid in self.ranks.items() if rank > 0)
                except (OSError, KeyError, ValueError):
                    pass


def run_size(args, directory, label, overrides):
    """One mpirun session; returns the measured row."""
    output = directory / f"{label}.h5"
    times = directory / f"time.{label}"
    times.mkdir()
    # GNU time per rank, its report named by the rank Open MPI gives the process.
    command = mpirun(args.ranks) + [
        "sh", "-c", f'exec /usr/bin/time -f "{TIME_FORMAT}" -o {times}/rank.$OMPI_COMM_WORLD_RANK "$0" "$@"',
        args.msweep, "run", str(JOB), "-o", str(output), "-q", "--force", *set_arguments(overrides)]
    watch = Watch(args.msweep, output)
    watch.start()
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        stdout, stderr = process.communicate(timeout=args.stop_after)
    except subprocess.TimeoutExpired:
        # To the master itself: mpirun would forward it to GNU time, which dies of it. The master
        # stops after the running tasks, releases the workers and exits 4.
        # On a busy machine the watcher may not have found the ranks yet: wait for the master.
        while 0 not in watch.ranks and process.poll() is None:
            time.sleep(0.1)
        if 0 in watch.ranks:
            os.kill(watch.ranks[0], signal.SIGUSR1)
        stdout, stderr = process.communicate()
    wall = time.monotonic() - start
    watch.stopped.set()
    watch.join()
    match = SUMMARY.search(stdout)
    if process.returncode not in (0, 1, 4) or not match or (process.returncode != 0 and "interrupted" not in stdout):
        raise RuntimeError(f"msweep failed ({process.returncode}): {stdout}{stderr}")
    ranks = {}
    for report in times.iterdir():
        fields = report.read_text().split()[-4:]  # GNU time puts a "Command exited..." line first on failure
        ranks[int(report.name.split(".")[1])] = (int(fields[0]), float(fields[1]) + float(fields[2]))
    row = {
        "label": label,
        "tasks": int(match.group(1)),
        "wall": wall,
        "rate": float(match.group(3)) if match.group(3) else None,
        "in_tasks": float(IN_TASKS.search(stdout).group(1)) if IN_TASKS.search(stdout) else None,
        "interrupted": process.returncode != 0,  # mpirun reports a rank's 4 as 1
        "farming_master_rss": watch.farming_master,
        "farming_worker_rss": watch.farming_worker,
        "master_rss": ranks[0][0],
        "worker_rss": max(rss for rank, (rss, _) in ranks.items() if rank > 0),
        "master_cpu": ranks[0][1],
        "file": output.stat().st_size,
        "journal": watch.peak,
    }
    if not args.keep:
        output.unlink()
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 5], help="[sweep] runs of each size (x 5.2M tasks)")
    parser.add_argument("--full", action="store_true", help="add 25 runs (131M tasks, the papers' protocol)")
    parser.add_argument("--ranks", type=int, default=3)
    parser.add_argument("--msweep", default=MSWEEP)
    parser.add_argument("--directory", help="where the results files go (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the results files")
    parser.add_argument("--stop-after", type=float, help="stop each run after this many seconds (SIGUSR1: the row then "
                        "shows the tasks stored so far, marked interrupted)")
    args = parser.parse_args()
    runs = sorted(set(args.runs + ([25] if args.full else [])))
    print(msweep_build_report(args.msweep))
    print(f"job {JOB.relative_to(SOURCE)}, {args.ranks} ranks (mpirun --oversubscribe), {os.cpu_count()} cores")
    directory = Path(args.directory) if args.directory else Path(tempfile.mkdtemp(prefix="scale-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    header = (f"{'tasks':>11} {'wall':>7} {'tasks/s':>8} {'master RSS':>17} {'worker RSS':>17} {'results file':>12} "
              f"{'journal peak':>12} {'master CPU':>15} {'in tasks':>8}")
    print(header)
    print(f"{'':>28} {'farming / peak':>17} {'farming / peak':>17}", flush=True)

    def show(row, note=""):
        rate = f"{row['rate']:.0f}" if row['rate'] else "-"  # "-": a farm phase too short to time
        print(f"{row['tasks']:>11,} {row['wall']:>6.0f}s {rate:>8} "
              f"{mib(row['farming_master_rss']):>8} / {mib(row['master_rss']):>6} {mib(row['farming_worker_rss']):>8} / {mib(row['worker_rss']):>6} "
              f"{gib(row['file']):>12} {gib(row['journal']):>12} "
              f"{row['master_cpu']:>6.0f} s ({100 * row['master_cpu'] / row['wall']:.0f}%)"
              f" {(str(row['in_tasks']) + '%') if row['in_tasks'] is not None else '-':>8}"
              f"{'  interrupted' if row['interrupted'] else ''}{note}", flush=True)

    try:
        show(run_size(args, directory, "baseline", ["sweep.structures=[[\"x0\"], [\"x1\"], [\"x0\", \"x1\"], []]",
                                                    "sweep.runs=1"]), "  baseline: 4 structures x 5 folds")
        for count in runs:
            show(run_size(args, directory, f"runs{count}", [f"sweep.runs={count}"]))
    finally:
        if not args.directory and not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
        elif args.keep:
            print(f"results files kept in {directory} (runsN.h5 per size, baseline.h5)")


if __name__ == "__main__":
    main()
