"""The suite's trusted differentiator gives the known derivatives (closed forms, finite differences)."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "autograder" / "suite"))
from expressions import TRUSTED_OPS, calculus_quiz_1, long_chain, partials, simple_example  # noqa: E402


def test_simple_example_closed_form():
    x = 1.5
    t = x * x
    u = math.sin(t) + 3 * t
    value, (d,) = partials(simple_example(TRUSTED_OPS), x)
    assert value == pytest.approx(math.cos(u), rel=1e-14)
    assert d == pytest.approx(-math.sin(u) * (math.cos(t) * 2 * x + 6 * x), rel=1e-12)


def test_calculus_quiz_1_closed_form():
    x, z = 2.0, 3.0
    e, lx = math.exp(x * z), math.log(x)
    dx = z * e + z * (lx - 1) / lx ** 2 + math.cos(lx) / (x * e) - z * math.sin(lx) / e
    dz = x * e + x / lx - x * math.sin(lx) / e
    value, grads = partials(calculus_quiz_1(TRUSTED_OPS), x, z)
    assert value == pytest.approx(e + x * z / lx + math.sin(lx) / e, rel=1e-14)
    assert grads == pytest.approx((dx, dz), rel=1e-12)


def test_long_chain_is_deep_and_exact():
    value, (d,) = partials(long_chain(10_000)(TRUSTED_OPS), 2.0)
    assert d == pytest.approx(0.9999 ** 5000, rel=1e-10)
    assert math.isfinite(value)


def test_numbers_on_either_side_match_finite_differences():
    def f(x, y):
        return (2 - x) * (x - 3) / (1 + y) + 4 / y - y / 5 + (-x) ** 2 * 0.5 + y ** 3

    x, y, h = 0.7, 1.3, 1e-6
    _, (dx, dy) = partials(f, x, y)
    assert dx == pytest.approx((f(x + h, y) - f(x - h, y)) / (2 * h), rel=1e-7)
    assert dy == pytest.approx((f(x, y + h) - f(x, y - h)) / (2 * h), rel=1e-7)


def test_bug_imitations_differ_on_shared_graphs_only():
    square = lambda x: x * x  # noqa: E731 - one node used twice
    assert partials(square, 3.0)[1] == (6.0,)
    assert partials(square, 3.0, mode="overwrite")[1] == (3.0,)
    # a shared middle node: u = x * 2; y = u * u + u, dy/dx = (2u + 1) * 2 = 26 at x = 3
    shared = lambda x: (lambda u: u * u + u)(x * 2)  # noqa: E731
    assert partials(shared, 3.0)[1] == (26.0,)
    assert partials(shared, 3.0, mode="twice")[1][0] != 26.0
    assert partials(shared, 3.0, mode="overwrite")[1][0] != 26.0
    tree = lambda x, y: TRUSTED_OPS.sin(x) * y  # noqa: E731 - no sharing: all modes agree
    assert partials(tree, 1.0, 2.0, mode="twice") == partials(tree, 1.0, 2.0) == partials(tree, 1.0, 2.0, mode="overwrite")
