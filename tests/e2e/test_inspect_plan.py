"""plan shows the grid without writing anything; inspect summarizes a results file."""
from conftest import run, write_job

JOB = """[job]
name = "ins"
experiment = "subset-evidence"
seed = 1
[data]
source = "boston"
[sweep]
structures = [["RM", "LSTAT"], ["RM"], []]
folds = 3
runs = 2
"""


def test_plan_then_run_then_inspect(tmp):
    job = write_job(tmp, "ins", JOB)
    plan = run(["plan", job])
    assert plan.returncode == 0, plan.stderr
    assert "tasks: 18" in plan.stdout
    assert "structure         3  RM+LSTAT, RM, (intercept only)" in plan.stdout
    output = tmp / "ins.h5"
    result = run(["run", job, "-o", output], ranks=2)
    assert result.returncode == 0, result.stderr
    assert "18 of 18 tasks stored, 0 failed" in result.stdout
    assert "best by log evidence: RM+LSTAT" in result.stdout
    assert "18/18 tasks (100.0%)" in result.stderr  # the final progress line
    inspect = run(["inspect", output, "--summary", "--rows", "2"])
    assert inspect.returncode == 0, inspect.stderr
    assert "status complete" in inspect.stdout
    assert "tasks: 18 of 18 stored (100.0%), 0 failed" in inspect.stdout
    assert "RM+LSTAT\t0\t6\t0" in inspect.stdout  # summary row: structure, restart, ok, failed
