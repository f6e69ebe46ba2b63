#!/usr/bin/python3
"""Farm overhead and CPU efficiency, msweep against mpi4py.futures in the same invocation.

  /usr/bin/python3 bench/farm_bench.py [--tasks N] [--cpu-tasks M] [--part all|trivial|cpu]

1. Trivial tasks per second and microseconds per task with 1 master + 1, 2, 3 workers:
   msweep (results stored in HDF5) vs mpi4py.futures at chunksize 1 and at its best chunksize.
2. CPU-bound tasks (~2 ms each) with master + 2 workers on 2 cores: the master's CPU share,
   and throughput against one process running the same tasks serially (ideal: 2x).
"""
import argparse
import subprocess

from common import ENV, SOURCE, mpirun, msweep_build_report, run_msweep, synthetic_load_job

CHUNKSIZES = [1, 16, 256, 4096]


def mpi4py_rate(ranks, tasks, chunksize):
    command = mpirun(ranks) + ["/usr/bin/python3", "-m", "mpi4py.futures", str(SOURCE / "bench" / "mpi4py_peer.py"), str(tasks), str(chunksize)]
    result = subprocess.run(command, capture_output=True, text=True, env=ENV, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100000, help="trivial tasks per configuration")
    parser.add_argument("--cpu-tasks", type=int, default=2000, help="CPU-bound tasks (~2 ms each)")
    parser.add_argument("--part", choices=["all", "trivial", "cpu"], default="all", help="run one part only")
    args = parser.parse_args()
    print(msweep_build_report())
    print("peer mpi4py.futures: pure Python tasks, no BLAS; one thread per rank")
    if args.part in ("all", "trivial"):
        trivial_tasks(args)
    if args.part in ("all", "cpu"):
        cpu_bound_tasks(args)


def trivial_tasks(args):
    print(f"1. Trivial tasks ({args.tasks} per run), tasks per second (microseconds per task)")
    print(f"{'ranks':>5} {'msweep (stored)':>22} " + " ".join(f"{'mpi4py cs=' + str(c):>20}" for c in CHUNKSIZES) + f" {'x cs=1':>7} {'x best':>7}")
    for ranks in [2, 3, 4]:
        _, ours, _ = run_msweep(synthetic_load_job(args.tasks), ranks)
        peers = [mpi4py_rate(ranks, args.tasks, c) for c in CHUNKSIZES]
        cells = " ".join(f"{p:>10.0f} ({1e6 / p:>6.1f} us)" for p in peers)
        print(f"{ranks:>5} {ours:>10.0f} ({1e6 / ours:>6.2f} us) {cells} {ours / peers[0]:>7.0f} {ours / max(peers):>7.1f}")


def cpu_bound_tasks(args):
    work = 1_500_000  # ~2 ms of dependent multiply-adds
    print(f"\n2. CPU-bound tasks ({args.cpu_tasks} x ~2 ms), 2 cores")
    _, serial, _ = run_msweep(synthetic_load_job(args.cpu_tasks, work=work), 1)
    _, farmed, master_cpu = run_msweep(synthetic_load_job(args.cpu_tasks, work=work), 3)
    print(f"   one process, serial:          {serial:8.1f} tasks/s")
    print(f"   master + 2 workers (3 ranks): {farmed:8.1f} tasks/s = {farmed / serial:.3f}x serial = {100 * farmed / (2 * serial):.1f}% of the 2x ideal")
    print(f"   master CPU share:             {master_cpu:8.2f}% of one core")


if __name__ == "__main__":
    main()
