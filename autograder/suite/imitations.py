"""What classic bugs would return, by running the bug itself on the trusted side (diagnosis only).

HIDDEN SIDE ONLY. These imitations are the algorithms students write with one realistic bug
in them, so this module holds solution-equivalent code: no public test and no module a public
test imports may import it (the handout would ship it; tests/test_handout.py checks that it
does not). The hidden tests call it directly; for the public tests, tools/public_fixtures.py
stores its results on the public cases in public/fixtures.npz (``public_cases``).

- ``reverse_mode_bugs(expr)``: the partials of a reverse mode that OVERWRITES a node's grad
  instead of adding to it, or that visits a shared node once per path ("twice").
- ``train_variants(b, ...)``: the epoch losses of train() with each bug of TRAIN_VARIANTS
  (names and texts in netchecks.TRAIN_VARIANTS), built from the reference's own modules.
"""

import math
from types import SimpleNamespace

import numpy as np

import cases
import expressions as E
import netchecks

MAX_PATHS = 10_000  # the "twice" imitation lists a node once per path: bounded work


class Node:
    """A node of the imitated computation graph: value, grad, parents ((node, local), ...)."""

    __slots__ = ("value", "grad", "parents")

    def __init__(self, value, parents=()):
        self.value = float(value)
        self.grad = 0.0
        self.parents = tuple(parents)

    def __add__(self, o):
        o = _node(o)
        return Node(self.value + o.value, ((self, 1.0), (o, 1.0)))

    def __radd__(self, o):
        return _node(o) + self

    def __sub__(self, o):
        o = _node(o)
        return Node(self.value - o.value, ((self, 1.0), (o, -1.0)))

    def __rsub__(self, o):
        return _node(o) - self

    def __mul__(self, o):
        o = _node(o)
        return Node(self.value * o.value, ((self, o.value), (o, self.value)))

    def __rmul__(self, o):
        return _node(o) * self

    def __truediv__(self, o):
        o = _node(o)
        return Node(self.value / o.value, ((self, 1.0 / o.value), (o, -self.value / o.value ** 2)))

    def __rtruediv__(self, o):
        return _node(o) / self

    def __neg__(self):
        return Node(-self.value, ((self, -1.0),))

    def __pow__(self, p):
        p = float(p)
        return Node(self.value ** p, ((self, p * self.value ** (p - 1.0)),))


def _node(x):
    return x if isinstance(x, Node) else Node(x)


def _unary(fn, dfn):
    def apply(x):
        if isinstance(x, Node):
            return Node(fn(x.value), ((x, dfn(x.value)),))
        return fn(float(x))
    return apply


NODE_OPS = SimpleNamespace(
    sin=_unary(math.sin, math.cos),
    cos=_unary(math.cos, lambda v: -math.sin(v)),
    exp=_unary(math.exp, math.exp),
    log=_unary(math.log, lambda v: 1.0 / v),
)


def _order(root, once=True):
    """Topological order (inputs first). once=False lists a node once per path (the bug)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if once and id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent, _ in reversed(node.parents):
            if not once or id(parent) not in seen:
                stack.append((parent, False))
    return order


def _path_count(root):
    """How many root-to-node paths the graph has in total (bounds the "twice" imitation)."""
    counts, total = {id(root): 1}, 0
    for node in reversed(_order(root)):
        c = counts.get(id(node), 0)
        total += c
        for parent, _ in node.parents:
            counts[id(parent)] = counts.get(id(parent), 0) + c
    return total


def buggy_partials(fn, xs, mode):
    """The partials of fn at xs from reverse mode with a bug: a tuple of len(xs) floats.

    fn: a function of len(xs) scalars written with NODE_OPS. mode: "overwrite" (parent.grad =
    ... instead of +=) or "twice" (a shared node listed once per path). NaN where the
    imitation would take too long.
    """
    leaves = [Node(x) for x in xs]
    y = fn(*leaves)
    if not isinstance(y, Node):
        return tuple(0.0 for _ in xs)
    if mode == "twice" and _path_count(y) > MAX_PATHS:
        return tuple(math.nan for _ in xs)
    order = _order(y, once=(mode != "twice"))
    y.grad = 1.0
    for node in reversed(order):
        for parent, local in node.parents:
            if mode == "overwrite":
                parent.grad = node.grad * local
            else:
                parent.grad += node.grad * local
    return tuple(leaf.grad for leaf in leaves)


BUG_MODES = ("overwrite", "twice")


def reverse_mode_bugs(expr):
    """{mode: partials tuple} for each of BUG_MODES, on an Expression at its point."""
    return {mode: buggy_partials(expr.build(NODE_OPS), expr.point, mode) for mode in BUG_MODES}


def reverse_mode_bugs_case(b, expression):
    """reverse_mode_bugs as a Case scenario (the backend is not needed): {mode: array}."""
    return {mode: np.array(v, dtype=np.float64) for mode, v in reverse_mode_bugs(expression).items()}


def train_variants(b, config, loss_name, X, y, epochs, learning_rate, batch_size, seed):
    """Reference only: the epoch losses of train() with each classic bug of TRAIN_VARIANTS.

    Uses the reference's build_mlp, losses and sgd_step (b: a backends.Reference); only the
    loop differs. Returns {"<variant>": losses} for diagnosis.
    """
    pkg = b.package
    result = {}
    n = X.shape[0]
    for variant in netchecks.TRAIN_VARIANTS:
        model = pkg.mlp.build_mlp(**config)
        loss = getattr(pkg.losses, loss_name)()
        rng = np.random.default_rng(seed)
        history = []
        for _ in range(epochs):
            if variant == "rng_per_epoch":
                rng = np.random.default_rng(seed)
            perm = np.arange(n) if variant == "no_shuffle" else rng.permutation(n)
            if variant == "before_epoch":
                history.append(float(loss.forward(model.forward(X), y)))
            batch_losses = []
            for start in range(0, n, batch_size):
                batch = perm[start:start + batch_size]
                if variant == "drop_last" and len(batch) < batch_size:
                    continue
                targets = y[start:start + batch_size] if variant == "y_unshuffled" else y[batch]
                batch_losses.append(loss.forward(model.forward(X[batch]), targets))
                model.backward(loss.backward())
                pkg.mlp.sgd_step(model, learning_rate)
            if variant == "mean_of_batches":
                history.append(float(np.mean(batch_losses)))
            elif variant == "last_batch":
                history.append(float(batch_losses[-1]))
            elif variant != "before_epoch":
                history.append(float(loss.forward(model.forward(X), y)))
        result[variant] = history
    return result


def public_cases():
    """The imitations the public tests read from public/fixtures.npz, as named Cases."""
    train = cases.PUBLIC["train/bce"]
    out = [cases.Case(cases.variants_name(train.name), train_variants, train.kwargs)]
    for expr in (*E.LECTURE, E.VAR_EXAMPLE, E.PUBLIC_SHARED):
        out.append(cases.Case(cases.bugs_name(expr), reverse_mode_bugs_case, dict(expression=expr)))
    return {case.name: case for case in out}
