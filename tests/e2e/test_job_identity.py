"""A results file holds one job on one data set (docs/cli.md, "Resume and recovery"): resume and
merge refuse a file whose input data changed (a real CSV whose target column was multiplied)
or whose job changed in a key that changes the numbers (a real changed seed), --force accepts
only changes that cannot change a task's numbers, --set overrides are part of the job, and an
existing default output of another job says what changed and the way out."""
import hashlib
import json
from pathlib import Path

import h5py
import numpy as np

from conftest import load_tasks, run, write_job

JOB = """[job]
name = "identity"
experiment = "subset-evidence"
seed = 5
[data]
source = "csv:data.csv"
target = "y"
[sweep]
folds = 2
runs = 3
[output]
path = "identity.h5"
"""

SYNTHETIC = """[job]
name = "synth"
experiment = "subset-evidence"
seed = 3
[data]
source = "synthetic-regression"
objects = 30
features = 2
[sweep]
folds = 2
runs = 2
"""


def write_csv(path, scale=1.0):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(40, 3))
    y = scale * (x @ np.array([1.0, -0.5, 0.0]) + 0.3 * rng.normal(size=40))
    lines = ["a,b,c,y"] + [",".join(f"{v:.6f}" for v in (*row, t)) for row, t in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")


def multiply_target(path, factor):
    lines = path.read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        *features, target = line.split(",")
        out.append(",".join(features + [f"{float(target) * factor:.6f}"]))
    path.write_text("\n".join(out) + "\n")


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def one_error_line(result):
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = [l for l in result.stderr.splitlines() if l.startswith("msweep:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def csv_job(tmp):
    write_csv(tmp / "data.csv")
    return write_job(tmp, "identity", JOB)


def test_inputs_are_recorded_with_their_fingerprint(tmp):
    job = csv_job(tmp)
    output = tmp / "out.h5"
    assert run(["run", job, "-o", output, "-q"]).returncode == 0
    with h5py.File(output, "r") as f:
        inputs = json.loads(f.attrs["inputs"])
        assert json.loads(f.attrs["overrides"]) == []
    assert len(inputs) == 1
    assert inputs[0]["kind"] == "csv" and inputs[0]["path"].endswith("data.csv")
    assert inputs[0]["bytes"] == (tmp / "data.csv").stat().st_size
    assert inputs[0]["digest"].startswith("fnv1a64:") and len(inputs[0]["digest"]) == 24


def test_resume_refuses_a_changed_csv_and_writes_nothing(tmp):
    job = csv_job(tmp)
    output = tmp / "out.h5"
    assert run(["run", job, "-o", output, "-q", "--shard", "0/1"]).returncode == 0
    before = digest(output)
    multiply_target(tmp / "data.csv", 10.0)
    for extra in ([], ["--force"]):
        line = one_error_line(run(["run", job, "-o", output, "--resume", "-q"] + extra))
        assert "its input data changed" in line and "data.csv" in line, line
        assert "--force" not in line.split(";")[-1], line  # no flag mixes data sets
    assert digest(output) == before
    assert not Path(str(output) + ".journal").exists()


def test_merge_refuses_shards_computed_from_different_data(tmp):
    job = csv_job(tmp)
    assert run(["run", job, "-o", tmp / "s0.h5", "-q", "--shard", "0/2"]).returncode == 0
    multiply_target(tmp / "data.csv", 10.0)
    assert run(["run", job, "-o", tmp / "s1.h5", "-q", "--shard", "1/2"]).returncode == 0
    line = one_error_line(run(["merge", tmp / "s0.h5", tmp / "s1.h5", "-o", tmp / "all.h5", "-q"]))
    assert "s1.h5" in line and "its input data changed" in line and "cannot merge" in line, line
    assert not (tmp / "all.h5").exists()


def test_a_moved_csv_with_the_same_bytes_is_the_same_data(tmp):
    job = csv_job(tmp)
    output = tmp / "out.h5"
    assert run(["run", job, "-o", output, "-q"]).returncode == 0
    (tmp / "moved.csv").write_bytes((tmp / "data.csv").read_bytes())
    moved = write_job(tmp, "moved", JOB.replace("csv:data.csv", "csv:moved.csv"))
    # The data agree; what differs is the key naming the file (a key that can change numbers).
    line = one_error_line(run(["run", moved, "-o", output, "--resume", "-q"]))
    assert "input data" not in line and "data.source" in line, line


def test_force_refuses_a_changed_seed_and_names_the_key(tmp):
    job = write_job(tmp, "synth", SYNTHETIC)
    output = tmp / "out.h5"
    assert run(["run", job, "-o", output, "-q"]).returncode == 0
    before = digest(output)
    reseeded = write_job(tmp, "synth", SYNTHETIC.replace("seed = 3", "seed = 4"))
    line = one_error_line(run(["run", reseeded, "-o", output, "--resume", "-q"]))
    assert "belongs to another job" in line and "job.seed 3 -> 4" in line and "-o NEW.h5" in line, line
    line = one_error_line(run(["run", reseeded, "-o", output, "--resume", "--force", "-q"]))
    assert "--force accepts only" in line and "job.seed 3 -> 4" in line, line
    assert digest(output) == before
    with h5py.File(output, "r") as f:
        assert int(f.attrs["job_seed"]) == 3 and "seed = 3" in f.attrs["job_text"]


def test_force_accepts_changes_that_cannot_change_numbers(tmp):
    job = write_job(tmp, "synth", SYNTHETIC)
    output = tmp / "out.h5"
    assert run(["run", job, "-o", output, "-q"]).returncode == 0
    rows = load_tasks(output)
    changed = SYNTHETIC.replace("[sweep]", "# a comment\n[sweep]") + "[output]\nflush_seconds = 5\n"
    job = write_job(tmp, "synth", changed)
    line = one_error_line(run(["run", job, "-o", output, "--resume", "-q"]))
    assert "output.flush_seconds 2.0 -> 5.0" in line and "--resume --force" in line, line
    assert run(["run", job, "-o", output, "--resume", "--force", "-q"]).returncode == 0
    with h5py.File(output, "r") as f:
        assert "flush_seconds = 5" in f.attrs["job_text"]
        assert json.loads(f.attrs["resolved_job"])["output"]["flush_seconds"] == 5
    assert np.array_equal(load_tasks(output), rows)


def test_overrides_apply_validate_and_belong_to_the_job(tmp):
    job = write_job(tmp, "synth", SYNTHETIC)
    output = tmp / "out.h5"
    assert run(["run", job, "-o", output, "-q", "--set", "sweep.runs=3", "--set", "data.noise=0.5"]).returncode == 0
    with h5py.File(output, "r") as f:
        assert json.loads(f.attrs["overrides"]) == ["sweep.runs=3", "data.noise=0.5"]
        assert "# --set sweep.runs=3" in f.attrs["job_text"]
        resolved = json.loads(f.attrs["resolved_job"])
        assert resolved["sweep"]["runs"] == 3 and resolved["data"]["noise"] == 0.5
        assert list(f["axes/run"][:]) and len(f["axes/run"]) == 3
    # Resume sees them: the same overrides continue the file, none at all is another job.
    assert run(["run", job, "-o", output, "-q", "--resume", "--set", "sweep.runs=3", "--set", "data.noise=0.5"]).returncode == 0
    line = one_error_line(run(["run", job, "-o", output, "-q", "--resume"]))
    assert "sweep.runs 3 -> 2" in line and "data.noise 0.5 -> 1.0" in line, line
    # A change made by --set is attributed to the overrides, not to the file alone.
    line = one_error_line(run(["run", job, "-o", output, "-q", "--resume", "--set", "sweep.runs=4", "--set", "data.noise=0.5"]))
    assert f"changed in {job} with --set sweep.runs=4, data.noise=0.5: sweep.runs 3 -> 4" in line, line
    # Same result as editing the file.
    edited = write_job(tmp, "edited", SYNTHETIC.replace("runs = 2", "runs = 3").replace("features = 2", "features = 2\nnoise = 0.5"))
    assert run(["run", edited, "-o", tmp / "edited.h5", "-q"]).returncode == 0
    a, b = load_tasks(output), load_tasks(tmp / "edited.h5")
    for name in a.dtype.names:
        if name not in ("wall_time", "wall_seconds", "rank"):
            assert np.array_equal(a[name], b[name]), name


def test_bad_overrides_name_the_override(tmp):
    job = write_job(tmp, "synth", SYNTHETIC)
    cases = [
        (["--set", "sweep.runs=x"], "--set sweep.runs=x: [sweep] runs: expected an integer"),
        (["--set", "sweep.rusn=2"], "--set sweep.rusn=2: [sweep] rusn: unknown key"),
        (["--set", "swep.runs=2"], "--set swep.runs=2: unknown section swep"),
        (["--set", "runs=2"], "--set runs=2: expected SECTION.KEY=VALUE"),
        (["--set", "sweep.runs=0"], "--set sweep.runs=0: [sweep] runs: expected an integer from 1"),
    ]
    for args, fragment in cases:
        for command in (["plan", job], ["run", job, "-o", tmp / "x.h5"]):
            line = one_error_line(run(command + args))
            assert fragment in line, line
    assert not (tmp / "x.h5").exists()
    done = run(["plan", job, "--set", "sweep.runs=4"])
    assert done.returncode == 0 and "run " in done.stdout


def test_existing_default_output_of_another_job_names_the_change_and_the_way_out(tmp):
    job = write_job(tmp, "synth", SYNTHETIC + "[output]\npath = \"synth.h5\"\n")
    assert run(["run", job, "-q"], cwd=tmp).returncode == 0
    line = one_error_line(run(["run", job, "-q", "--set", "job.seed=9"], cwd=tmp))
    assert "output file exists and belongs to another job" in line and "job.seed 3 -> 9" in line, line
    assert "-o NEW.h5" in line and "delete or rename" in line, line
    # The same job keeps the usual hint.
    assert "use --resume to continue it" in one_error_line(run(["run", job, "-q"], cwd=tmp))


def test_files_that_recorded_no_data_files_need_force(tmp):
    """Before 2026-11-27 a csv job with [data] features recorded no inputs (an empty list):
    "not recorded", so --force vouches for it; a file that recorded other data stays refused."""
    job = csv_job(tmp)
    output = tmp / "out.h5"
    assert run(["run", job, "-o", output, "-q"]).returncode == 0
    with h5py.File(output, "a") as f:  # as that msweep wrote them
        f.attrs["inputs"] = "[]"
        f.attrs["job_hash"] = "0" * 16
    line = one_error_line(run(["run", job, "-o", output, "--resume", "-q"]))
    assert "written before msweep recorded input data" in line and "data.csv" in line and "--force" in line, line
    assert run(["run", job, "-o", output, "--resume", "--force", "-q"]).returncode == 0
    with h5py.File(output, "r") as f:
        assert "data.csv" in f.attrs["inputs"]  # vouched for: recorded from now on


def test_old_files_without_input_records_need_force(tmp):
    job = csv_job(tmp)
    output = tmp / "out.h5"
    assert run(["run", job, "-o", output, "-q"]).returncode == 0
    with h5py.File(output, "a") as f:  # as msweep wrote files before inputs were recorded
        del f.attrs["inputs"]
        f.attrs["job_hash"] = "0" * 16
    line = one_error_line(run(["run", job, "-o", output, "--resume", "-q"]))
    assert "written before msweep recorded input data" in line and "data.csv" in line and "--force" in line, line
    assert run(["run", job, "-o", output, "--resume", "--force", "-q"]).returncode == 0
    with h5py.File(output, "r") as f:
        assert "inputs" in f.attrs  # vouched for: recorded from now on
