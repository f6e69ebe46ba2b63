"""Every user mistake ends in one line naming the file and the key or argument, exit status 2,
before any MPI work and before any output file exists."""
import os

import pytest

from conftest import run, write_job

GOOD = """[job]
name = "e"
experiment = "subset-evidence"
seed = 1
[data]
source = "synthetic-regression"
objects = 40
features = 3
[sweep]
folds = 2
"""


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = [l for l in result.stderr.splitlines() if l.startswith("msweep:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    "edit, fragments",
    [
        (lambda t: t.replace("folds = 2", "folds = 2\nfodls = 3"), ["e.toml:11: [sweep] fodls: unknown key"]),
        (lambda t: t.replace("folds = 2", "folds = \"two\""), ["e.toml:10: [sweep] folds: expected an integer", "the string \"two\""]),
        (lambda t: t.replace("folds = 2", "folds = 0"), ["[sweep] folds: expected an integer from 1 to 1000, got 0"]),
        (lambda t: t.replace("subset-evidence", "subset-evidance"), ["e.toml:3: [job] experiment: unknown experiment kind \"subset-evidance\""]),
        (lambda t: t.replace("seed = 1", "seed = = 1"), ["e.toml:4: not valid TOML"]),
        # (csv data take `features` as a list of column names: drop the synthetic count)
        (lambda t: t.replace("source = \"synthetic-regression\"", "source = \"csv:missing.csv\"\ntarget = \"y\"").replace("features = 3\n", ""),
         ["missing.csv: data file not found"]),
        (lambda t: t.replace("features = 3", "features = 30"), ["[sweep] structures: \"all\" would make 2^30 subsets"]),
        (lambda t: t.replace("[sweep]", "[sweep]\nstructures = [[\"x0\", \"x9\"]]"), ["[sweep] structures: no feature named \"x9\""]),
        (lambda t: t + "[output]\npath = \"/etc/passwd/x.h5\"\n", ["/etc/passwd/x.h5: cannot create the output file"]),
    ],
)
def test_bad_job_files(tmp, edit, fragments):
    job = write_job(tmp, "e", edit(GOOD))
    output = tmp / "out.h5"
    result = run(["run", job, "-o", output] if "[output]" not in edit(GOOD) else ["run", job])
    assert_one_line_error(result, *fragments)
    assert not output.exists()
    plan = run(["plan", job])
    assert plan.returncode == 2 or "[output]" in edit(GOOD)


def test_bad_job_under_mpirun_prints_once_and_creates_nothing(tmp):
    job = write_job(tmp, "e", GOOD.replace("folds = 2", "folds = 2\nfodls = 3"))
    output = tmp / "out.h5"
    result = run(["run", job, "-o", output], ranks=3)
    assert result.returncode == 2
    assert result.stderr.count("[sweep] fodls: unknown key") == 1, result.stderr
    assert not output.exists()


def test_missing_job_file(tmp):
    assert_one_line_error(run(["run", tmp / "nope.toml"]), "nope.toml: job file not found")


def test_command_line_mistakes(tmp):
    assert_one_line_error(run(["run"]), "job is required")
    assert_one_line_error(run(["run", "x.toml", "--frobnicate"]), "--frobnicate")
    assert_one_line_error(run(["inspect"]), "results is required")
    assert_one_line_error(run([]), "subcommand")


def test_existing_output_is_never_overwritten_silently(tmp):
    job = write_job(tmp, "e", GOOD)
    output = tmp / "out.h5"
    assert run(["run", job, "-o", output, "-q"]).returncode == 0
    before = output.stat().st_mtime_ns
    assert_one_line_error(run(["run", job, "-o", output]), "output file exists (use --resume")
    assert output.stat().st_mtime_ns == before
    assert run(["run", job, "-o", output, "-q", "--force"]).returncode == 0


def test_resume_of_another_jobs_file_is_refused(tmp):
    output = tmp / "out.h5"
    assert run(["run", write_job(tmp, "e", GOOD), "-o", output, "-q"]).returncode == 0
    other = write_job(tmp, "f", GOOD.replace("seed = 1", "seed = 2"))
    assert_one_line_error(run(["run", other, "-o", output, "--resume"]), "belongs to another job")


@pytest.mark.parametrize("content, fragment", [(b"", "not an HDF5 file"), (b"plain text", "not an HDF5 file")])
def test_inspect_rejects_non_results_files(tmp, content, fragment):
    path = tmp / "bad.h5"
    path.write_bytes(content)
    assert_one_line_error(run(["inspect", path]), str(path), fragment)


def test_inspect_rejects_foreign_hdf5_and_other_versions(tmp):
    import h5py

    foreign = tmp / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = [1, 2, 3]
    assert_one_line_error(run(["inspect", foreign]), "not an msweep results file")
    output = tmp / "out.h5"
    assert run(["run", write_job(tmp, "e", GOOD), "-o", output, "-q"]).returncode == 0
    with h5py.File(output, "a") as f:
        f.attrs["format_version"] = 99
    assert_one_line_error(run(["inspect", output]), "results format version 99, but this msweep reads version 1")
