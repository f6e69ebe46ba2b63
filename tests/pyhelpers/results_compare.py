"""Comparing results files task by task, shared by the recovery (e2e) and Slurm tests: a
resumed, rebuilt or merged file must hold exactly the rows of an uninterrupted run."""
import h5py
import numpy as np

# Where and when a task ran may differ between runs; everything else must not.
PROVENANCE_FIELDS = ("wall_time", "rank")


def file_state(f):
    """The root attributes and /state's row (rows_committed, status, ...; strings as str) of an
    open results file, as one dict."""
    attrs = dict(f.attrs)
    row = f["state"][0]
    for name in row.dtype.names:
        attrs[name] = row[name].decode() if isinstance(row[name], bytes) else row[name]
    return attrs


def tasks_of(path):
    """Committed rows sorted by id, the `payload` array in the same order (empty for experiment
    kinds that store none), and the root attributes with /state's fields."""
    with h5py.File(path, "r", swmr=True, locking=False) as f:
        attrs = file_state(f)
        n = int(attrs["rows_committed"])
        rows = f["tasks"][:n]
        order = np.argsort(rows["id"])
        payload = f["arrays/payload"][:n][order] if "arrays/payload" in f else np.empty(0)
        return rows[order], payload, attrs


def assert_same_tasks(path, reference_path):
    """Every task field bitwise equal to the reference's (provenance excepted); returns path's attributes."""
    rows, payload, attrs = tasks_of(path)
    ref_rows, ref_payload, _ = tasks_of(reference_path)
    assert np.array_equal(rows["id"], ref_rows["id"]), f"{path}: {len(rows)} rows, reference {len(ref_rows)}"
    for name in rows.dtype.names:
        if name in PROVENANCE_FIELDS:
            continue
        if rows[name].dtype == object:
            assert list(rows[name]) == list(ref_rows[name]), name
        else:
            assert rows[name].tobytes() == ref_rows[name].tobytes(), name
    assert payload.tobytes() == ref_payload.tobytes()
    return attrs
