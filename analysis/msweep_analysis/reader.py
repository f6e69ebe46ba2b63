"""Reading msweep results files (docs/results-format.md, format_version 3, 2 and 1) into pandas.

Every reader here opens the file read-only *without* the HDF5 file lock, because a
run that is still writing holds the lock and researchers want to look at partial
results; it then reads only the first ``rows_committed`` rows, the ones the writer
has flushed completely.
"""

import json
import os
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from .errors import ResultsFileError

FORMAT_NAME = "msweep-results"
FORMAT_VERSION = 3
# Version 1 kept the run's state (rows_committed, status, ...) in root attributes; version 2
# keeps it in the one row of /state, since an SWMR writer may change no attribute; version 3
# stores no coordinate fields in /tasks (they follow from the id: axis_index). Readers here
# compute the coordinates from the id for every version, so all three read the same way.
READABLE_VERSIONS = (1, 2, 3)
STATE_FIELDS = ("rows_committed", "status", "updated", "finished", "wall_seconds", "summarized_rows")
EXPECTED = f"expected an msweep results file (format '{FORMAT_NAME}', format_version {FORMAT_VERSION})"

# Fields of /tasks that are neither axes nor metrics, in file order.
FIXED_FIELDS = ("id", "status", "error", "wall_time", "rank")
STATUS_LABELS = {0: "ok", 1: "failed"}


# --------------------------------------------------------------------------- opening

def _open_unlocked(path):
    """h5py.File in SWMR read mode (a coherent view of a file msweep is writing, or whose
    writer was killed) without the HDF5 lock."""
    try:
        return h5py.File(path, "r", swmr=True, locking=False)
    except TypeError:  # h5py older than 3.5 has no locking argument; the variable works there
        os.environ["HDF5_USE_FILE_LOCKING"] = "FALSE"
        return h5py.File(path, "r", swmr=True)


def run_state(handle):
    """The values a run changes as it writes: /state's row (version 2) or the root
    attributes of the same names (version 1), as a dict of STATE_FIELDS."""
    if "state" in handle:
        row = handle["state"][0]
        state = {name: row[name] for name in STATE_FIELDS}
        for name in ("status", "updated", "finished"):
            state[name] = text(state[name])
        return state
    attrs = handle.attrs
    return {"rows_committed": attrs["rows_committed"], "status": text(attrs["status"]),
            "updated": _attr(attrs, "updated", ""), "finished": _attr(attrs, "finished", ""),
            "wall_seconds": _attr(attrs, "wall_seconds", None, float), "summarized_rows": None}


@contextmanager
def open_results(path):
    """Open ``path`` as an msweep results file after checking its format and version.

    Raises ResultsFileError (one line, naming the file) for a missing file, a file that
    is not HDF5, an HDF5 file without the msweep attributes, or another format_version.
    Errors from h5py while reading inside the block are reported the same way, since
    they mean a damaged file (or one a writer changed under us).
    """
    path = Path(path)
    if not path.exists():
        raise ResultsFileError(path, f"no such file ({EXPECTED})")
    if path.is_dir():
        raise ResultsFileError(path, f"is a directory ({EXPECTED})")
    try:
        is_hdf5 = h5py.is_hdf5(str(path))
    except OSError as error:
        raise ResultsFileError(path, f"cannot read: {error}") from None
    if not is_hdf5:
        raise ResultsFileError(path, f"not an HDF5 file ({EXPECTED})")
    try:
        handle = _open_unlocked(str(path))
    except OSError as error:
        if "not already open for SWMR writing" in str(error):
            # The same words as the engine's reader (src/store/layout.cpp): the superblock says a
            # writer has the file open outside SWMR mode, which only a resume's short check does.
            raise ResultsFileError(path, "open for writing outside SWMR mode: a resume is checking its rows (read it "
                                         "again in a moment), or was killed doing so (then `msweep run --resume` "
                                         "repairs it)") from None
        raise ResultsFileError(path, f"cannot open as HDF5: {error}") from None
    try:
        check_format(path, handle)
        yield handle
    except (OSError, KeyError, ValueError) as error:
        raise ResultsFileError(path, f"damaged or incomplete results file: {error}") from None
    finally:
        handle.close()


