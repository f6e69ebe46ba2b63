#!/usr/bin/python3
"""Training-speed reference for bench/mlp_vs_torch.cpp: the same network, data, batch size,
optimizer (Adam) and number of steps in PyTorch on one CPU thread. Reads the data the C++
driver wrote (raw little-endian float64: X rows x cols, then y) and prints one line per dtype:
"<dtype> <seconds> <final training loss>" (best of REPEATS runs). Run with Debian's /usr/bin/python3 (python3-torch)."""
import sys
import time

import numpy as np

try:
    import torch
except ImportError:
    sys.exit("bench/mlp_vs_torch.py: PyTorch is missing: install the Debian package python3-torch "
             "(scripts/setup.sh --bench installs every benchmark peer)")

REPEATS = 2


def main():
    path, rows, cols, hidden, outputs, loss_name, batch, steps, lr = sys.argv[1:10]
    rows, cols, hidden, outputs, batch, steps = map(int, (rows, cols, hidden, outputs, batch, steps))
    lr = float(lr)
    raw = np.fromfile(path, dtype="<f8")
    X_all = raw[: rows * cols].reshape(rows, cols)
    y_all = raw[rows * cols : rows * cols + rows]
    torch.set_num_threads(1)
    for dtype in (torch.float32, torch.float64):
        best = None
        for repeat in range(REPEATS):  # best of REPEATS, as on the C++ side: the machine may be shared
            result = train(X_all, y_all, rows, cols, hidden, outputs, loss_name, batch, steps, lr, dtype)
            best = result if best is None or result[0] < best[0] else best
        print(f"{str(dtype).replace('torch.', '')} {best[0]:.6f} {best[1]:.6f}", flush=True)


def train(X_all, y_all, rows, cols, hidden, outputs, loss_name, batch, steps, lr, dtype):
    """One timed training run; returns (seconds, final training loss on all rows)."""
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
    start = time.perf_counter()
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
    seconds = time.perf_counter() - start
    with torch.no_grad():
        final = loss_fn(model(X), y).item()
    return seconds, final


if __name__ == "__main__":
    main()
