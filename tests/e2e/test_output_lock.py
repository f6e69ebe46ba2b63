"""One writer per results file (docs/cli.md, "One writer per file"): a second `run --resume`
against a live run is refused and touches nothing, with HDF5's file locking on or off; the
lock of a killed run is taken over; a reader holding HDF5's lock makes the file "in use",
never "damaged". The live run stops itself at a known step (MSWEEP_TEST_FAIL_AT=...:stop, the
test-only hook) so nothing here races a timer."""
import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import h5py
import pytest

from conftest import MSWEEP, run, run_state, write_job

JOB = """[job]
name = "lock"
experiment = "synthetic-load"
seed = 5
[model]
work = 20000
array_size = 3
[sweep]
structures = 50
runs = 2
[output]
flush_rows = 10
"""


def start(args, env):
    return subprocess.Popen([MSWEEP] + [str(a) for a in args], env=dict(os.environ, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_until_stopped(process, timeout=120):
    """Waits for the process to stop itself (state T in /proc), the event the hook raises."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        state = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            return
        time.sleep(0.02)
    pytest.fail("the writer never reached its stop point")


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def locking_env(locking):
    return {} if locking else {"HDF5_USE_FILE_LOCKING": "FALSE"}


@pytest.mark.parametrize("locking", [True, False], ids=["hdf5-locking", "hdf5-locking-off"])
def test_second_writer_is_refused_while_the_first_lives(tmp_path, monkeypatch, locking):
    job = write_job(tmp_path, "lock", JOB)
    output = tmp_path / "out.h5"
    journal = Path(str(output) + ".journal")
    live = start(["run", job, "-o", output, "-q"], dict(locking_env(locking), MSWEEP_TEST_FAIL_AT="flush.mark:1:stop"))
    try:
        wait_until_stopped(live)
        before = digest(output), digest(journal)
        for name, value in locking_env(locking).items():
            monkeypatch.setenv(name, value)
        for args in (["--resume"], ["--force"]):
            second = run(["run", job, "-o", output, "-q"] + args)
            assert second.returncode == 2, second.stderr
            assert "in use by another msweep" in second.stderr and f"pid {live.pid}" in second.stderr, second.stderr
            assert second.stderr.count("\n") == 1, second.stderr
        # plan -o says so (read only: it tries no lock), not "--resume continues it".
        planned = run(["plan", job, "--no-estimate", "-o", output])
        line = [text for text in planned.stdout.splitlines() if text.startswith("output: ")][0]
        assert "exists, being written by another msweep (host " in line and f"pid {live.pid}" in line, line
        assert "run refuses it until that one ends" in line, line
        assert (digest(output), digest(journal)) == before
        assert not Path(str(output) + ".damaged").exists()
    finally:
        live.send_signal(signal.SIGCONT)
    _, err = live.communicate(timeout=300)
    assert live.returncode == 0, err
    state = run_state(output)
    assert state["status"] == "complete" and int(state["rows_committed"]) == 100
    assert not Path(str(output) + ".lock").exists()


def test_lock_of_a_killed_run_is_taken_over(tmp_path):
    job = write_job(tmp_path, "lock", JOB)
    output = tmp_path / "out.h5"
    live = start(["run", job, "-o", output, "-q"], {"MSWEEP_TEST_FAIL_AT": "flush.mark:1:stop"})
    wait_until_stopped(live)
    live.kill()
    live.communicate()
    assert Path(str(output) + ".lock").exists()
    done = run(["run", job, "-o", output, "-q", "--resume"])
    assert done.returncode == 0, done.stderr
    assert "took over the stale lock" in done.stderr and f"pid {live.pid}" in done.stderr, done.stderr
    assert run_state(output)["status"] == "complete"
    with h5py.File(output, "r") as f:
        ids = sorted(int(i) for i in f["tasks"]["id"][: f["state"][0]["rows_committed"]])
    assert ids == list(range(100))


def test_a_reader_holding_the_file_makes_it_in_use_not_damaged(tmp_path):
    if os.environ.get("HDF5_USE_FILE_LOCKING") == "FALSE":
        pytest.skip("HDF5 file locking is off")
    job = write_job(tmp_path, "lock", JOB)
    output = tmp_path / "out.h5"
    assert run(["run", job, "-o", output, "-q"]).returncode == 0
    with h5py.File(output, "r"):
        resumed = run(["run", job, "-o", output, "-q", "--resume"])
    assert resumed.returncode == 2, resumed.stderr
    assert "in use by another process" in resumed.stderr, resumed.stderr
    assert not Path(str(output) + ".damaged").exists()
