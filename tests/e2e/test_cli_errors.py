"""Every user mistake ends in one line naming the file and the key or argument, exit status 2,
before any MPI work and before any output file exists."""
import os
import shutil
import resource
from pathlib import Path

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



def address_space_limit(size):
    """A preexec_fn capping the child's address space at `size` bytes, so a plan that materialized
    per-task or per-structure data fails. None under AddressSanitizer (the asan preset sets
    ASAN_OPTIONS): its shadow memory alone reserves terabytes of address space; the release
    build's run of the same test checks the bound."""
    if "ASAN_OPTIONS" in os.environ:
        return None
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (size, size))

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
         ["e.toml:6: [data] source: ", "missing.csv: data file not found"]),
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
    assert_one_line_error(run(["plna", "x.toml"]), "unknown command 'plna' (expected one of plan, run, inspect, merge")


def test_every_value_option_is_checked(tmp):
    """Numbers out of range or unparsable, and empty paths, name the argument; nothing is created."""
    job = write_job(tmp, "e", GOOD)
    output = tmp / "out.h5"
    results = tmp / "r.h5"
    assert run(["run", job, "-o", results, "-q"]).returncode == 0
    for args, fragment in [
        (["inspect", results, "--rows", "-1"], "--rows: expected a number from 0 to 1099511627776, got -1"),
        (["inspect", results, "--summary", "--top", "0"], "--top: expected a number from 1 to 1099511627776, got 0"),
        (["inspect", results, "--rows", "99999999999999999999999"], "--rows"),
        (["inspect", results, "--rows", "ten"], "--rows"),
        (["inspect", ""], "results"),
        (["plan", ""], "job"),
        (["run", job, "-o", ""], "--output"),
        (["run", ""], "job"),
        (["merge", results, "-o", ""], "--output"),
        (["merge", "", "-o", output], "inputs"),
        (["inspect", results, "--summary", "--csv", ""], "--csv: expected a path, got an empty string"),
        (["run", job, "-o", output, "--in-flight", "0"], "--in-flight"),
        (["run", job, "-o", output, "--in-flight", "99999999999"], "--in-flight"),
        (["run", job, "-o", output, "--progress-seconds", "-1"], "--progress-seconds"),
        (["run", job, "-o", output, "--batch-seconds", "nan"], "--batch-seconds"),
        (["run", job, "-o", output, "--grace-seconds", "-5"], "--grace-seconds: expected a number from 0 to 3600, got -5"),
        (["run", job, "-o", output, "--worker-timeout", "-1"], "--worker-timeout"),
        (["run", job, "-o", output, "--shard", "3/2"], "--shard"),
    ]:
        assert_one_line_error(run(args), fragment)
        assert not output.exists()
    assert not (Path.cwd() / "results" / "e.h5").exists()


def test_output_paths_that_name_directories_create_nothing(tmp):
    job = write_job(tmp, "e", GOOD)
    results = tmp / "r.h5"
    assert run(["run", job, "-o", results, "-q"]).returncode == 0
    for path in [f"{tmp}/newdir/", f"{tmp}/newdir/.", f"{tmp}/newdir/sub/..", str(tmp)]:
        assert_one_line_error(run(["run", job, "-o", path]), "output path is a directory")
        assert_one_line_error(run(["merge", results, "-o", path, "--force"]), "output path is a directory")
        assert not (tmp / "newdir").exists(), path
    # A directory that cannot be created (a name too long), found only when making it: status 2
    # as documented, and the directories made before it are removed again.
    too_long = tmp / "made" / ("a" * 300) / "x.h5"
    assert_one_line_error(run(["run", job, "-o", too_long, "-q"]), "cannot create the directory", "File name too long")
    assert not (tmp / "made").exists()


CSV_JOB = """[job]
name = "g2"
experiment = "subset-evidence"
seed = 1
[data]
source = "csv:g2.csv"
target = "y"
features = ["x0", "x1"]
[sweep]
folds = 2
"""


def write_csv(path, rows=40):
    path.write_text("x0,x1,y\n" + "".join(f"{i % 7},{(i * 3) % 5},{i % 4 + 0.5 * (i % 7)}\n" for i in range(rows)))


