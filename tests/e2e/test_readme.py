"""Every command the top-level README.md shows in a fenced `sh` block (and its `python` block),
run exactly as written, each block found by its first line so that a changed README fails
here loudly instead of being skipped. They run in a temporary directory laid out like the
repository (jobs/, analysis/, scripts/ and build/bin/msweep linked to the real ones), so
results/ and reports/ are written there, never in the source tree.

Not run as written, on purpose:
- `bash scripts/quickstart.sh` and `bash scripts/test.sh`, the set-up commands: test.sh is
  this suite itself, and both would install packages and build. Instead scripts/quickstart.sh
  runs with a stub scripts/setup.sh (no install, no build), so its msweep command and its
  report run exactly as the script has them, producing results/quickstart.h5, which the
  README's later commands read.
- The fuzzing block (`cmake --preset fuzz ...`): a separate clang build with libFuzzer and a
  600 s fuzzing session; the committed corpus is replayed by the `fuzz` label instead.
The README's jobs are real: jobs/boston-subsets.toml is 1,024,000 tasks on 3 ranks."""
import os
import re
import subprocess
from pathlib import Path

import h5py

from conftest import MSWEEP, SOURCE

README = SOURCE / "README.md"

QUICKSTART_FIRST = "bash scripts/quickstart.sh"
SWEEP_FIRST = "source scripts/mpi-env.sh"
FUZZ_FIRST = "cmake --preset fuzz && cmake --build --preset fuzz -j2"
PYTHON_FIRST = "import h5py, pandas as pd"


def blocks(language):
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), re.S | re.M)


def first_line(block):
    return block.splitlines()[0].split("#")[0].strip()


def readme_block(language, first):
    """The fenced block of README.md in `language` whose first line (comment aside) is `first`."""
    matches = [b for b in blocks(language) if first_line(b) == first]
    assert len(matches) == 1, f"README.md: no single ```{language} block starting {first!r}"
    return matches[0]


def shell(repo, text, timeout):
    """Runs README text with bash -e in `repo`, as root allowed by scripts/mpi-env.sh's variables."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{text}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def repository(root):
    """A directory laid out like the repository, with the binary under test as build/bin/msweep."""
    for name in ("jobs", "analysis"):
        (root / name).symlink_to(SOURCE / name)
    (root / "scripts").mkdir()
    for name in ("quickstart.sh", "mpi-env.sh"):
        (root / "scripts" / name).symlink_to(SOURCE / "scripts" / name)
    (root / "scripts" / "setup.sh").write_text("# stub: packages are installed and msweep is built\n")
    (root / "build" / "bin").mkdir(parents=True)
    (root / "build" / "bin" / "msweep").symlink_to(MSWEEP)
    return root


def status_and_count(path):
    with h5py.File(path, "r", swmr=True, locking=False) as f:
        state = f["state"][0]
        return state["status"].decode(), int(state["rows_committed"])


def test_every_sh_block_of_the_readme_is_known():
    """A new or changed block must be added here (and run), not silently skipped."""
    firsts = sorted(first_line(b) for b in blocks("sh"))
    assert firsts == sorted([QUICKSTART_FIRST, SWEEP_FIRST, FUZZ_FIRST]), firsts
    assert [first_line(b) for b in blocks("python")] == [PYTHON_FIRST]
    setup = [line.split("#")[0].strip() for line in readme_block("sh", QUICKSTART_FIRST).splitlines()]
    assert setup == [QUICKSTART_FIRST, "bash scripts/test.sh"], setup


def test_readme_commands_run_as_written(tmp_path):
    repo = repository(tmp_path)

    # The quick start's run and report (set-up stubbed; see the module docstring).
    out = shell(repo, "bash scripts/quickstart.sh", timeout=600)
    assert out.rstrip().endswith("reports/quickstart/index.html"), out
    assert "best by log evidence:" in out, out
    assert status_and_count(repo / "results" / "quickstart.h5") == ("complete", 122880)
    assert (repo / "reports" / "quickstart" / "index.html").is_file()

    # "Running your own sweep", the whole block as one script: every command must exit 0, and
    # every output it names (-o PATH) exists: results files complete, reports with index.html.
    block = readme_block("sh", SWEEP_FIRST)
    out = shell(repo, block, timeout=600)
    assert "tasks: 1024000" in out, out                      # plan of jobs/boston-subsets.toml
    assert "estimate: run time about" in out, out
    assert status_and_count(repo / "results" / "boston.h5") == ("complete", 1024000)
    outputs = re.findall(r"-o (\S+)", block)
    assert len(outputs) >= 3, outputs
    for output in outputs:
        if output.endswith(".h5"):
            assert status_and_count(repo / output)[0] == "complete", output
        else:
            assert (repo / output / "index.html").is_file(), output
            assert f"{output}/index.html" in out, out
    assert out.rstrip().endswith("/index.html"), out

    # "Reading results": the python block with /usr/bin/python3 (Debian's h5py and pandas).
    code = readme_block("python", PYTHON_FIRST) + "print(len(tasks))\n"
    done = subprocess.run(["/usr/bin/python3", "-c", code], cwd=repo, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["122880"], done.stdout
