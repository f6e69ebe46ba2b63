#!/usr/bin/python3
"""Kill campaign: SIGKILL a whole `mpirun msweep run --resume` session at many random moments
(during start-up, task farming and the frequent flushes), resume after each kill, and check
that nothing finished is lost, nothing is stored twice, and the final file equals an
uninterrupted run task by task (bitwise metrics and arrays).

    /usr/bin/python3 bench/kill_campaign.py [--kills 25] [--seed S] [--ranks 3] [--msweep build/bin/msweep]

Prints "kills survived N/N, tasks lost 0, duplicates 0" and exits 0 when all held.

What is checked after every kill (a "snapshot" is the committed rows of /tasks):
- the file opens (it may be absent only if the first start was killed before it existed);
- its committed ids are unique (no duplicates);
- every row of the previous snapshot is still there with the same bytes, wall time and rank
  included: a flushed task is never lost and never recomputed (recomputing would reproduce
  the same metrics, so only the unchanged wall time and rank prove the row survived);
- every row equals the reference run's row for that id (metrics and arrays, bitwise).
Kills land while msweep writes: flushes every 20 ms with a 200-value array per task make
the HDF5 writes and journal fsyncs a good share of the time. Uses Debian's /usr/bin/python3
(h5py, numpy).
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

JOB = """[job]
name = "kill-campaign"
experiment = "synthetic-load"
seed = 77
[model]
work = {work}
array_size = 200
fail_every = 41
[sweep]
structures = {structures}
runs = 4
[output]
flush_seconds = 0.02
"""


def environment():
    return dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMPI_MCA_rmaps_base_oversubscribe="1", HDF5_USE_FILE_LOCKING="FALSE")


def launch(msweep, ranks, job, output, log):
    command = ["mpirun", "-n", str(ranks), "--oversubscribe", msweep, "run", str(job), "-o", str(output), "-q", "--resume"]
    return subprocess.Popen(command, env=environment(), stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)


def kill_session(process):
    """SIGKILL mpirun and every rank (all in the session start_new_session gave mpirun), by
    session id, and wait until none is left."""
    subprocess.run(["pkill", "-KILL", "-s", str(process.pid)], check=False)
    process.wait()
    deadline = time.time() + 20
    while time.time() < deadline and subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True).returncode == 0:
        time.sleep(0.02)


def snapshot(output):
    """id -> (row bytes, payload bytes) of the committed rows; None when there is no file."""
    if not output.exists():
        return None
    with h5py.File(output, "r", locking=False) as f:
        n = int(f.attrs["rows_committed"])
        rows = f["tasks"][:n]
        payload = f["arrays/payload"][:n]
        status = str(f.attrs["status"])
    ids = rows["id"]
    duplicates = len(ids) - len(np.unique(ids))
    numeric = [name for name in rows.dtype.names if rows.dtype[name] != object]
    content = [name for name in numeric if name not in ("wall_time", "rank")]
    table = {}
    for i in range(len(rows)):
        row = rows[i]
        table[int(ids[i])] = Row(full=b"".join(row[name].tobytes() for name in numeric),
                                 content=b"".join(row[name].tobytes() for name in content) + bytes(row["error"]),
                                 payload=payload[i].tobytes())
    return table, duplicates, status


class Row:
    """A stored row: `full` includes wall time and rank (same bytes = the same row survived,
    not a recomputation); `content` and `payload` must equal the reference run's."""
    __slots__ = ("full", "content", "payload")

    def __init__(self, full, content, payload):
        self.full, self.content, self.payload = full, content, payload

    def same_row(self, other):
        return self.full == other.full and self.payload == other.payload

    def same_content(self, other):
        return self.content == other.content and self.payload == other.payload


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--ranks", type=int, default=3)
    parser.add_argument("--structures", type=int, default=20000, help="grid size / 4 (runs = 4)")
    parser.add_argument("--work", type=int, default=100000, help="multiply-adds per task (~0.1 ms per 100000)")
    parser.add_argument("--msweep", default=str(Path(__file__).resolve().parents[1] / "build" / "bin" / "msweep"))
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else time.time_ns() % 1_000_000
    rng = random.Random(seed)
    print(f"kill campaign: seed {seed}, {args.kills} kills, {args.ranks} ranks, {args.structures * 4} tasks, msweep {args.msweep}")

    directory = Path(tempfile.mkdtemp(prefix="msweep-kill-campaign-"))
    job = directory / "job.toml"
    job.write_text(JOB.format(work=args.work, structures=args.structures))
    reference_path = directory / "reference.h5"
    started = time.monotonic()
    done = subprocess.run(["mpirun", "-n", str(args.ranks), "--oversubscribe", args.msweep, "run", str(job), "-o",
                           str(reference_path), "-q"], env=environment(), capture_output=True, text=True)
    reference_seconds = time.monotonic() - started
    if done.returncode not in (0, 1):
        sys.exit(f"reference run failed ({done.returncode}): {done.stderr}")
    reference, _, _ = snapshot(reference_path)
    print(f"reference run: {len(reference)} tasks in {reference_seconds:.1f} s")

    output = directory / "killed.h5"
    log_path = directory / "runs.log"
    previous = {}
    survived = lost = duplicates = mismatched = 0
    kills = during_startup = 0
    restored_rows = rebuilt = 0
    committed_history = []
    statuses = {}  # file status seen after each kill: "running" = killed mid-run
    failed_runs = 0
    with open(log_path, "w") as log:
        while kills < args.kills:
            # Spread the kills over the run: mostly within the expected remaining time per kill,
            # sometimes in the first ~0.4 s (mpirun start-up, file creation, resume's reopen).
            # Each start spends ~0.3-0.5 s in mpirun and resume before tasks flow; past that, the
            # mean delay (0.8 of the reference time per kill, on 80% of the kills) leaves about a
            # third of the grid for the final resume, so the kills land mid-run.
            if rng.random() < 0.2:
                delay = rng.uniform(0.0, 0.5)
            else:
                delay = rng.uniform(0.5, 0.5 + 1.6 * reference_seconds / args.kills)
            process = launch(args.msweep, args.ranks, job, output, log)
            time.sleep(delay)
            if process.poll() is not None:
                # Finished before the kill: the campaign needs more work per kill (bigger grid).
                log.flush()
                tail = log_path.read_text().strip().splitlines()[-3:]
                print(f"  run ended before kill {kills + 1} (exit {process.returncode}): {' | '.join(tail)}", file=sys.stderr)
                if process.returncode in (0, 1):
                    print(f"  (the job completed: use a larger --structures for {args.kills} kills)", file=sys.stderr)
                else:
                    failed_runs += 1
                break
            kill_session(process)
            kills += 1
            state = snapshot(output)
            if state is None:
                if previous:
                    lost += len(previous)
                    print(f"  kill {kills}: the file vanished", file=sys.stderr)
                else:
                    during_startup += 1
                    survived += 1
                continue
            table, dup, status = state
            duplicates += dup
            missing = [i for i in previous if i not in table or not table[i].same_row(previous[i])]
            wrong = [i for i in table if not table[i].same_content(reference[i])]
            lost += len(missing)
            mismatched += len(wrong)
            if not missing and not dup and not wrong:
                survived += 1
            committed_history.append(len(table))
            statuses[status] = statuses.get(status, 0) + 1
            print(f"  kill {kills:2d} after {delay:5.2f} s: {len(table):6d} rows committed, file {status}")
            previous = table
        log.flush()
    # Resume once more without a kill: it must finish the job.
    final = subprocess.run(["mpirun", "-n", str(args.ranks), "--oversubscribe", args.msweep, "run", str(job), "-o",
                            str(output), "-q", "--resume"], env=environment(), capture_output=True, text=True)
    text = log_path.read_text() + final.stderr
    restored_rows = sum(int(line.split("restored ")[1].split()[0]) for line in text.splitlines() if "restored " in line)
    rebuilt = text.count("rebuilding")
    table, dup, status = snapshot(output)
    duplicates += dup
    lost += len([i for i in previous if i not in table or not table[i].same_row(previous[i])])
    identical = set(table) == set(reference) and all(table[i].same_content(reference[i]) for i in reference)
    print(f"final resume: exit {final.returncode}, status {status}, {len(table)} of {len(reference)} tasks, "
          f"identical to the uninterrupted run: {identical}")
    print(f"file status after the kills: {statuses}; kills that found no file yet (start-up): {during_startup}")
    print(f"rows restored from journals (killed between journal fsync and HDF5 commit): {restored_rows}; "
          f"files rebuilt from a journal: {rebuilt}; rows differing from the reference: {mismatched}")
    print(f"kills survived {survived}/{kills}, tasks lost {lost}, duplicates {duplicates}")
    if not args.keep:
        import shutil
        shutil.rmtree(directory, ignore_errors=True)
    else:
        print(f"kept {directory}")
    ok = failed_runs == 0 and survived == kills and lost == 0 and duplicates == 0 and mismatched == 0 and identical and status == "complete"
    return 0 if ok and kills >= args.kills else 1


if __name__ == "__main__":
    sys.exit(main())
