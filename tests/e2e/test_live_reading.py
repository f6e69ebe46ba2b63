"""Reading a results file while msweep writes it: every read succeeds (issue 14).

Readers poll in a loop throughout a run: `msweep inspect --summary` (C++) and the analysis
loader's info() and load() (Python, h5py). The run cannot end before the readers have polled
POLLS times: its last structures wait for a hold file (synthetic-load's hold_file) that the
test creates only then, so the test waits for events, never for a timer. Without SWMR, 5 of
12 inspects and 1 of 12 info() calls failed during a 5.2M-task run.
"""
import subprocess
import sys
import time
from pathlib import Path

from conftest import MSWEEP, SOURCE, environment, mpirun, run_state, write_job

sys.path.insert(0, str(SOURCE / "analysis"))
import msweep_analysis as ma  # noqa: E402

POLLS = 12  # reads of each kind before the run may finish

JOB = """
[job]
name = "live"
experiment = "synthetic-load"
seed = 14
[model]
array_size = 4
work = {work}
hold_file = "{hold}"
hold_after = {hold_after}
[sweep]
structures = {structures}
folds = 2
runs = 2
[output]
flush_seconds = 0.01
summary_seconds = 0
"""


def poll_once(output):
    """One read of each kind; returns the failures as text (empty when all succeeded)."""
    failures = []
    inspect = subprocess.run([MSWEEP, "inspect", str(output), "--summary", "--top", "3", "--by", "uniform"],
                             capture_output=True, text=True, timeout=120)
    if inspect.returncode != 0:
        failures.append(f"inspect exit {inspect.returncode}: {inspect.stderr.strip()}")
    try:
        meta = ma.info(output)
        frame = ma.load(output)
        if len(frame) != meta["rows_committed"] and meta["status"] != "running":
            failures.append(f"load: {len(frame)} rows, info: {meta['rows_committed']} committed")
    except Exception as error:  # any failed read is what this test counts
        failures.append(f"python: {type(error).__name__}: {error}")
    return failures


def test_readers_polling_a_live_run_never_fail(tmp_path):
    hold = tmp_path / "release"
    structures, hold_after = 20000, 19990  # 80,000 tasks; the last 40 wait for the hold file
    # About 0.2 ms of work per task: the run writes for seconds while the readers poll (how
    # many polls overlap writing depends on the machine; every one must succeed regardless).
    job = write_job(tmp_path, "live", JOB.format(hold=hold, hold_after=hold_after, structures=structures, work=200000))
    output = tmp_path / "live.h5"
    writer = subprocess.Popen(mpirun(3) + [MSWEEP, "run", str(job), "-o", str(output), "-q"], env=environment(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    failures, polls, live_polls, growing_polls, last_rows = [], 0, 0, 0, -1
    try:
        # The file appears complete (it is renamed into place); from then on every read must work.
        while not output.exists():
            assert writer.poll() is None, writer.communicate()
            time.sleep(0.01)
        while polls < POLLS or writer.poll() is None:
            if polls == POLLS:
                hold.touch()  # the readers have had their turns: let the run finish
            running = writer.poll() is None
            failures += poll_once(output)
            polls += 1
            live_polls += running
            rows = int(run_state(output)["rows_committed"])
            growing_polls += rows != last_rows  # the writer committed rows since the last poll
            last_rows = rows
        stdout, stderr = writer.communicate(timeout=300)
    finally:
        hold.touch()
        if writer.poll() is None:
            writer.kill()
            writer.communicate()
    assert writer.returncode == 0, stderr
    failures += poll_once(output)
    assert not failures, f"{len(failures)} failed reads of {polls + 1} polls: {failures[:5]}"
    assert live_polls >= POLLS, "the readers polled while the run was writing"
    state = run_state(output)
    assert state["status"] == "complete" and state["summarized_rows"] == state["rows_committed"] == structures * 4
    print(f"{polls + 1} polls ({live_polls} while the run lived, {growing_polls} saw new rows), 0 failed")


def test_summaries_are_written_while_the_run_goes(tmp_path):
    """A live run's /summaries are readable and count the committed rows they cover."""
    hold = tmp_path / "release"
    job = write_job(tmp_path, "live", JOB.format(hold=hold, hold_after=50, structures=60, work=0))
    output = tmp_path / "live.h5"
    writer = subprocess.Popen([MSWEEP, "run", str(job), "-o", str(output), "-q"], env=environment(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Structures 0-49 (200 tasks) finish, then the run waits for the hold file; summaries
        # are rewritten at every flush (summary_seconds = 0).
        while True:
            assert writer.poll() is None, writer.communicate()
            if output.exists() and run_state(output)["summarized_rows"] >= 200:
                break
            time.sleep(0.01)
        summary = ma.load_summaries(output)
        assert summary is not None
        assert int(summary["ok_count"].sum()) == int(run_state(output)["summarized_rows"])
        shown = subprocess.run([MSWEEP, "inspect", str(output), "--summary", "--top", "2", "--by", "normal"],
                               capture_output=True, text=True, timeout=60)
        assert shown.returncode == 0, shown.stderr
        assert "first 2 of 60" in shown.stdout, shown.stdout
    finally:
        hold.touch()
        writer.communicate(timeout=300)
    assert writer.returncode == 0
