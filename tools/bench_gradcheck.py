"""What a gradient check costs: every coordinate against a few random directions.

The grading suite checks a backward pass by centered differences of the student's forward,
each evaluation one remote call into the worker. For dJ/dW of a Linear(n, n) layer (P = n * n
parameters) with J(W) = sum(G * forward(X)):
- per coordinate: (J(W + eps e_i) - J(W - eps e_i)) / (2 eps) for every i: 2 P evaluations,
  so the cost grows with the parameter count;
- directional: (J(W + eps v) - J(W - eps v)) / (2 eps) = <dJ/dW, v> for k random unit
  directions v: 2 k evaluations, flat in P (only the arrays sent grow).
Both estimates are compared with the analytic gradient from the layer's backward (their
relative errors are reported), so the figures are of checks that actually work.
"""

from __future__ import annotations

import time

import numpy as np

from tools.bench_stats import median

from engine.remote import Attr, Call  # noqa: E402  (callers import tools.bench_inprocess first)

EPS = 1e-6
DIRECTIONS = 6   # as many as autograder/suite/numeric.py uses
BATCH = 8


class LinearObjective:
    """J(W) = sum(G * Linear.forward(X)) for a Linear(n, n) living in sandbox `sb`.

    X: (BATCH, n), G: (BATCH, n). `calls` counts evaluations of J.
    """

    def __init__(self, sb, n: int, seed: int = 0):
        self.sb = sb
        rng = np.random.default_rng(seed)
        self.X, self.G = rng.normal(size=(BATCH, n)), rng.normal(size=(BATCH, n))
        self.layer = sb.call("backprop.modules.Linear", n, n,
                             rng=Call("numpy.random.default_rng", seed))
        self.W = sb.attr(self.layer, "params")["W"]
        self.calls = 0

    def __call__(self, W: np.ndarray) -> float:
        self.calls += 1
        self.sb.call("numpy.copyto", Call("operator.getitem", Attr(self.layer, "params"), "W"), W)
        return float(np.sum(self.G * self.sb.method(self.layer, "forward", self.X)))

    def analytic(self) -> np.ndarray:
        """dJ/dW from the layer's own backward, shape (n, n)."""
        self(self.W)
        self.sb.method(self.layer, "backward", self.G)
        return self.sb.attr(self.layer, "grads")["W"]


def per_coordinate(f, W: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Centered differences at every entry of W: an array of W's shape."""
    W = np.array(W, dtype=np.float64)
    grad = np.zeros_like(W)
    for i in np.ndindex(W.shape):
        old = W[i]
        W[i] = old + eps
        plus = f(W)
        W[i] = old - eps
        minus = f(W)
        W[i] = old
        grad[i] = (plus - minus) / (2.0 * eps)
    return grad


def directional(f, W: np.ndarray, directions: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Centered differences along each row of `directions` (k, *W.shape): shape (k,)."""
    return np.array([(f(W + eps * v) - f(W - eps * v)) / (2.0 * eps) for v in directions])


def _rel_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def check_costs(sb, sizes: tuple, repeats: int) -> list[dict]:
    """For each n: {"n", "params", method -> {"seconds", "evaluations", "rel_error"}}."""
    rows = []
    for n in sizes:
        f = LinearObjective(sb, n)
        exact = f.analytic()
        v = np.random.default_rng(n).normal(size=(DIRECTIONS, n, n))
        v /= np.sqrt(np.sum(v * v, axis=(1, 2), keepdims=True))
        methods = {"per_coordinate": (lambda: per_coordinate(f, f.W), exact),
                   "directional": (lambda: directional(f, f.W, v), np.tensordot(v, exact, axes=2))}
        row = {"n": n, "params": n * n}
        for name, (run, target) in methods.items():
            times = []
            for _ in range(repeats):
                f.calls = 0
                began = time.perf_counter()
                estimate = run()
                times.append(time.perf_counter() - began)
            row[name] = {"seconds": median(times), "evaluations": f.calls,
                         "rel_error": _rel_error(estimate, target)}
        rows.append(row)
    return rows
