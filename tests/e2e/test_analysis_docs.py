"""docs/analysis.md's runnable blocks, as written: the shell block (two quick-start runs, a
report, the same report as a module, a comparison) and the Python blocks that read those
files (the functions, and how to look at a 100M-row file). They run in a temporary directory
laid out like the repository (test_readme.repository), so results/ and reports/ are written
there. Blocks are found by their first line, so an edited document fails here instead of being
skipped. Not run: the figure-set example (it names an experiment kind that does not exist) and
the Tests block (it is this suite)."""
import re
import subprocess
import sys

from conftest import SOURCE
from test_readme import repository, shell

DOC = SOURCE / "docs" / "analysis.md"
SHELL_FIRST = "build/bin/msweep run jobs/quickstart.toml --set sweep.runs=2 -o results/evidence.h5"
PYTHON_FIRSTS = ('import sys; sys.path.insert(0, "analysis")',)


def doc_blocks(language):
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.S | re.M)


def test_analysis_doc_blocks_run_as_written(tmp_path):
    repo = repository(tmp_path)
    sh = [b for b in doc_blocks("sh") if b.splitlines()[0].split("#")[0].strip() == SHELL_FIRST]
    assert len(sh) == 1, f"docs/analysis.md: no single ```sh block starting {SHELL_FIRST!r}"
    out = shell(repo, sh[0], timeout=600)
    assert "reports/evidence/index.html" in out and "reports/fixed-vs-evidence/index.html" in out
    python = [b for b in doc_blocks("python") if b.splitlines()[0].strip() in PYTHON_FIRSTS]
    assert len(python) == 2, "docs/analysis.md: expected the functions block and the 100M-row block"
    for block in python:
        done = subprocess.run([sys.executable, "-c", block], cwd=repo, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"{block}\n{done.stderr}"
