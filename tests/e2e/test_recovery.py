"""Recovery end to end (docs/cli.md, "Resume and recovery", "Signals", "Shards and merge"):
signals sent to mpirun, a hung or dead worker, a results file damaged beyond HDF5's reach and
rebuilt from its journal, shards and merge, and bad or full output locations. Every path
ends with a file whose tasks equal, bit for bit, an uninterrupted run."""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import MSWEEP, mpirun, run, write_job
from results_compare import assert_same_tasks, tasks_of

# ~4000 tasks of ~1 ms: a few seconds on 2 workers, long enough to interrupt.
JOB = """[job]
name = "recovery"
experiment = "synthetic-load"
seed = 13
[model]
work = 300000
array_size = 4
fail_every = 53
[sweep]
structures = 1000
runs = 4
[output]
flush_seconds = 0.1
"""
# A few tasks of ~1 s: signals land while every worker is mid-task.
SLOW = JOB.replace("work = 300000", "work = 400000000").replace("structures = 1000", "structures = 8").replace("fail_every = 53", "fail_every = 0")


def held_job(directory, name, text, hold_after):
    """The job with its tasks of structure >= hold_after waiting for directory/go (synthetic-load's
    testing aid, docs/job-spec.md): a test interrupts it at a known point on a machine of any
    speed, then release()s the held tasks by creating the file. Results equal the job's own."""
    go = Path(directory) / "go"
    held = text.replace("[model]\n", f'[model]\nhold_file = "{go}"\nhold_after = {hold_after}\n')
    return write_job(directory, name, held), go.touch


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    directory = tmp_path_factory.mktemp("reference")
    job = write_job(directory, "recovery", JOB)
    output = directory / "reference.h5"
    done = run(["run", job, "-o", output, "-q"], timeout=600)
    assert done.returncode == 1, done.stderr  # fail_every: some tasks fail on purpose
    return job, output


def start(args, ranks=3, env=None):
    environment = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", **(env or {}))
    return subprocess.Popen(mpirun(ranks) + [MSWEEP] + [str(a) for a in args], env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_for_rows(output, process, minimum=1, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            with h5py.File(output, "r", swmr=True, locking=False) as f:
                if int(f["state"][0]["rows_committed"]) >= minimum:
                    return
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    pytest.fail(f"{output}: fewer than {minimum} rows after {timeout} s")


def worker_pids(process):
    """The msweep ranks mpirun started, rank 0 first (ranks start in order)."""
    out = subprocess.run(["pgrep", "-P", str(process.pid), "msweep"], capture_output=True, text=True).stdout
    return sorted(int(p) for p in out.split())


def resume_to_completion(job, output, reference_path):
    done = run(["run", job, "-o", output, "-q", "--resume"], ranks=3, timeout=600)
    assert done.returncode == 1, done.stderr
    attrs = assert_same_tasks(output, reference_path)
    assert attrs["status"] == "complete"
    assert not Path(str(output) + ".journal").exists(), "a complete file keeps no journal"


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGUSR2])
def test_usr_signal_to_mpirun_saves_and_exits_4(reference, tmp, sig):
    _, reference_path = reference
    job, release = held_job(tmp, "held", JOB, hold_after=500)
    output = tmp / "usr.h5"
    process = start(["run", job, "-o", output, "-q", "--grace-seconds", "2"])
    wait_for_rows(output, process)
    process.send_signal(sig)  # mpirun forwards SIGUSR1/SIGUSR2 to every rank
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 4, stderr
    _, _, attrs = tasks_of(output)
    assert attrs["status"] == "interrupted"
    # The last line says so, and resumes with the launcher and rank count of this launch.
    last = stdout.strip().splitlines()[-1]
    assert last.startswith("msweep: interrupted (exit 4; the file's status is interrupted"), stdout
    assert f"resume with: mpirun -n 3 {MSWEEP} run {job} -o {output} --resume" in last, last
    release()
    resume_to_completion(job, output, reference_path)


