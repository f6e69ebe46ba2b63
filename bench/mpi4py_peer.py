"""The peer of bench/farm_bench.py: the same trivial tasks through mpi4py.futures
(run as: mpirun -n R /usr/bin/python3 -m mpi4py.futures bench/mpi4py_peer.py TASKS CHUNKSIZE).
Prints the tasks per second of executor.map, start-up excluded. Results are returned to the
master and kept in memory (not stored), which is less than msweep does."""
import sys
import time

from mpi4py.futures import MPIPoolExecutor


def trivial(task_id):
    # The same work as msweep's synthetic-load with work = 0: two draws from a seeded stream.
    x = (task_id * 0x9E3779B97F4A7C15 + 1) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 31
    return task_id, (x & 0xFFFFFFFF) / 2**32, ((x >> 32) & 0xFFFFFFFF) / 2**32


if __name__ == "__main__":
    tasks, chunksize = int(sys.argv[1]), int(sys.argv[2])
    with MPIPoolExecutor() as executor:
        executor.submit(trivial, 0).result()  # workers are up before timing starts
        start = time.perf_counter()
        results = list(executor.map(trivial, range(tasks), chunksize=chunksize))
        seconds = time.perf_counter() - start
    assert len(results) == tasks
    print(f"{tasks / seconds:.1f}")
