"""Explain how an array returned by student code differs from the expected one.

Pure NumPy and trusted-side only: it knows nothing of the sandbox. A grading test
computes the expected array itself (reference solution, committed fixture, or finite
differences of the student's own forward), fetches what the student's code returned,
and calls ``compare``:

    c = compare(got, expected, rtol=1e-6, batch=N,
                suspects={"stale: the values of the previous forward": first})
    assert c.ok, c.explain("Linear(3, 5).backward(grad_out (4, 5))")

The explanation names the largest error and where it is, and a diagnosis when one
fits: wrong shape (transposed, an extra or missing axis, not summed over the batch),
wrong dtype, not finite, all zeros, sign flipped, off by a constant factor (named
when it is N, 1/N, 2 or 1/2), off by a constant, transposed values, errors confined
to a named region (e.g. "where x == 0"), or one of the caller's ``suspects``: named
arrays a specific bug would return (stale caches, accumulated gradients, forward
differences, shared subexpressions counted twice ...), computed by the caller.
"""

from dataclasses import dataclass

import numpy as np

# How close a candidate explanation must be, relative to the size of the expected
# array, before it is reported. Looser than the pass tolerance so that a bug on top of
# finite-difference noise is still recognised; tight enough that chance fits are rare.
MATCH_TOL = 1e-4


@dataclass(frozen=True)
class Comparison:
    """The outcome of ``compare``.

    - ok: the arrays agree (shape, dtype when checked, values within tolerance).
    - detail: what differs, e.g. "largest error 3.1e-01 at [2, 1]: got 0.62, expected 0.31".
    - diagnosis: the likely bug in words, or None.
    """

    ok: bool
    detail: str
    diagnosis: object = None

    def explain(self, what):
        """One message: what was called, what differs, and the diagnosis if any."""
        if self.ok:
            return f"{what}: correct"
        text = f"{what}: {self.detail}"
        if self.diagnosis:
            text += f"\nLikely cause: {self.diagnosis}"
        return text


