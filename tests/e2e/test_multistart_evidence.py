"""multistart-evidence end to end: bitwise the same results (metrics and every trajectory array)
at 1 and 3 ranks, for the Gaussian and the logistic likelihood, and bad keys end in one file:line
message with exit status 2, creating nothing."""
import h5py
import numpy as np
import pytest

from conftest import load_tasks, metric_names, run, write_job
from test_cli_errors import assert_one_line_error

JOB = """[job]
name = "ms"
experiment = "multistart-evidence"
seed = 5
[data]
source = "synthetic-regression"
objects = 60
features = 3
[model]
hidden = [4]
learning_rate = 1e-4
batch_size = 8
[sweep]
runs = 2
restarts = 3
iterations = 30
tau_val = 10
prior_precisions = [10.0, 1e3]
"""


LOGISTIC_JOB = JOB.replace('source = "synthetic-regression"', 'source = "synthetic-classification"').replace(
    "[model]\n", '[model]\nlikelihood = "logistic"\n')


@pytest.mark.parametrize("text", [JOB, LOGISTIC_JOB], ids=["gaussian", "logistic"])
def test_results_and_arrays_identical_at_1_and_3_ranks(tmp, text):
    job = write_job(tmp, "job", text)
    reference = None
    for ranks in [1, 3]:
        output = tmp / f"r{ranks}.h5"
        result = run(["run", job, "-o", output, "-q", "--batch-seconds", "0.0001", "--in-flight", "2"],
                     ranks=None if ranks == 1 else ranks)
        assert result.returncode == 0, result.stderr
        rows = load_tasks(output)
        assert (rows["status"] == 0).all()
        values = np.stack([rows[m] for m in metric_names(output)], axis=1)  # load_tasks sorts by id
        with h5py.File(output, "r") as handle:
            order = np.argsort(handle["tasks"].fields("id")[:])  # arrays follow the file's row order
            arrays = {name: handle["arrays"][name][:][order] for name in handle["arrays"]}
        assert len(arrays) == 12
        if reference is None:
            reference = (values, arrays)
        else:
            assert values.tobytes() == reference[0].tobytes(), "3 ranks differ from 1 rank"
            for name, data in arrays.items():
                assert data.tobytes() == reference[1][name].tobytes(), f"array {name}: 3 ranks differ from 1 rank"


def test_bad_keys_name_file_and_line(tmp):
    for edit, key in [("methods = [\"sgd\", \"adam\"]", "methods"), ("patience = 0", "patience"),
                      ("input_noise = [-0.5]", "input_noise"), ("validation_fraction = 0", "validation_fraction"),
                      ('[model]\nlikelihood = "poisson"', "likelihood")]:
        text = JOB.replace("[model]\n", edit + "\n") if edit.startswith("[model]") else JOB + edit + "\n"
        job = write_job(tmp, "bad", text)
        output = tmp / "bad.h5"
        result = run(["run", job, "-o", output])
        assert_one_line_error(result, "bad.toml:", key)
        assert not output.exists()
