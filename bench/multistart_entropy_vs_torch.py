#!/usr/bin/python3
"""PyTorch peer of bench/multistart_entropy_vs_torch.cpp: one start-step of the multistart entropy
update (minibatch gradient, two Hessian-vector products by double backward, the increment
r0 . (-2 r0 + 3 r1 - r2), the SGD step) for f(x) = softplus(X W1) W2 without biases, float64,
one thread. Reads the inputs the C++ driver wrote (raw little-endian float64: X rows x cols,
y, w0, r0) and prints "increment <value>" for the first step at w0 on rows [0, batch), then
"timing <min seconds> <median seconds> <min CPU seconds>" for `steps` start-steps over REPEATS runs.
Prints its BLAS and threads to stderr and exits 3 on the reference BLAS unless --allow-reference-blas."""
import statistics
import sys
import time

import numpy as np

from common import import_torch, start_torch_peer

torch = import_torch("bench/multistart_entropy_vs_torch.py")


def main():
    path, rows, cols, hidden, batch, steps, lr, scale, alpha, allow, repeats = sys.argv[1:12]
    rows, cols, hidden, batch, steps, repeats = map(int, (rows, cols, hidden, batch, steps, repeats))
    lr, scale, alpha = float(lr), float(scale), float(alpha)
    limiter = start_torch_peer(torch, allow, "Hessian-vector products by double backward")  # noqa: F841
    d = hidden * cols + hidden
    raw = np.fromfile(path, dtype="<f8")
    X = torch.tensor(raw[: rows * cols].reshape(rows, cols))
    offset = rows * cols
    y = torch.tensor(raw[offset: offset + rows]); offset += rows
    w0 = torch.tensor(raw[offset: offset + d]); offset += d
    r0 = torch.tensor(raw[offset: offset + d])

    def loss_of(w, Xb, yb):
        # msweep's flat layout: W1 (hidden x cols) column-major, then W2 (1 x hidden).
        W1 = w[: hidden * cols].view(cols, hidden)
        out = torch.nn.functional.softplus(Xb @ W1) @ w[hidden * cols:]
        return scale * torch.mean((out - yb) ** 2) + 0.5 * alpha * torch.dot(w, w)

    def start_step(w, first):
        Xb, yb = X[first: first + batch], y[first: first + batch]
        w = w.detach().requires_grad_(True)
        g, = torch.autograd.grad(loss_of(w, Xb, yb), w, create_graph=True)
        h1, = torch.autograd.grad(g, w, grad_outputs=r0, retain_graph=True)
        r1 = r0 - lr * h1
        h2, = torch.autograd.grad(g, w, grad_outputs=r1)
        r2 = r1 - lr * h2
        increment = torch.dot(r0, -2.0 * r0 + 3.0 * r1 - r2)
        return (w - lr * g).detach(), increment

    _, first_increment = start_step(w0, 0)
    print(f"increment {first_increment.item():.17g}", flush=True)
    times, cpus = [], []
    for _ in range(repeats):
        w = w0.clone()
        start, cpu_start = time.perf_counter(), time.process_time()
        for t in range(steps):
            w, _ = start_step(w, (t * batch) % (rows - batch + 1))
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu_start)
    print(f"timing {min(times):.6f} {statistics.median(times):.6f} {min(cpus):.6f}", flush=True)


if __name__ == "__main__":
    main()