def check_format(path, handle):
    """Refuse anything but format 'msweep-results' version 1, naming both versions."""
    attrs = handle.attrs
    if "format" not in attrs and "format_version" not in attrs:
        raise ResultsFileError(path, f"HDF5 file without the msweep root attributes 'format' and 'format_version' ({EXPECTED})")
    name = text(attrs.get("format", ""))
    if name != FORMAT_NAME:
        raise ResultsFileError(path, f"root attribute format is '{name}' ({EXPECTED})")
    if "format_version" not in attrs:
        raise ResultsFileError(path, f"no root attribute format_version ({EXPECTED})")
    version = int(attrs["format_version"])
    if version not in READABLE_VERSIONS:
        raise ResultsFileError(
            path, f"format_version {version} is not supported: this reader knows format_version "
                  f"{', '.join(str(v) for v in READABLE_VERSIONS)}")
    for required in ("experiment", "task_count") + (("rows_committed", "status") if version == 1 else ()):
        if required not in attrs:
            raise ResultsFileError(path, f"no root attribute {required} ({EXPECTED})")
    for required in ("axes", "tasks") + (("state",) if version >= 2 else ()):
        if required not in handle:
            raise ResultsFileError(path, f"no /{required} in the file ({EXPECTED})")


# --------------------------------------------------------------------------- small decoders

def text(value):
    """An HDF5 string attribute or element as str (h5py gives str, bytes or np.bytes_)."""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", "replace").rstrip("\x00")
    if isinstance(value, np.ndarray) and value.shape == ():
        return text(value[()])
    return str(value)


def text_list(value):
    """An HDF5 array of strings (attribute or dataset contents) as a list of str."""
    if isinstance(value, (str, bytes, np.bytes_)):
        return [text(value)]
    return [text(v) for v in np.asarray(value).ravel()]


def _attr(attrs, name, default=None, kind=text):
    return kind(attrs[name]) if name in attrs else default


# --------------------------------------------------------------------------- provenance

def _read_info(path, handle):
    """Everything about the file except its rows, as a plain dict (see info())."""
    # The state first: /tasks opened after it has at least rows_committed rows (a writer extends
    # /tasks before it advances the mark), while one opened before may lag behind it.
    state = run_state(handle)
    attrs = handle.attrs
    axes_group = handle["axes"]
    order = text_list(axes_group.attrs["order"]) if "order" in axes_group.attrs else sorted(axes_group)
    axes = {name: text_list(axes_group[name][()]) for name in order}
    tasks = handle["tasks"]
    metrics = text_list(tasks.attrs["metrics"]) if "metrics" in tasks.attrs else _guess_metrics(tasks.dtype.names, order)
    descriptions = text_list(tasks.attrs["metric_descriptions"]) if "metric_descriptions" in tasks.attrs else []
    descriptions = dict(zip(metrics, descriptions + [""] * (len(metrics) - len(descriptions))))
    arrays = {}
    if "arrays" in handle:
        for name, dataset in handle["arrays"].items():
            arrays[name] = {"shape": tuple(dataset.shape[1:]),
                            "description": _attr(dataset.attrs, "description", "")}
    rows_committed = int(state["rows_committed"])
    rows_stored = int(tasks.shape[0])
    if rows_committed > rows_stored:
        raise ResultsFileError(path, f"rows_committed is {rows_committed} but /tasks holds only {rows_stored} rows")
    hosts = _attr(attrs, "hosts", "")
    return {
        "path": str(path),
        "format_version": int(attrs["format_version"]),
        "msweep_version": _attr(attrs, "msweep_version", ""),
        "job_name": _attr(attrs, "job_name", ""),
        "experiment": text(attrs["experiment"]),
        "job_path": _attr(attrs, "job_path", ""),
        "job_text": _attr(attrs, "job_text", ""),
        "resolved_job": _resolved_job(path, attrs),
        "job_hash": _attr(attrs, "job_hash", ""),
        "job_seed": _attr(attrs, "job_seed", None, int),
        "task_count": int(attrs["task_count"]),
        "rows_committed": rows_committed,
        "rows_stored": rows_stored,
        "status": state["status"],
        "created": _attr(attrs, "created", ""),
        "updated": state["updated"],
        "finished": state["finished"],
        "ranks": _attr(attrs, "ranks", None, int),
        "hosts": [h for h in hosts.split(",") if h],
        "wall_seconds": None if state["wall_seconds"] is None else float(state["wall_seconds"]),
        "axes": axes,
        "metrics": metrics,
        "metric_descriptions": descriptions,
        "arrays": arrays,
        # Version 2 creates /summaries with the file; it holds numbers once summarized_rows > 0.
        "summarized_rows": None if state["summarized_rows"] is None else int(state["summarized_rows"]),
        "has_summaries": "summaries" in handle and "table" in handle["summaries"] and state["summarized_rows"] != 0,
    }


