"""Every shell block of docs/experiments/*.md, as written, in a temporary directory laid out like
the repository (test_readme.repository): each block's commands exit 0, each results file it
names with -o is complete and each report directory has its index.html. A page that gains a
block is run here without an edit, so the pages cannot show a command no test runs."""
import re

import pytest

from conftest import SOURCE
from test_readme import repository, shell, status_and_count

PAGES = sorted((SOURCE / "docs" / "experiments").glob("*.md"))
BLOCKS = [(page.name, i, block) for page in PAGES
          for i, block in enumerate(re.findall(r"^```(?:sh|bash)\n(.*?)^```", page.read_text(), re.S | re.M))]


def test_the_pages_show_commands():
    assert BLOCKS, "docs/experiments/*.md: no shell block found (the pattern may be out of date)"


@pytest.mark.parametrize("page,index,block", BLOCKS, ids=[f"{p}-{i}" for p, i, _ in BLOCKS])
def test_experiment_page_block_runs_as_written(tmp_path, page, index, block):
    repo = repository(tmp_path)
    out = shell(repo, block, timeout=600)
    outputs = re.findall(r"-o (\S+)", block)
    assert outputs, f"{page}: a block with no -o output checks nothing"
    for output in outputs:
        if output.endswith(".h5"):
            assert status_and_count(repo / output)[0] == "complete", f"{page}: {output}\n{out}"
        else:
            assert (repo / output / "index.html").is_file(), f"{page}: {output}\n{out}"
