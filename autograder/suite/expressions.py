"""Scalar test expressions for the autodiff tests, and a trusted differentiator for them.

Each expression is written once against an ``ops`` namespace (sin, cos, exp, log), so
the same code can be
- traced into a ``Func`` that runs in the worker with the student's Var / Dual
  (``ops`` = the student's functions, see ``traced``), and
- evaluated here, on the trusted side, by ``partials``: a small reverse-mode
  differentiator of our own that gives the expected derivatives, and that can also
  imitate two classic bugs (for diagnosis only):
  "overwrite" (``parent.grad = ...`` instead of ``+=``) and "twice" (a topological
  order that lists a shared node once per path, so its gradient flows out repeatedly).
"""

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable


class Node:
    """A node of the trusted computation graph: value, grad, parents ((node, local), ...)."""

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


TRUSTED_OPS = SimpleNamespace(
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


def partials(fn, *xs, mode="correct"):
    """Value and all partials of fn at xs by trusted reverse mode.

    Inputs: fn, a function of len(xs) scalars written with TRUSTED_OPS; xs, floats;
    mode: "correct", "overwrite" or "twice" (imitating a bug, for diagnosis).
    Output: (value, tuple of len(xs) floats).
    """
    leaves = [Node(x) for x in xs]
    y = fn(*leaves)
    if not isinstance(y, Node):
        return float(y), tuple(0.0 for _ in xs)
    if mode == "twice" and _path_count(y) > 10_000:
        return y.value, tuple(math.nan for _ in xs)
    order = _order(y, once=(mode != "twice"))
    y.grad = 1.0
    for node in reversed(order):
        for parent, local in node.parents:
            if mode == "overwrite":
                parent.grad = node.grad * local
            else:
                parent.grad += node.grad * local
    return y.value, tuple(leaf.grad for leaf in leaves)


def _path_count(root):
    """How many root-to-node paths the graph has in total (bounds the "twice" imitation)."""
    counts, total = {id(root): 1}, 0
    for node in reversed(_order(root)):
        c = counts.get(id(node), 0)
        total += c
        for parent, _ in node.parents:
            counts[id(parent)] = counts.get(id(parent), 0) + c
    return total


@dataclass(frozen=True)
class Expression:
    """A named test expression: ``build(ops)`` returns a function of ``len(point)`` scalars.

    - shared: True if a subexpression is used more than once (the graph is not a tree).
    - note: what it exercises, shown in messages.
    """

    name: str
    build: Callable
    point: tuple
    shared: bool
    note: str = ""

    def source(self):
        return f"{self.name} at {', '.join(f'{v:g}' for v in self.point)}"


def simple_example(ops):
    """The lecture's Simple Example J = cos(sin(x^2) + 3x^2), t = x^2 shared."""
    def f(x):
        t = x ** 2
        return ops.cos(ops.sin(t) + 3 * t)
    return f


def calculus_quiz_1(ops):
    """The lecture's Calculus Quiz #1: y = exp(xz) + xz/log(x) + sin(log(x))/exp(xz)."""
    def f(x, z):
        xz = x * z
        lx = ops.log(x)
        e = ops.exp(xz)
        return e + xz / lx + ops.sin(lx) / e
    return f


def long_chain(length):
    """y = x, then `length`/2 times y = 0.9999 * y + 0.001: a graph `length` nodes deep."""
    def build(ops):
        def f(x):
            y = x
            for _ in range(length // 2):
                y = y * 0.9999 + 0.001
            return y
        return f
    return build


def traced(expression, func_cls, module="backprop.autodiff"):
    """A Func (engine.remote.Func) that evaluates the expression with the student's ops."""
    ops = SimpleNamespace(**{name: func_cls.fn(f"{module}.{name}") for name in ("sin", "cos", "exp", "log")})
    return func_cls.trace(expression.build(ops), nparams=len(expression.point))


def _e(name, build, point, shared=False, note=""):
    return Expression(name, build, tuple(point), shared, note)


# One operator each (numbers on either side), so a failure names the operator at fault.
OPERATORS = [
    _e("x + y", lambda ops: lambda x, y: x + y, (1.3, -0.7), note="__add__"),
    _e("x - y", lambda ops: lambda x, y: x - y, (1.3, -0.7), note="__sub__"),
    _e("x * y", lambda ops: lambda x, y: x * y, (1.3, -0.7), note="__mul__"),
    _e("x / y", lambda ops: lambda x, y: x / y, (1.3, -0.7), note="__truediv__"),
    _e("x + 2", lambda ops: lambda x: x + 2, (1.7,), note="__add__ with a number"),
    _e("2 + x", lambda ops: lambda x: 2 + x, (1.7,), note="__radd__"),
    _e("x - 2", lambda ops: lambda x: x - 2, (1.7,), note="__sub__ with a number"),
    _e("2 - x", lambda ops: lambda x: 2 - x, (1.7,), note="__rsub__"),
    _e("x * 3", lambda ops: lambda x: x * 3, (1.7,), note="__mul__ with a number"),
    _e("3 * x", lambda ops: lambda x: 3 * x, (1.7,), note="__rmul__"),
    _e("x / 4", lambda ops: lambda x: x / 4, (1.7,), note="__truediv__ with a number"),
    _e("4 / x", lambda ops: lambda x: 4 / x, (1.7,), note="__rtruediv__"),
    _e("-x", lambda ops: lambda x: -x, (1.7,), note="__neg__"),
    _e("x ** 3", lambda ops: lambda x: x ** 3, (1.7,), note="__pow__"),
    _e("x ** -1.5", lambda ops: lambda x: x ** -1.5, (1.7,), note="__pow__ with a negative power"),
    _e("sin(x)", lambda ops: lambda x: ops.sin(x), (0.4,), note="sin"),
    _e("cos(x)", lambda ops: lambda x: ops.cos(x), (0.4,), note="cos"),
    _e("exp(x)", lambda ops: lambda x: ops.exp(x), (0.4,), note="exp"),
    _e("log(x)", lambda ops: lambda x: ops.log(x), (0.4,), note="log"),
]

LECTURE = [
    _e("the Simple Example J = cos(sin(x^2) + 3x^2)", simple_example, (1.5,), shared=True),
    _e("Calculus Quiz #1 y = exp(xz) + xz/log(x) + sin(log(x))/exp(xz)", calculus_quiz_1, (2.0, 3.0), shared=True),
]


def _square_twice(ops):
    """t = x * x used twice at every level: x^8 through three shared squarings."""
    def f(x):
        t = x
        for _ in range(3):
            t = t * t
        return t
    return f


def _reuse(ops):
    def f(x, y):
        u = x * y
        v = u + x
        w = u * v / y
        return w * u - v
    return f


def _three(ops):
    def f(x, y, z):
        u = x * y
        return (u + ops.sin(z)) * (u - z) / ops.exp(y)
    return f


def _diamond(ops):
    def f(x):
        u = ops.sin(x)
        return u * u + ops.exp(u) - 2 / u
    return f


def _logistic(ops):
    def f(w1, w2, b):
        a = w1 * 0.5 - w2 * 1.5 + b
        p = 1 / (1 + ops.exp(-a))
        return -(ops.log(p) * 1.0 + ops.log(1 - p) * 0.0) + 0.1 * (w1 * w1 + w2 * w2)
    return f


SHARED = [
    _e("t = x * x squared three times (x^8)", _square_twice, (1.1,), shared=True),
    _e("u = x*y; v = u + x; (u*v/y)*u - v", _reuse, (1.2, -0.6), shared=True),
    _e("u = x*y; (u + sin(z)) * (u - z) / exp(y)", _three, (0.5, 1.5, -0.3), shared=True),
    _e("u = sin(x); u*u + exp(u) - 2/u", _diamond, (0.8,), shared=True),
    _e("logistic regression loss with an L2 penalty", _logistic, (0.3, -0.2, 0.1), shared=True),
    _e("x * 2 (y unused)", lambda ops: lambda x, y: x * 2, (0.5, 4.0)),
]
