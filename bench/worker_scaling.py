#!/usr/bin/python3
"""Worker scaling of any job: runs it with 1 worker (2 ranks) and with 2 workers (3 ranks), both
with --oversubscribe as scripts/mpi-env.sh does (the master sleeps while it waits), and prints
the tasks per second of each, the speed-up and its share of linear (2x), and the load average
before and after.

    bench/worker_scaling.py JOB.toml [--set SECTION.KEY=VALUE ...] [--repeats 1] [--workers 1 2]
                            [--machine-ceiling]

The rate is the farm phase's, from msweep's last line ("N tasks/s while farming"); without it
(a farm phase too short to time) the run's tasks over its wall time. With --repeats N > 1 each
worker count runs N times; the figure printed (and the speed-up) is the best of the N, and the
line gives their spread (slowest-fastest), since on a shared machine one run may be slowed by others. --set overrides go to
`msweep run --set` unchanged, so a job can be shrunk for a trial (--set sweep.runs=1). The figure
means something only on an IDLE machine with at least as many free cores as workers: other
processes on the cores slow the 2-worker run more than the 1-worker one.
When msweep's line gives the workers' share inside tasks, the gap to linear is split in two: the
farm's part (that share, 1 against N workers) and the tasks' own (the mean time of a task inside a
worker, which grows when the other cores are busy: shared caches and memory bandwidth, the clock,
a virtual machine's neighbours). --machine-ceiling measures the second without MPI: the job as
independent single-rank runs, one alone, then as many at once as the largest worker count.
Exit status: 0, or 2 on bad arguments, or 1 when a run fails.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ENV, MSWEEP, SUMMARY, mpirun, set_arguments  # noqa: E402

TASKS_IN_RUN = re.compile(r"this run: (\d+) tasks in ")


def load_average():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def alone_and_together(job, overrides, copies):
    """The machine's own ceiling, without MPI or the farm: the job as `copies` independent
    single-rank runs started at once, against one alone. Returns the mean task milliseconds
    (from each run's in-task share and rate) alone and together."""
    def start(directory, k):
        command = [MSWEEP, "run", str(job), "-o", str(Path(directory) / f"alone{k}.h5"), "-q", "--force",
                   *set_arguments(overrides)]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)

    def milliseconds(process):
        output = process.communicate()[0]
        match = SUMMARY.search(output)
        if process.returncode != 0 or (not match and "farm phase too short to time" not in output):
            sys.exit(f"worker_scaling: a single-rank run failed (exit {process.returncode}):\n{output}".rstrip())
        return 1000 * float(match.group(5)) / 100 / float(match.group(3)) if match and match.group(5) else None

    with tempfile.TemporaryDirectory() as directory:
        alone = milliseconds(start(directory, 0))
        processes = [start(directory, k) for k in range(copies)]
        together = [milliseconds(process) for process in processes]
    if alone is None or None in together:
        return None
    return alone, sum(together) / len(together)


def run_once(job, overrides, workers):
    """One complete run on workers + 1 ranks; returns (tasks/s, tasks, wall seconds, source of the rate,
    the workers' share of time inside tasks or None)."""
    with tempfile.TemporaryDirectory() as directory:
        command = mpirun(workers + 1) + [MSWEEP, "run", str(job), "-o", str(Path(directory) / "out.h5"), "-q",
                                          "--force", *set_arguments(overrides)]
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=ENV, check=False)
        wall = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"worker_scaling: msweep failed (exit {result.returncode}) with {workers} worker(s):\n"
                 f"{result.stdout}{result.stderr}".rstrip())
    match = SUMMARY.search(result.stdout)
    if match:
        in_tasks = float(match.group(5)) / 100 if match.group(5) else None
        return float(match.group(3)), int(match.group(1)), wall, "farm phase", in_tasks
    tasks = TASKS_IN_RUN.search(result.stdout)
    if not tasks:
        sys.exit(f"worker_scaling: no summary line in msweep's output:\n{result.stdout}")
    return int(tasks.group(1)) / wall, int(tasks.group(1)), wall, "whole run", None


