"""Centered finite differences of the student's own forward passes, computed on the trusted side.

The student's forward runs in the worker (one remote call per evaluation, about 0.3 ms);
the differencing, the directions and the bookkeeping happen here, so nothing the student
wrote takes part in producing the expected gradient except the forward being differentiated.

Every estimate is a set of directional differences: the perturbed inputs x + eps v and
x - eps v are new arrays built from x and a stack of directions V (k, *x.shape), and f is
called on each; x itself is never modified.

- ``differences(f, x, V)``: (f(x + eps v) - f(x - eps v)) / (2 eps) for each row v of V, which
  estimates <grad f(x), v>;
- ``gradient(f, x)``: the same along the unit basis (V = the identity, reshaped), i.e. every
  coordinate; for small inputs;
- ``directional(f, x, V)``: along k random unit directions, for larger inputs (2k
  evaluations instead of 2 x.size).
"""

import numpy as np

EPS = 1e-6
MAX_COORDINATES = 40  # above this many entries, use random directions
DIRECTIONS = 6


def unit_basis(shape):
    """The unit arrays of a shape, stacked: (size, *shape); entry i of row i is 1, all else 0."""
    size = int(np.prod(shape, dtype=np.int64))
    return np.eye(size).reshape((size, *shape))


def differences(f, x, directions, eps=EPS):
    """Centered differences of the scalar function f at x along each direction -> (k,) float64.

    directions: (k, *x.shape). f is called on x + eps v, then x - eps v, for each v in turn.
    """
    x = np.asarray(x, dtype=np.float64)
    steps = eps * np.asarray(directions, dtype=np.float64)
    out = np.empty(len(steps))
    for k, step in enumerate(steps):
        out[k] = (f(x + step) - f(x - step)) / (2.0 * eps)
    return out


def gradient(f, x, eps=EPS):
    """Centered differences of the scalar function f at every entry of x (float64, any shape)."""
    x = np.asarray(x, dtype=np.float64)
    return differences(f, x, unit_basis(x.shape), eps).reshape(x.shape)


def directional(f, x, directions, eps=EPS):
    """Centered differences of f at x along each direction (shape (k, *x.shape)) -> (k,)."""
    return differences(f, x, directions, eps)


def random_directions(shape, seed, k=DIRECTIONS):
    """k unit-norm random directions of the given shape (trusted, reproducible)."""
    v = np.random.default_rng(seed).normal(size=(k, *shape))
    return v / np.sqrt(np.sum(v * v, axis=tuple(range(1, v.ndim)), keepdims=True))


def project(grad, directions):
    """<grad, v> for each direction: what `directional` estimates, from an analytic gradient."""
    return np.tensordot(directions, np.asarray(grad, dtype=np.float64), axes=np.ndim(grad))


class NotScalar(AssertionError):
    """The objective could not be formed from what the forward returned."""


def module_objective(b, module, g, call):
    """x -> sum(g * module.forward(x)): its gradient is module.backward(g) at x."""
    def f(x):
        out = b.method(module, "forward", x)
        out = np.asarray(out) if out is not None else None
        if out is None or out.shape != g.shape:
            raise NotScalar(f"{call}: forward returned {'None' if out is None else out.shape}, "
                            f"expected shape {g.shape}, so backward cannot be checked against "
                            "finite differences (fix forward first)")
        return float(np.sum(g * out))
    return f


def param_objective(b, module, key, x, g, call):
    """p -> sum(g * module.forward(x)) with module.params[key] set to p (in place)."""
    setter = b.param_setter(module, key)
    forward = module_objective(b, module, g, call)

    def f(p):
        setter(p)
        return forward(x)
    return f


def loss_objective(b, loss, target, call):
    """pred -> loss.forward(pred, target), a float."""
    def f(pred):
        value = b.method(loss, "forward", pred, target)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise NotScalar(f"{call}: forward returned {type(value).__name__}, expected a float") from None
    return f


def check_gradient(f, x, seed, eps=EPS):
    """(estimate, project_fn): per-coordinate differences for small x, else directional ones.

    project_fn(analytic_gradient) maps an analytic gradient to what the estimate measures,
    so the two can be compared entry by entry.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size <= MAX_COORDINATES:
        return gradient(f, x, eps), (lambda grad: np.asarray(grad, dtype=np.float64))
    directions = random_directions(x.shape, seed)
    return directional(f, x, directions, eps), (lambda grad: project(grad, directions))
