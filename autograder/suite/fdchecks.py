"""Checks of numerical_gradient and relative_error, shared by the public and hidden tests.

The functions differentiated are written once against a NumPy-like namespace, so the same
code runs here with numpy (the trusted expected values, from perturbed copies of x: see
numeric.py) and in the worker as a traced Func (engine.remote.Func) that numerical_gradient
calls.
"""

from types import SimpleNamespace

import numpy as np

import numeric

NUMPY_NAMES = ("sum", "sin", "cos", "exp", "tanh", "log1p", "square", "prod")


def traced_numpy(func_cls):
    """The namespace whose functions are the worker's numpy functions, for Func.trace."""
    return SimpleNamespace(**{name: func_cls.fn(f"numpy.{name}") for name in NUMPY_NAMES})


def centered(f, x, eps):
    """Trusted centered differences (the definition) at every entry of x: numeric.gradient,
    f called on perturbed copies of x built from the unit basis."""
    return numeric.gradient(lambda v: float(f(v)), x, eps)


def one_sided(f, x, eps, sign):
    """Forward (sign=+1) or backward (sign=-1) differences, what a common bug computes."""
    x = np.asarray(x, dtype=np.float64)
    f0 = float(f(x))
    steps = (sign * eps) * numeric.unit_basis(x.shape)
    return np.array([sign * (float(f(x + step)) - f0) / eps for step in steps]).reshape(x.shape)


def gradient_suspects(f, x, eps):
    return {"forward differences (f(x + eps) - f(x)) / eps instead of centered ones": one_sided(f, x, eps, 1),
            "backward differences (f(x) - f(x - eps)) / eps instead of centered ones": one_sided(f, x, eps, -1),
            "the eps argument is ignored (1e-5 is used whatever eps is passed)": centered(f, x, 1e-5)}


def check_numerical_gradient(r, student, func_cls, build, x, eps, what, analytic=None):
    """numerical_gradient(traced f, x[, eps]) against trusted centered differences; x restored bit for bit."""
    f_trusted = build(np)
    traced = func_cls.trace(build(traced_numpy(func_cls)), nparams=1)
    xh = student.put(x)
    kwargs = {} if eps is None else {"eps": eps}
    call = f"numerical_gradient(f, x {x.shape}{'' if eps is None else f', eps={eps:g}'}) with f = {what}"
    got = student.call("gradcheck.numerical_gradient", traced, xh, **kwargs)
    step = 1e-5 if eps is None else eps
    expected = centered(f_trusted, x, step)
    r.compare(call, got, expected, rtol=1e-6, atol=1e-9, suspects=gradient_suspects(f_trusted, x, step))
    if analytic is not None and eps is None:
        r.compare(f"{call}, against the exact gradient", got, analytic, rtol=1e-4, atol=1e-6)
    after = student.get(xh)
    r.require(np.array_equal(after, x),
              f"{call}: x is not restored exactly afterwards (largest change "
              f"{np.max(np.abs(np.asarray(after, dtype=float) - x)) if np.shape(after) == x.shape else 'shape'}): "
              "save old = x[i] and set x[i] = old at the end, rather than adding and subtracting eps")
    return got


def check_closure(r, student, func_cls, x):
    """numerical_gradient(f, x) where f ignores its argument and reads x itself (0.5 * sum(x^2)):
    x must be perturbed in place, and restored bit for bit."""
    xh = student.put(x)
    f = func_cls.trace(lambda _ignored: func_cls.fn("numpy.sum")(func_cls.fn("numpy.square")(xh.ref)) * 0.5,
                       nparams=1)
    call = (f"numerical_gradient(f, x {x.shape}) where f ignores its argument and reads x itself: "
            "0.5 * sum(x^2)")
    got = student.call("gradcheck.numerical_gradient", f, xh)
    trusted = lambda v: 0.5 * np.sum(np.square(v))  # noqa: E731
    suspects = {"x is copied before being perturbed, so an f that reads x through a closure never "
                "sees the change: perturb x itself, in place": np.zeros_like(x)}
    suspects.update(gradient_suspects(trusted, x, 1e-5))
    r.compare(call, got, centered(trusted, x, 1e-5), rtol=1e-6, atol=1e-9, suspects=suspects)
    r.require(np.array_equal(student.get(xh), x), f"{call}: x is not restored exactly afterwards: save "
              "old = x[i] and set x[i] = old at the end, rather than adding and subtracting eps")


def relative_error(a, b):
    """The definition: max over entries of |a - b| / max(1e-8, |a| + |b|)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def relative_error_suspects(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = np.abs(a - b)
    with np.errstate(all="ignore"):
        return {"max |a - b| / max(|a| + |b|): a ratio of maxima instead of the max of the ratios":
                float(np.max(d) / max(1e-8, float(np.max(np.abs(a) + np.abs(b))))),
                "the mean of the ratios instead of their max":
                float(np.mean(d / np.maximum(1e-8, np.abs(a) + np.abs(b)))),
                "divides by max(|a|, |b|) instead of |a| + |b|":
                float(np.max(d / np.maximum(1e-8, np.maximum(np.abs(a), np.abs(b))))),
                "the 1e-8 floor is missing (0/0 where both are 0)": float(np.max(d / (np.abs(a) + np.abs(b))))}


def check_relative_error(r, student, a, b):
    call = f"relative_error({np.asarray(a).tolist()}, {np.asarray(b).tolist()})"
    got = student.call("gradcheck.relative_error", a, b)
    if not isinstance(got, (float, int)) or isinstance(got, bool):
        r.fail(f"{call} returned {type(got).__name__}"
               + (f" of shape {got.shape}" if isinstance(got, np.ndarray) else "")
               + "; expected a float (the max over the entries)")
        return
    want = relative_error(a, b)
    if not np.isfinite(got):
        r.fail(f"{call} returned {got!r}: where both entries are 0 the ratio is 0/0; the 1e-8 floor in "
               "max(1e-8, |a| + |b|) is there to prevent it")
        return
    sus = {k: v for k, v in relative_error_suspects(a, b).items() if not np.isclose(v, want, rtol=1e-6)}
    r.scalar(call, got, want, rtol=1e-9, suspects=sus)
