"""plan shows the grid without writing anything; inspect summarizes a results file."""
import csv
import io
import re

import pytest

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
    table = inspect.stdout.split("sem over runs):\n", 1)[1].splitlines()
    assert table[0].split()[:5] == ["structure", "restart", "ok", "failed", "runs"]
    assert table[1].split()[:5] == ["RM+LSTAT", "0", "6", "0", "2"]  # summary row: structure, restart, ok, failed, runs
    ends = [table[0].index("runs") + 4, len(table[0])]  # right-aligned numbers: every row ends its columns there
    for row in table[1:]:
        assert len(row) == len(table[0]) and row[ends[0] - 1] != " " and row[ends[0]] == " ", row


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


def common_gaps(lines):
    """Runs of two or more positions that are blank in every line: one between each pair of
    aligned columns (cells may hold single spaces, as "K=2 no-prior")."""
    width = max(len(line) for line in lines)
    blank = [all(p >= len(line) or line[p] == " " for line in lines) for p in range(width)]
    blank = blank[blank.index(False):]  # the table's indent is no gap
    gaps, run_length = 0, 0
    for is_blank in blank + [False]:
        if is_blank:
            run_length += 1
        else:
            gaps += run_length >= 2
            run_length = 0
    return gaps


@pytest.mark.parametrize("name,title,columns", [
    ("mixture-circles-models-small", "mean S (lower is better)", 2),
    ("param-ordering-synthetic1-small", "network ", 8),
    ("multistart-evidence-small", "(the ensemble of starts", 5),
    ("structure-small", "relaxed searches", 5),
    ("hpo-polynomial-small", "per task, mean over restarts", 6),
])
def test_end_of_run_reports_print_aligned_tables(tmp, name, title, columns):
    """The reports' tables come from one formatter (core/text_table.hpp): every line of a table
    has its columns at the same offsets, whatever the labels' lengths."""
    result = run(["run", SOURCE / "jobs" / f"{name}.toml", "-o", tmp / "out.h5", "-q", "--set", "sweep.runs=1"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title)) + 1
    table = [line for line in lines[start:] if line.strip()]
    assert len(table) >= 3, result.stdout
    assert common_gaps(table) == columns - 1, "\n".join(table)
    assert all(not line.endswith(" ") for line in table)


def test_summary_sorts_bounds_and_criteria_largest_first(tmp):
    """`inspect --summary --by M` puts the best groups first: hyperparameter-optimization's Q
    (best_criterion) is maximized, so it sorts descending without --descending."""
    output = tmp / "hpo.h5"
    result = run(["run", SOURCE / "jobs" / "hpo-polynomial-small.toml", "-o", output, "-q", "--set", "sweep.runs=1"])
    assert result.returncode == 0, result.stderr
    shown = run(["inspect", output, "--summary", "--by", "best_criterion", "--csv", "-"])
    assert shown.returncode == 0, shown.stderr
    values = [float(r["best_criterion_mean"]) for r in csv.DictReader(io.StringIO(shown.stdout))]
    assert len(values) >= 2 and values == sorted(values, reverse=True)


ENUMERATE = ["--set", 'sweep.mode="enumerate"', "--set", "sweep.runs=1", "--set", "sweep.restarts=1",
             "--set", "model.iterations=20"]


def test_plan_and_inspect_name_structure_vertices_by_their_bases(tmp):
    """structure-selection's enumeration: plan, the file's /axes and inspect (rows and summary)
    show each vertex as its bases, one per edge, not as its index."""
    job = SOURCE / "jobs" / "structure-small.toml"  # one edge: const, tanh:1, tanh
    plan = run(["plan", job, "--no-estimate", *ENUMERATE], cwd=tmp)
    assert plan.returncode == 0, plan.stderr
    assert re.search(r"^ *structure +3  const, tanh:1, tanh$", plan.stdout, re.M), plan.stdout
    output = tmp / "enumeration.h5"
    assert run(["run", job, "-o", output, "-q", *ENUMERATE], cwd=tmp).returncode == 0
    inspect = run(["inspect", output, "--rows", "6", "--summary"])
    assert inspect.returncode == 0, inspect.stderr
    rows = [line.split("\t") for line in inspect.stdout.splitlines() if re.match(r"^\d+\t", line)]
    assert sorted({row[1] for row in rows}) == ["const", "tanh", "tanh:1"], inspect.stdout
    summary = inspect.stdout.split("sem over runs):\n", 1)[1].splitlines()
    assert sorted(line.split()[0] for line in summary[1:]) == ["const", "const", "tanh", "tanh", "tanh:1", "tanh:1"]


def summary_blocks(stdout):
    """The summary table's column blocks: lists of lines, split at the empty lines (after the
    line that says how many blocks there are, when there are several)."""
    blocks = [[]]
    lines = stdout.split("sem over runs):\n", 1)[1].splitlines()
    if lines[0].startswith("("):
        assert re.fullmatch(r"\(\d+ column blocks to fit \d+ columns; --width 0: one line per group\)", lines[0]), lines[0]
        lines = lines[1:]
    for line in lines:
        if line:
            blocks[-1].append(line)
        else:
            blocks.append([])
    return blocks


