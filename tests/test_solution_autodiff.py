"""Tests of the reference automatic differentiation (solution/backprop/autodiff.py)."""

import math

import pytest


def quiz1(ad):
    """Calculus Quiz #1: y = exp(xz) + xz/log(x) + sin(log(x))/exp(xz)."""
    return lambda x, z: ad.exp(x * z) + x * z / ad.log(x) + ad.sin(ad.log(x)) / ad.exp(x * z)


def quiz1_closed_form(x, z):
    """Hand-derived partials of Calculus Quiz #1."""
    e, L = math.exp(x * z), math.log(x)
    dy_dx = z * e + z / L - z / L ** 2 + math.cos(L) / (x * e) - z * math.sin(L) / e
    dy_dz = x * e + x / L - x * math.sin(L) / e
    return dy_dx, dy_dz


def simple_example(ad):
    """The lecture's Simple Example: J = cos(sin(x^2) + 3x^2)."""
    return lambda x: ad.cos(ad.sin(x ** 2) + 3 * x ** 2)


def test_quiz1_reverse_and_forward_mode(solution):
    ad = solution.autodiff
    expected = quiz1_closed_form(2.0, 3.0)
    got = ad.gradient(quiz1(ad), 2.0, 3.0)
    assert type(got) is tuple and len(got) == 2 and all(type(g) is float for g in got)
    assert got == pytest.approx(expected, rel=1e-12)
    assert ad.derivative(quiz1(ad), 2.0, 3.0, wrt=0) == pytest.approx(expected[0], rel=1e-12)
    assert ad.derivative(quiz1(ad), 2.0, 3.0, wrt=1) == pytest.approx(expected[1], rel=1e-12)
    assert quiz1(ad)(2.0, 3.0) == pytest.approx(math.exp(6) + 6 / math.log(2) + math.sin(math.log(2)) / math.exp(6))


@pytest.mark.parametrize("x", [-1.3, 0.4, 2.0])
def test_simple_example(solution, x):
    ad = solution.autodiff
    t = x ** 2
    u = math.sin(t) + 3 * t
    expected = -math.sin(u) * (math.cos(t) * 2 * x + 3 * 2 * x)
    (got,) = ad.gradient(simple_example(ad), x)
    assert got == pytest.approx(expected, rel=1e-12)
    assert ad.derivative(simple_example(ad), x) == pytest.approx(expected, rel=1e-12)
    J = simple_example(ad)(ad.Var(x))
    assert J.value == pytest.approx(math.cos(u), rel=1e-14)


def test_shared_subexpressions_accumulate(solution):
    ad = solution.autodiff

    def f(x, z):
        t = x * z          # used three times
        s = ad.sin(t)      # used twice
        return t * t + s * s + t

    x, z = 0.7, -1.9
    t = x * z
    dy_dt = 2 * t + 2 * math.sin(t) * math.cos(t) + 1
    assert ad.gradient(f, x, z) == pytest.approx((dy_dt * z, dy_dt * x), rel=1e-13)
    assert ad.derivative(f, x, z, wrt=1) == pytest.approx(dy_dt * x, rel=1e-13)
    assert ad.gradient(lambda v: v * v * v, 1.5) == pytest.approx((3 * 1.5 ** 2,), rel=1e-14)


def test_backward_by_hand(solution):
    Var = solution.autodiff.Var
    x, z = Var(3.0), Var(-2.0)
    assert x.grad == 0.0
    y = x * z + x / z
    y.backward()
    assert y.grad == 1.0
    assert x.grad == pytest.approx(-2.0 + 1 / -2.0)
    assert z.grad == pytest.approx(3.0 - 3.0 / 4.0)


@pytest.mark.parametrize("f, df", [
    (lambda x: 2 + x, lambda x: 1.0), (lambda x: x + 2, lambda x: 1.0),
    (lambda x: 2 - x, lambda x: -1.0), (lambda x: x - 2, lambda x: 1.0),
    (lambda x: 2 * x, lambda x: 2.0), (lambda x: x * 2, lambda x: 2.0),
    (lambda x: 2 / x, lambda x: -2 / x ** 2), (lambda x: x / 2, lambda x: 0.5),
    (lambda x: -x, lambda x: -1.0), (lambda x: x ** 3, lambda x: 3 * x ** 2),
    (lambda x: x ** -0.5, lambda x: -0.5 * x ** -1.5), (lambda x: x - x, lambda x: 0.0),
])
def test_operators_with_numbers_on_either_side(solution, f, df):
    ad = solution.autodiff
    x = 1.7
    assert ad.gradient(f, x) == pytest.approx((df(x),), rel=1e-14, abs=1e-15)
    assert ad.derivative(f, x) == pytest.approx(df(x), rel=1e-14, abs=1e-15)
    assert f(ad.Var(x)).value == pytest.approx(f(x), rel=1e-15)
    assert f(ad.Dual(x)).value == pytest.approx(f(x), rel=1e-15)


@pytest.mark.parametrize("name, d", [("sin", math.cos), ("cos", lambda v: -math.sin(v)),
                                     ("exp", math.exp), ("log", lambda v: 1 / v)])
def test_elementary_functions_keep_the_kind(solution, name, d):
    ad = solution.autodiff
    fn, v = getattr(ad, name), 0.8
    plain = fn(v)
    assert type(plain) is float and plain == getattr(math, name)(v)
    node = fn(ad.Var(v))
    assert isinstance(node, ad.Var) and node.value == plain
    dual = fn(ad.Dual(v, 2.0))
    assert isinstance(dual, ad.Dual) and dual.value == plain
    assert dual.deriv == pytest.approx(2.0 * d(v), rel=1e-15)


def test_both_modes_agree(solution):
    ad = solution.autodiff

    def f(a, b, c):
        return ad.exp(a / (b ** 2 + 1)) * ad.cos(c - a) - ad.log(b * b + c * c) / (3 - a)

    point = (0.3, -1.2, 2.5)
    reverse = ad.gradient(f, *point)
    forward = tuple(ad.derivative(f, *point, wrt=i) for i in range(3))
    assert reverse == pytest.approx(forward, rel=1e-12)
    h = 1e-6
    for i in range(3):
        up = [*point]
        down = [*point]
        up[i] += h
        down[i] -= h
        assert reverse[i] == pytest.approx((f(*up) - f(*down)) / (2 * h), rel=1e-7)


def test_chain_of_ten_thousand_nodes(solution):
    ad = solution.autodiff

    def f(x):
        y = x
        for _ in range(10_000):
            y = y + 1e-3 * x   # every step depends on the previous one: depth 10,000
        return y

    assert ad.gradient(f, 0.5) == pytest.approx((11.0,), rel=1e-12)
    assert ad.derivative(f, 0.5) == pytest.approx(11.0, rel=1e-12)


def test_derivative_rejects_bad_wrt(solution):
    with pytest.raises(ValueError):
        solution.autodiff.derivative(lambda x, z: x * z, 1.0, 2.0, wrt=2)


def test_power_of_a_var_is_not_supported(solution):
    ad = solution.autodiff
    with pytest.raises(TypeError):
        ad.Var(2.0) ** ad.Var(3.0)
    with pytest.raises(TypeError):
        ad.Var(2.0) + ad.Dual(1.0)
