#!/usr/bin/python3
"""Kill campaign: SIGKILL a whole `mpirun msweep run --resume` session again and again, in every
phase of a run (start-up, farming, resume's scan of the file, recovery from the journal, the
rebuild of a damaged file, the final summaries), plus SIGKILLs of single worker ranks; resume
after each kill and check that nothing finished is lost, nothing is stored twice, and every
cycle ends with a file equal task by task to an uninterrupted run.

    /usr/bin/python3 bench/kill_campaign.py [--kills 100] [--worker-kills 10] [--cycles 4]
        [--seed S] [--ranks 3] [--msweep build/bin/msweep] [--keep]

Prints a table per phase (kills, tasks lost, duplicates, rows restored), the kills made
against the kills asked for, and as its last line "kills survived N/N, tasks lost 0,
duplicates 0, rows differing from the reference 0" (N: every SIGKILL made, worker kills
included; a kill survived when nothing was lost, duplicated or wrong after it); exits 0 when
everything held.

How a kill lands in a phase, deliberately rather than by a timer: the session is frozen
(SIGSTOP to mpirun and every rank, by session id), the master's phase is read from what it has
open (/proc/PID/fd and fdinfo: the results file, the journal open for reading or for writing,
PATH.rebuilding) and from the journal's content, and only then is the session SIGKILLed, so
the phase recorded is the one the process was in when it died. A kill aimed at a phase waits
for the state that proves the phase has begun:
- start-up: a random moment in the first half second (mpirun, MPI_Init, file creation);
- resume: the master has the results file open and no journal open (the scan of the stored
  rows before the journal is read);
- restore: the master reads the journal (it restores rows the HDF5 file lacks). To make this
  phase long and certain, the results file is first replaced by a copy saved at an earlier
  kill while the journal is kept: exactly the state a crash leaves when the HDF5 writes of the
  last flushes were lost but the fsync'd journal was not;
- rebuild: the master has PATH.rebuilding open (the results file was damaged beforehand: its superblock
  overwritten, as a kill during an HDF5 metadata write can leave it);
- farming: the journal is open for writing and lacks tasks; then the kill waits until the
  journal holds a random share (up to 3/4) of the tasks still missing, so it lands while tasks
  flow however small the grid is (a timer would outlast a short farming phase);
- summaries: the journal holds every task of the grid while the master still runs (after the
  last flush: the summaries are computed and the status written).
Worker kills SIGKILL one non-master rank while tasks flow; Open MPI then ends the job, and the
file must stay resumable.
Once a cycle's file is complete (a run aimed at a phase finished the grid before the kill
landed) only start-up can still be aimed at: a resume of a complete file has no farming,
restore, rebuild or summaries, and no worker computes. The cycle's remaining kills are then not
made, and the summary says how many and which.
An aim that lands in another phase (the phase was too short to see) is a kill all the same,
counted where it landed, and is tried again (up to 5 times): a campaign can make more session
kills than asked.

After every kill the durable rows (the file's committed rows plus the journal's rows) must
include every durable row seen before with the same bytes (wall time and rank included: the
row survived rather than being recomputed), hold no id twice in the file, and equal the
reference run's rows. Every launch's exit status and stderr go to the log; an exit that is
neither our kill nor 0/1/4 is reported with its stderr. Uses Debian's /usr/bin/python3
(h5py, numpy).
"""
import argparse
import contextlib
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import h5py
import numpy as np

JOB = """[job]
name = "kill-campaign"
experiment = "synthetic-load"
seed = 77
[model]
work = {work}
array_size = {array_size}
fail_every = 41
[sweep]
structures = {structures}
runs = 4
[output]
flush_seconds = 0.02
"""

PHASES = ("start-up", "resume", "restore", "rebuild", "farming", "summaries", "worker")


def environment():
    return dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMPI_MCA_rmaps_base_oversubscribe="1", HDF5_USE_FILE_LOCKING="FALSE")


# ------------------------------------------------------------------ processes and their state

