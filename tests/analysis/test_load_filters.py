"""load() reading less: columns, where filters, row ranges, chunks; integer-labelled axes."""

import numpy as np
import pandas as pd
import pytest

import msweep_analysis as ma
import results_files


def test_columns_read_only_what_is_asked(complete_file):
    path = complete_file[0]
    full = ma.load(path)
    part = ma.load(path, columns=["structure", "test_mse"])
    assert list(part.columns) == ["id", "structure", "structure_index", "status", "test_mse"]
    pd.testing.assert_frame_equal(part, full[list(part.columns)])
    assert part.attrs["rows_committed"] == full.attrs["rows_committed"]


def test_aggregate_of_a_column_subset_with_run(complete_file):
    path = complete_file[0]
    part = ma.load(path, columns=["structure", "run", "test_mse"])
    full = ma.aggregate(ma.load(path), over=("run", "fold", "restart"), metrics=["test_mse"])
    np.testing.assert_allclose(ma.aggregate(part)["test_mse_sem"], full["test_mse_sem"], rtol=1e-12)


def test_where_filters_by_label_index_and_status(complete_file):
    path = complete_file[0]
    full = ma.load(path)
    chosen = ma.load(path, where={"structure": ["x0+x1", "x2"], "run": range(1, 2)})
    expected = full[full["structure"].isin(["x0+x1", "x2"]) & (full["run"] == 1)].reset_index(drop=True)
    pd.testing.assert_frame_equal(chosen, expected)
    by_index = ma.load(path, where={"structure_index": [3, 4], "run": 1})
    pd.testing.assert_frame_equal(by_index, expected)
    ok = ma.load(path, where={"status": "ok"}, columns=["aic"])
    assert len(ok) == len(full) - 3 and (ok["status"] == "ok").all()
    assert list(ok.columns) == ["id", "status", "aic"]  # status read for the filter, returned anyway


def test_rows_and_chunks_cover_the_file(complete_file):
    path, _, _, rows = complete_file
    first = ma.load(path, rows=(0, 10))
    assert sorted(first["id"]) == sorted(rows["id"][:10])  # stored (finishing) order, then sorted by id
    assert list(ma.load(path, rows=slice(90, None))["id"]) == sorted(rows["id"][90:])
    chunks = list(ma.load(path, chunksize=25, columns=["structure", "log_evidence"]))
    assert [len(c) for c in chunks] == [25, 25, 25, 21]
    whole = pd.concat(chunks).sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(whole, ma.load(path, columns=["structure", "log_evidence"]), check_like=True)
    # Reduce chunk by chunk, combine at the end: the pattern for files larger than memory.
    sums = None
    for chunk in ma.load(path, chunksize=30, columns=["structure", "log_evidence"]):
        part = chunk[chunk["status"] == "ok"].groupby("structure_index")["log_evidence"].agg(["sum", "count"])
        sums = part if sums is None else sums.add(part, fill_value=0)
    full = ma.load(path)
    direct = full[full["status"] == "ok"].groupby("structure_index")["log_evidence"].mean()
    np.testing.assert_allclose(sums["sum"] / sums["count"], direct, rtol=1e-12)
    filtered = list(ma.load(path, chunksize=40, where={"structure": "x0"}))
    assert sum(len(c) for c in filtered) == 6 and all(set(c["structure"]) <= {"x0"} for c in filtered)


def test_bad_arguments_are_one_line_value_errors(complete_file):
    path = complete_file[0]
    for kwargs, message in (({"columns": ["nope"]}, "no column 'nope'"),
                            ({"where": {"structure": ["x9"]}}, "no label 'x9' on axis structure"),
                            ({"where": {"run": ["1"]}}, "no label '1' on axis run"),
                            ({"rows": (5, 2)}, "is not a range of stored rows"),
                            ({"chunksize": 0}, "chunksize must be at least 1")):
        with pytest.raises(ValueError, match=message) as error:
            result = ma.load(path, **kwargs)
            list(result)
        assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_integer_axes_are_integers_in_pandas(tmp_path):
    """With 12 runs, text labels would sort '10' before '2' and `tasks.run == 3` would match nothing."""
    axes, metrics, rows = results_files.subset_evidence_rows(features=("x0",), runs=12, folds=2)
    path = tmp_path / "twelve.h5"
    results_files.write_results(path, axes, metrics, rows)
    tasks = ma.load(path)
    assert tasks["run"].dtype == np.int64 and tasks["fold"].dtype == np.int64
    assert (tasks["run"] == tasks["run_index"]).all()
    assert len(tasks[tasks["run"] == 3]) == 2 * 2
    assert list(tasks.groupby("run").size().index) == list(range(12))
    assert tasks["structure"].map(type).eq(str).all()
    assert list(ma.axis_labels(tasks.attrs, "run")) == list(range(12))
    assert tasks.attrs["axes"]["run"][10] == "10"  # info keeps the text stored in the file
    assert list(ma.aggregate(tasks, over=("structure", "fold"))["run"]) == list(range(12))
