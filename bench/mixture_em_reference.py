#!/usr/bin/python3
"""Reference numpy implementation of msweep's variational EM for a mixture of linear experts
with a Dirichlet gate (src/models/mixture/mixture.cpp), the same updates in the same order:
q(Z) | q(W); q(W) | q(Z), w0, A, b; q(pi); w0 | A (joint solve with the regularizer Xi); A | w0; b.

Written as a straightforward vectorized numpy program (per-expert loops, matrix operations over
all points), the way one would prototype the method. Used by bench/mixture_em_bench.cpp, which
writes the problem as JSON and reads one JSON line back:

    /usr/bin/python3 bench/mixture_em_reference.py PROBLEM.json [--allow-reference-blas]

numpy runs on one BLAS thread, which it reports to stderr; on the reference BLAS it exits 3
unless --allow-reference-blas is given.
"""
import json
import sys
import time

import numpy as np
from scipy.special import digamma, gammaln

from common import report_peer_blas

LOG_2PI = np.log(2.0 * np.pi)


def logsumexp_rows(a):
    top = a.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis=1, keepdims=True)))[:, 0]


def gaussian_kl(m, B, w0, A):
    """KL(N(m, B) || N(w0, A))."""
    d = m.shape[0]
    A_inv = np.linalg.inv(A)
    diff = m - w0
    return 0.5 * (np.trace(A_inv @ B) + diff @ A_inv @ diff - d
                  + np.linalg.slogdet(A)[1] - np.linalg.slogdet(B)[1])


def dirichlet_kl(a, b):
    return (gammaln(a.sum()) - gammaln(a).sum() - gammaln(b.sum()) + gammaln(b).sum()
            + ((a - b) * (digamma(a) - digamma(a.sum()))).sum())


def fit(p, max_iterations, tolerance):
    X = np.asarray(p["X"], dtype=float)
    y = np.asarray(p["y"], dtype=float)
    N, d = X.shape
    M = np.asarray(p["initial_means"], dtype=float).copy()      # K x d
    K = M.shape[0]
    W0 = np.asarray(p["prior_means"], dtype=float).copy()       # K x d
    A = [np.diag(p["prior_covariance"]).astype(float) for _ in range(K)]
    B = [a.copy() for a in A]
    learn_means = p["learn_prior_means"]
    learn_cov = p["learn_prior_covariance"]
    Xi = np.diag(p["regularizer"]) if p["regularizer"] else None
    regularized = learn_means and Xi is not None and K > 1
    Xi_inv = np.linalg.inv(Xi) if regularized else None
    mu = p["dirichlet_concentration"]
    b = p["noise_precision"]
    alpha = np.full(K, mu + N / K)
    prior_alpha = np.full(K, mu)
    trace = []
    previous = -np.inf
    status = "max_iterations"
    for _ in range(max_iterations):
        # E step
        e_log_pi = digamma(alpha) - digamma(alpha.sum())
        log_rho = np.empty((N, K))
        for k in range(K):
            spread = np.einsum("ij,jk,ik->i", X, B[k], X)
            log_rho[:, k] = e_log_pi[k] - 0.5 * b * ((y - X @ M[k]) ** 2 + spread)
        log_r = log_rho - logsumexp_rows(log_rho)[:, None]
        R = np.exp(log_r)
        entropy = -np.sum(np.where(R > 0, R * log_r, 0.0))
        # q(W)
        S, t, u = [], [], []
        A_inv = [np.linalg.inv(a) for a in A]
        for k in range(K):
            S.append(X.T @ (R[:, k:k + 1] * X))
            t.append(X.T @ (R[:, k] * y))
            u.append(R[:, k] @ (y * y))
            B[k] = np.linalg.inv(A_inv[k] + b * S[k])
            M[k] = B[k] @ (A_inv[k] @ W0[k] + b * t[k])
        g = R.sum(axis=0)
        alpha = prior_alpha + g
        # M step
        if learn_means:
            if not regularized:
                W0 = M.copy()
            else:
                system = np.zeros((K * d, K * d))
                rhs = np.zeros(K * d)
                for k in range(K):
                    for l in range(K):
                        system[k * d:(k + 1) * d, l * d:(l + 1) * d] = (
                            A_inv[k] + (K - 1) * Xi_inv if k == l else -Xi_inv)
                    rhs[k * d:(k + 1) * d] = A_inv[k] @ M[k]
                W0 = np.linalg.solve(system, rhs).reshape(K, d)
        if learn_cov:
            for k in range(K):
                diff = M[k] - W0[k]
                A[k] = B[k] + np.outer(diff, diff)
        energy = np.array([max(0.0, u[k] - 2 * M[k] @ t[k] + M[k] @ S[k] @ M[k]) + np.sum(B[k] * S[k])
                           for k in range(K)])
        b = min(N / energy.sum(), 1e12) if energy.sum() > 0 else 1e12
        # bound
        bound = 0.5 * N * (np.log(b) - LOG_2PI) - 0.5 * b * energy.sum() + entropy
        bound += np.sum(g * (digamma(alpha) - digamma(alpha.sum()))) - dirichlet_kl(alpha, prior_alpha)
        bound -= sum(gaussian_kl(M[k], B[k], W0[k], A[k]) for k in range(K))
        if regularized:
            logdet_xi = np.linalg.slogdet(Xi)[1]
            for k in range(K):
                for l in range(k + 1, K):
                    eps = W0[k] - W0[l]
                    bound -= 0.5 * (d * LOG_2PI + logdet_xi + eps @ Xi_inv @ eps)
        trace.append(bound)
        if abs(bound - previous) <= tolerance * max(1.0, abs(bound)):
            status = "converged"
            break
        previous = bound
    return {"bound": trace[-1], "iterations": len(trace), "status": status, "means": M.tolist()}


def main():
    limiter = report_peer_blas("numpy", allow_reference_blas="--allow-reference-blas" in sys.argv[2:])  # noqa: F841 (kept while timing)
    with open(sys.argv[1]) as f:
        p = json.load(f)
    # Fixed budget: iterations per second, repeated for at least min_seconds.
    fixed = p["fixed_iterations"]
    runs, iterations, start = 0, 0, time.perf_counter()
    while True:
        result = fit(p, fixed, 0.0)
        runs += 1
        iterations += result["iterations"]
        elapsed = time.perf_counter() - start
        if elapsed >= p["min_seconds"]:
            break
    fixed_result = {"bound": result["bound"], "iterations_per_second": iterations / elapsed, "runs": runs}
    # To convergence.
    runs, start = 0, time.perf_counter()
    while True:
        converged = fit(p, p["max_iterations"], p["tolerance"])
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= p["min_seconds"]:
            break
    converged["seconds"] = elapsed / runs
    print(json.dumps({"fixed": fixed_result, "converged": converged}))


if __name__ == "__main__":
    main()