def test_output_that_is_a_file_the_job_reads_is_refused_even_with_force(tmp):
    """-o naming the job file or its data (or a path whose journal or lock would be one of them)
    must not turn them into HDF5: exit 2, every file untouched, nothing created."""
    write_csv(tmp / "g2.csv")
    job = write_job(tmp, "g2", CSV_JOB)
    originals = {path: path.read_bytes() for path in [tmp / "g2.csv", job]}
    (tmp / "sub").mkdir()
    for output, fragments in [
        (tmp / "g2.csv", ["g2.csv: the output would replace", "a data file of the job"]),
        (f"{tmp}/sub/../g2.csv", ["a data file of the job"]),
        (job, ["the output would replace", "the job file"]),
    ]:
        for mode in [["--force"], ["--resume"], ["--resume", "--force"], []]:
            assert_one_line_error(run(["run", job, "-o", output, "-q"] + mode), *fragments)
    # The journal or lock file beside the output would be a data file of the job.
    for sibling in ["journal", "lock"]:
        data = tmp / f"d.h5.{sibling}"
        write_csv(data)
        side_job = write_job(tmp, "side", CSV_JOB.replace("g2.csv", data.name))
        assert_one_line_error(run(["run", side_job, "-o", tmp / "d.h5", "-q", "--force"]), f"its {sibling}", "a data file of the job")
        assert not (tmp / "d.h5").exists()
        data.unlink()
    for path, content in originals.items():
        assert path.read_bytes() == content, path
    assert sorted(p.name for p in tmp.iterdir()) == ["g2.csv", "g2.toml", "side.toml", "sub"]


def test_merge_never_replaces_an_input(tmp):
    job = write_job(tmp, "e", GOOD)
    shards = [tmp / "s0.h5", tmp / "s1.h5"]
    for index, shard in enumerate(shards):
        assert run(["run", job, "-o", shard, "-q", "--shard", f"{index}/2"]).returncode == 0
    before = shards[1].read_bytes()
    for output in [shards[1], f"{tmp}/./s1.h5"]:
        assert_one_line_error(run(["merge", *shards, "-o", output, "--force"]), "s1.h5", "an input of the merge")
    assert shards[1].read_bytes() == before
    assert sorted(p.name for p in tmp.iterdir()) == ["e.toml", "s0.h5", "s1.h5"]


def test_merge_creates_missing_directories_like_run(tmp):
    job = write_job(tmp, "e", GOOD)
    shards = [tmp / "s0.h5", tmp / "s1.h5"]
    for index, shard in enumerate(shards):
        assert run(["run", job, "-o", shard, "-q", "--shard", f"{index}/2"]).returncode == 0
    merged = run(["merge", *shards, "-o", tmp / "out" / "md2" / "x.h5", "-q"])
    assert merged.returncode == 0, merged.stderr
    assert (tmp / "out" / "md2" / "x.h5").exists()
    # A merge that fails after making directories removes them again, and its message names
    # the path given, never an internal temporary name.
    failed = run(["merge", shards[0], tmp / "missing.h5", "-o", tmp / "new" / "deeper" / "x.h5"])
    assert_one_line_error(failed, "missing.h5")
    assert not (tmp / "new").exists()
    long_name = tmp / "long" / ("a" * 250 + ".h5")  # fits NAME_MAX, its lock file does not
    failed = run(["merge", *shards, "-o", long_name])
    assert_one_line_error(failed, "cannot create the lock file", ".h5.lock: File name too long")
    assert f".lock.{os.uname().nodename}." not in failed.stderr  # the internal temporary's name
    assert not (tmp / "long").exists()
    too_long = tmp / "made" / ("a" * 300) / "x.h5"
    assert_one_line_error(run(["merge", *shards, "-o", too_long]), "cannot create the directory", "File name too long")
    assert not (tmp / "made").exists()


def test_resume_over_an_orphan_journal_of_another_job_does_not_suggest_resume(tmp):
    output = tmp / "out.h5"
    Path(str(output) + ".journal").write_bytes(b"not a journal of this job")
    result = run(["run", write_job(tmp, "e", GOOD), "-o", output, "--resume"])
    assert_one_line_error(result, "cannot rebuild", "--force")
    assert "use --resume" not in result.stderr
    assert not output.exists()