def session_processes(sid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def open_files(pid):
    """path -> open flags of the regular files `pid` has open."""
    files = {}
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return files
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            flags = next(line for line in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines() if line.startswith("flags"))
        except (OSError, StopIteration):
            continue
        if target.startswith("/"):
            files[target] = int(flags.split()[1], 8)
    return files


def state_letter(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def journal_rows(path):
    """Rows in the journal's complete records (headers only: fast enough to poll)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12:
                return 0
            (text_length,) = struct.unpack("<I", head[8:12])
            offset = 12 + text_length + 8
            size = os.fstat(f.fileno()).st_size
            rows = 0
            while offset + 24 <= size:
                f.seek(offset)
                magic, count, payload, _ = struct.unpack("<IIQQ", f.read(24))
                if magic != 0x53574F52 or offset + 24 + payload > size:
                    break
                rows += count
                offset += 24 + payload
            return rows
    except OSError:
        return 0


def read_journal(path):
    """id -> (status, wall bytes, rank, metrics bytes, payload bytes) of the journal's valid
    records (docs/results-format.md: header, then "ROWS" records of rows)."""
    rows = {}
    try:
        data = Path(path).read_bytes()
    except OSError:
        return rows
    if len(data) < 12:
        return rows
    (text_length,) = struct.unpack_from("<I", data, 8)
    offset = 12 + text_length + 8
    while offset + 24 <= len(data):
        magic, count, payload, _ = struct.unpack_from("<IIQQ", data, offset)
        if magic != 0x53574F52 or offset + 24 + payload > len(data):
            break
        at = offset + 24
        for _ in range(count):
            task, status, error_length = struct.unpack_from("<QbI", data, at)
            at += 13 + error_length
            wall = data[at:at + 8]
            (rank,) = struct.unpack_from("<i", data, at + 8)
            (metric_count,) = struct.unpack_from("<I", data, at + 12)
            metrics = data[at + 16:at + 16 + 8 * metric_count]
            at += 16 + 8 * metric_count
            (array_count,) = struct.unpack_from("<I", data, at)
            at += 4
            payload_bytes = b""
            for _ in range(array_count):
                (n,) = struct.unpack_from("<Q", data, at)
                payload_bytes += data[at + 8:at + 8 + 8 * n]
                at += 8 + 8 * n
            rows.setdefault(task, (status, wall, rank, metrics, payload_bytes))
        offset += 24 + payload
    return rows


class Session:
    """One `mpirun msweep run --resume` in its own session, its stderr in a file."""

    def __init__(self, args, job, output, log_path):
        command = ["mpirun", "-n", str(args.ranks), "--oversubscribe", args.msweep, "run", str(job), "-o", str(output),
                   "-q", "--resume"]
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.output = str(output)
        self.process = subprocess.Popen(command, env=environment(), stdout=subprocess.DEVNULL, stderr=self.log,
                                        start_new_session=True)
        self.sid = self.process.pid
        self.ranks = []
        self.master = None
        self.rank_name = Path(args.msweep).name[:15]  # /proc/PID/comm: the executable's name, cut to 15

    def rank_pids(self):
        if len(self.ranks) < 2:
            self.ranks = [pid for pid in session_processes(self.sid) if comm(pid) == self.rank_name]
        return self.ranks

    def master_files(self):
        """(master pid, {path: flags} of its results-related files); (None, {}) when no rank has one open."""
        for pid in [self.master] if self.master else self.rank_pids():
            files = {p: f for p, f in open_files(pid).items() if p.startswith(self.output)}
            if any(flags & 3 for flags in files.values()):
                self.master = pid  # only the master writes: poll it alone from now on (faster)
            if files:
                return pid, files
        return None, {}

    def phase(self, total):
        """The master's phase, read from what it has open (exact when the session is frozen)."""
        _, files = self.master_files()
        journal = self.output + ".journal"
        if any(p.endswith(".rebuilding") for p in files):  # not the file alone: a killed rebuild leaves it
            return "rebuild"
        if any(p.endswith(".creating") for p in files):
            return "start-up"
        if journal in files:
            if files[journal] & 3 == 0:
                return "restore"
            return "summaries" if journal_rows(journal) >= total else "farming"
        if self.output in files:
            if files[self.output] & 3:  # open for writing: resume's scan of the stored rows
                return "resume"
            # Read-only: every rank's check of the file before MPI_Init, or the fsync after the summaries.
            return "summaries" if file_status(self.output) == "complete" else "start-up"
        return "start-up" if self.process.poll() is None else "ended"

    def freeze(self):
        """SIGSTOP to every process of the session, the master first (at once: no subprocess)."""
        master, _ = self.master_files()
        for pid in ([master] if master else []) + session_processes(self.sid):
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all(state_letter(pid) in ("T", "t", "Z", "X", None) for pid in session_processes(self.sid)):
                return
            time.sleep(0.001)

    def kill(self):
        subprocess.run(["pkill", "-KILL", "-s", str(self.sid)], check=False)
        self.process.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and session_processes(self.sid):
            time.sleep(0.01)
        self.log.close()

    def wait(self, timeout=900):
        self.process.wait(timeout=timeout)
        self.log.close()
        return self.process.returncode

    def stderr(self):
        return Path(self.log_path).read_text()


def wait_for(session, predicate, timeout=120):
    """Polls until predicate() holds (True) or the session has ended (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if session.process.poll() is not None:
            return False
        time.sleep(0.0005)
    return False


# ------------------------------------------------------------------ the file's content

@contextlib.contextmanager
def open_killed(output):
    """The results file for reading, as a user would read it after a kill. A kill during the
    short part of a resume that has the file open outside SWMR mode (it rewrites provenance
    attributes before SWMR writing starts again) leaves the superblock marked "open for
    writing", and SWMR readers refuse it ("not already open for SWMR writing") until the next
    resume clears the mark. docs/results-format.md's remedy for such a file is to read a copy
    cleared with `h5clear -s`, so that is what is read then; the file itself is left as it is."""
    try:
        opened = h5py.File(output, "r", swmr=True, locking=False)
    except OSError as error:
        if "open for" not in str(error):
            raise
        opened = None
    if opened is not None:
        with opened:
            yield opened
        return
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "cleared.h5"
        shutil.copyfile(output, copy)
        subprocess.run(["h5clear", "-s", str(copy)], check=True, capture_output=True)
        with h5py.File(copy, "r", swmr=True, locking=False) as f:
            yield f


def file_rows(output):
    """id -> (status, wall bytes, rank, payload bytes, content bytes) of the committed rows;
    (None, 0) when HDF5 cannot read the file (missing or damaged)."""
    try:
        with open_killed(output) as f:
            state = f["state"][0]
            n = int(state["rows_committed"])
            rows = f["tasks"][:n]
            payload = f["arrays/payload"][:n]
            status = state["status"].decode()
    except (OSError, KeyError, subprocess.CalledProcessError):
        return None, 0, None
    ids = rows["id"]
    duplicates = len(ids) - len(np.unique(ids))
    content_fields = [name for name in rows.dtype.names if rows.dtype[name] != object and name not in ("wall_time", "rank", "id")]
    table = {}
    for i in range(len(rows)):
        row = rows[i]
        table[int(ids[i])] = (int(row["status"]), row["wall_time"].tobytes(), int(row["rank"]), payload[i].tobytes(),
                              b"".join(row[name].tobytes() for name in content_fields))
    return table, duplicates, status


def file_status(output):
    try:
        with open_killed(output) as f:
            return f["state"][0]["status"].decode()
    except (OSError, KeyError, subprocess.CalledProcessError):
        return None


def durable_rows(output):
    """id -> (status, wall bytes, rank) of the rows a resume can rely on (file + journal). The
    same wall time and rank prove the row survived rather than being computed again; its
    content is compared with the reference run separately (a failed task's row has no array
    in the journal, and a zero-filled one in the file)."""
    table, duplicates, status = file_rows(output)
    durable = {task: (status, wall, rank) for task, (status, wall, rank, _, _) in (table or {}).items()}
    for task, (status, wall, rank, _, _) in read_journal(str(output) + ".journal").items():
        durable.setdefault(task, (status, wall, rank))
    return durable, table, duplicates, status


def damage(output):
    """Overwrites the HDF5 superblock signature: HDF5 can no longer open the file."""
    with open(output, "r+b") as f:
        f.write(b"\0" * 8)


# ------------------------------------------------------------------ the campaign

class Campaign:
    def __init__(self, args, directory, reference):
        self.args = args
        self.directory = directory
        self.reference = reference
        self.total = len(reference)
        self.job = directory / "job.toml"
        self.launches = 0
        self.stats = defaultdict(Counter)  # phase -> kills, lost, duplicates, restored, wrong
        self.failures = []  # unexpected exits: (what, status, stderr)
        self.previous_phase = None
        self.kills_made = self.kills_survived = 0

    def launch(self, output):
        self.launches += 1
        return Session(self.args, self.job, output, self.directory / f"launch-{self.launches:04d}.log")

    def account_restored(self, session):
        """Rows this launch restored from the journal, credited to the kill before it."""
        if self.previous_phase is None:
            return
        for line in session.stderr().splitlines():
            if "restored " in line:
                self.stats[self.previous_phase]["restored"] += int(line.split("restored ")[1].split()[0])
            if "rebuilding" in line:
                self.stats[self.previous_phase]["rebuilt"] += 1

    def check_after(self, phase, output, before, survived=True):
        """Durable rows must keep every earlier durable row; committed rows unique and right.
        A kill (any phase but "ended") survived when that held and its exit was expected."""
        durable, table, duplicates, _ = durable_rows(output)
        lost = [task for task, row in before.items() if durable.get(task) != row]
        wrong = [task for task, row in (table or {}).items()
                 if row[4] != self.reference[task][4] or row[3] != self.reference[task][3] or row[0] != self.reference[task][0]]
        self.stats[phase]["kills" if phase != "ended" else "runs"] += 1
        self.stats[phase]["lost"] += len(lost)
        self.stats[phase]["duplicates"] += duplicates
        self.stats[phase]["wrong"] += len(wrong)
        if phase != "ended":
            self.kills_made += 1
            self.kills_survived += survived and not (lost or duplicates or wrong)
        if lost or duplicates or wrong:
            print(f"    {phase}: {len(lost)} lost, {duplicates} duplicates, {len(wrong)} wrong", file=sys.stderr)
        return durable

    def unexpected(self, what, session, status):
        text = session.stderr().strip()
        self.failures.append((what, status, text))
        print(f"  UNEXPECTED exit {status} ({what}), log {session.log_path}:\n    " + "\n    ".join(text.splitlines()[-8:]),
              file=sys.stderr)

    def kill_in(self, target, output, rng, before):
        """Launches a resume and SIGKILLs the session in `target`; returns (phase hit, durable rows)."""
        session = self.launch(output)
        # Wait for the target phase; a later one (the target was too short to see, or the
        # file held nothing for it) ends the wait too, and the kill lands there.
        later = {"start-up": (), "resume": ("restore", "farming", "summaries"), "restore": ("farming", "summaries"),
                 "rebuild": ("restore", "farming", "summaries"), "farming": ("summaries",), "worker": ("summaries",),
                 "summaries": ()}[target]
        aimed = "farming" if target == "worker" else target
        if target == "start-up":
            time.sleep(rng.uniform(0.0, 0.5))
        elif wait_for(session, lambda: session.phase(self.total) in (aimed,) + later, timeout=900) and aimed == "farming":
            journal = session.output + ".journal"
            stored = journal_rows(journal)
            share = stored + int(rng.uniform(0.0, 0.75) * (self.total - stored))
            wait_for(session, lambda: journal_rows(journal) >= share or session.phase(self.total) != "farming", timeout=900)
        if session.process.poll() is not None:
            status = session.wait()
            self.account_restored(session)
            if status not in (0, 1):
                self.unexpected(f"a run aimed at {target} ended by itself", session, status)
            self.previous_phase = None
            return "ended", self.check_after("ended", output, before)
        survived = True
        if target == "worker":
            master, _ = session.master_files()
            workers = [pid for pid in session.rank_pids() if pid != master]
            phase = session.phase(self.total)
            if master is None or not workers or phase != "farming":
                session.kill()
                phase = "missed"
            else:
                os.kill(rng.choice(workers), signal.SIGKILL)
                try:
                    status = session.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    session.kill()  # Open MPI did not end the job: counted as a hang
                    status = "hang"
                # Open MPI ends the job with its own status for a dead rank; 2 or 3 would be msweep's.
                if status in (2, 3, "hang"):
                    self.unexpected("after a worker kill", session, status)
                    survived = False
                phase = "worker"
        else:
            session.freeze()
            phase = session.phase(self.total)
            session.kill()
        self.account_restored(session)
        self.previous_phase = phase
        return phase, self.check_after(phase, output, before, survived)

    def finish(self, output, before):
        """Resume without a kill; the file must equal the reference task by task."""
        session = self.launch(output)
        status = session.wait()
        self.account_restored(session)
        self.previous_phase = None
        if status not in (0, 1):
            self.unexpected("the final resume", session, status)
        durable, table, duplicates, file_status = durable_rows(output)
        lost = [task for task, row in before.items() if durable.get(task) != row]
        identical = (table is not None and set(table) == set(self.reference) and file_status == "complete" and duplicates == 0
                     and all(table[t][4] == self.reference[t][4] and table[t][3] == self.reference[t][3] for t in table))
        return identical, len(lost), duplicates


def cycle_plan(kills, rng):
    """The targets of one cycle, in an order that makes each reachable: start-up first, then
    farming kills interleaved with the recovery phases, worker kills, and the summaries last."""
    middle = ["farming"] * max(1, kills // 3) + ["resume"] * max(1, kills // 6) + ["restore"] * max(1, kills // 8) + \
             ["rebuild"] * max(1, kills // 10)
    rng.shuffle(middle)
    plan = ["start-up"] * max(1, kills // 12) + middle
    summaries = max(1, kills // 8)
    plan = plan[:max(1, kills - summaries)]
    return plan + ["summaries"] * (kills - len(plan))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=100, help="SIGKILLs of the whole session, over all cycles")
    parser.add_argument("--worker-kills", type=int, default=10, help="SIGKILLs of a single worker rank")
    parser.add_argument("--cycles", type=int, default=4, help="runs from an empty file to a complete one")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--ranks", type=int, default=3)
    parser.add_argument("--structures", type=int, default=20000, help="grid size / 4 (runs = 4)")
    parser.add_argument("--work", type=int, default=100000, help="multiply-adds per task (~0.1 ms per 100000)")
    parser.add_argument("--array-size", type=int, default=200)
    parser.add_argument("--msweep", default=str(Path(__file__).resolve().parents[1] / "build" / "bin" / "msweep"))
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else time.time_ns() % 1_000_000
    rng = random.Random(seed)
    total = args.structures * 4
    print(f"kill campaign: seed {seed}, {args.kills} session kills and {args.worker_kills} worker kills over {args.cycles} "
          f"cycles, {args.ranks} ranks, {total} tasks, msweep {args.msweep}")

    directory = Path(tempfile.mkdtemp(prefix="msweep-kill-campaign-"))
    (directory / "job.toml").write_text(JOB.format(work=args.work, structures=args.structures, array_size=args.array_size))
    reference_path = directory / "reference.h5"
    started = time.monotonic()
    done = subprocess.run(["mpirun", "-n", str(args.ranks), "--oversubscribe", args.msweep, "run", str(directory / "job.toml"),
                           "-o", str(reference_path), "-q"], env=environment(), capture_output=True, text=True)
    if done.returncode not in (0, 1):
        sys.exit(f"reference run failed ({done.returncode}): {done.stderr}")
    reference, _, _ = file_rows(reference_path)
    print(f"reference run: {len(reference)} tasks in {time.monotonic() - started:.1f} s")

    campaign = Campaign(args, directory, reference)
    session_kills = worker_kills = 0
    cycles_identical = 0
    missed = Counter()
    not_aimed = Counter()  # kills not made: the cycle's file was complete before their turn
    ended_first = Counter()  # aims whose run finished the grid by itself before the kill
    for cycle in range(args.cycles):
        output = directory / f"cycle-{cycle}.h5"
        kills_here = (args.kills - session_kills) // (args.cycles - cycle)
        workers_here = (args.worker_kills - worker_kills) // (args.cycles - cycle)
        plan = cycle_plan(kills_here, rng)
        # Worker kills go among the farming kills (after the start-up ones, before the summaries).
        for _ in range(workers_here):
            plan.insert(rng.randint(1, max(1, plan.index("summaries") if "summaries" in plan else len(plan))), "worker")
        durable = {}
        earlier_copy = None  # the results file as saved at an earlier kill (for "restore")
        for target in plan:
            if target != "start-up" and file_status(output) == "complete":
                not_aimed[target] += 1
                print(f"  cycle {cycle}: no kill aimed at {target}: the grid is already complete")
                continue
            # A phase whose state cannot be prepared yet (no earlier copy; no journal to rebuild
            # from, e.g. the file is complete) is replaced by a farming kill: the count holds.
            # Restoring needs the journal: without it (the run completed and removed it) an earlier
            # copy is not a crash's state but rows deleted by hand, which nothing can bring back.
            if target == "restore" and (earlier_copy is None or not output.exists() or not Path(f"{output}.journal").exists()):
                target = "farming"
            if target == "rebuild" and (file_rows(output)[0] is None or not Path(f"{output}.journal").exists()):
                target = "farming"
            phase = None
            for attempt in range(5):  # a phase can be missed (too short to see): try again
                if target == "restore":
                    shutil.copyfile(earlier_copy, output)
                elif target == "rebuild":
                    if file_rows(output)[0] is None:
                        break  # the missed attempt's kill left the file being rebuilt
                    damage(output)
                phase, durable = campaign.kill_in(target, output, rng, durable)
                if phase == "ended":
                    ended_first[target] += 1
                    break
                if phase == target:
                    break
                missed[target] += 1
                print(f"    aimed at {target}, landed in {phase}")
            # Every kill counts, a missed aim included (it landed in another phase).
            worker_kills = campaign.stats["worker"]["kills"]
            session_kills = sum(campaign.stats[p]["kills"] for p in PHASES + ("missed",)) - worker_kills
            if output.exists() and file_rows(output)[0] is not None and (earlier_copy is None or rng.random() < 0.3):
                earlier_copy = directory / f"cycle-{cycle}.earlier.h5"
                shutil.copyfile(output, earlier_copy)
            print(f"  cycle {cycle} kill aimed at {target:9s}: landed in {phase}, {len(durable)} durable rows")
        identical, lost, duplicates = campaign.finish(output, durable)
        campaign.stats["final"]["lost"] += lost
        campaign.stats["final"]["duplicates"] += duplicates
        cycles_identical += identical
        print(f"cycle {cycle}: final resume {'equals' if identical else 'DIFFERS FROM'} the uninterrupted run")

    print(f"\n{'phase':10s} {'kills':>6s} {'lost':>6s} {'dupl.':>6s} {'wrong':>6s} {'restored':>9s} {'rebuilt':>8s}")
    for phase in PHASES + ("missed", "final"):
        s = campaign.stats[phase]
        if s:
            print(f"{phase:10s} {s['kills']:6d} {s['lost']:6d} {s['duplicates']:6d} {s['wrong']:6d} {s['restored']:9d} {s['rebuilt']:8d}")
    print(f"runs that ended by themselves before the kill (checked like the others): {campaign.stats['ended']['runs']}")
    if missed:
        print(f"attempts that landed in another phase than aimed at (counted there): {dict(missed)}")
    lost = sum(s["lost"] for s in campaign.stats.values())
    duplicates = sum(s["duplicates"] for s in campaign.stats.values())
    wrong = sum(s["wrong"] for s in campaign.stats.values())
    print(f"unexpected exits: {len(campaign.failures)}" + "".join(f"\n  {w}: exit {s}: {t}" for w, s, t in campaign.failures))
    print(f"cycles ending equal to the uninterrupted run: {cycles_identical}/{args.cycles}")
    print(f"session kills: {session_kills} made, {args.kills} asked"
          + (f" (more: {sum(missed.values())} aims landed in another phase and were tried again)"
             if session_kills > args.kills else ""))
    print(f"worker kills: {worker_kills} made, {args.worker_kills} asked")
    if not_aimed:
        print(f"kills not made because the cycle's grid was already complete before their turn "
              f"(a resume of a complete file has no such phase): {dict(not_aimed)}")
    if session_kills < args.kills or worker_kills < args.worker_kills:
        reasons = []
        if ended_first:
            reasons.append(f"runs that finished the grid before the kill aimed at them: {dict(ended_first)}")
        if not_aimed:
            reasons.append(f"kills not made, the grid being complete: {dict(not_aimed)}")
        if missed["worker"]:
            reasons.append(f"{missed['worker']} worker aims found no farming phase (the session was killed instead, "
                           "counted as a session kill)")
        print(f"fewer kills than asked ({'; '.join(reasons) or 'phases ended before the kills aimed at them landed'}): "
              "a larger --structures gives every phase more time")
    if args.keep:
        print(f"kept {directory}")
    else:
        shutil.rmtree(directory, ignore_errors=True)
    # The status says whether anything was lost or wrong; fewer kills than asked (reported
    # above) is not a failure.
    print(f"kills survived {campaign.kills_survived}/{campaign.kills_made}, tasks lost {lost}, duplicates {duplicates}, "
          f"rows differing from the reference {wrong}")
    ok = not campaign.failures and lost == 0 and duplicates == 0 and wrong == 0 and cycles_identical == args.cycles
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