def task_milliseconds(run, workers):
    """Mean wall time of one task inside a worker: workers x share in tasks / farm rate."""
    return None if run[4] is None else 1000 * workers * run[4] / run[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("job", type=Path, help="job file (TOML)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="passed to msweep run --set (repeatable)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per worker count; the best rate is reported, with the spread over the runs")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (ranks = workers + 1)")
    parser.add_argument("--machine-ceiling", action="store_true",
                        help="also run the job as independent single-rank runs, one alone and as many at once as the "
                             "largest worker count: how much slower a task gets when the cores are all busy, "
                             "without MPI or the farm")
    args = parser.parse_args()
    if not args.job.is_file():
        parser.error(f"{args.job}: no such job file")
    if args.repeats < 1 or min(args.workers) < 1:
        parser.error("--repeats and --workers must be at least 1")
    # A mistyped --set is refused here, in msweep's own words, not by mpirun's abort banner.
    check = subprocess.run([MSWEEP, "plan", str(args.job), "--no-estimate",
                            *set_arguments(args.set)],
                           capture_output=True, text=True, env=ENV, check=False)
    if check.returncode != 0:
        print(check.stderr.strip() or check.stdout.strip(), file=sys.stderr)
        sys.exit(2)
    print(f"job {args.job}" + "".join(f" --set {o}" for o in args.set) + f"; {os.cpu_count()} cores")
    print("Only meaningful on an idle machine with a free core per worker: compare the load averages.")
    print(f"load average before: {load_average()}")
    if args.repeats > 1:
        print(f"Each rate is the best of {args.repeats} repeats per worker count; spread: slowest-fastest of them.")
    rates, runs_of = {}, {}
    for workers in args.workers:
        runs = [run_once(args.job, args.set, workers) for _ in range(args.repeats)]
        best = max(runs, key=lambda r: r[0])
        rates[workers] = best[0]
        spread = "" if len(runs) == 1 else \
            f"; best of {len(runs)} repeats, spread {min(r[0] for r in runs):.4g}-{best[0]:.4g} tasks/s"
        runs_of[workers] = best
        inside = "" if best[4] is None else \
            f"; workers in tasks {100 * best[4]:.1f}%, {task_milliseconds(best, workers):.4g} ms a task"
        print(f"{workers} worker(s), {workers + 1} ranks: {best[0]:.4g} tasks/s ({best[3]}; {best[1]} tasks, "
              f"{best[2]:.1f} s wall{spread}{inside})")
    base = min(args.workers)
    for workers in args.workers:
        if workers == base:
            continue
        speedup = rates[workers] / rates[base]
        linear = workers / base
        print(f"{workers} against {base} worker(s): {speedup:.3f}x = {100 * speedup / linear:.1f}% of linear ({linear:g}x)"
              + (f", best against best of {args.repeats} repeats" if args.repeats > 1 else ""))
        # The gap to linear splits into the farm's part (workers not inside tasks) and the tasks'
        # own (a task slower when the other cores are busy: shared caches, clock, a noisy VM).
        run, base_run = runs_of[workers], runs_of[base]
        if run[4] is None or base_run[4] is None:
            # Which runs' farm phase lasts long enough to time (msweep's 0.05 s) depends on the
            # machine's speed and load: say why there is no split rather than leave it out.
            print("  not split into the farm's and the tasks' parts: a run's farm phase was too short to time "
                  "(make the job larger)")
        else:
            print(f"  of which the farm: workers in tasks {100 * run[4]:.1f}% against {100 * base_run[4]:.1f}% "
                  f"({100 * run[4] / base_run[4]:.1f}%); the tasks: {task_milliseconds(run, workers):.4g} against "
                  f"{task_milliseconds(base_run, base):.4g} ms a task "
                  f"({100 * task_milliseconds(base_run, base) / task_milliseconds(run, workers):.1f}%)")
    if args.machine_ceiling:
        copies = max(args.workers)
        ceiling = alone_and_together(args.job, args.set, copies)
        if ceiling is None:
            print("machine ceiling: not measured, a single-rank run's farm phase was too short to time (make the job larger)")
        else:
            alone, together = ceiling
            print(f"machine ceiling (no MPI, no farm): {copies} single-rank runs at once take {together:.4g} ms a task "
                  f"against {alone:.4g} ms alone ({100 * alone / together:.1f}%): the share of linear any parallel "
                  f"program gets from these cores for this task")
    print(f"load average after:  {load_average()}")


if __name__ == "__main__":
    main()
