"""The project's own sbatch scripts on a real (private, one-node) Slurm, driven by the commands
slurm/README.md shows, run exactly as written (each fenced bash block is found by its first
line) in a directory laid out like the repository: slurm/ (the real scripts), build/bin/msweep
(the binary under test) and jobs/ (the README's job names, holding a small test job). Covered:
a job to completion under srun --mpi=pmix; the time-limit signal, requeue and resume; the job
array merged by an afterok dependency with every array task COMPLETED; a plain scancel (one
clean stop, then the logged resubmit command run as printed); a stop for good (USR2); the
--signal lead check; progress lines in the log; Slurm provenance in the file and `inspect`.
Results must equal, task by task, an uninterrupted single-process run."""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pyhelpers"))
from results_compare import assert_same_tasks  # noqa: E402
from slurm_cluster import LocalSlurm, available  # noqa: E402

SOURCE = Path(__file__).resolve().parents[2]
MSWEEP = os.environ.get("MSWEEP_BIN", str(SOURCE / "build" / "bin" / "msweep"))
SLURM_DIR = SOURCE / "slurm"
README = SLURM_DIR / "README.md"

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))

# ~2000 tasks of a few ms with a small array: seconds per run. The stop tests hold the second
# half of the grid (held_job) so the signal finds the run mid-way however fast the machine is.
JOB = """[job]
name = "slurm-test"
experiment = "synthetic-load"
seed = 21
[model]
work = 600000
array_size = 3
fail_every = 97
[sweep]
structures = 500
runs = 4
[output]
flush_seconds = 0.2
"""
ABORT_MARKERS = ("MPI_ABORT", "pmix", "tasks/s while farming, master CPU 0.0%")