def _resolved_job(path, attrs):
    """The root attribute resolved_job: section -> key -> the value the engine used, defaults
    included (JSON). None for files written before the attribute existed."""
    if "resolved_job" not in attrs:
        return None
    try:
        return json.loads(text(attrs["resolved_job"]))
    except ValueError as error:
        raise ResultsFileError(path, f"attribute resolved_job is not JSON ({error})") from None


def resolved_section(info, section):
    """Keys of one job section with the values the engine used (info()["resolved_job"]);
    None when the file predates resolved_job."""
    resolved = info.get("resolved_job")
    return None if resolved is None else resolved.get(section, {})


def _guess_metrics(fields, axes):
    """Metric fields when the 'metrics' attribute is missing: whatever is not fixed or an axis."""
    return [f for f in fields if f not in FIXED_FIELDS and f not in axes]


def info(path):
    """Provenance and progress of a results file, without reading its rows.

    Returns a dict with: path, format_version, msweep_version, job_name, experiment,
    job_path, job_text, resolved_job (section -> key -> value used, defaults included; None
    for files older than that attribute), job_hash, job_seed, task_count, rows_committed, rows_stored,
    status ('running', 'complete' or 'interrupted'), created, updated, finished,
    ranks, hosts (list), wall_seconds, axes (name -> list of labels, in grid order),
    metrics (names), metric_descriptions (name -> text with units), arrays
    (name -> {shape, description}) and has_summaries.
    """
    with open_results(path) as handle:
        return _read_info(path, handle)


# --------------------------------------------------------------------------- rows

# Rows read from /tasks at a time, so filtered loads and passes over huge files stay small
# (MSWEEP_READ_ROWS sets another count). 131,072 of the engine's rows (165 bytes stored) are some
# 21 MB, under glibc's largest mmap threshold (32 MB): a block's buffers are then reused from
# the heap, whereas a block of a million rows (165 MB) was a fresh mmap every time, and its
# page faults were 40% of a pass's CPU time as system time (measured on the 131M-row file:
# 1.2 s of system time per 10M rows at 1M rows a block, 0.3 s at 131,072).
READ_ROWS = int(os.environ.get("MSWEEP_READ_ROWS", 1 << 17))


def _is_integer_label(label):
    """True for labels that are plain decimal integers ('0', '12', '-3'; not '01', '1.0', '+1')."""
    try:
        return str(int(label)) == label
    except ValueError:
        return False


def axis_labels(info, axis):
    """The labels of ``axis`` as a numpy array, typed the way load() puts them in its frame.

    Axes whose labels are all plain integers (run, fold, restart, and e.g. a hidden-width
    axis '4', '8', '16') give int64, so ``tasks.run == 3`` and sorting work as expected;
    every other axis keeps the label text (object array of str). ``info["axes"]`` itself
    always holds the text, as stored in the file.
    """
    labels = info["axes"][axis]
    if labels and all(_is_integer_label(label) for label in labels):
        return np.array([int(label) for label in labels], dtype=np.int64)
    return np.asarray(labels, dtype=object)