def test_a_wide_summary_fits_the_terminal_in_blocks_that_repeat_the_group_columns(tmp):
    """COLUMNS (or --width) narrower than the table: column blocks, each within the width, each
    starting with the group axes (the row's identity), every metric column in exactly one
    block. --width 0, or no COLUMNS and a pipe for stdout, keep one line per group."""
    job = SOURCE / "jobs" / "structure-small.toml"
    output = tmp / "enumeration.h5"
    assert run(["run", job, "-o", output, "-q", *ENUMERATE], cwd=tmp).returncode == 0
    whole = summary_blocks(run(["inspect", output, "--summary"]).stdout)
    assert len(whole) == 1 and len(whole[0][0]) > 100
    columns = whole[0][0].split()
    for narrow in (run(["inspect", output, "--summary"], extra_env={"COLUMNS": "100"}),
                   run(["inspect", output, "--summary", "--width", "100"], extra_env={"COLUMNS": "300"})):
        assert narrow.returncode == 0, narrow.stderr
        blocks = summary_blocks(narrow.stdout)
        assert len(blocks) >= 2
        shown = []
        for block in blocks:
            assert all(len(line) <= 100 for line in block), "\n".join(block)
            assert block[0].split()[:3] == ["structure", "restart", "meta"]
            assert [line.split()[:3] for line in block[1:]] == [line.split()[:3] for line in whole[0][1:]]
            shown += block[0].split()[3:]
            assert not block[0].split()[3].endswith("_sem")  # a metric's sem stays beside its mean
        assert shown == columns[3:]  # every column once, in order
        assert narrow.stdout.count("\n(") == 1 and f"({len(blocks)} column blocks to fit 100 columns" in narrow.stdout
    assert summary_blocks(run(["inspect", output, "--summary", "--width", "0"], extra_env={"COLUMNS": "100"}).stdout) == whole
    bad = run(["inspect", output, "--summary", "--width", "-1"])
    assert bad.returncode == 2 and "--width" in bad.stderr


def test_plan_says_what_run_would_meet_at_the_output_and_writes_nothing(tmp):
    """The same job (how much is stored), another job (check_compatible's reason) or an unreadable
    file: each is named with what to do, read from the file; plan writes nothing."""
    output = tmp / "res" / "p.h5"
    job = write_job(tmp, "p", JOB.replace("runs = 2", "runs = 2\n[output]\npath = \"res/p.h5\""))

    def output_line(*extra):
        planned = run(["plan", job, "--no-estimate", *extra], cwd=tmp)
        assert planned.returncode == 0, planned.stderr
        return [line for line in planned.stdout.splitlines() if line.startswith("output: ")][0]

    assert output_line() == "output: res/p.h5"
    shard = tmp / "s0.h5"
    assert run(["run", job, "-o", shard, "-q", "--shard", "0/2"], cwd=tmp).returncode == 0
    assert run(["merge", shard, "-o", output, "-q"], cwd=tmp).returncode == 4  # half the tasks
    assert output_line() == ("output: res/p.h5 (exists, same job: 9 of 18 tasks stored, status interrupted; "
                             "--resume continues it, --force starts over)")
    line = output_line("--set", "sweep.runs=3")
    assert "(exists and belongs to another job (changed in " in line and "sweep.runs 2 -> 3" in line, line
    assert line.endswith("; -o NEW.h5 writes elsewhere, or --force replaces it)"), line
    assert run(["run", job, "-q", "--resume"], cwd=tmp).returncode == 0
    assert "exists, same job, complete: 18 of 18 tasks stored" in output_line()
    with open(output, "r+b") as f:
        f.write(b"\0" * 64)
    before = sorted(p.name for p in tmp.rglob("*"))
    assert output_line() == ("output: res/p.h5 (exists but cannot be read as this job's results: not a readable HDF5 file: "
                             "damaged, or not an msweep results file; -o NEW.h5 writes elsewhere, or --force replaces it)")
    # run says the same, with and without --resume (no journal can rebuild it), and touches nothing.
    plain = run(["run", job, "-q"], cwd=tmp)
    assert plain.returncode == 2 and plain.stderr.count("\n") == 1, plain.stderr
    assert ("res/p.h5: output file exists but not a readable HDF5 file: damaged, or not an msweep results file; "
            "write to a new file with -o NEW.h5, or replace it with --force") in plain.stderr, plain.stderr
    resumed = run(["run", job, "-q", "--resume"], cwd=tmp)
    assert resumed.returncode == 2 and resumed.stderr.count("\n") == 1, resumed.stderr
    assert "no journal of this job to rebuild it from (res/p.h5.journal)" in resumed.stderr, resumed.stderr
    assert "replace it with --force (without --resume)" in resumed.stderr, resumed.stderr
    # plan -o: what run -o would meet there.
    elsewhere = [line for line in run(["plan", job, "--no-estimate", "-o", "elsewhere.h5"], cwd=tmp).stdout.splitlines()
                 if line.startswith("output: ")]
    assert elsewhere == ["output: elsewhere.h5"], elsewhere
    assert sorted(p.name for p in tmp.rglob("*")) == before
