#!/usr/bin/python3
"""PyTorch peer of bench/hpo_hypergradient_vs_torch.cpp: one outer iteration of HOAG and of DrMAD
on the k-fold CV criterion of models/hyperprior for an MLP (tanh hidden layer or the linear
model, biases, MSE with noise variance 1, one prior log std per parameter), float64, one thread;
Hessian-vector and mixed (d2L/dtheta dh)^T v products by double backward. Reads the inputs the
C++ driver wrote (raw little-endian float64: X rows x cols, y, w0, h, then per fold the training
and the validation rows, each as a count followed by the row numbers) and prints
"hoag <Q> <CG iterations> <dQ/dh ...>", "drmad <Q> <dQ/dh ...>", then
"timing-hoag|timing-drmad <min seconds> <median seconds> <min CPU seconds>" over REPEATS outer
iterations. Prints its BLAS and threads to stderr and exits 3 on the reference BLAS unless
--allow-reference-blas."""
import math
import statistics
import sys
import time

import numpy as np

from common import import_torch, start_torch_peer

torch = import_torch("bench/hpo_hypergradient_vs_torch.py")


def main():
    path, rows, cols, hidden, folds, steps, lr, tolerance, skip, allow, repeats = sys.argv[1:12]
    rows, cols, hidden, folds, steps, repeats = map(int, (rows, cols, hidden, folds, steps, repeats))
    lr, tolerance, skip = float(lr), float(tolerance), float(skip)
    limiter = start_torch_peer(torch, allow, "Hessian-vector and mixed products by double backward")  # noqa: F841
    widths = [cols, hidden, 1] if hidden > 0 else [cols, 1]
    p = sum(o * i + o for i, o in zip(widths[:-1], widths[1:]))
    raw = np.fromfile(path, dtype="<f8")
    X = torch.tensor(raw[: rows * cols].reshape(rows, cols))
    offset = rows * cols
    y = torch.tensor(raw[offset: offset + rows]); offset += rows
    w0 = torch.tensor(raw[offset: offset + p]); offset += p
    h = torch.tensor(raw[offset: offset + p]); offset += p
    parts = []
    for _ in range(2 * folds):
        n = int(raw[offset]); parts.append(torch.tensor(raw[offset + 1: offset + 1 + n].astype(np.int64))); offset += 1 + n
    data = [(X[parts[2 * q]], y[parts[2 * q]], X[parts[2 * q + 1]], y[parts[2 * q + 1]]) for q in range(folds)]
    half_log_2pi = 0.5 * math.log(2 * math.pi)

    def forward(w, Xb):
        # models/mlp's flat layout: per layer W_l (outputs x inputs, column-major), then b_l.
        a, o = Xb, 0
        for layer, (i, out) in enumerate(zip(widths[:-1], widths[1:])):
            W = w[o: o + out * i].view(i, out); o += out * i
            a = a @ W + w[o: o + out]; o += out
            if layer < len(widths) - 2:
                a = torch.tanh(a)
        return a[:, 0]

    def nll(w, Xb, yb):  # Gaussian, variance 1, with its constant
        return 0.5 * torch.sum((forward(w, Xb) - yb) ** 2) + yb.shape[0] * half_log_2pi

    def inner_loss(theta, hh):
        precision = torch.exp(-2.0 * hh)
        total = 0.0
        for q, (Xt, yt, _, _) in enumerate(data):
            w = theta[q * p: (q + 1) * p]
            total = total + nll(w, Xt, yt) - torch.sum(-0.5 * w * w * precision - hh - half_log_2pi)
        return total

    def criterion(theta):
        total = 0.0
        for q, (Xt, _, Xv, yv) in enumerate(data):
            total = total - (Xt.shape[0] / Xv.shape[0]) * nll(theta[q * p: (q + 1) * p], Xv, yv)
        return total / folds

    theta0 = w0.repeat(folds)

    def train():
        theta = theta0.clone()
        for _ in range(steps):
            theta.requires_grad_(True)
            g, = torch.autograd.grad(inner_loss(theta, h), theta)
            theta = (theta - lr * g).detach()
        return theta

    def hoag():
        theta = train().requires_grad_(True)
        hh = h.clone().requires_grad_(True)
        q_value = criterion(theta)
        g, = torch.autograd.grad(q_value, theta)  # Q does not depend on h directly (dQ/dh = 0)
        gl, = torch.autograd.grad(inner_loss(theta, hh), theta, create_graph=True)
        # Conjugate gradient on H q = g from q = 0, stopping at ||r|| <= tolerance ||g|| or at a
        # direction of non-positive curvature (the C++ rule).
        q, r, d = torch.zeros_like(g), g.clone(), g.clone()
        rr, target, k = torch.dot(r, r), tolerance * torch.linalg.norm(g), 0
        while k < theta.shape[0] and math.sqrt(rr) > target:
            hp, = torch.autograd.grad(gl, theta, grad_outputs=d, retain_graph=True)
            curvature = torch.dot(d, hp)
            if not curvature > 0:
                if k == 0:
                    q = g.clone()
                break
            alpha = rr / curvature
            q = q + alpha * d
            r = r - alpha * hp
            rr_next = torch.dot(r, r)
            d = r + (rr_next / rr) * d
            rr, k = rr_next, k + 1
        mixed, = torch.autograd.grad(gl, hh, grad_outputs=q)
        return q_value.item(), k, -mixed

    def drmad():
        theta_final = train()
        theta = theta_final.clone().requires_grad_(True)
        hh = h.clone().requires_grad_(True)
        q_value = criterion(theta)
        d_theta, = torch.autograd.grad(q_value, theta)
        d_h = torch.zeros_like(h)
        first = math.ceil(skip * steps)
        for t in range(steps - 1, first - 1, -1):
            beta = t / steps
            point = ((1.0 - beta) * theta0 + beta * theta_final).requires_grad_(True)
            gl, = torch.autograd.grad(inner_loss(point, hh), point, create_graph=True)
            hv, mixed = torch.autograd.grad(gl, (point, hh), grad_outputs=d_theta)
            d_h = d_h - lr * mixed
            d_theta = d_theta - lr * hv
        return q_value.item(), d_h

    q_value, iterations, gradient = hoag()
    print("hoag", f"{q_value:.17g}", iterations, " ".join(f"{v:.17g}" for v in gradient.tolist()), flush=True)
    q_value, gradient = drmad()
    print("drmad", f"{q_value:.17g}", " ".join(f"{v:.17g}" for v in gradient.tolist()), flush=True)
    for name, once in (("hoag", hoag), ("drmad", drmad)):
        times, cpus = [], []
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            once()
            times.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu_start)
        print(f"timing-{name} {min(times):.6f} {statistics.median(times):.6f} {min(cpus):.6f}", flush=True)


if __name__ == "__main__":
    main()