def _sizes(info, axes):
    return [len(info["axes"][a]) for a in axes]


def axis_index(block, info, axis):
    """The index on ``axis`` of every row of a /tasks ``block``, computed from its task id as the
    engine's grid does (TaskGrid::coordinates): the id is the row-major index over the axes in
    the order of /axes, the last varying fastest, which is numpy's C order (np.unravel_index).
    Format 3 stores no coordinate fields; older files' fields hold the same values."""
    return axis_indices(block, info, [axis])[0]


def axis_indices(block, info, axes):
    """axis_index() of each of ``axes``, from one unravelling of the ids."""
    order = list(info["axes"])
    ids = block["id"].astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= info["task_count"]):
        raise ResultsFileError(info["path"], f"/tasks holds task id {int(ids.max())} but the grid has {info['task_count']} tasks")
    coordinates = np.unravel_index(ids, _sizes(info, order))
    return [coordinates[order.index(axis)].astype(np.int64) for axis in axes]


def _row_order(ids):
    """Rows are stored in finishing order; every reader returns them by task id instead."""
    return np.argsort(ids, kind="stable")


def _tasks_frame(path, rows, meta, sort=True, axes=None):
    """The structured /tasks rows (all fields or a subset) as a DataFrame with the label and
    index columns of ``axes`` (default: every axis), computed from the ids."""
    if sort:
        rows = rows[_row_order(rows["id"])]
    fields = set(rows.dtype.names)
    columns = {"id": rows["id"].astype(np.int64)}
    for axis in meta["axes"] if axes is None else axes:
        index = axis_index(rows, meta, axis)
        columns[axis] = axis_labels(meta, axis)[index]
        columns[f"{axis}_index"] = index
    if "status" in fields:
        columns["status"] = np.where(rows["status"].astype(np.int64) == 0, "ok", "failed")
    if "error" in fields:
        columns["error"] = [text(e) for e in rows["error"]]
    if "wall_time" in fields:
        columns["wall_time"] = rows["wall_time"].astype(np.float64)
    if "rank" in fields:
        columns["rank"] = rows["rank"].astype(np.int64)
    for metric in meta["metrics"]:
        if metric in fields:
            columns[metric] = rows[metric].astype(np.float64)
    frame = pd.DataFrame(columns)
    frame.attrs.update(meta)
    return frame


def _fields_for(path, meta, columns, where):
    """/tasks fields to read for ``columns`` and ``where``; ValueError naming an unknown column.
    An axis needs only the id, from which its index is computed."""
    known = {"id": "id", "status": "status", "error": "error", "wall_time": "wall_time", "rank": "rank"}
    for axis in meta["axes"]:
        known[axis] = known[f"{axis}_index"] = "id"
    for metric in meta["metrics"]:
        known[metric] = metric
    wanted = list(FIXED_FIELDS) + list(meta["metrics"]) if columns is None else list(columns)
    for name in [*wanted, *(where or {})]:
        if name not in known:
            raise ValueError(f"{path}: load(): no column '{name}' (columns: {', '.join(known)})")
    fields = ["id", "status"] + [known[n] for n in [*wanted, *(where or {})]]
    return list(dict.fromkeys(fields))  # file order does not matter; duplicates do


