"""The engine's failure paths (docs/architecture.md, "Failure model"): every failure prints one
`msweep: error:` line and exits with its documented status; the master saves what it has
before the job ends; ranks that disagree about the input all exit 2 (no hang); the master
never blocks on a large result over TCP; a second signal stops a run at once.

Faults are injected with MSWEEP_TEST_FAULT (test-only, documented in src/app/run.cpp) and
every test waits for the event it needs (marker files, stderr lines), never for a time."""
import signal
import subprocess
import time

import h5py
import pytest

from conftest import MSWEEP, environment, mpirun, run, run_state, write_job
from results_compare import assert_same_tasks

JOB = """[job]
name = "fail-paths"
experiment = "synthetic-load"
seed = 5
[model]
array_size = {array_size}
[sweep]
structures = {structures}
"""


def job(tmp, structures=200, array_size=0, name="job"):
    return write_job(tmp, name, JOB.format(structures=structures, array_size=array_size))


def start(args, ranks, launcher_options=(), **env):
    """Starts msweep (under mpirun) in the background; stderr is read line by line."""
    command = mpirun(ranks) + list(launcher_options) + [MSWEEP] + [str(a) for a in args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(**env))


def wait_for(condition):
    while not condition():
        time.sleep(0.02)


def wait_for_line(process, text):
    """Reads stderr until a line containing `text`; returns the lines read."""
    lines = []
    for line in process.stderr:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"stderr ended without {text!r}: {''.join(lines)}")


def error_lines(stderr):
    return [line for line in stderr.splitlines() if line.startswith("msweep: error:")]


def status_of(path):
    return run_state(path)["status"]


def two_signals(process, hang_dir, computing_ranks):
    """Once every computing rank hangs in a task: one stop signal, and a second once it was seen."""
    wait_for(lambda: all((hang_dir / f"hang.{r}").exists() for r in computing_ranks))
    process.send_signal(signal.SIGUSR1)
    seen = wait_for_line(process, "a second signal stops at once")
    process.send_signal(signal.SIGUSR1)
    out, err = process.communicate(timeout=120)
    return out, "".join(seen) + err


def test_error_in_the_final_finish_is_printed(tmp):
    """The journal cannot be removed at the end (a non-empty directory replaced it): before,
    Boost's abort-on-exception ended the run with MPI_Abort(-1) and no message."""
    control = tmp / "control"
    control.mkdir()
    output = tmp / "out.h5"
    process = start(["run", job(tmp), "-o", output, "-q"], 1, MSWEEP_TEST_FAULT=f"pause-before-finish={control}")
    wait_for(lambda: (control / "paused").exists())
    journal = tmp / "out.h5.journal"
    journal.unlink()
    (journal / "x").mkdir(parents=True)
    (control / "resume").touch()
    out, err = process.communicate(timeout=120)
    assert process.returncode == 3, err
    lines = error_lines(err)
    assert len(lines) == 1, err
    assert "out.h5.journal: cannot remove the journal" in lines[0]


@pytest.mark.parametrize("ranks", [1, 3])
def test_exception_on_a_computing_rank_is_printed_and_the_file_saved(tmp, ranks):
    output = tmp / "out.h5"
    result = subprocess.run(mpirun(ranks) + [MSWEEP, "run", str(job(tmp)), "-o", str(output), "-q"], capture_output=True,
                            text=True, timeout=300, env=environment(MSWEEP_TEST_FAULT="worker-throw"))
    assert result.returncode == 3, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert "injected fault on the first task of rank" in lines[0]
    # The error names the output file (and the worker, when the master reports it) ...
    assert lines[0].startswith(f"msweep: error: {output}: " + ("rank " if ranks > 1 else ""))
    # ... and the next line what the file holds and how to resume it, before the abort.
    stopped = [line for line in result.stderr.splitlines() if line.startswith("msweep: stopped by this error")]
    assert len(stopped) == 1, result.stderr
    assert "(exit 3; the file's status is interrupted, " in stopped[0] and " tasks stored); fix the cause, then resume with: " in stopped[0]
    assert f" -o {output} --resume" in stopped[0]
    assert status_of(output) == "interrupted"
    assert run(["run", job(tmp), "-o", output, "--resume", "-q"]).returncode == 0


