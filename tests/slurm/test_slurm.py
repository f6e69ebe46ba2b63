"""The project's own sbatch scripts on a real (private, one-node) Slurm: a job to completion
under srun --mpi=pmix, a job that gets its time-limit signal, requeues itself and resumes to
the full result, and a job array of shards merged by a dependent job. The results must equal,
task by task, an uninterrupted single run."""
import os
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

pytestmark = pytest.mark.skipif(available() is not None, reason=str(available()))

# ~2000 tasks of a few ms with a small array: seconds per run, long enough to signal mid-run.
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


@pytest.fixture(scope="module")
def slurm():
    with LocalSlurm() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def job_and_reference(tmp_path_factory):
    """The job file and its uninterrupted single-process run (the reference content)."""
    directory = tmp_path_factory.mktemp("reference")
    job = directory / "job.toml"
    job.write_text(JOB)
    reference = directory / "reference.h5"
    import subprocess
    done = subprocess.run([MSWEEP, "run", str(job), "-o", str(reference), "-q"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr  # fail_every makes some tasks fail on purpose
    return job, reference


def submit_env():
    # The scripts find the binary and each other through these; yield-when-idle is the
    # script's own business (tested by its presence in the log below).
    return {"MSWEEP": MSWEEP, "MSWEEP_SLURM_DIR": str(SLURM_DIR), "MSWEEP_GRACE": "20"}


def log_of(directory, pattern):
    logs = sorted(Path(directory).glob(pattern))
    return "\n".join(p.read_text() for p in logs)


def test_job_runs_to_completion_under_srun_pmix(slurm, job_and_reference, tmp_path):
    job, reference = job_and_reference
    output = tmp_path / "plain.h5"
    job_id = slurm.sbatch(["--ntasks=3", "--overcommit", f"--output={tmp_path}/plain-%j.out",
                           SLURM_DIR / "msweep.sbatch", job, output], cwd=tmp_path, env=submit_env())
    slurm.wait_for(job_id, {"COMPLETED", "FAILED"}, timeout=300)
    state = slurm.state(job_id)
    log = log_of(tmp_path, "plain-*.out")
    # Exit 1: complete, with the job's deliberately failing tasks.
    assert state["ExitCode"] == "1:0", log
    attrs = assert_same_tasks(output, reference)
    assert attrs["status"] == "complete"
    assert attrs["ranks"] == 3, "srun --mpi=pmix started 3 ranks of one MPI job"
    assert not Path(str(output) + ".journal").exists()


def test_time_limit_signal_requeues_and_resumes_to_the_full_result(slurm, job_and_reference, tmp_path):
    job, reference = job_and_reference
    output = tmp_path / "requeued.h5"
    job_id = slurm.sbatch(["--ntasks=3", "--overcommit", f"--output={tmp_path}/requeued-%j.out",
                           SLURM_DIR / "msweep.sbatch", job, output], cwd=tmp_path, env=submit_env())
    # Wait until some rows are committed, then deliver what --signal=B:USR1@N would, at once.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if output.exists():
            try:
                with h5py.File(output, "r", locking=False) as f:
                    if int(f.attrs["rows_committed"]) > 0:
                        break
            except OSError:
                pass  # being created or flushed right now
        time.sleep(0.1)
    else:
        pytest.fail("no rows committed within 120 s: " + log_of(tmp_path, "requeued-*.out"))
    slurm.command(["scancel", "--batch", "--signal=USR1", job_id])
    # The job requeues itself (Restarts=1) and starts again: the requeue shows as PENDING
    # (released at once by slurm.release_if_requeued) before the second start logs itself.
    deadline = time.monotonic() + 300
    while "start 2 of job" not in log_of(tmp_path, "requeued-*.out"):
        slurm.release_if_requeued(job_id)
        assert time.monotonic() < deadline, "no second start: " + log_of(tmp_path, "requeued-*.out") + str(slurm.job(job_id))
        time.sleep(0.5)
    jobs = slurm.wait_for(job_id, {"COMPLETED", "FAILED"}, timeout=300)
    log = log_of(tmp_path, "requeued-*.out")
    assert jobs[0]["Restarts"] == "1", log
    assert "got SIGUSR1" in log and "requeueing job" in log, log
    assert "start 2 of job" in log, log
    assert jobs[0]["ExitCode"] == "1:0", log
    attrs = assert_same_tasks(output, reference)
    assert attrs["status"] == "complete"


def test_job_array_shards_merge_to_the_full_result(slurm, job_and_reference, tmp_path):
    job, reference = job_and_reference
    output = tmp_path / "sharded.h5"
    env = submit_env()
    array_id = slurm.sbatch(["--array=0-2", "--ntasks=2", "--overcommit", f"--output={tmp_path}/array-%A_%a.out",
                             SLURM_DIR / "msweep-array.sbatch", job, output], cwd=tmp_path, env=env)
    # The shards have failing tasks by design (exit 1), so the merge depends on afterany.
    merge_id = slurm.sbatch([f"--dependency=afterany:{array_id}", f"--output={tmp_path}/merge-%j.out",
                             SLURM_DIR / "msweep-merge.sbatch", job, output], cwd=tmp_path, env=env)
    slurm.wait_for(merge_id, {"COMPLETED"}, timeout=400)
    logs = log_of(tmp_path, "array-*.out") + log_of(tmp_path, "merge-*.out")
    shards = sorted(tmp_path.glob("sharded.shard-*-of-3.h5"))
    assert len(shards) == 3, logs
    for index, shard in enumerate(shards):
        with h5py.File(shard, "r") as f:
            assert (int(f.attrs["shard_index"]), int(f.attrs["shard_count"])) == (index, 3)
            assert f.attrs["status"] == "complete"
    attrs = assert_same_tasks(output, reference)
    assert attrs["status"] == "complete", logs
    assert int(attrs["shard_count"]) == 1