def _where_masks(path, meta, where):
    """{field: function(rows) -> bool mask} for every ``where`` entry, checked against the file.

    An axis name matches its labels as load() types them (int for integer axes, else
    str); ``<axis>_index`` matches indices; other columns match their values.
    """
    masks = {}
    for name, allowed in (where or {}).items():
        values = [allowed] if isinstance(allowed, (str, bytes, int, float, np.integer, np.floating)) else list(allowed)
        if name in meta["axes"] or (name.endswith("_index") and name[:-6] in meta["axes"]):
            axis = name if name in meta["axes"] else name[:-6]
            labels = axis_labels(meta, axis)
            if name == axis:
                position = {label: i for i, label in enumerate(labels.tolist())}
                unknown = [v for v in values if v not in position]
                if unknown:
                    shown = ", ".join(repr(v) for v in labels.tolist()[:8]) + (", ..." if len(labels) > 8 else "")
                    raise ValueError(f"{path}: load(): where {axis}: no label {unknown[0]!r} on axis {axis} "
                                     f"(labels: {shown}; use {axis}_index for positions)")
                indices = np.array([position[v] for v in values], dtype=np.int64)
            else:
                indices = np.asarray(values, dtype=np.int64)
            masks[axis] = lambda rows, axis=axis, indices=indices: np.isin(axis_index(rows, meta, axis), indices)
        elif name == "status":
            codes = [0 if v == "ok" else 1 for v in values]
            masks[name] = lambda rows, codes=codes: np.isin(rows["status"].astype(np.int64), codes)
        else:
            masks[name] = lambda rows, name=name, values=values: np.isin(rows[name], values)
    return masks


def _row_range(path, rows, committed):
    """(start, stop) of the stored rows to read from ``rows`` (None, slice, range or pair)."""
    if rows is None:
        return 0, committed
    if isinstance(rows, (slice, range)):
        if rows.step not in (None, 1):
            raise ValueError(f"{path}: load(): rows must be a contiguous range, got step {rows.step}")
        start, stop = rows.start, rows.stop
    else:
        start, stop = rows
    start, stop = (0 if start is None else int(start)), (committed if stop is None else int(stop))
    if start < 0 or stop < start:
        raise ValueError(f"{path}: load(): rows ({start}, {stop}) is not a range of stored rows 0..{committed}")
    return start, min(stop, committed)


def _stored_layout(tasks):
    """The numpy dtype of /tasks rows exactly as stored (file offsets and byte order), or None.

    When /tasks is chunked along rows and unfiltered, a chunk on disk is just its rows packed
    in this layout, so numpy can view the raw chunk bytes (H5Dread_chunk) without HDF5's
    compound conversion, which is some ten times slower (and slower still with the
    variable-length error string in the row). Variable-length members become opaque bytes
    (their heap references): they are read through HDF5, for the kept rows only. None
    (use the converting read) for filtered, unchunked or non-compound datasets.
    """
    if tasks.chunks is None or len(tasks.chunks) != 1 or tasks.id.get_create_plist().get_nfilters():
        return None
    stored = tasks.id.get_type()
    if stored.get_class() != h5py.h5t.COMPOUND:
        return None
    # HDF5 reports the type with variable-length members at their in-memory size (a pointer);
    # on disk each is a 4-byte length and a global heap id (address, 4-byte index), and the
    # later members shift by the difference, as HDF5 itself lays the type out on disk.
    on_disk = 4 + tasks.file.id.get_create_plist().get_sizes()[0] + 4
    names, formats, offsets, shift = [], [], [], 0
    for i in range(stored.get_nmembers()):
        member = stored.get_member_type(i)
        plain = member.get_class() in (h5py.h5t.INTEGER, h5py.h5t.FLOAT) or (
            member.get_class() == h5py.h5t.STRING and not member.is_variable_str())
        size = member.get_size() if plain else on_disk
        names.append(stored.get_member_name(i).decode())
        formats.append(member.dtype if plain else np.dtype(f"V{size}"))
        offsets.append(stored.get_member_offset(i) + shift)
        shift += size - member.get_size()
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": stored.get_size() + shift})


