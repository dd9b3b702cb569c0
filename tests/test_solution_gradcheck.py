"""Tests of the reference finite differences (solution/backprop/gradcheck.py)."""

import numpy as np
import pytest


def test_numerical_gradient_matches_analytic(solution):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    c = rng.normal(size=(3, 4))
    grad = solution.gradcheck.numerical_gradient(lambda v: np.sum(c * np.sin(v)) + np.sum(v ** 3), x)
    assert grad.shape == (3, 4) and grad.dtype == np.float64
    assert solution.gradcheck.relative_error(grad, c * np.cos(x) + 3 * x ** 2) < 1e-8


def test_numerical_gradient_is_centered(solution):
    # for a cubic, a centered difference has error exactly eps^2 * f'''/6 = eps^2; a one-sided one ~3*eps*x
    x = np.array([2.0])
    grad = solution.gradcheck.numerical_gradient(lambda v: v[0] ** 3, x, eps=1e-3)
    assert grad[0] == pytest.approx(12.0 + 1e-6, abs=1e-9)


def test_numerical_gradient_restores_exactly_and_uses_closures(solution):
    x = np.random.default_rng(0).normal(size=(2, 3))  # (v + eps - 2 eps) + eps != v for most of these
    x_copy = x.copy()
    calls = []

    def f(v):
        assert v is x  # perturbed in place, not a copy
        calls.append(1)
        return float(np.sum(x * x))  # reads x through the closure

    grad = solution.gradcheck.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, x_copy)  # bit-for-bit restored
    assert len(calls) == 2 * x.size
    np.testing.assert_allclose(grad, 2 * x_copy, rtol=1e-8)


def test_numerical_gradient_restores_when_f_raises(solution):
    x = np.array([1.0, 2.0])

    def f(v):
        if v[0] != 1.0:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError):
        solution.gradcheck.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_numerical_gradient_rejects_integer_arrays(solution):
    with pytest.raises(TypeError):
        solution.gradcheck.numerical_gradient(lambda v: float(v.sum()), np.arange(3))


def test_relative_error_values(solution):
    rel = solution.gradcheck.relative_error
    assert rel(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 4.2, rel=1e-14)
    assert rel(np.zeros((2, 3)), np.zeros((2, 3))) == 0.0
    assert rel(np.array([1e-10]), np.array([0.0])) == pytest.approx(1e-2, rel=1e-12)  # the 1e-8 floor
    assert rel(np.array([-1.0]), np.array([1.0])) == 1.0
    assert rel(3.0, 3.0) == 0.0
    assert type(rel(np.ones(2), np.ones(2))) is float


def test_relative_error_rejects_mismatched_shapes(solution):
    with pytest.raises(ValueError):
        solution.gradcheck.relative_error(np.ones((2, 3)), np.ones((3, 2)))
