"""Public tests, part 4: finite differences (2 of the part's 5 points).

numerical_gradient is called with a function f that runs in the grader's worker (a traced
function built from NumPy calls); the expected values are centered differences computed
by the grader with the same f.
"""

import numpy as np
import pytest
from engine.remote import Func
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import fdchecks as F
from checking import Report


@weight(1)
@number("4.1")
@visibility("visible")
@pytest.mark.submission_files("gradcheck.py")
def test_numerical_gradient(student):
    """numerical_gradient: centered differences of sum(sin(x) * x), and of an f reading x through a closure"""
    x = np.array([[0.3, -0.5], [2.0, 0.5], [-0.7, 1.0 / 3.0]])  # +-0.5: x + eps - eps != x
    r = Report("numerical_gradient")
    F.check_numerical_gradient(r, student, Func, lambda npx: lambda v: npx.sum(npx.sin(v) * v), x, None,
                               "sum(sin(x) * x)", analytic=np.sin(x) + x * np.cos(x))
    F.check_closure(r, student, Func, np.array([[1.5, -0.5, 0.25]]))
    r.finish()


@weight(1)
@number("4.2")
@visibility("visible")
@pytest.mark.submission_files("gradcheck.py")
def test_relative_error(student):
    """relative_error: max over entries of |a - b| / max(1e-8, |a| + |b|), also where both are 0"""
    r = Report("relative_error")
    F.check_relative_error(r, student, np.array([0.0, 1.0, 0.0]), np.array([0.0, 1.0, 0.5]))
    F.check_relative_error(r, student, np.array([1.0, 2.0, -3.0, 0.5]), np.array([1.1, 2.0, -2.0, 0.5]))
    F.check_relative_error(r, student, np.array([[1e-3, 4.0], [2.0, -1.0]]), np.array([[2e-3, 4.0], [2.5, 1.0]]))
    r.finish()