def _read_raw(tasks, layout, begin, end):
    """Rows begin..end of /tasks in the stored ``layout``, assembled from whole raw chunks;
    None when a chunk is not the size that layout implies (then the caller converts)."""
    rows = tasks.chunks[0]
    first = begin // rows * rows
    chunks = []
    for offset in range(first, end, rows):
        chunk = tasks.id.read_direct_chunk((offset,))[1]
        if len(chunk) != rows * layout.itemsize:
            return None
        chunks.append(chunk)
    # One buffer of the final size (a growing bytearray reallocates and copies as it grows).
    return np.frombuffer(b"".join(chunks), dtype=layout)[begin - first:end - first]


def _read_block(tasks, layout, fields, masks, begin, end, packed=True):
    """Rows begin..end of /tasks with only ``fields``, filtered by ``masks`` (see _chunks)."""
    stored = None if layout is None or not all(f in layout.names for f in fields) else _read_raw(
        tasks, layout, begin, end)
    if not packed and stored is not None and not masks and all(layout.fields[f][0].kind != "V" for f in fields):
        return stored[fields]  # a view of the raw rows: each field is read once, where it is used
    if stored is None:
        block = tasks.fields(fields)[begin:end]
        keep = np.ones(len(block), dtype=bool)
        for mask in masks.values():
            keep &= mask(block)
        return block[keep]
    keep = np.ones(len(stored), dtype=bool)
    for mask in masks.values():
        keep &= mask(stored)
    positions = np.flatnonzero(keep)
    every = len(positions) == len(stored)  # then slice: no gather through an index of every row
    converted = [f for f in fields if layout.fields[f][0].kind == "V"]  # variable-length: through HDF5
    block = np.empty(len(positions), dtype=[(f, object if f in converted else layout.fields[f][0]) for f in fields])
    for field in fields:
        if field not in converted:
            block[field] = stored[field] if every else stored[field][positions]
        elif len(positions) > len(stored) // 8:  # many rows: one converting read of the block
            block[field] = tasks.fields(field)[begin:end][positions]
        elif len(positions):  # a few (e.g. the failed rows): read just those
            block[field] = tasks.fields(field)[begin + positions]
    return block


def _chunks(path, meta, fields, masks, start, stop, chunksize, packed=True):
    """Structured row blocks of /tasks[start:stop], only ``fields``, filtered by ``masks``.

    ``packed=False`` (for a reduction that uses each block and drops it) may give a view of the
    whole raw rows instead of a packed copy of the fields: no copy of every field of every row,
    but each row still takes the stored row's bytes, so never keep or concatenate such blocks.
    """
    with open_results(path) as handle:
        tasks = handle["tasks"]
        layout = _stored_layout(tasks)
        for begin in range(start, stop, chunksize):
            yield _read_block(tasks, layout, fields, masks, begin, min(stop, begin + chunksize), packed)


def load(path, columns=None, where=None, rows=None, chunksize=None):
    """One row per finished task: the DataFrame researchers start from.

    Columns: id; for every axis, its label (``structure``) and its index
    (``structure_index``); status ('ok' or 'failed'); error (empty when ok);
    wall_time (s); rank; one float column per scalar metric (NaN in failed rows).
    Label columns of axes whose labels are all integers (run, fold, restart) are
    int64, other labels are str; ``<axis>_index`` is always the position of the value
    in ``info()["axes"][axis]`` (for run, fold and restart the two are equal).
    Rows are sorted by task id and limited to the committed rows, so files still
    being written or interrupted load fine. ``frame.attrs`` holds everything
    info() returns (status, task_count, rows_committed, axes, metrics, ...).

    Reading less, for files that do not fit in memory:

    - ``columns``: names to read (an axis name gives its label and index); id and
      status always come along. ``["structure", "run", "test_mse"]`` reads 4 fields
      of each row instead of all of them.
    - ``where``: {column: allowed value(s)} keeps the rows whose value is among them;
      axes match their labels as typed above (``{"run": range(5)}``,
      ``{"structure": ["x0+x1"]}``), ``<axis>_index`` matches positions,
      ``{"status": "ok"}`` works too. The file is read in blocks and filtered block
      by block, so only matching rows are ever held.
    - ``rows``: ``(start, stop)``, ``slice`` or ``range`` of stored row positions
      (finishing order, before sorting by id), within the committed rows.
    - ``chunksize``: return an iterator of DataFrames of at most that many stored
      rows each (after filtering possibly fewer, possibly empty), each sorted by id
      within itself; reduce each one (e.g. sums and counts per group) and combine.

    An unknown column, label or range raises ValueError with one line naming it.
    """
    meta = info(path)
    fields = _fields_for(path, meta, columns, where)
    masks = _where_masks(path, meta, where)
    start, stop = _row_range(path, rows, meta["rows_committed"])
    axes = None if columns is None else [a for a in meta["axes"] if a in columns or f"{a}_index" in columns]
    if chunksize is not None:
        if int(chunksize) < 1:
            raise ValueError(f"{path}: load(): chunksize must be at least 1, got {chunksize}")
        return (_requested(_tasks_frame(path, block, meta, axes=axes), columns, meta)
                for block in _chunks(path, meta, fields, masks, start, stop, int(chunksize)))
    blocks = list(_chunks(path, meta, fields, masks, start, stop, READ_ROWS))
    selected = np.concatenate(blocks) if blocks else np.zeros(0, dtype=_tasks_dtype_subset(path, fields))
    return _requested(_tasks_frame(path, selected, meta, axes=axes), columns, meta)


