"""A task that throws or yields non-finite numbers becomes a failed row; the job goes on and
the exit status says that some tasks failed."""
import numpy as np

from conftest import load_tasks, run, write_job

JOB = """[job]
name = "fail"
experiment = "synthetic-load"
seed = 2
[model]
fail_every = 7
nan_every = 5
[sweep]
structures = 100
runs = 2
"""


def test_failed_tasks_are_rows_with_messages(tmp):
    for ranks in [None, 3]:
        output = tmp / f"out{ranks}.h5"
        result = run(["run", write_job(tmp, "fail", JOB), "-o", output, "-q"], ranks=ranks)
        assert result.returncode == 1, result.stderr
        rows = load_tasks(output)
        assert len(rows) == 200
        structure = rows["structure"]
        throws = structure % 7 == 0
        nans = (structure % 5 == 0) & ~throws
        assert np.all(rows["status"][throws | nans] == 1)
        assert np.all(rows["status"][~(throws | nans)] == 0)
        assert rows["error"][throws][0].decode().startswith("synthetic failure of structure")
        assert rows["error"][nans][0].decode() == "metric normal is not finite"
        assert np.all(np.isnan(rows["uniform"][throws | nans]))
        assert "failed" in result.stdout
