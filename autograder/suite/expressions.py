"""Scalar test expressions for the autodiff tests, and their exact derivatives.

Each expression is written once against an ``ops`` namespace (sin, cos, exp, log), so
the same code can be
- traced into a ``Func`` that runs in the worker with the student's Var / Dual
  (``ops`` = the student's functions, see ``traced``), and
- evaluated here, on the trusted side, by ``expected``: the value with ``math`` and every
  partial derivative by the complex step, f'(x) = Im f(x + ih) / h for a tiny h, with the
  expression evaluated on complex numbers (``cmath``). No difference is taken, so there is no
  cancellation: the partials are exact to rounding (about 1e-15 relative), and the method is
  neither of the two modes students implement.

What the classic reverse-mode bugs would return (for diagnosis) is computed only on the
hidden side, in imitations.py; the public tests read it from public/fixtures.npz.
"""

import cmath
import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable

REAL_OPS = SimpleNamespace(sin=math.sin, cos=math.cos, exp=math.exp, log=math.log)
COMPLEX_OPS = SimpleNamespace(sin=cmath.sin, cos=cmath.cos, exp=cmath.exp, log=cmath.log)
STEP = 1e-30  # the complex step: far below rounding, so h^2 terms vanish


def expected(expr):
    """(value, partials) of an expression at its point: floats, and a tuple of len(point) floats.

    The value with real arithmetic; partial i from the complex step in input i.
    """
    value = float(expr.build(REAL_OPS)(*expr.point))
    partials = []
    for i in range(len(expr.point)):
        args = [complex(v) for v in expr.point]
        args[i] += complex(0.0, STEP)
        partials.append(complex(expr.build(COMPLEX_OPS)(*args)).imag / STEP)
    return value, tuple(partials)


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
    key: str = ""  # set where the public tests need the bug imitations (public/fixtures.npz)

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


def traced(expression, func_cls, module="backprop.autodiff", log=None):
    """A Func (engine.remote.Func) that evaluates the expression with the student's ops.

    log: a dict kept in the worker (a Ref); each evaluation then stores its first argument in it,
    keyed by id, so that the caller can see how often f was evaluated and on what.
    """
    ops = SimpleNamespace(**{name: func_cls.fn(f"{module}.{name}") for name in ("sin", "cos", "exp", "log")})
    f = expression.build(ops)
    if log is not None:
        inner = f

        def f(first, *rest):
            first = func_cls.fn("builtins.dict.setdefault")(log, func_cls.fn("builtins.id")(first), first)
            return inner(first, *rest)
    return func_cls.trace(f, nparams=len(expression.point))


def _e(name, build, point, shared=False, note="", key=""):
    return Expression(name, build, tuple(point), shared, note, key)


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

# Calculus Quiz #1 is evaluated away from the quiz's own point (x = 2, z = 3): a failure message
# prints the expected partials, which must not hand out the quiz's answers.
LECTURE = [
    _e("the Simple Example J = cos(sin(x^2) + 3x^2)", simple_example, (1.5,), shared=True,
       key="simple_example"),
    _e("Calculus Quiz #1 y = exp(xz) + xz/log(x) + sin(log(x))/exp(xz)", calculus_quiz_1, (1.5, 2.0), shared=True,
       key="calculus_quiz_1"),
]

# Var used directly (public test 5.4): y = x * x + x at x = 3, dy/dx = 7.
VAR_EXAMPLE = _e("y = x * x + x", lambda ops: lambda x: x * x + x, (3.0,), shared=True, key="var_example")


def _powers(ops):
    """u = x * y, v = u * u: u reaches the output along three paths, x along four."""
    def f(x, y):
        u = x * y
        v = u * u
        return v * u + v * x
    return f


# Public tests 5.5 and 5.6: a graph whose shared node is reached along several paths, and a deep chain.
PUBLIC_SHARED = _e("u = x * y; v = u * u; v * u + v * x", _powers, (0.7, -1.2), shared=True, key="powers")
PUBLIC_CHAIN = _e("a chain 4,000 nodes deep: y = x, then 2,000 times y = 0.9999 * y + 0.001",
                  long_chain(4_000), (0.5,))


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
