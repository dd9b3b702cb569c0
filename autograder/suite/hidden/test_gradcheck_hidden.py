"""Hidden tests, part 4: finite differences (3 of the part's 5 points).

Other functions and shapes (1-D, 3-D, one entry), an explicit eps, f reading x through a
closure (so x must be perturbed in place), x restored bit for bit, relative_error at zeros.
"""

import numpy as np
import pytest
from engine.remote import Func
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import fdchecks as F
from checking import Report

A = np.array([[0.5, -1.0, 0.25, 2.0, 0.0], [1.5, 0.3, -0.2, 0.1, 1.0],
              [-0.4, 0.8, 1.1, -1.3, 0.6], [0.2, 0.2, -0.9, 0.7, -0.5]])
C = np.arange(12.0).reshape(2, 3, 2) / 7.0 - 0.5


@weight(1.5)
@number("4.20")
@visibility("after_due_date")
@pytest.mark.submission_files("gradcheck.py")
def test_hidden_numerical_gradient_shapes(student):
    """numerical_gradient on 1-D, 3-D and one-entry inputs, and with an explicit eps"""
    r = Report("numerical_gradient")
    x1 = np.array([0.1, -0.4, 1.0 / 3.0, 0.9, -1.1])
    F.check_numerical_gradient(r, student, Func, lambda npx: lambda v: npx.sum(npx.tanh(A @ v)), x1, None,
                               "sum(tanh(A @ x)) with A (4, 5)",
                               analytic=A.T @ (1 - np.tanh(A @ x1) ** 2))
    x3 = np.linspace(-1.0, 1.0, 12).reshape(2, 3, 2)
    F.check_numerical_gradient(r, student, Func, lambda npx: lambda v: npx.sum(npx.exp(0.3 * v) * C), x3, None,
                               "sum(exp(0.3 x) * C) with C (2, 3, 2)", analytic=0.3 * np.exp(0.3 * x3) * C)
    x0 = np.array([0.7])
    F.check_numerical_gradient(r, student, Func, lambda npx: lambda v: npx.log1p(v[0] * v[0]), x0, None,
                               "log(1 + x[0]^2)", analytic=2 * x0 / (1 + x0 ** 2))
    xe = np.array([[1.5, -0.5], [0.25, 2.0]])
    F.check_numerical_gradient(r, student, Func, lambda npx: lambda v: npx.sum(v * v * v * v), xe, 1e-2,
                               "sum(x^4)")
    r.finish()


@weight(1)
@number("4.21")
@visibility("after_due_date")
@pytest.mark.submission_files("gradcheck.py")
def test_hidden_numerical_gradient_closure(student):
    """numerical_gradient with an f that reads x through a closure: x perturbed in place and restored exactly"""
    r = Report("closure")
    F.check_closure(r, student, Func, np.array([[0.1, 0.5, -0.7], [4.0, -0.5, 1.0 / 3.0]]))  # +-0.5, 4: not exact
    r.finish()


@weight(0.5)
@number("4.22")
@visibility("after_due_date")
@pytest.mark.submission_files("gradcheck.py")
def test_hidden_relative_error(student):
    """relative_error with zeros on both sides, opposite signs and 3-D arrays"""
    r = Report("relative_error")
    F.check_relative_error(r, student, np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    F.check_relative_error(r, student, np.array([0.0, 3.0, -1.0]), np.array([0.0, 3.0, 1.0]))
    F.check_relative_error(r, student, C, C * (1 + 1e-3))
    r.finish()
