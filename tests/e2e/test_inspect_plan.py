"""plan shows the grid without writing anything; inspect summarizes a results file."""
from conftest import SOURCE, run, write_job

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
    assert "structure     3  RM+LSTAT, RM, (intercept only)" in plan.stdout
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


def test_inspect_status_and_json_for_scripts(tmp):
    """Machine-readable forms: one status word, one JSON object; a complete shard is complete."""
    import json
    job = write_job(tmp, "ins", JOB)
    shard = tmp / "ins.shard.h5"
    assert run(["run", job, "-o", shard, "--shard", "1/4", "-q"]).returncode == 0
    status = run(["inspect", "--status", shard])
    assert (status.returncode, status.stdout) == (0, "complete\n"), status.stderr
    state = json.loads(run(["inspect", "--json", shard]).stdout)
    assert state["status"] == "complete" and state["shard"] == {"index": 1, "count": 4}
    assert state["tasks"] == {"stored": 5, "total": 5, "failed": 0, "grid": 18}  # ids 1, 5, 9, 13, 17
    assert state["job"] == "ins" and state["slurm_job_id"] == "" and state["rank_hosts"].endswith(": 0")
    both = run(["inspect", "--status", "--json", shard])
    assert both.returncode == 2 and "excludes" in both.stderr
    missing = run(["inspect", "--status", tmp / "nope.h5"])
    assert missing.returncode == 2 and missing.stdout == ""


def test_plan_shows_the_keys_an_axis_sets_per_task(tmp):
    """mixture-em's [sweep] models sets [model] expert_noise and background per task: plan shows
    their value per model label, and resolved_job records them as per task, not one value."""
    plan = run(["plan", SOURCE / "jobs" / "mixture-circles-models-small.toml", "--no-estimate"], cwd=tmp)
    assert plan.returncode == 0, plan.stderr
    assert '"background": "per task: [sweep] models"' in plan.stdout
    assert '"expert_noise": "per task: [sweep] models"' in plan.stdout
    lines = plan.stdout.splitlines()
    start = lines.index("keys set per task by the model axis ([sweep] models), one row per label:")
    header, *rows = lines[start + 1:start + 6]
    assert header.split() == ["model", "[model]", "expert_noise", "[model]", "background"]
    assert [row.split() for row in rows] == [["shared", "shared", "false"], ["per-expert", "per-expert", "false"],
                                             ["shared+background", "shared", "true"],
                                             ["per-expert+background", "per-expert", "true"]]
    columns = [header.index("[model] expert_noise"), header.index("[model] background")]
    for row in rows:  # aligned: each value starts under its key
        assert all(row[c - 1] == " " and row[c] != " " for c in columns), row
    fixed = run(["plan", SOURCE / "jobs" / "mixture-circles-small.toml", "--no-estimate"], cwd=tmp)
    assert "keys set per task" not in fixed.stdout and '"background": false' in fixed.stdout


def test_a_cross_key_error_names_the_override_that_caused_it(tmp):
    """prior_means fits the file's experts; --set sweep.experts=[3] makes them inconsistent: the
    message leads with that override (and still gives prior_means' line); nothing is created."""
    job = SOURCE / "jobs" / "mixture-circles-models-small.toml"
    for command in (["plan", job], ["run", job, "-o", tmp / "x.h5"]):
        result = run(command + ["--set", "sweep.experts=[3]"], cwd=tmp)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(f"msweep: error: --set sweep.experts=[3]: [model] prior_means ({job}:"), result.stderr
        assert "for each of the 3 experts" in result.stderr and len(result.stderr.splitlines()) == 1
    assert list(tmp.iterdir()) == []
