"""The suite's finite differences (numeric.py, fdchecks.py): values, and x is never modified."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "autograder" / "suite"))
import fdchecks  # noqa: E402
import numeric  # noqa: E402


def test_unit_basis_rows_are_the_one_hot_arrays():
    basis = numeric.unit_basis((2, 3))
    assert basis.shape == (6, 2, 3)
    for i, e in enumerate(basis):
        assert e.flat[i] == 1.0 and np.count_nonzero(e) == 1


def test_gradient_of_a_known_function_and_x_untouched():
    x = np.array([[0.3, -0.5], [2.0, 0.5], [-0.7, 1.0 / 3.0]])
    before = x.copy()
    seen = []

    def f(v):
        seen.append(v)
        v_sum = float(np.sum(np.sin(v) * v))
        v += 1.0  # an objective that scribbles on its argument must not change x
        return v_sum
    got = numeric.gradient(f, x, eps=1e-6)
    assert np.array_equal(x, before)
    assert all(v is not x for v in seen) and len(seen) == 2 * x.size
    np.testing.assert_allclose(got, np.sin(x) + x * np.cos(x), rtol=1e-8)


def test_perturbed_points_are_exactly_x_plus_and_minus_eps_in_one_entry():
    x = np.array([0.1, -0.4, 1.0 / 3.0])
    calls = []
    numeric.gradient(lambda v: calls.append(v.copy()) or 0.0, x, eps=1e-5)
    for i in range(x.size):
        plus, minus = calls[2 * i], calls[2 * i + 1]
        others = np.arange(x.size) != i
        assert plus[i] == x[i] + 1e-5 and minus[i] == x[i] - 1e-5
        assert np.array_equal(plus[others], x[others]) and np.array_equal(minus[others], x[others])


def test_directional_differences_estimate_the_projection():
    x = np.linspace(-1.0, 1.0, 60).reshape(5, 12)
    directions = numeric.random_directions(x.shape, seed=3)
    est = numeric.directional(lambda v: float(np.sum(v ** 3)), x, directions)
    np.testing.assert_allclose(est, numeric.project(3 * x ** 2, directions), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("sign", [1, -1])
def test_one_sided_differences_are_the_bug_they_name(sign):
    x = np.array([[1.5, -0.5], [0.25, 2.0]])
    f = lambda v: float(np.sum(v ** 4))  # noqa: E731
    eps = 1e-2
    got = fdchecks.one_sided(f, x, eps, sign)
    for i in np.ndindex(x.shape):
        moved = x.copy()
        moved[i] += sign * eps
        assert got[i] == pytest.approx(sign * (f(moved) - f(x)) / eps, rel=1e-12)
    exact = 4 * x ** 3
    assert not np.allclose(got, exact, rtol=1e-3)            # visibly off with eps = 0.01
    # centered differences of x^4: exactly 4 x^3 + 4 x eps^2
    np.testing.assert_allclose(fdchecks.centered(f, x, eps), exact + 4 * x * eps ** 2, rtol=1e-10)


def test_a_correct_relu_backward_passes_whatever_sits_on_the_kink():
    """Inputs at or within a difference step of ReLU's kink (an exact zero, a zero bias on a zero
    row) never fail a correct backward: they are moved away, or that case is not differenced."""
    import backends
    import modchecks
    import reference
    from checking import Report
    ref = backends.Reference(reference.load_reference(Path(__file__).resolve().parents[1] / "solution"))
    g = np.random.default_rng(0).normal(size=(3, 4))
    relu = ("ReLU",)
    x = np.array([[0.0, 1e-5, -2e-5, 0.4], [0.3, -0.2, 0.0, 1.0], [-1.0, 2.0, 3e-4, -0.6]])
    seq = ("Sequential", [("Linear", 3, 4), ("ReLU",), ("Linear", 4, 4)])
    params = {"0.W": np.random.default_rng(1).normal(size=(4, 3)), "0.b": np.zeros(4),
              "2.W": np.random.default_rng(2).normal(size=(4, 4)), "2.b": np.zeros(4)}
    xs = np.array([[0.0, 0.0, 0.0], [0.5, -0.3, 0.8], [1.0, 0.2, -0.4]])   # row 0: z = 0 exactly
    assert modchecks.kink_distance(seq, xs, params) == 0.0
    assert modchecks.kink_distance(relu, x, {}) == 0.0
    assert modchecks.kink_distance(("Tanh",), x, {}) == np.inf
    for spec, inputs, p in ((relu, x, {}), (seq, xs, params)):
        r = Report("kink")
        modchecks.check_backward_fd(r, ref, spec, inputs, g, p, seed=5)
        assert r.failures == [], r.failures
