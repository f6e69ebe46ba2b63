"""load(), load_array(), info(), load_summaries() on hand-made files, and the refusal of bad input."""

import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

import msweep_analysis as ma
import results_files


def test_load_gives_one_row_per_task_sorted_by_id_with_labels(complete_file):
    path, axes, metrics, rows = complete_file
    tasks = ma.load(path)
    assert len(tasks) == len(rows) == 16 * 3 * 2
    assert list(tasks["id"]) == sorted(rows["id"])
    by_id = rows[np.argsort(rows["id"])]
    for axis, labels in axes.items():
        np.testing.assert_array_equal(tasks[f"{axis}_index"], by_id[axis])
        # Integer labels (fold, restart, run) come as int64, the others as the label text.
        typed = [int(label) for label in labels] if axis != "structure" else labels
        assert list(tasks[axis]) == [typed[i] for i in by_id[axis]]
    for name, _ in metrics:
        np.testing.assert_array_equal(tasks[name].to_numpy(), by_id[name])
    np.testing.assert_array_equal(tasks["wall_time"], by_id["wall_time"])
    np.testing.assert_array_equal(tasks["rank"], by_id["rank"])
    assert tasks["structure"].iloc[0] == "(intercept only)"
    assert set(tasks.loc[tasks["id"] == 3, "structure"]) == {"(intercept only)"}


def test_load_reports_status_errors_and_provenance(complete_file):
    path, _, metrics, _ = complete_file
    tasks = ma.load(path)
    failed = tasks[tasks["status"] == "failed"]
    assert sorted(failed["id"]) == [5, 6, 40]
    assert failed["error"].str.startswith("fit: Cholesky").all()
    assert (tasks.loc[tasks["status"] == "ok", "error"] == "").all()
    assert failed["log_evidence"].isna().all()
    attrs = tasks.attrs
    assert attrs["status"] == "complete"
    assert attrs["experiment"] == "subset-evidence"
    assert attrs["job_name"] == "synthetic"
    assert attrs["task_count"] == attrs["rows_committed"] == 96
    assert attrs["ranks"] == 3 and attrs["hosts"] == ["node1", "node1", "node2"]
    assert attrs["job_text"] == results_files.JOB_TEXT
    assert attrs["metrics"] == [m[0] for m in metrics]
    assert "nats" in attrs["metric_descriptions"]["log_evidence"]
    assert list(attrs["axes"]) == ["structure", "fold", "restart", "run"]


def test_info_reads_provenance_without_rows(complete_file):
    path = complete_file[0]
    meta = ma.info(path)
    assert meta["status"] == "complete" and meta["finished"] == "2026-11-21T10:05:00Z"
    assert meta["created"] == "2026-11-21T10:00:00Z" and meta["job_seed"] == 7
    assert meta["format_version"] == 1 and meta["has_summaries"]


def test_partial_file_reads_only_committed_rows(tmp_path):
    """A running file whose last batch was cut: rows past rows_committed (and junk) are ignored."""
    axes, metrics, rows = results_files.subset_evidence_rows()
    path = tmp_path / "partial.h5"
    results_files.write_results(path, axes, metrics, rows, status="running", rows_committed=40, garbage_rows=7)
    tasks = ma.load(path)
    assert len(tasks) == 40
    assert sorted(tasks["id"]) == sorted(rows["id"][:40])
    assert tasks.attrs["status"] == "running"
    assert tasks.attrs["rows_stored"] == len(rows) + 7 and tasks.attrs["finished"] == ""
    assert ma.load_summaries(path) is None  # summaries are written when a run ends


def test_interrupted_file_has_fewer_rows_than_tasks(tmp_path):
    axes, metrics, rows = results_files.subset_evidence_rows()
    path = tmp_path / "interrupted.h5"
    results_files.write_results(path, axes, metrics, rows[:30], status="interrupted")
    tasks = ma.load(path)
    assert len(tasks) == 30 and tasks.attrs["task_count"] == 96
    assert tasks.attrs["status"] == "interrupted"


def test_empty_committed_file_loads_as_empty_frame(tmp_path):
    axes, metrics, rows = results_files.subset_evidence_rows()
    path = tmp_path / "started.h5"
    results_files.write_results(path, axes, metrics, rows[:0], status="running", garbage_rows=3)
    tasks = ma.load(path)
    assert len(tasks) == 0 and "log_evidence" in tasks.columns
    assert len(ma.aggregate(tasks)) == 0


def test_load_array_is_aligned_with_load_rows(tmp_path):
    axes, metrics, rows = results_files.subset_evidence_rows(failed_ids=(2,))
    # Each mask row encodes its own task id, so misalignment is detectable.
    masks = np.zeros((len(rows), 3, 4))
    masks[:, 0, 0] = rows["id"]
    masks[rows["status"] == 1] = np.nan
    path = tmp_path / "arrays.h5"
    results_files.write_results(path, axes, metrics, rows, rows_committed=50, garbage_rows=2,
                                arrays={"mask": (masks, "kept weights, 1 = kept")})
    tasks = ma.load(path)
    mask = ma.load_array(path, "mask")
    assert mask.shape == (50, 3, 4)
    ok = (tasks["status"] == "ok").to_numpy()
    np.testing.assert_array_equal(mask[ok, 0, 0], tasks["id"].to_numpy()[ok])
    assert np.isnan(mask[~ok]).all()
    assert tasks.attrs["arrays"]["mask"] == {"shape": (3, 4), "description": "kept weights, 1 = kept"}
    with pytest.raises(KeyError, match="no array named 'nope'.*mask"):
        ma.load_array(path, "nope")