def test_term_to_mpirun_leaves_a_resumable_file(tmp):
    """mpirun answers SIGTERM (and SIGINT) by waiting odls_base_sigkill_timeout seconds, sending
    SIGTERM to the ranks, and SIGKILL as long again later. With the timeout above the master's
    grace, the master always saves in time and marks the file interrupted."""
    # Structure 0 (4 tasks) runs, the other 28 tasks wait until the signal has done its work.
    job, release = held_job(tmp, "slow", SLOW, hold_after=1)
    output = tmp / "term.h5"
    process = start(["run", job, "-o", output, "-q", "--grace-seconds", "5"], env={"OMPI_MCA_odls_base_sigkill_timeout": "10"})
    wait_for_rows(output, process)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode != 0, "mpirun reports a job it was asked to terminate as failed"
    rows, _, attrs = tasks_of(output)
    assert attrs["status"] == "interrupted", stderr
    assert 0 < len(rows) < 32
    release()
    done = run(["run", job, "-o", output, "-q", "--resume"], ranks=3, timeout=600)
    assert done.returncode == 0, done.stderr
    rows, _, attrs = tasks_of(output)
    assert attrs["status"] == "complete"
    assert np.array_equal(rows["id"], np.arange(32))


def test_second_signal_exits_without_waiting_for_running_tasks(tmp):
    job, _ = held_job(tmp, "slow", SLOW, hold_after=0)  # every task waits: none can finish
    output = tmp / "slow.h5"
    process = start(["run", job, "-o", output, "-q", "--grace-seconds", "3600"])
    wait_for_rows(output, process, minimum=0)
    # Repeated until the run ends: two signals sent back to back can merge into one delivery, and
    # every signal after the first means "stop now" (a held task is running on each worker).
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        process.send_signal(signal.SIGUSR1)
        try:
            process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            pass
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 4, stderr
    _, _, attrs = tasks_of(output)
    assert attrs["status"] == "interrupted"


def test_hung_worker_ends_the_run_with_status_3_and_a_resumable_file(reference, tmp):
    _, reference_path = reference
    job, release = held_job(tmp, "held", JOB, hold_after=500)
    output = tmp / "hung.h5"
    process = start(["run", job, "-o", output, "-q", "--worker-timeout", "2"])
    wait_for_rows(output, process)
    os.kill(worker_pids(process)[-1], signal.SIGSTOP)  # the other worker is held: it hangs too
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 3, stderr
    assert "returned nothing for" in stderr and "--worker-timeout" in stderr
    assert f"msweep: error: {output}: worker rank " in stderr
    assert re.search(r"^msweep: stopped by this error \(exit 3; the file's status is interrupted, \d+ of \d+ tasks stored\); "
                     r"fix the cause, then resume with: .* --resume", stderr, re.M), stderr
    assert tasks_of(output)[2]["status"] == "interrupted"
    release()
    resume_to_completion(job, output, reference_path)


def test_dead_worker_aborts_the_job_and_the_file_stays_resumable(reference, tmp):
    _, reference_path = reference
    job, release = held_job(tmp, "held", JOB, hold_after=500)
    output = tmp / "dead.h5"
    process = start(["run", job, "-o", output, "-q"])
    wait_for_rows(output, process)
    os.kill(worker_pids(process)[-1], signal.SIGKILL)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0  # Open MPI aborts every rank when one dies
    tasks_of(output)  # readable
    release()
    resume_to_completion(job, output, reference_path)


def test_damaged_file_is_rebuilt_from_its_journal(reference, tmp):
    _, reference_path = reference
    job, release = held_job(tmp, "held", JOB, hold_after=500)
    output = tmp / "damaged.h5"
    process = start(["run", job, "-o", output, "-q"])
    wait_for_rows(output, process, minimum=200)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    subprocess.run(["pkill", "-KILL", "-s", str(process.pid)], check=False)
    committed = int(tasks_of(output)[2]["rows_committed"])
    with open(output, "r+b") as f:  # the superblock and root objects: HDF5 cannot open it now
        f.write(b"\x5a" * 8192)
    assert run(["inspect", output]).returncode == 2
    release()
    done = run(["run", job, "-o", output, "-q", "--resume"], ranks=3, timeout=600)
    assert done.returncode == 1, done.stderr
    assert "rebuilding" in done.stderr and ".journal" in done.stderr
    restored = int(done.stderr.split("restored ")[1].split()[0])
    assert restored >= committed, "every committed row was in the journal"
    assert Path(str(output) + ".damaged").exists(), "the damaged file is kept, not deleted"
    assert_same_tasks(output, reference_path)


