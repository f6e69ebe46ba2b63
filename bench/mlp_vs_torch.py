#!/usr/bin/python3
"""Training-speed reference for bench/mlp_vs_torch.cpp: the same network, data, batch size,
optimizer (Adam) and number of steps in PyTorch on one CPU thread. Reads the data the C++
driver wrote (raw little-endian float64: X rows x cols, then y) and prints one line per dtype:
"<dtype> <min seconds> <median seconds> <final training loss> <min CPU seconds>" over REPEATS runs (an eleventh
argument; default 2). Run with Debian's /usr/bin/python3 (python3-torch).
Prints the BLAS torch computes with to stderr and exits 3 on the reference BLAS unless a tenth
argument --allow-reference-blas is given (pass "-" there otherwise)."""
import statistics
import sys
import time

import numpy as np

try:
    import torch
except ImportError:
    sys.exit("bench/mlp_vs_torch.py: PyTorch is missing: install the Debian package python3-torch "
             "(scripts/setup.sh --bench installs every benchmark peer)")

from common import report_peer_blas


def main():
    path, rows, cols, hidden, outputs, loss_name, batch, steps, lr = sys.argv[1:10]
    rows, cols, hidden, outputs, batch, steps = map(int, (rows, cols, hidden, outputs, batch, steps))
    lr = float(lr)
    repeats = int(sys.argv[11]) if len(sys.argv) > 11 else 2
    torch.set_num_threads(1)
    limiter = report_peer_blas("torch", allow_reference_blas=sys.argv[10:11] == ["--allow-reference-blas"])  # noqa: F841 (kept while timing)
    print(f"peer torch {torch.__version__}: {torch.get_num_threads()} intra-op thread(s)", file=sys.stderr, flush=True)
    raw = np.fromfile(path, dtype="<f8")
    X_all = raw[: rows * cols].reshape(rows, cols)
    y_all = raw[rows * cols : rows * cols + rows]
    for dtype in (torch.float32, torch.float64):
        # min and median of `repeats`, as on the C++ side: the machine may be shared
        results = sorted(train(X_all, y_all, rows, cols, hidden, outputs, loss_name, batch, steps, lr, dtype) for _ in range(repeats))
        median = statistics.median(seconds for seconds, _, _ in results)
        cpu = min(cpu for _, _, cpu in results)
        print(f"{str(dtype).replace('torch.', '')} {results[0][0]:.6f} {median:.6f} {results[0][1]:.6f} {cpu:.6f}", flush=True)


def train(X_all, y_all, rows, cols, hidden, outputs, loss_name, batch, steps, lr, dtype):
    """One timed training run; returns (wall seconds, final training loss on all rows, CPU seconds
    of the whole process: on a shared machine less inflated by other work than wall time)."""
    torch.manual_seed(0)
    X = torch.tensor(X_all, dtype=dtype)
    if loss_name == "mse":
        y = torch.tensor(y_all, dtype=dtype).reshape(-1, 1)
        loss_fn = torch.nn.MSELoss()
    else:
        y = torch.tensor(y_all, dtype=torch.long)
        loss_fn = torch.nn.CrossEntropyLoss()
    model = torch.nn.Sequential(torch.nn.Linear(cols, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, outputs)).to(dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.randperm(rows)
    position = rows
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(steps):
        if position >= rows:  # shuffled epochs, as msweep's MinibatchSampler
            order = torch.randperm(rows)
            position = 0
        index = order[position : position + batch]
        position += batch
        optimizer.zero_grad()
        loss = loss_fn(model(X[index]), y[index])
        loss.backward()
        optimizer.step()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    with torch.no_grad():
        final = loss_fn(model(X), y).item()
    return seconds, final, cpu


if __name__ == "__main__":
    main()