def test_string_attributes_stored_as_fixed_length_bytes_are_read(tmp_path):
    """A C++ writer may store fixed-length strings; the reader must not care."""
    axes, metrics, rows = results_files.subset_evidence_rows()
    path = tmp_path / "fixed.h5"
    results_files.write_results(path, axes, metrics, rows)
    with h5py.File(path, "r+") as f:
        f.attrs["status"] = np.bytes_("interrupted")
        f.attrs["experiment"] = np.bytes_("subset-evidence")
        f["axes"].attrs["order"] = np.array([a.encode() for a in axes], dtype="S16")
    meta = ma.info(path)
    assert meta["status"] == "interrupted" and list(meta["axes"]) == list(axes)


def test_variable_length_error_strings_are_read(tmp_path):
    axes, metrics, rows = results_files.subset_evidence_rows(failed_ids=(1,))
    path = tmp_path / "vlen.h5"
    results_files.write_results(path, axes, metrics, rows, variable_length_error=True)
    tasks = ma.load(path)
    assert tasks.loc[tasks["id"] == 1, "error"].item().startswith("fit: Cholesky")
    assert (tasks.loc[tasks["id"] != 1, "error"] == "").all()


def test_file_held_open_by_a_writer_is_readable(tmp_path):
    """A live writer holds the HDF5 lock; the readers must not need it."""
    axes, metrics, rows = results_files.subset_evidence_rows()
    path = tmp_path / "live.h5"
    results_files.write_results(path, axes, metrics, rows, status="running", rows_committed=20)
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, h5py
        handle = h5py.File({str(path)!r}, "r+")   # takes the lock, as msweep run does
        print("open", flush=True)
        sys.stdin.read()                            # hold it until the test closes stdin
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "open"
        tasks = ma.load(path)
        assert len(tasks) == 20 and tasks.attrs["status"] == "running"
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)


def test_load_summaries_matches_file_table(complete_file):
    path, axes, _, _ = complete_file
    summaries = ma.load_summaries(path)
    assert len(summaries) == len(axes["structure"])
    assert list(summaries["structure"][:2]) == ["(intercept only)", "x0"]
    assert summaries["failed_count"].sum() == 3


# --------------------------------------------------------------------------- bad input

def expect_one_line_error(path, fragment):
    with pytest.raises(ma.ResultsFileError) as caught:
        ma.load(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert fragment in message
    return message


def test_file_killed_while_open_outside_swmr_mode_names_the_remedy(complete_file, tmp_path):
    """A resume rewrites attributes before SWMR writing starts again; a kill then leaves the
    superblock marked open for non-SWMR writing. The reader says so and how to repair it,
    in the engine's words, instead of HDF5's."""
    path = tmp_path / "killed-in-resume.h5"
    # The engine writes the latest superblock (SWMR needs it), the only one with these marks.
    with h5py.File(complete_file[0], "r") as source, h5py.File(path, "w", libver="latest") as copy:
        for name in source:
            source.copy(name, copy)
        copy.attrs.update(source.attrs)
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os, signal, h5py
        f = h5py.File({str(path)!r}, "r+", locking=False)
        f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    """)])
    assert killed.returncode == -9
    expect_one_line_error(path, "open for writing outside SWMR mode")


def test_missing_file_is_refused(tmp_path):
    expect_one_line_error(tmp_path / "absent.h5", "no such file")


def test_file_that_is_not_hdf5_is_refused(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("structure,log_evidence\nRM,-12\n")
    message = expect_one_line_error(path, "not an HDF5 file")
    assert "msweep results file" in message


def test_empty_hdf5_file_is_refused(tmp_path):
    path = tmp_path / "empty.h5"
    h5py.File(path, "w").close()
    expect_one_line_error(path, "without the msweep root attributes")


def test_other_format_version_is_refused_naming_both_versions(tmp_path):
    axes, metrics, rows = results_files.subset_evidence_rows()
    path = tmp_path / "future.h5"
    results_files.write_results(path, axes, metrics, rows, format_version=4)
    message = expect_one_line_error(path, "format_version 4")
    assert "format_version 1, 2, 3" in message


def test_other_hdf5_format_is_refused(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "something-else"
        f.attrs["format_version"] = 1
    expect_one_line_error(path, "format is 'something-else'")


def test_directory_is_refused(tmp_path):
    expect_one_line_error(tmp_path, "is a directory")


def test_file_missing_tasks_is_refused(tmp_path):
    axes, metrics, rows = results_files.subset_evidence_rows()
    path = tmp_path / "no_tasks.h5"
    results_files.write_results(path, axes, metrics, rows)
    with h5py.File(path, "r+") as f:
        del f["tasks"]
    expect_one_line_error(path, "no /tasks")
