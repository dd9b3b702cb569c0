"""Hidden tests, part 1 (continued): losses (7.25 of the part's 22 hidden points).

Other batch sizes, class counts and target shapes than the public tests, a second
forward/backward on the same object, saturated probabilities and logits of +-1000 without
NumPy warnings, and shape errors. Expected values come from the reference solution.
"""

import numpy as np
import pytest
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import modchecks as M
import scenarios as S
import suspects
from backends import StudentError, raised_instead
from cases import Case
from checking import Report, after


def _loss_cases(name, seed):
    """Hidden loss inputs: other batch sizes, class counts and target shapes."""
    if name == "SquaredError":
        specs = [dict(n=1, k=4), dict(n=6, k=2)]
    elif name == "BinaryCrossEntropy":
        specs = [dict(n=1, column=False), dict(n=7, column=True)]
    else:
        specs = [dict(n=1, k=5), dict(n=8, k=5)]
    out = []
    for i, spec in enumerate(specs):
        pred, target = S.loss_inputs(name, seed=seed + i, **spec)
        kwargs = dict(name=name, pred=pred, target=target)
        out.append((kwargs, Case(f"hidden/{name}/{seed}/{i}", S.loss_pass, kwargs)))
    return out


@weight(0.75)
@number("1.31")
@visibility("after_due_date")
@pytest.mark.submission_files("losses.py")
@pytest.mark.parametrize("name", ["SquaredError", "BinaryCrossEntropy", "SoftmaxCrossEntropy"])
def test_hidden_loss_forward(student, expect, name):
    """Loss forward on other batch sizes, class counts and target shapes"""
    r = Report(f"{name} forward")
    for k, case in _loss_cases(name, 281):
        M.check_loss_forward(r, student, name, k["pred"], k["target"], expect(case))
    r.finish()


@weight(1.25)
@number("1.32")
@visibility("after_due_date")
@pytest.mark.submission_files("losses.py")
@pytest.mark.parametrize("name", [
    after("SquaredError", "test_hidden_loss_forward"),
    after("BinaryCrossEntropy", "test_hidden_loss_forward"),
    after("SoftmaxCrossEntropy", "test_hidden_loss_forward"),
])
def test_hidden_loss_backward(student, expect, cheap_backward, name):
    """Loss backward on other shapes, and after a second forward on the same object"""
    cheap_backward(name)
    r = Report(f"{name} backward")
    for k, case in _loss_cases(name, 291):
        M.check_loss_backward(r, student, name, k["pred"], k["target"], expect(case))
    p1, t1 = S.loss_inputs(name, 4, 292)
    p2, t2 = S.loss_inputs(name, 4, 293)
    kwargs = dict(name=name, pred1=p1, target1=t1, pred2=p2, target2=t2)
    exp = expect(Case(f"hidden/loss_twice/{name}", S.loss_twice, kwargs))
    stale = expect(Case(f"hidden/loss_first/{name}", S.loss_pass, dict(name=name, pred=p1, target=t1)))
    got = S.loss_twice(student, **kwargs)
    r.compare(f"{name}(): forward(pred1, target1), backward(), forward(pred2, target2), backward(): "
              "the second backward", got["grad"], exp["grad"], rtol=M.REF_RTOL, atol=M.REF_ATOL, batch=4,
              suspects={"stale cache: backward used the first forward's values": stale["grad"],
                        "accumulated: the first gradient was added in": stale["grad"] + exp["grad"]})
    r.finish()


def _edge_case(name):
    """Edge inputs: SE with pred (N, 1) and target (N,); BCE with saturated probabilities 0 and 1;
    softmax cross-entropy with logits of +-1000."""
    if name == "SquaredError":
        return np.array([[3.0], [-1.0], [0.5], [2.0]]), np.array([1.0, 1.0, -2.0, 2.0])
    if name == "BinaryCrossEntropy":
        return np.array([[0.0], [1.0], [1.0], [0.0], [0.5]]), np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    return (np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [0.0, 0.0, -1000.0]]),
            np.array([1, 1, 2]))


@weight(0.25)
@number("1.33")
@visibility("after_due_date")
@pytest.mark.submission_files("losses.py")
@pytest.mark.parametrize("name", [
    after("SquaredError", "test_hidden_loss_forward"),
    after("BinaryCrossEntropy", "test_hidden_loss_forward"),
    after("SoftmaxCrossEntropy", "test_hidden_loss_forward"),
])
def test_hidden_loss_edge_values(student, expect, name):
    """Loss edge values: target (N,) with pred (N, 1); saturated p = 0 and 1; logits +-1000 (no warnings)"""
    pred, target = _edge_case(name)
    exp = expect(Case(f"hidden/loss_edge/{name}", S.loss_pass, dict(name=name, pred=pred, target=target)))
    r = Report(f"{name} edge values")
    M.check_loss_edge(r, student, name, pred, target, exp)
    r.finish()


@weight(0.5)
@number("1.34")
@visibility("after_due_date")
@pytest.mark.submission_files("losses.py")
def test_hidden_loss_shape_mismatch(student):
    """Losses raise ValueError for targets of the wrong shape (and work on the right shapes)"""
    r = Report("shape mismatch")
    # (name, pred, matching target, target of the wrong shape)
    runs = [("SquaredError", np.zeros((4, 2)), np.ones((4, 2)), np.zeros((4, 3))),
            ("BinaryCrossEntropy", np.full((4, 1), 0.5), np.array([0.0, 1.0, 1.0, 0.0]), np.zeros(3)),
            ("SoftmaxCrossEntropy", np.zeros((5, 3)), np.arange(5, dtype=np.int64) % 3,
             np.zeros(4, dtype=np.int64))]
    for name, pred, good, bad in runs:
        # The shape checks are given in the skeleton: only a loss whose forward works counts.
        value = student.method(student.make(f"losses.{name}"), "forward", pred, good)
        number = (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
            isinstance(value, np.ndarray) and value.shape == ())
        if not r.require(number, f"{M.loss_call(name, pred, good)} returned {type(value).__name__}, "
                                 "expected a float"):
            continue
        call = M.loss_call(name, pred, bad)
        try:
            student.method(student.make(f"losses.{name}"), "forward", pred, bad)
            r.fail(f"{call} returned without raising; shapes that do not match must raise ValueError")
        except StudentError as exc:
            r.require(exc.type_name == "ValueError", raised_instead(exc, call, "ValueError"))
    r.finish()
