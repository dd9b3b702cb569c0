"""Correct variant "inplace": numerical_gradient through np.nditer with a writable view."""

import numpy as np


def numerical_gradient(f, x, eps=1e-5):
    grad = np.empty(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for entry in it:
        old = entry.item()
        entry[...] = old + eps
        plus = f(x)
        entry[...] = old - eps
        minus = f(x)
        entry[...] = old
        grad[it.multi_index] = (plus - minus) / (2.0 * eps)
    return grad


def relative_error(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError("shapes differ")
    denom = np.abs(a) + np.abs(b)
    np.maximum(denom, 1e-8, out=denom)
    return float(np.max(np.abs(a - b) / denom, initial=0.0))
