#!/usr/bin/python3
"""PyTorch peer of bench/structure_vs_torch.cpp: one relaxed structure-search step (Gumbel-softmax
sample, reparameterized q(w), forward pass of the graph, the three ELBO terms, reverse pass) of
the same model on the same draws, float64, one CPU thread, autograd for the gradient.

Arguments: PATH m n P L S noise_std prior_log_std gamma_floor temperature steps repeats
ALLOW widths(comma-separated) EDGE... The file holds raw little-endian float64: X (m x n, row
major), y (m), theta (2P + L), eps (S x P), gumbel (S x L). Prints "terms <data> <parametric>
<structural>" and "time <min s per step> <median s per step> <min CPU s per step>". Prints its
BLAS and threads to stderr; exits 3 on the reference BLAS unless ALLOW is --allow-reference-blas.
"""
import math
import statistics
import sys
import time

import numpy as np

try:
    import torch
except ImportError:
    sys.exit("bench/structure_vs_torch.py: PyTorch is missing: install the Debian package python3-torch "
             "(scripts/setup.sh --bench installs every benchmark peer)")

from common import report_peer_blas


def parse_edges(texts):
    """[(target, source, [(kind, inputs)])] from "T<-S: basis ..." (models/structure_graph's syntax)."""
    edges = []
    for text in texts:
        head, bases = text.split(":", 1)
        target, source = (int(part) for part in head.split("<-"))
        parsed = []
        for basis in bases.split():
            kind, _, inputs = basis.partition(":")
            parsed.append((kind, int(inputs) if inputs else 0))
        edges.append((target, source, parsed))
    return edges


class Graph:
    """The weight layout of StructureGraph: per basis in edge order, W (d x r, column major) then b (d)."""

    def __init__(self, inputs, widths, edges):
        self.widths = [inputs] + widths
        self.edges = edges
        self.layout = []  # per edge: [(kind, r, offset)]
        offset = 0
        for target, source, bases in edges:
            d = self.widths[target]
            entries = []
            for kind, r in bases:
                r = r or self.widths[source]
                entries.append((kind, r, offset))
                offset += 0 if kind == "zero" else d if kind == "const" else d * r + d
            self.layout.append(entries)
        self.weights = offset
        self.group = []  # basis index of every weight
        b = 0
        for (target, _, _), entries in zip(edges, self.layout):
            d = self.widths[target]
            for kind, r, _ in entries:
                count = 0 if kind == "zero" else d if kind == "const" else d * r + d
                self.group += [b] * count
                b += 1
        self.group = torch.tensor(self.group, dtype=torch.long)

    def forward(self, X, w, gammas):
        nodes = [X] + [None] * (len(self.widths) - 1)
        for j in range(1, len(self.widths)):
            total = torch.zeros(X.shape[0], self.widths[j], dtype=X.dtype)
            for e, ((target, source, _), entries) in enumerate(zip(self.edges, self.layout)):
                if target != j:
                    continue
                for h, (kind, r, offset) in enumerate(entries):
                    if kind == "zero":
                        continue
                    d = self.widths[j]
                    if kind == "const":
                        out = w[offset:offset + d].expand(X.shape[0], d)
                    else:
                        W = w[offset:offset + d * r].reshape(r, d)  # column major d x r, transposed
                        pre = nodes[source][:, :r] @ W + w[offset + d * r:offset + d * r + d]
                        out = pre if kind == "linear" else torch.tanh(pre) if kind == "tanh" else torch.relu(pre)
                    total = total + gammas[e][h] * out
            nodes[j] = total
        return nodes[-1][:, 0]


def elbo_terms(graph, X, y, theta, eps, gumbel, sizes, noise_std, prior_log_std, gamma_floor, temperature):
    P = graph.weights
    mu, log_std, logits = theta[:P], theta[P:2 * P], theta[2 * P:]
    S = eps.shape[0]
    variance = noise_std ** 2
    data = parametric = structural = 0.0
    for s in range(S):
        w = mu + torch.exp(log_std) * eps[s]
        gammas, flat = [], []
        start = 0
        for K in sizes:
            a, G = logits[start:start + K], gumbel[s, start:start + K]
            gamma = torch.softmax((a + G) / temperature, dim=0)
            gammas.append(gamma)
            flat.append(gamma)
            structural = structural + (a.sum() - K * torch.logsumexp(-G, 0) + K * torch.logsumexp(-a - G, 0)) / S
            start += K
        residual = y - graph.forward(X, w, gammas)
        data = data + (-0.5 * X.shape[0] * math.log(2 * math.pi * variance) - 0.5 * (residual ** 2).sum() / variance) / S
        h = prior_log_std + 0.5 * torch.log(torch.cat(flat) ** 2 + gamma_floor ** 2)[graph.group]
        kl = ((torch.exp(2 * log_std) + mu ** 2) * torch.exp(-2 * h) / 2 - 0.5 + h - log_std).sum()
        parametric = parametric + kl / S
    return data, parametric, structural


def main():
    (path, m, n, P, L, S, noise_std, prior_log_std, gamma_floor, temperature, steps, repeats, allow, widths) = sys.argv[1:15]
    edges = parse_edges(sys.argv[15:])
    m, n, P, L, S, steps, repeats = map(int, (m, n, P, L, S, steps, repeats))
    noise_std, prior_log_std, gamma_floor, temperature = map(float, (noise_std, prior_log_std, gamma_floor, temperature))
    torch.set_num_threads(1)
    limiter = report_peer_blas("torch", allow_reference_blas=allow == "--allow-reference-blas")  # noqa: F841 (kept while timing)
    print(f"peer torch {torch.__version__}: {torch.get_num_threads()} intra-op thread(s)", file=sys.stderr, flush=True)
    raw = np.fromfile(path, dtype="<f8")
    parts, start = [], 0
    for size in (m * n, m, 2 * P + L, S * P, S * L):
        parts.append(raw[start:start + size])
        start += size
    X = torch.tensor(parts[0].reshape(m, n))
    y = torch.tensor(parts[1])
    theta0 = torch.tensor(parts[2])
    eps = torch.tensor(parts[3].reshape(S, P))
    gumbel = torch.tensor(parts[4].reshape(S, L))
    graph = Graph(n, [int(v) for v in widths.split(",")], edges)
    assert graph.weights == P, f"layout mismatch: {graph.weights} weights, the driver has {P}"
    sizes = [len(bases) for _, _, bases in edges]
    theta = theta0.clone().requires_grad_(True)

    def step():
        theta.grad = None
        data, parametric, structural = elbo_terms(graph, X, y, theta, eps, gumbel, sizes, noise_std, prior_log_std,
                                                  gamma_floor, temperature)
        (-(data - parametric - structural)).backward()
        return data, parametric, structural

    data, parametric, structural = step()
    print(f"terms {data.item():.17g} {parametric.item():.17g} {structural.item():.17g}", flush=True)
    times, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - wall) / steps)
        cpus.append((time.process_time() - cpu) / steps)
    print(f"time {min(times):.9f} {statistics.median(times):.9f} {min(cpus):.9f}", flush=True)


if __name__ == "__main__":
    main()