def _requested(frame, columns, meta):
    """``frame`` without the fields read only to filter on (all of it when columns is None)."""
    if columns is None:
        return frame
    requested = {"id", "status"}
    for name in columns:
        requested |= {name, f"{name}_index"} if name in meta["axes"] else {name}
    frame = frame[[c for c in frame.columns if c in requested]]
    frame.attrs.update(meta)
    return frame


def _tasks_dtype_subset(path, fields):
    """The dtype of /tasks restricted to ``fields`` (for an empty selection)."""
    with open_results(path) as handle:
        dtype = handle["tasks"].dtype
    return np.dtype([(f, dtype.fields[f][0]) for f in fields])


def load_array(path, name):
    """The array ``/arrays/<name>`` as numpy, row i belonging to row i of load(path).

    Shape (rows_committed, d1, d2, ...), float64, NaN in failed rows.
    Raises KeyError naming the arrays the file has when ``name`` is not one of them.
    """
    with open_results(path) as handle:
        meta = _read_info(path, handle)
        known = sorted(meta["arrays"])
        if name in known:
            rows = meta["rows_committed"]
            ids = handle["tasks"].fields("id")[:rows]
            values = handle["arrays"][name][:rows]
    if name not in known:  # raised outside the block, which reports file damage, not caller mistakes
        raise KeyError(f"{path}: no array named '{name}' (arrays in the file: {', '.join(known) or 'none'})")
    return np.asarray(values, dtype=np.float64)[_row_order(ids)]


def load_summaries(path):
    """The summaries the engine wrote at the end of a run (``/summaries/table``), or None.

    Columns: label and index of every kept axis, ok_count, failed_count,
    ``<metric>_mean`` and ``<metric>_std``. Useful to cross-check aggregate(); the
    report computes its own summaries so that running files work too.
    """
    with open_results(path) as handle:
        meta = _read_info(path, handle)
        if not meta["has_summaries"]:
            return None
        dataset = handle["summaries"]["table"]
        table = dataset[()]
        # The format leaves open whether group_axes sits on the table or on its group; take either.
        holder = next((h.attrs for h in (dataset, handle["summaries"]) if "group_axes" in h.attrs), None)
        kept = text_list(holder["group_axes"]) if holder is not None else [
            a for a in meta["axes"] if a in table.dtype.names]
    columns = {}
    for axis in kept:
        index = table[axis].astype(np.int64)
        columns[axis] = axis_labels(meta, axis)[index]
        columns[f"{axis}_index"] = index
    for field in table.dtype.names:
        if field not in kept:
            columns[field] = table[field]
    frame = pd.DataFrame(columns)
    frame.attrs.update(meta)
    return frame
