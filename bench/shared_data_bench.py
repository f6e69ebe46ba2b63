#!/usr/bin/python3
"""Data once per node, not once per rank (issue 14): what each rank of one node holds with the
data set shared (the default under mpirun) and with private copies (MSWEEP_SHARED_DATA=0).

    /usr/bin/python3 bench/shared_data_bench.py [--ranks 2 4] [--train 60000] [--test 10000] [--runs 3]

The job is jobs/param-ordering-fashion-mnist-small.toml with --set overrides: Fashion-MNIST
(Debian's dataset-fashion-mnist; by default the full
60000 training and 10000 test images, 784 pixels: 70000 x 784 doubles, 419 MiB, plus the fixed
split's standardized transposed copy the networks train on, as much again), with a short
training so the run is about loading and holding the data. Prints one row per (ranks, sharing):
per rank the peak RSS and the peak PSS (proportional set size: a page shared by k processes counts
1/k in each), for the master (rank 0, which also loads the data) and the largest worker, and the
peak over the run of the ranks' summed RSS and summed PSS. The summed PSS is what the node really
spends; the summed RSS counts shared pages once per rank.

How it measures, without psutil: the msweep processes under mpirun are found through /proc
(parent links), and every 0.1 s each one's /proc/PID/smaps_rollup (Rss, Pss) is read; the peaks
are the largest samples (a sample can miss a peak shorter than 0.1 s: the loading rank's private
copy, released as soon as it is in the shared window).
"""
import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from common import ENV, MSWEEP, SOURCE, mpirun, set_arguments

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


# The repository's small job with the full data and a short training (--set overrides).
JOB = SOURCE / "jobs" / "param-ordering-fashion-mnist-small.toml"


def overrides(train, test, runs):
    settings = [f"data.train_objects={train}", f"data.test_objects={test}", f"sweep.runs={runs}", "sweep.t0=20",
                "sweep.continue_iterations=20", "sweep.fractions=[0.0, 1.0]"]
    return set_arguments(settings)


def children(pid):
    """Every descendant of pid, from /proc's parent links."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(entry))
        except OSError:
            continue
    found, stack = [], [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def msweep_rank(pid):
    """The MPI rank of an msweep process (from OMPI_COMM_WORLD_RANK), or None for other processes."""
    try:
        if Path(f"/proc/{pid}/comm").read_text().strip() != "msweep":
            return None
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in environ:
        if item.startswith(b"OMPI_COMM_WORLD_RANK="):
            return int(item.split(b"=", 1)[1])
    return None


def rss_pss(pid):
    """(Rss, Pss) in KiB from /proc/PID/smaps_rollup, or None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("Rss:", "Pss:"):
            values[parts[0][:-1]] = int(parts[1])
    return values.get("Rss"), values.get("Pss")


def measure(settings, ranks, shared):
    env = dict(ENV, OMPI_MCA_rmaps_base_oversubscribe="1")
    if not shared:
        env["MSWEEP_SHARED_DATA"] = "0"
    with tempfile.TemporaryDirectory() as directory:
        command = mpirun(ranks) + [MSWEEP, "run", str(JOB), "-o", str(Path(directory) / "out.h5"), "-q", *settings]
        start = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        peak_rss, peak_pss = {}, {}  # per rank, KiB
        peak_sum_rss = peak_sum_pss = 0
        while process.poll() is None:
            ranks_now = {}
            for pid in children(process.pid):
                rank = msweep_rank(pid)
                if rank is not None:
                    ranks_now[rank] = pid
            sample = {rank: rss_pss(pid) for rank, pid in ranks_now.items()}
            sample = {rank: value for rank, value in sample.items() if value and value[0] is not None}
            for rank, (rss, pss) in sample.items():
                peak_rss[rank] = max(peak_rss.get(rank, 0), rss)
                peak_pss[rank] = max(peak_pss.get(rank, 0), pss)
            peak_sum_rss = max(peak_sum_rss, sum(v[0] for v in sample.values()))
            peak_sum_pss = max(peak_sum_pss, sum(v[1] for v in sample.values()))
            time.sleep(0.1)
        out, err = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"msweep failed ({process.returncode}): {out}{err}")
        return {"wall": time.monotonic() - start, "rss": peak_rss, "pss": peak_pss, "sum_rss": peak_sum_rss, "sum_pss": peak_sum_pss}


def mib(kib):
    return f"{kib / 1024:,.0f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--train", type=int, default=60000, help="Fashion-MNIST training images (at most 60000)")
    parser.add_argument("--test", type=int, default=10000, help="Fashion-MNIST test images (at most 10000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of the job (2 tasks each)")
    args = parser.parse_args()
    if not FASHION_MNIST.is_dir():
        raise SystemExit(f"{FASHION_MNIST}: not found (apt-get install dataset-fashion-mnist)")
    data_mib = (args.train + args.test) * 785 * 8 / 2**20
    print(f"param-ordering, Fashion-MNIST {args.train} + {args.test} images x 784 pixels "
          f"(data set {data_mib:.0f} MiB as doubles, its split as much again); load average {os.getloadavg()[0]:.1f}")
    print()
    print("| ranks | data | master RSS | master PSS | worker RSS (max) | worker PSS (max) | sum RSS | sum PSS | wall |")
    print("|---|---|---|---|---|---|---|---|---|")
    settings = overrides(args.train, args.test, args.runs)
    for ranks in args.ranks:
        for shared in (True, False):
            m = measure(settings, ranks, shared)
            workers = [r for r in m["rss"] if r != 0]
            print(f"| {ranks} | {'shared' if shared else 'private'} | {mib(m['rss'].get(0, 0))} MiB | {mib(m['pss'].get(0, 0))} MiB "
                  f"| {mib(max((m['rss'][r] for r in workers), default=0))} MiB | {mib(max((m['pss'][r] for r in workers), default=0))} MiB "
                  f"| {mib(m['sum_rss'])} MiB | {mib(m['sum_pss'])} MiB | {m['wall']:.0f} s |", flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
