"""The v3 preset's contract (README: Performance): a build for the fixed target x86-64-v3
(AVX2 + FMA, -ffp-contract=off) gives bitwise the same per-task results at any rank count, on
dense MLP training (Fashion-MNIST 784-10-10, where its AVX2/FMA kernels do the work) and on
the subset-evidence fixed point. Runs the binary in build-v3/ (cmake --preset v3 && cmake
--build --preset v3), or MSWEEP_V3_BIN; skips, saying why, when that build does not exist or
this CPU lacks AVX2 or FMA."""
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import SOURCE, environment, mpirun, write_job
from results_compare import assert_same_tasks
from test_determinism import SUBSETS

V3_BINARY = Path(os.environ.get("MSWEEP_V3_BIN", SOURCE / "build-v3" / "bin" / "msweep"))

MLP = """[job]
name = "v3-mlp"
experiment = "param-ordering"
seed = 2019
[data]
source = "fashion-mnist"
train_objects = 400
test_objects = 100
standardize = false
[model]
hidden = [10]
learning_rate = 0.003
batch_size = 64
[sweep]
runs = 2
t0 = 20
continue_iterations = 40
fractions = [0.0, 1.0]
"""



def cpu_flags():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def skip_reason():
    if not V3_BINARY.exists():
        return f"no v3 build at {V3_BINARY}: cmake --preset v3 && cmake --build --preset v3 -j2"
    missing = {"avx2", "fma"} - cpu_flags()
    if missing:
        return f"this CPU lacks {', '.join(sorted(missing))}: the x86-64-v3 build cannot run here"
    return None


pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


@pytest.mark.parametrize("text", [MLP, SUBSETS], ids=["mlp-784-10-10", "subset-evidence"])
def test_v3_build_bitwise_equal_at_1_and_3_ranks(tmp, text):
    job = write_job(tmp, "job", text)
    outputs = []
    for ranks in [1, 3]:
        output = tmp / f"r{ranks}.h5"
        command = (mpirun(ranks) if ranks > 1 else []) + [str(V3_BINARY), "run", str(job), "-o", str(output), "-q", "--in-flight", "2"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=500, env=environment())
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(output)
    assert_same_tasks(outputs[1], outputs[0])
    # Per-task arrays (param-ordering's masks) too, in task order.
    arrays = [per_task_arrays(output) for output in outputs]
    assert arrays[0].keys() == arrays[1].keys()
    for name, values in arrays[0].items():
        assert values.tobytes() == arrays[1][name].tobytes(), name


def per_task_arrays(path):
    with h5py.File(path, "r", swmr=True, locking=False) as f:
        n = int(f["state"][0]["rows_committed"])
        order = np.argsort(f["tasks"]["id"][:n])
        return {name: f["arrays"][name][:n][order] for name in f["arrays"]}