def test_grid_over_the_cap_is_refused_at_its_axis(tmp):
    """Every axis within its range, the product past 2^32 (or past 2^63 and 2^64): plan and run
    name the axis' key with file:line, exit 2, and create nothing; plan stays small in memory."""
    load = """[job]
name = "big"
experiment = "synthetic-load"
seed = 1
[sweep]
structures = 100000000
folds = 1000
restarts = 100000
runs = 100000
"""
    job = write_job(tmp, "big", load)
    output = tmp / "big.h5"
    for command in (["plan", job], ["run", job, "-o", output]):
        assert_one_line_error(run(command), "big.toml:7: [sweep] folds:", "2^32")
    assert not output.exists() and not Path(str(output) + ".journal").exists()
    at_the_top = write_job(tmp, "top", load.replace("folds = 1000\nrestarts = 100000\nruns = 100000\n", ""))
    # 1 GiB of address space: labels made for 10^8 structures would need about 3 GiB.
    plan = run(["plan", at_the_top], timeout=60, preexec_fn=address_space_limit(1 << 30))
    assert plan.returncode == 0, plan.stderr
    assert "tasks: 100000000" in plan.stdout


def test_structures_cap_is_2_to_the_24(tmp):
    """subset-evidence makes each subset and its label from the structure's index, so 2^24
    structures (folds = 1, runs = 1) plan in little memory; one feature more is refused at the
    [sweep] key's file:line with exit 2 by plan and run, before anything is written."""
    def subsets(features, sweep):
        return ("[job]\nname = \"wide\"\nexperiment = \"subset-evidence\"\n[data]\nsource = \"synthetic-regression\"\n"
                f"objects = 60\nfeatures = {features}\n[sweep]\n{sweep}")
    at_the_cap = write_job(tmp, "cap", subsets(24, "structures = \"all\"\n"))
    # 1 GiB of address space: the 2^24 subsets as vectors and their labels as strings needed about 3 GiB.
    plan = run(["plan", at_the_cap, "--no-estimate"], timeout=120, preexec_fn=address_space_limit(1 << 30))
    assert plan.returncode == 0, plan.stderr
    assert f"tasks: {2**24}" in plan.stdout and "x0+x1+x2" in plan.stdout
    output = tmp / "wide.h5"
    over = write_job(tmp, "over", subsets(25, "structures = \"all\"\n"))
    for command in (["plan", over], ["run", over, "-o", output]):
        assert_one_line_error(run(command), "over.toml:9: [sweep] structures:", "2^25 subsets; at most 24 features")
    many = write_job(tmp, "many", subsets(1000, "max_features = 3\n"))
    for command in (["plan", many], ["run", many, "-o", output]):
        assert_one_line_error(run(command), "many.toml:9: [sweep] max_features:", "more than 16777216 (2^24) structures")
    assert not output.exists() and not Path(str(output) + ".journal").exists()


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


@pytest.mark.parametrize("content, fragment", [(b"", "not a readable HDF5 file: damaged, or not an msweep results file"), (b"plain text", "not a readable HDF5 file")])
def test_inspect_rejects_non_results_files(tmp, content, fragment):
    path = tmp / "bad.h5"
    path.write_bytes(content)
    assert_one_line_error(run(["inspect", path]), str(path), fragment)


def test_resume_of_a_file_damaged_at_its_start_says_both_readings(tmp):
    """A results file whose first bytes were overwritten (no journal: the run completed) reads as
    "not HDF5": the message must not only suggest the user named the wrong file."""
    job = write_job(tmp, "e", GOOD)
    output = tmp / "dmg.h5"
    assert run(["run", job, "-o", output, "-q"]).returncode == 0
    with open(output, "r+b") as f:
        f.write(b"\0" * 64)
    before = output.read_bytes()
    for mode in [["--resume"], ["--resume", "--force"]]:
        assert_one_line_error(run(["run", job, "-o", output, "-q"] + mode),
                              f"{output}: not a readable HDF5 file: damaged, or not an msweep results file")
    assert output.read_bytes() == before
    assert sorted(p.name for p in tmp.iterdir()) == ["dmg.h5", "e.toml"]


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
    assert_one_line_error(run(["inspect", output]), "results format version 99 (written by a newer msweep), but this msweep reads version 3")
    with h5py.File(output, "a") as f:
        f.attrs["format_version"] = 2  # format 2 stored coordinate fields in /tasks
    older = run(["inspect", output])
    assert_one_line_error(older, "results format version 2 (written by an older msweep), but this msweep reads version 3")
    assert older.returncode == 2
    resumed = run(["run", write_job(tmp, "e", GOOD), "-o", output, "-q", "--resume"])
    assert_one_line_error(resumed, "results format version 2 (written by an older msweep)")
    shutil.copy(output, tmp / "copy.h5")
    merged = run(["merge", output, tmp / "copy.h5", "-o", tmp / "merged.h5"])
    assert_one_line_error(merged, "results format version 2 (written by an older msweep)")
    assert not Path(str(output) + ".damaged").exists()  # another version is not damage: never rebuilt