def describe(value):
    """A short description of a value: 'float64 array (4, 3)', 'float 0.5', 'None'."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array {tuple(value.shape)}"
    if isinstance(value, (bool, int, float, complex, np.generic)):
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__


def _fmt(x):
    """Format one number compactly."""
    return f"{float(x):.6g}"


def _index(idx):
    return "[" + ", ".join(str(int(i)) for i in idx) + "]" if len(idx) else "(scalar)"


def _as_array(got):
    """Convert what came back to a numeric array, or return (None, reason)."""
    if got is None:
        return None, "returned None (a missing `return`?)"
    if isinstance(got, (list, tuple)) and not got:
        return None, "returned an empty sequence"
    try:
        arr = np.asarray(got)
    except Exception:  # noqa: BLE001 - anything unconvertible is simply wrong
        return None, f"returned {describe(got)}, not an array of numbers"
    if arr.dtype.kind not in "biuf":
        return None, f"returned {describe(got)}, not an array of numbers"
    return arr, None


def _scaled_err(a, b):
    """max |a - b| relative to the size of b (0 when both are 0)."""
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    return float(np.max(np.abs(a - b), initial=0.0)) / scale


def _matches(a, b, tol):
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and _scaled_err(a, b) <= tol


def named_factors(batch=None):
    """Constant factors worth naming, as {value: name}; N and 1/N when the batch size is known."""
    names = {2.0: "2", 0.5: "1/2", -2.0: "-2", -0.5: "-1/2"}
    if batch is not None and batch > 1:
        n = float(batch)
        names.update({n: f"N = {batch}", 1.0 / n: f"1/N = 1/{batch}",
                      -n: f"-N = -{batch}", -1.0 / n: f"-1/N = -1/{batch}",
                      2.0 * n: f"2N = {2 * batch}", 0.5 / n: f"1/(2N) = 1/{2 * batch}"})
    return names


def _factor_name(c, batch, tol):
    for value, name in named_factors(batch).items():
        if abs(c - value) <= tol * abs(value):
            return name
    return None


def _shape_diagnosis(got, expected, batch):
    """Explain a shape mismatch, trying the usual mistakes."""
    gs, es = got.shape, expected.shape
    if got.ndim == expected.ndim == 2 and gs == es[::-1]:
        if _matches(got.T.astype(float), expected.astype(float), MATCH_TOL):
            return f"transposed: shape {gs} instead of {es}, and the values match the transpose"
        return f"shape {gs} is the transpose of the expected {es} (check the order of the matrix product)"
    if got.size == expected.size and tuple(d for d in gs if d != 1) == tuple(d for d in es if d != 1):
        return (f"shape {gs} instead of {es}: the right number of values with an extra or missing "
                "axis of length 1 (check keepdims / reshape)")
    if got.ndim == expected.ndim + 1 and gs[1:] == es and (batch is None or gs[0] == batch):
        if _matches(got.sum(axis=0).astype(float), expected.astype(float), MATCH_TOL):
            return f"not summed over the batch: shape {gs} whose sum over axis 0 is the expected {es}"
        if _matches(got.mean(axis=0).astype(float), expected.astype(float), MATCH_TOL):
            return f"not averaged over the batch: shape {gs} whose mean over axis 0 is the expected {es}"
        return f"shape {gs} has an extra leading (batch?) axis; expected {es}"
    return f"wrong shape {gs}, expected {es}"


def _value_diagnosis(got, expected, batch, suspects, regions, tol):
    """Explain a value mismatch between two finite arrays of the same shape, or None.

    A candidate explanation counts only if it reproduces what was returned (within tol) and
    explains it at least ten times better than the expected value itself does, so that a
    result that is merely a little off is not given a story that fits by accident.
    """
    base = _scaled_err(got, expected)

    def fits(candidate):
        if candidate.shape != got.shape or not np.all(np.isfinite(candidate)):
            return False
        err = _scaled_err(got, candidate)
        return err <= tol and err * 10 <= base

    for name, candidate in (suspects or {}).items():
        if fits(np.asarray(candidate, dtype=float)):
            return name
    if got.size >= 2 and not np.any(got) and np.any(expected):
        return "all zeros: not implemented, or the result/gradient is never written"
    if got.ndim == 2 and got.shape[0] == got.shape[1] > 1 and fits(expected.T):
        return "transposed: the values match the transpose of the expected array"
    if fits(-expected):
        return "sign flipped: every value is the negative of the expected one"
    denom = float(np.sum(expected * expected))
    if denom > 0:
        c = float(np.sum(got * expected)) / denom
        if c != 0 and abs(c - 1) > 10 * tol and fits(c * expected):
            name = _factor_name(c, batch, 10 * tol)
            if name:
                return f"off by a constant factor of {name} (every value is {name} times the expected one)"
            if got.size >= 2:
                return f"off by a constant factor of {_fmt(c)} (every value is {_fmt(c)} times the expected one)"
    if got.size >= 2:
        shift = float(np.mean(got - expected))
        if shift != 0 and fits(expected + shift):
            return f"off by a constant: every value is {_fmt(shift)} away from the expected one"
    return _region_diagnosis(got, expected, regions, tol)


def _region_diagnosis(got, expected, regions, tol):
    """Is the error confined to a named region (or to some rows / columns)?"""
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    bad = np.abs(got - expected) > tol * scale
    if not np.any(bad):
        return None
    for name, mask in (regions or {}).items():
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), got.shape)
        if np.any(mask) and not np.any(bad & ~mask):
            return f"wrong only where {name}"
    if got.ndim == 2 and got.shape[0] > 2:
        rows = np.flatnonzero(bad.any(axis=1)).tolist()
        if rows == [0]:
            return "wrong only in the first row (the first example of the batch); the other rows are right"
        if rows == list(range(1, got.shape[0])):
            return "right only in the first row: is every example of the batch handled, not just the first?"
    return None


def compare(got, expected, *, rtol=1e-6, atol=1e-9, batch=None, check_dtype=True,
            suspects=None, regions=None, inputs=None, fallback=None, override=None):
    """Compare what student code returned with the expected array.

    Inputs:
    - got: what came back (array, number, None or anything else).
    - expected: the expected array or number, any shape (a scalar is shape ()).
    - rtol, atol: pass if |got - expected| <= atol + rtol * |expected| everywhere.
    - batch: the batch size N, so that factors N and 1/N can be named.
    - check_dtype: require got's dtype to equal expected's (float64 by convention).
    - suspects: dict name -> array that a known bug would return (same shape as expected);
      the first that matches becomes the diagnosis.
    - regions: dict name -> boolean mask (broadcastable to expected's shape), e.g.
      {"x == 0": x == 0}; reported when the errors lie only inside one of them.
    - inputs: dict name -> array of expected's shape, whose value at the worst entry is
      shown (e.g. {"x": x} for an elementwise function).
    - fallback: the diagnosis when values differ and nothing more specific fits.
    - override: the diagnosis when values differ, whatever else fits (the caller knows better).
    Returns: a Comparison.
    """
    expected = np.asarray(expected)
    if expected.ndim >= 1 and got is not None and not isinstance(got, np.ndarray):
        return Comparison(False, f"returned {describe(got)}, expected a numpy array of shape "
                          f"{tuple(expected.shape)}", "return a numpy array, not a list or a number")
    arr, reason = _as_array(got)
    if arr is None:
        return Comparison(False, f"{reason}; expected {describe(expected)}",
                          "not implemented or returns the wrong thing" if got is None else None)
    if arr.shape != expected.shape:
        return Comparison(False, f"returned {describe(arr)}, expected shape {tuple(expected.shape)}",
                          _shape_diagnosis(arr, expected, batch))
    exp_f = expected.astype(np.float64)
    got_f = arr.astype(np.float64)
    finite = np.isfinite(got_f)
    if not np.all(finite[np.isfinite(exp_f)]):
        where = np.argwhere(~finite & np.isfinite(exp_f))
        idx = tuple(where[0])
        shown = _inputs_at(inputs, idx)
        return Comparison(False, f"{len(where)} of {arr.size} values are not finite, e.g. "
                          f"{_fmt(got_f[idx])} at {_index(idx)}{shown}",
                          "not finite: overflow or division by zero (use a numerically stable form)")
    close = np.isclose(got_f, exp_f, rtol=rtol, atol=atol, equal_nan=True)
    dtype_ok = not check_dtype or arr.dtype == expected.dtype
    if np.all(close) and dtype_ok:
        return Comparison(True, "agrees")
    if np.all(close):
        return Comparison(False, f"right values but dtype {arr.dtype}, expected {expected.dtype}",
                          f"wrong dtype {arr.dtype} (expected {expected.dtype}; an integer array "
                          "or a float32 conversion somewhere?)")
    err = np.where(close, 0.0, np.abs(got_f - exp_f))
    idx = np.unravel_index(int(np.argmax(err)), err.shape) if err.ndim else ()
    if arr.ndim == 0:
        detail = f"got {_fmt(got_f)}, expected {_fmt(exp_f)} (error {float(err):.3g})"
    else:
        detail = (f"{int(np.sum(~close))} of {arr.size} values differ; largest error {err[idx]:.3g} "
                  f"at {_index(idx)}: got {_fmt(got_f[idx])}, expected {_fmt(exp_f[idx])}"
                  f"{_inputs_at(inputs, idx)}")
    tol = max(MATCH_TOL, 10 * rtol)
    found = override or _value_diagnosis(got_f, exp_f, batch, suspects, regions, tol) or fallback
    return Comparison(False, detail, found)


def _inputs_at(inputs, idx):
    if not inputs:
        return ""
    parts = [f"{name} = {_fmt(np.asarray(val)[idx])}" for name, val in inputs.items()
             if np.shape(val) and len(idx) == np.ndim(val)]
    return f" (where {', '.join(parts)})" if parts else ""


def mutation(before, after, name="x"):
    """Message if an input array was modified by the call, else None.

    Inputs: before, the array as sent; after, the same array read back after the call.
    """
    before = np.asarray(before)
    after = np.asarray(after)
    if before.shape != after.shape:
        return f"modified its input {name} in place: its shape changed from {before.shape} to {after.shape}"
    same = (before == after) | (np.isnan(before) & np.isnan(after))
    if np.all(same):
        return None
    idx = np.unravel_index(int(np.argmax(~same)), same.shape) if same.ndim else ()
    return (f"modified its input {name} in place ({int(np.sum(~same))} of {before.size} entries "
            f"changed, e.g. at {_index(idx)} from {_fmt(before[idx])} to {_fmt(after[idx])}); "
            "copy it, or compute a new array instead of using -=, *= or out=")


def scalar_diagnosis(got, expected, *, batch=None, suspects=None, rtol=1e-6, fallback=None, override=None):
    """compare() for a single number (a loss value or a partial derivative)."""
    if isinstance(got, (list, tuple, np.ndarray)) and np.size(got) != 1:
        return Comparison(False, f"returned {describe(got)}, expected a single number")
    if isinstance(got, np.ndarray):
        got = got.reshape(())
    return compare(got, np.float64(expected), rtol=rtol, batch=batch, check_dtype=False,
                   suspects=suspects, fallback=fallback, override=override)