def test_damaged_file_without_journal_is_an_input_error_and_stays_untouched(reference, tmp):
    job, _ = reference
    output = tmp / "truncated.h5"
    assert run(["run", job, "-o", output, "-q", "--shard", "0/50"]).returncode == 1
    data = output.read_bytes()
    output.write_bytes(data[: len(data) // 2])  # truncated, and no journal (the run completed)
    before = output.read_bytes()
    done = run(["run", job, "-o", output, "-q", "--resume", "--shard", "0/50"])
    assert done.returncode == 2, done.stderr
    lines = [l for l in done.stderr.splitlines() if l.startswith("msweep:")]
    assert len(lines) == 1 and str(output) in lines[0], done.stderr
    assert output.read_bytes() == before


def test_shards_merge_to_the_full_result(reference, tmp):
    job, reference_path = reference
    shards = [tmp / f"shard{i}.h5" for i in range(3)]
    for i, shard in enumerate(shards):
        done = run(["run", job, "-o", shard, "-q", "--shard", f"{i}/3"], ranks=2)
        assert done.returncode == 1, done.stderr
        _, _, attrs = tasks_of(shard)
        assert (int(attrs["shard_index"]), int(attrs["shard_count"]), attrs["status"]) == (i, 3, "complete")
    # A missing shard: reported, exit 4, and the merged file resumes to the full result.
    partial = tmp / "partial.h5"
    done = run(["merge", shards[0], shards[2], "-o", partial])
    assert done.returncode == 4 and "missing" in done.stderr, done.stderr
    resume_to_completion(job, partial, reference_path)
    merged = tmp / "merged.h5"
    done = run(["merge"] + shards + ["-o", merged])
    assert done.returncode == 0, done.stderr
    attrs = assert_same_tasks(merged, reference_path)
    assert attrs["status"] == "complete" and int(attrs["shard_count"]) == 1
    # Summaries are recomputed from the rows; sums in another row order may differ in the last bit.
    with h5py.File(merged, "r") as f, h5py.File(reference_path, "r") as g:
        mine, theirs = f["summaries/table"][:], g["summaries/table"][:]
        for name in mine.dtype.names:
            assert np.allclose(mine[name], theirs[name], rtol=1e-12, atol=0, equal_nan=True), name


def test_merge_refuses_overlaps_other_jobs_and_existing_outputs(reference, tmp):
    job, reference_path = reference
    other_job = write_job(tmp, "other", JOB.replace("seed = 13", "seed = 14"))
    mine, theirs = tmp / "mine.h5", tmp / "theirs.h5"
    assert run(["run", job, "-o", mine, "-q", "--shard", "0/40"]).returncode == 1
    assert run(["run", other_job, "-o", theirs, "-q", "--shard", "1/40"]).returncode == 1
    for inputs, fragment in [([mine, reference_path], "is also stored in"), ([mine, theirs], "belongs to another job")]:
        done = run(["merge"] + inputs + ["-o", tmp / "out.h5"])
        assert done.returncode == 2, done.stderr
        assert fragment in done.stderr and str(inputs[1]) in done.stderr
        assert not (tmp / "out.h5").exists()
    before = mine.read_bytes()
    done = run(["merge", reference_path, "-o", mine])
    assert done.returncode == 2 and "exists" in done.stderr
    assert mine.read_bytes() == before
    # The shard of another grid cannot be resumed as a shard of this one, nor as another shard.
    done = run(["run", job, "-o", theirs, "-q", "--resume", "--shard", "1/40"])
    assert done.returncode == 2 and "another job" in done.stderr
    done = run(["run", job, "-o", mine, "-q", "--resume", "--shard", "1/40"])
    assert done.returncode == 2 and "holds shard 0/40" in done.stderr


@pytest.fixture
def small_mount(tmp):
    """A 600 KiB tmpfs (root only): the disk fills during the run."""
    mount = tmp / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root?)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_is_an_io_error_and_loses_no_flushed_task(reference, tmp, small_mount):
    job, reference_path = reference
    output = small_mount / "full.h5"
    done = run(["run", job, "-o", output, "-q"], ranks=3, timeout=600)
    assert done.returncode == 3, done.stderr
    lines = [l for l in done.stderr.splitlines() if l.startswith("msweep: error:")]
    assert len(lines) == 1 and str(small_mount) in lines[0], done.stderr
    # Move what is there to a disk with room: the journal rebuilds or completes the file.
    moved = tmp / "moved.h5"
    for suffix in ("", ".journal"):
        if Path(str(output) + suffix).exists():
            Path(str(moved) + suffix).write_bytes(Path(str(output) + suffix).read_bytes())
    resume_to_completion(job, moved, reference_path)


def test_read_only_directory_is_an_input_error(reference, tmp):
    job, _ = reference
    mount = tmp / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root?)")
    try:
        done = run(["run", job, "-o", mount / "x.h5", "-q"], ranks=2)
        assert done.returncode == 2, done.stderr
        lines = [l for l in done.stderr.splitlines() if l.startswith("msweep:")]
        assert len(lines) == 1 and "not writable" in lines[0] and str(mount) in lines[0], done.stderr
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
