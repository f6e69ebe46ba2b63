"""msweep plan's results-file size estimate holds for real files of results format 2 (SWMR,
/state, /summaries, chunked arrays): within 0.8x-1.25x of the file a run writes, for kinds whose
size is dominated by whole chunks and metadata (small runs) and by the rows (many tasks)."""
import re

import pytest

from conftest import SOURCE, run

UNITS = {"kB": 1e3, "MB": 1e6, "GB": 1e9}
JOBS = [
    ("quickstart", ["--set", "sweep.max_features=3"]),  # subset-evidence: 378 structures x 15 = 5670 rows
    ("mixture-circles-models-small", []),                 # mixture-em: 400x3 points per task
    ("multistart-evidence-small", []),
    ("structure-small", []),                              # 16 tasks: chunks and metadata only
]


def estimated_bytes(plan_stdout):
    match = re.search(r"estimate: results file about ([0-9.]+) (kB|MB|GB) ", plan_stdout)
    assert match, plan_stdout
    return float(match.group(1)) * UNITS[match.group(2)]


@pytest.mark.parametrize("name,overrides", JOBS, ids=[name for name, _ in JOBS])
def test_the_estimate_is_within_a_factor_of_the_real_file(tmp, name, overrides):
    job = SOURCE / "jobs" / f"{name}.toml"
    plan = run(["plan", job, "--no-estimate"] + overrides)
    assert plan.returncode == 0, plan.stderr
    output = tmp / f"{name}.h5"
    result = run(["run", job, "-o", output, "-q"] + overrides)
    assert result.returncode == 0, result.stderr
    actual, estimate = output.stat().st_size, estimated_bytes(plan.stdout)
    assert 0.8 <= estimate / actual <= 1.25, f"{name}: estimate {estimate:.0f} bytes, file {actual} bytes"
