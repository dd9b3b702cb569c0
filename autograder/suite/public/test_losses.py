"""Public tests, part 1 (continued): losses (6.75 of the part's 40 points).

Expected values come from public/fixtures.npz (the reference solution's outputs on these
exact inputs); backward is also checked against centered finite differences of your own
forward.
"""

import pytest
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import cases
import modchecks as M
from checking import Report, after


@weight(0.75)
@number("1.7")
@visibility("visible")
@pytest.mark.submission_files("losses.py")
@pytest.mark.parametrize("name", ["SquaredError", "BinaryCrossEntropy", "SoftmaxCrossEntropy"])
def test_loss_forward(student, expect, name):
    """Loss forward: J, the mean over the batch (N = 1 and N = 5)"""
    r = Report(f"{name} forward")
    for n in (1, 5):
        case = cases.PUBLIC[f"{name.lower()}/n{n}"]
        M.check_loss_forward(r, student, name, case.kwargs["pred"], case.kwargs["target"], expect(case))
    r.finish()


@weight(1.25)
@number("1.8")
@visibility("visible")
@pytest.mark.submission_files("losses.py")
@pytest.mark.parametrize("name", [
    after("SquaredError", "test_loss_forward"),
    after("BinaryCrossEntropy", "test_loss_forward"),
    after("SoftmaxCrossEntropy", "test_loss_forward"),
])
def test_loss_backward(student, expect, cheap_backward, name):
    """Loss backward: dJ/dpred (reference and finite differences), at about the cost of a forward"""
    cheap_backward(name)
    r = Report(f"{name} backward")
    for n in (1, 5):
        case = cases.PUBLIC[f"{name.lower()}/n{n}"]
        M.check_loss_backward(r, student, name, case.kwargs["pred"], case.kwargs["target"], expect(case))
    r.finish()


@weight(0.25)
@number("1.11")
@visibility("visible")
@pytest.mark.submission_files("losses.py")
@pytest.mark.parametrize("name", [
    after("SquaredError", "test_loss_forward", "test_loss_backward"),
    after("BinaryCrossEntropy", "test_loss_forward", "test_loss_backward"),
    after("SoftmaxCrossEntropy", "test_loss_forward", "test_loss_backward"),
])
def test_loss_edge_values(student, expect, name):
    """Loss edge values: target (N,) with pred (N, 1); saturated p = 0 and 1; logits +-1000 (no warnings)"""
    case = cases.PUBLIC[f"{name.lower()}/edge"]
    r = Report(f"{name} edge values")
    M.check_loss_edge(r, student, name, case.kwargs["pred"], case.kwargs["target"], expect(case))
    r.finish()
