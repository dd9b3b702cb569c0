"""The autodiff tests' expected values (complex step, expressions.py) and bug imitations (imitations.py)."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "autograder" / "suite"))
import expressions as E  # noqa: E402
import imitations as I  # noqa: E402


def _expr(build, *point, shared=False):
    return E.Expression("f", build, tuple(point), shared)


def test_simple_example_closed_form():
    x = 1.5
    t = x * x
    u = math.sin(t) + 3 * t
    value, (d,) = E.expected(_expr(E.simple_example, x))
    assert value == pytest.approx(math.cos(u), rel=1e-14)
    assert d == pytest.approx(-math.sin(u) * (math.cos(t) * 2 * x + 6 * x), rel=1e-13)


def test_calculus_quiz_1_closed_form():
    x, z = 2.0, 3.0
    e, lx = math.exp(x * z), math.log(x)
    dx = z * e + z * (lx - 1) / lx ** 2 + math.cos(lx) / (x * e) - z * math.sin(lx) / e
    dz = x * e + x / lx - x * math.sin(lx) / e
    value, grads = E.expected(_expr(E.calculus_quiz_1, x, z))
    assert value == pytest.approx(e + x * z / lx + math.sin(lx) / e, rel=1e-14)
    assert grads == pytest.approx((dx, dz), rel=1e-13)


def test_long_chain_is_deep_and_exact():
    value, (d,) = E.expected(_expr(E.long_chain(10_000), 2.0))
    assert d == pytest.approx(0.9999 ** 5000, rel=1e-12)
    assert math.isfinite(value)


def test_numbers_on_either_side_and_every_function_match_closed_forms():
    def build(ops):
        return lambda x, y: ((2 - x) * (x - 3) / (1 + y) + 4 / y - y / 5 + (-x) ** 2 * 0.5 + y ** 3
                             + x ** -1.5 + ops.sin(x) * ops.cos(y) + ops.exp(x) / ops.log(y + 1))

    x, y = 0.7, 1.3
    value, (dx, dy) = E.expected(_expr(build, x, y))
    assert value == pytest.approx(build(E.REAL_OPS)(x, y), rel=1e-15)
    want_dx = ((-(x - 3) + (2 - x)) / (1 + y) + x - 1.5 * x ** -2.5 + math.cos(x) * math.cos(y)
               + math.exp(x) / math.log(y + 1))
    want_dy = (-(2 - x) * (x - 3) / (1 + y) ** 2 - 4 / y ** 2 - 0.2 + 3 * y ** 2 - math.sin(x) * math.sin(y)
               - math.exp(x) / (math.log(y + 1) ** 2 * (y + 1)))
    assert (dx, dy) == pytest.approx((want_dx, want_dy), rel=1e-13)


@pytest.mark.parametrize("expr", E.OPERATORS + E.LECTURE + E.SHARED + [E.VAR_EXAMPLE], ids=lambda e: e.name)
def test_expected_partials_agree_with_finite_differences(expr):
    value, grads = E.expected(expr)
    f = expr.build(E.REAL_OPS)
    for i, g in enumerate(grads):
        h = 1e-6 * max(1.0, abs(expr.point[i]))
        up, down = list(expr.point), list(expr.point)
        up[i] += h
        down[i] -= h
        assert g == pytest.approx((f(*up) - f(*down)) / (2 * h), rel=1e-6, abs=1e-8)
    assert value == f(*expr.point)


def test_bug_imitations_differ_on_shared_graphs_only():
    square = _expr(lambda ops: lambda x: x * x, 3.0, shared=True)  # one node used twice
    assert E.expected(square)[1] == (6.0,)
    assert I.reverse_mode_bugs(square)["overwrite"] == (3.0,)
    # a shared middle node: u = x * 2; y = u * u + u, dy/dx = (2u + 1) * 2 = 26 at x = 3
    shared = _expr(lambda ops: lambda x: (lambda u: u * u + u)(x * 2), 3.0, shared=True)
    assert E.expected(shared)[1] == (26.0,)
    assert I.reverse_mode_bugs(shared)["twice"][0] != 26.0
    assert I.reverse_mode_bugs(shared)["overwrite"][0] != 26.0
    tree = _expr(lambda ops: lambda x, y: ops.sin(x) * y, 1.0, 2.0)  # no sharing: the bugs change nothing
    bugs = I.reverse_mode_bugs(tree)
    assert bugs["twice"] == bugs["overwrite"] == pytest.approx(E.expected(tree)[1], rel=1e-15)


def test_twice_imitation_gives_up_on_huge_path_counts():
    assert all(math.isnan(v) for v in I.reverse_mode_bugs(
        _expr(lambda ops: lambda x: E.long_chain(40)(ops)(x) * 0 + _doubling(x, 20), 1.0))["twice"])


def _doubling(x, depth):
    """t = t + t, depth times: 2^depth paths from the output to x."""
    for _ in range(depth):
        x = x + x
    return x


def test_var_example_imitations_are_the_ones_test_5_4_names():
    bugs = I.reverse_mode_bugs(E.VAR_EXAMPLE)
    assert E.expected(E.VAR_EXAMPLE) == (12.0, (7.0,))
    assert bugs["overwrite"] == (3.0,)


def test_lecture_examples_avoid_the_quiz_points():
    """A failing test prints the expected partials: they must not be the quiz's answers
    (quiz/quiz.toml asks for Calculus Quiz #1 at x = 2, z = 3 and the Simple Example at x = 0.5)."""
    points = {expr.key: expr.point for expr in E.LECTURE}
    assert points["calculus_quiz_1"] != (2.0, 3.0) and points["simple_example"] != (0.5,)
