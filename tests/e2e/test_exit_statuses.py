"""docs/cli.md's exit-status table is what the code does. The test reads the statuses from the
table and from ExitStatus (include/msweep/core/error.hpp), requires the same set, and runs one
representative case of every row, for every command the row names, checking the status (and,
for status 2, that nothing was created). A row added, removed or renumbered without a case
fails here. Cases wait for events (marker files, stderr lines), never for a time."""
import re
import signal
import subprocess

import pytest

from conftest import MSWEEP, SOURCE, environment, mpirun, run, write_job
from test_failure_paths import start, two_signals

LOAD = """[job]
name = "exit"
experiment = "synthetic-load"
seed = 2
[model]
fail_every = {fail_every}
[sweep]
structures = {structures}
runs = 2
"""


def table_statuses():
    """status -> meaning, from the "## Exit statuses" table of docs/cli.md."""
    text = (SOURCE / "docs" / "cli.md").read_text()
    section = text.split("## Exit statuses", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.*?) \|", section, flags=re.MULTILINE)
    assert rows, "no exit-status table in docs/cli.md"
    return {int(status): meaning for status, meaning in rows}


def code_statuses():
    """name -> value of enum class ExitStatus."""
    header = (SOURCE / "include" / "msweep" / "core" / "error.hpp").read_text()
    body = header.split("enum class ExitStatus", 1)[1].split("};", 1)[0]
    return {name: int(value) for name, value in re.findall(r"(\w+) = (\d+),", body)}


def job(tmp, fail_every=0, structures=10):
    return write_job(tmp, f"exit{fail_every}", LOAD.format(fail_every=fail_every, structures=structures))


def listing(directory):
    return sorted(p.relative_to(directory) for p in directory.rglob("*"))


def complete_run(tmp):
    return run(["run", job(tmp), "-o", tmp / "ok.h5", "-q"])


def status_0(tmp):
    out = complete_run(tmp)
    assert out.returncode == 0, out.stderr
    yield "run", out.returncode
    yield "plan", run(["plan", job(tmp), "--no-estimate"]).returncode
    yield "inspect", run(["inspect", tmp / "ok.h5", "--summary", "--rows", "2"]).returncode
    yield "merge", run(["merge", tmp / "ok.h5", "-o", tmp / "merged.h5", "-q"]).returncode
    yield "--help", run(["--help"]).returncode
    yield "--version", run(["--version"]).returncode


def status_1(tmp):
    yield "run with failed tasks", run(["run", job(tmp, fail_every=3), "-o", tmp / "failed.h5", "-q"]).returncode
    # merge and inspect of that file end 0 (the table says only run reports failed tasks)
    assert run(["merge", tmp / "failed.h5", "-o", tmp / "m.h5", "-q"]).returncode == 0
    assert run(["inspect", tmp / "failed.h5"]).returncode == 0


def status_2(tmp):
    # Each case in an empty directory of its own, which must stay empty.
    good = job(tmp)
    assert complete_run(tmp).returncode == 0
    cases = {
        "unknown command": ["plna"],
        "bad argument": ["run", good, "--in-flight", "0"],
        "missing job file": ["plan", tmp / "nope.toml"],
        "bad key (plan)": ["plan", good, "--set", "sweep.runs=x"],
        "bad key (run)": ["run", good, "--set", "sweep.runs=0"],
        "grid over 2^32 tasks": ["plan", good, "--set", "sweep.structures=4294967296"],
        "output is a directory": ["run", good, "-o", "{dir}/d/"],
        "existing output without --resume": ["run", good, "-o", tmp / "ok.h5"],
        "inspect a file that is not a results file": ["inspect", good],
        "merge files that overlap": ["merge", tmp / "ok.h5", tmp / "ok.h5", "-o", "{dir}/m.h5"],
    }
    for name, args in cases.items():
        directory = tmp / re.sub(r"\W+", "-", name)
        directory.mkdir()
        result = run([str(a).replace("{dir}", str(directory)) for a in args], cwd=directory)
        assert listing(directory) == [], (name, listing(directory))
        assert result.stderr.startswith("msweep: error: ") and len(result.stderr.splitlines()) == 1, (name, result.stderr)
        yield name, result.returncode
    # under mpirun: reported once, every rank exits 2
    under = run(["run", good, "--set", "sweep.runs=0", "-o", tmp / "mpi.h5"], ranks=2)
    assert under.stderr.count("msweep: error:") == 1, under.stderr
    yield "bad key under mpirun", under.returncode


def status_3(tmp):
    result = subprocess.run([MSWEEP, "run", str(job(tmp)), "-o", str(tmp / "throw.h5"), "-q"], capture_output=True, text=True,
                            timeout=300, env=environment(MSWEEP_TEST_FAULT="worker-throw"))
    yield "exception while computing (run)", result.returncode
    assert complete_run(tmp).returncode == 0
    yield "inspect --csv cannot write", run(["inspect", tmp / "ok.h5", "--summary", "--csv", "/dev/full"]).returncode


def status_4(tmp):
    assert run(["run", job(tmp), "-o", tmp / "half.h5", "--shard", "0/2", "-q"]).returncode == 0
    yield "merge with tasks missing", run(["merge", tmp / "half.h5", "-o", tmp / "m.h5", "-q"]).returncode
    hang = tmp / "hang"
    hang.mkdir()
    process = start(["run", job(tmp, structures=200), "-o", tmp / "signal.h5", "-q"], 1, MSWEEP_TEST_FAULT=f"task-hang={hang}")
    two_signals(process, hang, [0])
    yield "run stopped by signals", process.returncode


CASES = {0: status_0, 1: status_1, 2: status_2, 3: status_3, 4: status_4}


def test_the_table_lists_exactly_the_codes_statuses():
    assert sorted(table_statuses()) == sorted(code_statuses().values()) == sorted(CASES)


@pytest.mark.parametrize("status", sorted(CASES))
def test_every_row_of_the_table_is_what_the_code_does(tmp, status):
    assert status in table_statuses()
    seen = list(CASES[status](tmp))
    assert seen, f"no case for status {status}"
    assert [(name, code) for name, code in seen if code != status] == [], f"status {status}: {table_statuses()[status]}"
