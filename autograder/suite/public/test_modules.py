"""Public tests, part 1: modules (11.25 of the part's 40 points; losses in test_losses.py).

Expected values come from public/fixtures.npz (the reference solution's outputs on these
exact inputs); backward passes are also checked against centered finite differences of
your own forward.
"""

import pytest
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import cases
import modchecks as M
from backends import StudentError, raised_instead
from checking import Report, after


def _module_cases(prefix):
    return [cases.PUBLIC[f"{prefix}/n{n}"] for n in (1, 4)]


def _forward(student, expect, prefix, title):
    r = Report(title)
    for case in _module_cases(prefix):
        k = case.kwargs
        M.check_forward(r, student, k["spec"], k["x"], k["params"], expect(case))
    r.finish()


def _backward(student, expect, prefix, title, seed):
    r = Report(title)
    for case in _module_cases(prefix):
        k = case.kwargs
        matched = M.check_backward(r, student, k["spec"], k["x"], k["g"], k["params"], expect(case), seed)
        M.check_backward_fd(r, student, k["spec"], k["x"], k["g"], k["params"], seed, matched)
    r.finish()


@weight(1)
@number("1.1")
@visibility("visible")
@pytest.mark.submission_files("modules.py")
def test_linear_forward(student, expect):
    """Linear(3, 5) forward: x @ W.T + b for N = 1 and N = 4"""
    _forward(student, expect, "linear", "Linear forward")


@weight(1.5)
@number("1.2")
@visibility("visible")
@pytest.mark.submission_files("modules.py")
@pytest.mark.depends_on("test_linear_forward")
def test_linear_backward(student, expect, cheap_backward):
    """Linear(3, 5) backward: dJ/dx, grads["W"], grads["b"] (reference and finite differences)"""
    cheap_backward("Linear")
    _backward(student, expect, "linear", "Linear backward", seed=101)


@weight(0.5)
@number("1.3")
@visibility("visible")
@pytest.mark.submission_files("modules.py")
@pytest.mark.parametrize("kind", ["Sigmoid", "Tanh", "ReLU", "Softplus"])
def test_activation_forward(student, expect, kind):
    """Activation forward on (N, 3) inputs, N = 1 and N = 4"""
    _forward(student, expect, kind.lower(), f"{kind} forward")


@weight(0.75)
@number("1.4")
@visibility("visible")
@pytest.mark.submission_files("modules.py")
@pytest.mark.parametrize("kind", [
    after("Sigmoid", "test_activation_forward"),
    after("Tanh", "test_activation_forward"),
    after("ReLU", "test_activation_forward"),
    after("Softplus", "test_activation_forward"),
])
def test_activation_backward(student, expect, cheap_backward, kind):
    """Activation backward: dJ/da (reference and finite differences), at about the cost of a forward"""
    cheap_backward(kind)
    _backward(student, expect, kind.lower(), f"{kind} backward", seed=102)


@weight(1)
@number("1.5")
@visibility("visible")
@pytest.mark.submission_files("modules.py")
@pytest.mark.depends_on("test_linear_forward", "test_activation_forward[Tanh]")
def test_sequential_forward(student, expect):
    """Sequential(Linear(3, 4), Tanh(), Linear(4, 2)) forward"""
    _forward(student, expect, "sequential", "Sequential forward")


@weight(1.5)
@number("1.6")
@visibility("visible")
@pytest.mark.submission_files("modules.py")
@pytest.mark.depends_on("test_sequential_forward", "test_linear_backward", "test_activation_backward[Tanh]")
def test_sequential_backward(student, expect, cheap_backward):
    """Sequential(Linear(3, 4), Tanh(), Linear(4, 2)) backward: dJ/dx and every layer's grads"""
    cheap_backward("Sequential")
    _backward(student, expect, "sequential", "Sequential backward", seed=103)


@weight(0.25)
@number("1.9")
@visibility("visible")
@pytest.mark.submission_files("modules.py")
def test_linear_unknown_init(student):
    """Linear with an unknown init string raises ValueError"""
    r = Report("unknown init")
    try:
        student.make("modules.Linear", 2, 3, init="normal")
        r.fail("Linear(2, 3, init='normal') returned without raising; an unknown init must raise ValueError")
    except StudentError as exc:
        r.require(exc.type_name == "ValueError", raised_instead(exc, "Linear(2, 3, init='normal')", "ValueError"))
    r.finish()


@weight(0.25)
@number("1.10")
@visibility("visible")
@pytest.mark.submission_files("modules.py")
@pytest.mark.parametrize("kind", [
    after("Sigmoid", "test_activation_forward", "test_activation_backward"),
    after("Tanh", "test_activation_forward", "test_activation_backward"),
    after("ReLU", "test_activation_forward", "test_activation_backward"),
    after("Softplus", "test_activation_forward", "test_activation_backward"),
])
def test_activation_extreme_inputs(student, expect, kind):
    """Activation forward and backward at inputs up to +-1000: finite, and no overflow warnings"""
    case = cases.PUBLIC[f"{kind.lower()}/extreme"]
    r = Report(f"{kind} at +-1000")
    M.check_extreme(r, student, kind, case.kwargs["x"], case.kwargs["g"], expect(case))
    r.finish()