def readme_block(first_line):
    """The fenced bash block of slurm/README.md whose first line is `first_line`."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), re.S)
    matches = [b for b in blocks if b.splitlines()[0].strip() == first_line]
    assert len(matches) == 1, f"slurm/README.md: no single bash block starting {first_line!r}"
    return matches[0]


@pytest.fixture(scope="module")
def slurm():
    with LocalSlurm() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The job's uninterrupted single-process run (the reference content)."""
    directory = tmp_path_factory.mktemp("reference")
    job = directory / "job.toml"
    job.write_text(JOB)
    path = directory / "reference.h5"
    done = subprocess.run([MSWEEP, "run", str(job), "-o", str(path), "-q"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr  # fail_every makes some tasks fail on purpose
    return path


@pytest.fixture
def repo(tmp_path):
    """A directory laid out like the repository, for the README's commands."""
    (tmp_path / "slurm").symlink_to(SLURM_DIR)
    (tmp_path / "build" / "bin").mkdir(parents=True)
    (tmp_path / "build" / "bin" / "msweep").symlink_to(MSWEEP)
    (tmp_path / "jobs").mkdir()
    for name in ("boston-subsets", "big"):
        (tmp_path / "jobs" / f"{name}.toml").write_text(JOB)
    return tmp_path


def held_job(repo, name="boston-subsets"):
    """Rewrites jobs/<name>.toml so tasks of structures >= 250 wait for repo/go (synthetic-load's
    testing aid, docs/job-spec.md; results are the job's own). Returns the function that
    releases them: call it once msweep has said it is stopping (wait_for_stop_line), so the
    signal always lands mid-run and the held tasks then finish within the grace."""
    go = repo / "go"
    held = JOB.replace("[model]\n", f'[model]\nhold_file = "{go}"\nhold_after = 250\n')
    (repo / "jobs" / f"{name}.toml").write_text(held)
    return go.touch


def wait_for_stop_line(repo, timeout=120):
    """Waits until msweep's own line for the stop request is in the job's log (msweep prints
    it to stderr, which the job's --output file holds): the signal has been handled."""
    deadline = time.monotonic() + timeout
    while "stopping after the running tasks" not in log_of(repo):
        assert time.monotonic() < deadline, "msweep did not report the stop: " + log_of(repo)
        time.sleep(0.1)


def shell(slurm, repo, text, jid=None, env=None):
    """Runs README text with bash in `repo`; returns (stdout, the value of $jid afterwards)."""
    script = text + '\necho "JID=${jid:-}"\n'
    environment = dict(slurm.env, MSWEEP_GRACE="20", **(env or {}))
    if jid:
        environment["jid"] = jid
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=repo, env=environment, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{text}\n{done.stdout}\n{done.stderr}"
    return done.stdout, done.stdout.rsplit("JID=", 1)[1].strip()


def log_of(directory, pattern="msweep-*.out"):
    return "\n".join(p.read_text() for p in sorted(Path(directory).glob(pattern)))


def wait_for_rows(path, log_directory, timeout=120):
    """Polls until the results file has committed rows: the run is under way."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            try:
                with h5py.File(path, "r", swmr=True, locking=False) as f:
                    if int(f["state"][0]["rows_committed"]) > 0:
                        return
            except (OSError, KeyError):
                pass  # being created or flushed right now
        time.sleep(0.1)
    pytest.fail(f"no rows committed within {timeout} s: " + log_of(log_directory))


def wait_for_second_start(slurm, jid, repo, timeout=300):
    """Polls until the requeued job's second start has logged itself, releasing the requeue
    (PENDING for its begin time) early."""
    deadline = time.monotonic() + timeout
    while "start 2 of job" not in log_of(repo):
        slurm.release_if_requeued(jid)
        assert time.monotonic() < deadline, "no second start: " + log_of(repo) + str(slurm.job(jid))
        time.sleep(0.5)


def inspect_json(path):
    done = subprocess.run([MSWEEP, "inspect", "--json", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_job_runs_to_completion_with_a_speaking_log_and_provenance(slurm, reference, repo):
    _, jid = shell(slurm, repo, readme_block("# one job, requeued until done"))
    jobs = slurm.wait_for(jid, {"COMPLETED"}, timeout=300)
    log = log_of(repo)
    # Complete with the job's deliberately failing tasks: still COMPLETED (exit 0), so
    # afterok dependents run; the log says some tasks failed.
    assert jobs[0]["ExitCode"] == "0:0", log
    assert "some tasks failed" in log and "done: results/boston-subsets.h5 is complete" in log, log
    # Not quiet: msweep's start line and its final progress line are in the log.
    assert "msweep: job slurm-test (synthetic-load): 2000 tasks" in log, log
    assert "2000/2000 tasks (100.0%)" in log, log
    output = repo / "results" / "boston-subsets.h5"
    attrs = assert_same_tasks(output, reference)
    assert attrs["status"] == "complete"
    assert attrs["ranks"] == 3, "srun --mpi=pmix started 3 ranks of one MPI job"
    assert not Path(str(output) + ".journal").exists()
    # Provenance: the Slurm job, its restarts, its nodes, and where each rank ran.
    node = jobs[0]["NodeList"]
    assert (attrs["slurm_job_id"], attrs["slurm_restart_count"], attrs["slurm_nodelist"]) == (jid, "0", node)
    assert attrs["rank_hosts"] == f"{node}: 0-2"
    # The README's monitoring commands, as written.
    out, _ = shell(slurm, repo, readme_block("# how far a job is"))
    assert out.splitlines()[0] == "complete", out
    state = json.loads(out.splitlines()[1])
    assert (state["status"], state["tasks"]["stored"], state["tasks"]["total"]) == ("complete", 2000, 2000), out
    assert state["tasks"]["failed"] > 0 and state["slurm_job_id"] == jid, out
    human = subprocess.run([MSWEEP, "inspect", str(output)], capture_output=True, text=True).stdout
    assert f"slurm: job {jid}, restart 0, nodes {node}" in human and f"ranks by host: {node}: 0-2" in human, human


def test_time_limit_signal_requeues_and_resumes_to_the_full_result(slurm, reference, repo):
    # Progress lines at the interval MSWEEP_RUN_ARGS sets (it overrides the script's default).
    env = {"MSWEEP_RUN_ARGS": "--progress-seconds 0.2"}
    release = held_job(repo)
    _, jid = shell(slurm, repo, readme_block("# one job, requeued until done"), env=env)
    output = repo / "results" / "boston-subsets.h5"
    wait_for_rows(output, repo)
    shell(slurm, repo, readme_block("# stop now and requeue (what the time-limit warning does)"), jid=jid)
    wait_for_stop_line(repo)
    release()
    # The job requeues itself (Restarts=1); the requeue shows as PENDING (released early by
    # slurm.release_if_requeued) before the second start logs itself.
    wait_for_second_start(slurm, jid, repo)
    jobs = slurm.wait_for(jid, {"COMPLETED"}, timeout=300)
    log = log_of(repo)
    assert jobs[0]["Restarts"] == "1", log
    assert "got SIGUSR1" in log and "requeueing job" in log, log
    assert jobs[0]["ExitCode"] == "0:0", log
    assert len(re.findall(r"msweep: \d+/2000 tasks", log)) >= 3, log
    assert not any(marker in log for marker in ABORT_MARKERS), log
    attrs = assert_same_tasks(output, reference)
    assert attrs["status"] == "complete"
    assert attrs["slurm_restart_count"] == "1"


def test_job_array_with_afterok_merge_as_documented(slurm, reference, repo):
    out, array_id = shell(slurm, repo, readme_block("# a job array of 8 shards, at most 4 running at once, then the merge"))
    merge_id = re.search(r"Submitted batch job (\d+)", out).group(1)
    slurm.wait_for(merge_id, {"COMPLETED"}, timeout=400)
    logs = log_of(repo)
    tasks = slurm.job(array_id)
    assert len(tasks) == 8 and all(t["JobState"] == "COMPLETED" and t["ExitCode"] == "0:0" for t in tasks), logs
    shards = sorted((repo / "results").glob("big.shard-*-of-8.h5"))
    assert len(shards) == 8, logs
    for shard in shards:
        state = inspect_json(shard)
        index = state["shard"]["index"]
        assert state["status"] == "complete" and state["shard"]["count"] == 8, state
        assert state["slurm_array_job_id"] == array_id and state["slurm_array_task_id"] == str(index), state
        assert shard.name == f"big.shard-{index}-of-8.h5"
    assert "launching again" not in logs, logs
    attrs = assert_same_tasks(repo / "results" / "big.h5", reference)
    assert attrs["status"] == "complete", logs
    assert int(attrs["shard_count"]) == 1


def test_array_not_starting_at_0_names_its_files_by_shard_index(slurm, reference, repo):
    """--array=1-2: array tasks 1 and 2 run shards 0/2 and 1/2 (--shard auto), and their files
    are named by that index, the --shard I/N that resumes them by hand; the merge finds them."""
    env = dict(slurm.env, MSWEEP_GRACE="20")
    array_id = slurm.sbatch(["--array=1-2", "--output=array-%A_%a.out", "slurm/msweep-array.sbatch", "jobs/big.toml",
                             "results/big.h5"], cwd=repo, env=env)
    merge_id = slurm.sbatch([f"--dependency=afterok:{array_id}", "--output=merge-%j.out", "slurm/msweep-merge.sbatch",
                             "jobs/big.toml", "results/big.h5"], cwd=repo, env=env)
    slurm.wait_for(merge_id, {"COMPLETED"}, timeout=400)
    logs = log_of(repo, "*.out")
    shards = sorted(p.name for p in (repo / "results").glob("big.shard-*.h5"))
    assert shards == ["big.shard-0-of-2.h5", "big.shard-1-of-2.h5"], logs
    for index in (0, 1):
        state = inspect_json(repo / "results" / f"big.shard-{index}-of-2.h5")
        assert state["shard"] == {"index": index, "count": 2} and state["status"] == "complete", state
        assert state["slurm_array_task_id"] == str(index + 1), state
    assert assert_same_tasks(repo / "results" / "big.h5", reference)["status"] == "complete", logs


def test_plain_scancel_is_one_clean_stop_and_the_logged_command_resumes(slurm, reference, repo):
    release = held_job(repo)
    _, jid = shell(slurm, repo, readme_block("# one job, requeued until done"))
    output = repo / "results" / "boston-subsets.h5"
    wait_for_rows(output, repo)
    shell(slurm, repo, readme_block("# cancel: a clean stop, no requeue"), jid=jid)
    wait_for_stop_line(repo)
    release()
    jobs = slurm.wait_for(jid, {"CANCELLED"}, timeout=120, release_requeued=False)
    # The script finishes its last lines within KillWait; wait for them, not for a time.
    deadline = time.monotonic() + 60
    while "not requeueing" not in log_of(repo) or "sbatch " not in log_of(repo).splitlines()[-1]:
        assert time.monotonic() < deadline, log_of(repo)
        time.sleep(0.2)
    log = log_of(repo)
    assert jobs[0]["Restarts"] == "0", log
    # scancel's SIGTERM reaches each rank once; the script adds none: one clean stop.
    assert not any(marker in log for marker in ABORT_MARKERS), log
    # The test cluster's KillWait (10 s) is shorter than MSWEEP_GRACE (20 s): the log says what that costs.
    assert "grace 20s does not fit KillWait 10s: tasks still running 5 s after the SIGTERM will be abandoned" in log, log
    assert "this script does not requeue the job (a preemption with PreemptMode=REQUEUE requeues it itself)" in log, "the hint comes at once, before KillWait can cut the script short"
    assert "msweep ended with status 4" in log and "file status: interrupted" in log, log
    assert inspect_json(output)["status"] == "interrupted"
    # The last line is the command the user submitted, not Slurm's spool copy.
    last = log.splitlines()[-1].removeprefix("msweep.sbatch:").strip()
    assert "slurm_script" not in last and f"{repo}/slurm/msweep.sbatch jobs/boston-subsets.toml" in last, log
    assert "--ntasks=3" in last and "--nodes=1" in last, last
    assert last.startswith("MSWEEP_GRACE=20 sbatch "), "only the settings the user gave: " + last
    # ... and it resumes the file to the full result.
    out, _ = shell(slurm, repo, last)
    resumed = re.search(r"Submitted batch job (\d+)", out).group(1)
    slurm.wait_for(resumed, {"COMPLETED"}, timeout=300)
    assert assert_same_tasks(output, reference)["status"] == "complete"


def test_stop_for_good_is_not_requeued(slurm, repo):
    release = held_job(repo)
    _, jid = shell(slurm, repo, readme_block("# one job, requeued until done"))
    output = repo / "results" / "boston-subsets.h5"
    wait_for_rows(output, repo)
    shell(slurm, repo, readme_block("# stop for good: a clean stop, no requeue"), jid=jid)
    wait_for_stop_line(repo)
    release()
    jobs = slurm.wait_for(jid, {"FAILED"}, timeout=120, release_requeued=False)
    log = log_of(repo)
    assert jobs[0]["ExitCode"] == "4:0" and jobs[0]["Restarts"] == "0", log
    assert "stopped for good as asked (SIGUSR2)" in log and "requeueing" not in log, log
    assert "msweep.sbatch" in log.splitlines()[-1] and "sbatch " in log.splitlines()[-1], log
    assert not any(marker in log for marker in ABORT_MARKERS), log
    assert inspect_json(output)["status"] == "interrupted"


def test_signal_lead_is_checked_against_time_limit_and_grace(slurm, repo):
    env = dict(slurm.env, MSWEEP_GRACE="20")
    # The script's lead (#SBATCH --signal=B:USR1@180) does not fit in a 2-minute limit.
    short = slurm.sbatch(["--time=2", "--output=short-%j.out", "slurm/msweep.sbatch", "jobs/big.toml"], cwd=repo, env=env)
    # A grace longer than the lead.
    long_grace = slurm.sbatch(["--output=grace-%j.out", "slurm/msweep.sbatch", "jobs/big.toml"], cwd=repo,
                              env=dict(env, MSWEEP_GRACE="300"))
    for jid in (short, long_grace):
        slurm.wait_for(jid, {"FAILED"}, timeout=120)
        assert slurm.state(jid)["ExitCode"] == "2:0"
    log = log_of(repo, "short-*.out")
    assert "the --signal lead (180 s) is not shorter than the time limit (--time=00:02:00, 120 s)" in log, log
    assert "Raise --time, or lower the lead" in log, log
    log = log_of(repo, "grace-*.out")
    assert "the --signal lead (180 s) must be at least MSWEEP_GRACE (300 s) plus 10 s to write the file" in log, log
    assert not (repo / "results").exists()


@pytest.fixture(scope="module")
def two_nodes():
    """Two slurmd on this host (nodes n1 and n2), as /work/shared/platform.md describes."""
    with LocalSlurm(nodes=2) as cluster:
        yield cluster


def test_two_nodes_with_the_documented_rank_layout(two_nodes, reference, repo):
    # Both nodes are this machine, so Open MPI would use shared memory between them: TCP
    # makes the ranks talk as they would across real nodes.
    _, jid = shell(two_nodes, repo, readme_block("# two nodes of 2 cores each: a worker per core, plus the master"),
                   env={"OMPI_MCA_btl": "tcp,self"})
    jobs = two_nodes.wait_for(jid, {"COMPLETED"}, timeout=300)
    log = log_of(repo)
    assert jobs[0]["ExitCode"] == "0:0" and jobs[0]["NumNodes"] == "2", log
    attrs = assert_same_tasks(repo / "results" / "boston-subsets.h5", reference)
    assert attrs["status"] == "complete" and attrs["ranks"] == 5, log
    assert (attrs["hosts"], attrs["slurm_nodelist"]) == ("n1,n2", "n[1-2]"), attrs
    # Rank 0 (the master, which writes) on the first node; workers on both.
    layout = dict(part.split(": ") for part in attrs["rank_hosts"].split("; "))
    assert set(layout) == {"n1", "n2"} and layout["n1"].startswith("0"), attrs["rank_hosts"]


def test_hard_time_limit_stops_cleanly_and_requeues(slurm, repo):
    """No warning signal: the time limit's SIGTERM reaches every process. The job's grid is
    far too big for its 1-minute limit whatever the machine's speed."""
    (repo / "jobs" / "huge.toml").write_text(JOB.replace("structures = 500", "structures = 500000"))
    # --signal=B:28@30 (SIGWINCH) replaces the script's USR1 warning with a signal bash ignores, so
    # the SIGTERM at the limit is the first signal; MSWEEP_SIGNAL_LEAD tells the script's
    # start check about the command-line lead.
    env = dict(slurm.env, MSWEEP_GRACE="5", MSWEEP_SIGNAL_LEAD="30")
    jid = slurm.sbatch(["--time=1", "--signal=B:28@30", "slurm/msweep.sbatch", "jobs/huge.toml"], cwd=repo, env=env)
    deadline = time.monotonic() + 240
    while "the time limit: requeued job" not in log_of(repo):
        assert time.monotonic() < deadline, log_of(repo) + str(slurm.job(jid))
        state = slurm.state(jid).get("JobState")
        assert state in ("PENDING", "RUNNING", "COMPLETING"), log_of(repo) + str(slurm.job(jid))
        time.sleep(0.5)
    # Requeued (Restarts=1, waiting for its begin time); cancel it rather than run the grid.
    deadline = time.monotonic() + 60
    while slurm.state(jid).get("Restarts") != "1":
        assert time.monotonic() < deadline, str(slurm.job(jid))
        time.sleep(0.5)
    slurm.command(["scancel", jid])
    log = log_of(repo)
    assert "got SIGTERM" in log, log
    # At the time limit each rank gets SIGTERM twice (slurm/README.md,
    # "Stopping a job"), which msweep counts as one request (core/stop_requests.hpp).
    # The file is finished by msweep, and no MPI_ABORT is logged (asserted below).
    deadline = time.monotonic() + 60
    while inspect_json(repo / "results" / "huge.h5")["status"] == "running":
        assert time.monotonic() < deadline, log_of(repo)
        time.sleep(0.5)
    state = inspect_json(repo / "results" / "huge.h5")
    # "interrupted", not "running": msweep finished the file within KillWait, before the SIGKILL.
    assert state["status"] == "interrupted" and state["tasks"]["stored"] > 0, state
    # One clean stop: the repeated SIGTERM counts as one request (core/stop_requests.hpp).
    assert not any(marker in log_of(repo) for marker in ABORT_MARKERS), log_of(repo)


# --- preemption and signals to the steps --------------------------------------------------------
# These stop msweep's ranks with SIGSTOP (`scancel --signal=STOP`, to the steps only) once rows
# are committed, so that whatever comes next finds the job mid-run however fast the machine is.


def job_processes(job_id):
    """PIDs of the msweep processes (the ranks) of Slurm job `job_id` on this machine."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "msweep":
                continue
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue  # ended meanwhile
        if f"SLURM_JOB_ID={job_id}".encode() in environment:
            pids.append(int(entry.name))
    return pids


def process_status(pid):
    """(state letter, pending-signal mask, ignored-signal mask) of a process; (None, 0, 0) once
    it has ended."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None, 0, 0
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    pending = int(fields["SigPnd"].strip(), 16) | int(fields["ShdPnd"].strip(), 16)
    return fields["State"].split()[0], pending, int(fields["SigIgn"].strip(), 16)


def wait_until(what, predicate, timeout=120, diagnostics=lambda: ""):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s\n{diagnostics()}"
        time.sleep(0.1)


def freeze_ranks(slurm, job_id, ranks=3):
    """SIGSTOP to the job's steps (not the batch script); returns once every rank is stopped."""
    wait_until("all ranks started", lambda: len(job_processes(job_id)) == ranks)
    slurm.command(["scancel", "--signal=STOP", job_id])
    pids = job_processes(job_id)
    wait_until("all ranks stopped", lambda: all(process_status(pid)[0] == "T" for pid in pids))
    return pids


def test_preemption_by_a_high_priority_job_requeues_and_resumes_to_the_full_result(slurm, reference, repo):
    """PreemptType=preempt/partition_prio, PreemptMode=REQUEUE (tests/slurm/slurm_cluster.py):
    a job of the higher-tier partition `urgent` needs the whole node, so Slurm requeues the
    running msweep job; after the urgent job ends, the requeued job resumes and completes."""
    _, jid = shell(slurm, repo, readme_block("# one job, requeued until done"))
    output = repo / "results" / "boston-subsets.h5"
    wait_for_rows(output, repo)
    freeze_ranks(slurm, jid)  # mid-run when the preemption comes, however fast the machine
    gate = repo / "urgent-may-end"
    urgent = slurm.sbatch(["--partition=urgent", "--exclusive", "--output=urgent-%j.out",
                           f"--wrap=while [ ! -e {gate} ]; do sleep 0.2; done"], cwd=repo)
    slurm.wait_for(urgent, {"RUNNING"}, timeout=120, release_requeued=False)
    # The preempted job is back in the queue (same id, one restart) while the urgent job runs.
    wait_until("the requeue of the preempted job",
               lambda: slurm.state(jid).get("Restarts") == "1" and slurm.state(jid).get("JobState") == "PENDING",
               diagnostics=lambda: log_of(repo) + str(slurm.job(jid)))
    # Its first start ended, and msweep left the file resumable (stopped cleanly or killed).
    wait_until("the first start's end", lambda: not job_processes(jid), diagnostics=lambda: log_of(repo))
    assert inspect_json(output)["status"] in ("interrupted", "running"), log_of(repo)
    gate.touch()
    slurm.wait_for(urgent, {"COMPLETED"}, timeout=120, release_requeued=False)
    jobs = slurm.wait_for(jid, {"COMPLETED"}, timeout=300)
    log = log_of(repo)
    assert jobs[0]["Restarts"] == "1" and jobs[0]["ExitCode"] == "0:0", log
    assert "start 2 of job" in log and "got SIGTERM" in log, log
    attrs = assert_same_tasks(output, reference)
    assert attrs["status"] == "complete" and attrs["slurm_restart_count"] == "1", log
    # Preemption ends the job as the time limit does: every rank gets SIGTERM twice
    # (slurm/README.md); msweep counts the quick repeat as one request and stops cleanly.
    assert not any(marker in log for marker in ABORT_MARKERS), log


def test_usr1_to_the_steps_only_stops_msweep_once_and_the_script_requeues(slurm, reference, repo):
    """`scancel --signal=USR1 JOBID` without --batch signals the steps (msweep's ranks), not the
    batch script: msweep stops once and exits 4, and the script requeues on that status."""
    _, jid = shell(slurm, repo, readme_block("# one job, requeued until done"))
    output = repo / "results" / "boston-subsets.h5"
    wait_for_rows(output, repo)
    pids = freeze_ranks(slurm, jid)
    shell(slurm, repo, readme_block("# stop now and requeue, signalling msweep's ranks directly"), jid=jid)
    usr1 = 1 << (10 - 1)  # SIGUSR1 is 10 on Linux
    # The workers ignore stop signals (the master stops them): a signal to them is dropped.
    wait_until("SIGUSR1 pending at every rank that does not ignore it",
               lambda: all((process_status(pid)[1] | process_status(pid)[2]) & usr1 for pid in pids))
    slurm.command(["scancel", "--signal=CONT", jid])
    wait_for_second_start(slurm, jid, repo)
    jobs = slurm.wait_for(jid, {"COMPLETED"}, timeout=300)
    log = log_of(repo)
    assert jobs[0]["Restarts"] == "1" and jobs[0]["ExitCode"] == "0:0", log
    assert "msweep ended with status 4" in log and "requeueing job" in log, log
    assert "got SIGUSR1" not in log, "the batch script is not signalled without --batch: " + log
    assert not any(marker in log for marker in ABORT_MARKERS), "one signal per rank: a clean stop\n" + log
    attrs = assert_same_tasks(output, reference)
    assert attrs["status"] == "complete" and attrs["slurm_restart_count"] == "1"