def test_ranks_that_disagree_about_the_input_all_exit_2(tmp):
    """MPMD: rank 0 reads a good job, ranks 1-2 a bad one. Before, rank 0 entered all_gather
    while the others waited in barrier: a hang."""
    good = job(tmp)
    bad = write_job(tmp, "bad", JOB.format(structures='"many"', array_size=0))
    output = tmp / "out.h5"
    command = (mpirun(1) + [MSWEEP, "run", str(good), "-o", str(output)] + [":", "-n", "2", MSWEEP, "run", str(bad), "-o", str(output)])
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=environment())
    assert result.returncode == 2, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("msweep: error: rank 1: ") and "structures" in lines[0]
    assert not output.exists()


@pytest.mark.parametrize("ranks", [1, 3])
def test_second_signal_stops_at_once(tmp, ranks):
    """Every computing rank hangs in its second task: only the second signal can end the run.
    Before, one rank looked at the signal count only between tasks (never, here), and the
    summary line came from an unfilled summary (1000000000 tasks/s)."""
    hang = tmp / "hang"
    hang.mkdir()
    output = tmp / "out.h5"
    process = start(["run", job(tmp), "-o", output, "-q"], ranks, MSWEEP_TEST_FAULT=f"task-hang={hang}")
    out, err = two_signals(process, hang, range(1, ranks) if ranks > 1 else [0])
    assert process.returncode == 4, err
    assert error_lines(err) == []
    assert status_of(output) == "interrupted"
    summary = next(line for line in out.splitlines() if line.startswith("msweep: interrupted,"))
    stored = int(summary.split(": ")[2].split(" of ")[0])
    assert f"this run: {stored} tasks" in summary
    assert "1000000000 tasks/s" not in summary and "CPU 0.0%" not in summary
    assert "resume with" in out


def test_large_results_over_tcp(tmp):
    """Results of 1.6 MB per task over TCP: identical to a one-rank run."""
    path = job(tmp, structures=12, array_size=200_000)
    reference = tmp / "one.h5"
    assert run(["run", path, "-o", reference, "-q"]).returncode == 0
    output = tmp / "tcp.h5"
    result = subprocess.run(mpirun(3) + ["--mca", "btl", "self,tcp", MSWEEP, "run", str(path), "-o", str(output), "-q"],
                            capture_output=True, text=True, timeout=300, env=environment())
    assert result.returncode == 0, result.stderr
    assert_same_tasks(output, reference)


def test_master_serves_signals_while_a_large_result_is_in_transit(tmp):
    """Over TCP a large message moves only while its sender is inside MPI. Each worker sends
    1.6 MB and then hangs in its next task, so its result cannot finish arriving. Before, the
    master sat in a blocking receive of that result forever; now it still serves signals."""
    hang = tmp / "hang"
    hang.mkdir()
    output = tmp / "out.h5"
    process = start(["run", job(tmp, structures=12, array_size=200_000), "-o", output, "-q"], 3,
                    ["--mca", "btl", "self,tcp"], MSWEEP_TEST_FAULT=f"task-hang={hang}")
    out, err = two_signals(process, hang, [1, 2])
    assert process.returncode == 4, err
    assert status_of(output) == "interrupted"


def test_a_billion_tasks_are_no_longer_refused_for_distribution(tmp):
    """Work travels as ranges of the grid, so the old limit of one broadcast id list (about
    268M pending ids) is gone: a grid of 10^9 tasks plans, alone or as a shard. Grids past
    2^32 tasks are refused at their axis (test_cli_errors.py)."""
    path = write_job(tmp, "huge", JOB.format(structures=1000, array_size=0) + "folds = 1000\nrestarts = 1000\n")
    for args in (["plan", path, "--no-estimate"], ["plan", path, "--no-estimate", "--set", "sweep.runs=2"]):
        result = run(args)
        assert result.returncode == 0, result.stderr
        assert "tasks: 1000000000" in result.stdout or "tasks: 2000000000" in result.stdout