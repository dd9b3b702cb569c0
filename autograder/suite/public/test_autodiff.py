"""Public tests, part 5: automatic differentiation (6 of the part's 12 points).

The functions differentiated are traced: they run in the grader's worker with your Var,
Dual, sin, cos, exp and log. Expected derivatives come from complex-step differentiation of
the same expressions on the grader's side (exact to rounding); what the classic bugs of
reverse mode would give, for the diagnosis, comes from public/fixtures.npz.
"""

import pytest
from engine.remote import Func
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import autochecks as A
import cases
import expressions as E
from checking import Report


@weight(1.5)
@number("5.1")
@visibility("visible")
@pytest.mark.submission_files("autodiff.py")
def test_reverse_mode_lecture_examples(student, expect):
    """Reverse mode: gradient() on the lecture's Simple Example and Calculus Quiz #1"""
    r = Report("reverse mode")
    quiet_ok = A.operators_ok(student, Func)
    for expr in E.LECTURE:
        A.check_reverse(r, student, Func, expr, operators_ok=quiet_ok, bugs=expect(cases.bugs_name(expr)))
    r.finish()


@weight(1)
@number("5.2")
@visibility("visible")
@pytest.mark.submission_files("autodiff.py")
def test_reverse_mode_operators(student):
    """Reverse mode: every operator with a Var or a number on either side, and sin, cos, exp, log"""
    r = Report("reverse mode operators")
    for expr in E.OPERATORS:
        A.check_reverse(r, student, Func, expr)
    r.finish()


@weight(1.5)
@number("5.3")
@visibility("visible")
@pytest.mark.submission_files("autodiff.py")
def test_forward_mode_lecture_examples(student):
    """Forward mode: derivative() on the lecture's Simple Example and Calculus Quiz #1 (both inputs)"""
    r = Report("forward mode")
    for expr in E.LECTURE:
        A.check_forward(r, student, Func, expr)
    r.finish()


@weight(1)
@number("5.4")
@visibility("visible")
@pytest.mark.submission_files("autodiff.py")
def test_var_backward(student, expect):
    """Var directly: y = x * x + x at x = 3; y.backward() sets x.grad = 7"""
    x = student.make("autodiff.Var", 3.0)
    r = Report("Var")
    r.scalar("Var(3.0).grad before any backward", student.attr(x, "grad"), 0.0)
    xx = student.call_op("mul", x, x)
    y = student.call_op("add", xx, x)
    r.scalar("(x * x + x).value at x = 3", student.attr(y, "value"), 12.0)
    student.method(y, "backward")
    r.scalar("y = x * x + x at x = 3: after y.backward(), y.grad", student.attr(y, "grad"), 1.0)
    overwrite = float(expect(cases.bugs_name(E.VAR_EXAMPLE))["overwrite"][0])
    r.scalar("y = x * x + x at x = 3: after y.backward(), x.grad (dy/dx = 2x + 1)", student.attr(x, "grad"), 7.0,
             suspects={A.BUG_TEXT["overwrite"]: overwrite,
                       "x * x counts x once: a node used as both operands of a product gets BOTH local "
                       "derivatives added to its grad": 4.0})
    r.finish()


@weight(0.5)
@number("5.5")
@visibility("visible")
@pytest.mark.submission_files("autodiff.py")
@pytest.mark.depends_on("test_reverse_mode_operators")
def test_reverse_mode_shared_node(student, expect):
    """Reverse mode on a graph whose shared node u = x * y reaches the output along three paths"""
    r = Report("shared node")
    expr = E.PUBLIC_SHARED
    A.check_reverse(r, student, Func, expr, operators_ok=A.operators_ok(student, Func),
                    bugs=expect(cases.bugs_name(expr)))
    r.finish()


@weight(0.5)
@number("5.6")
@visibility("visible")
@pytest.mark.submission_files("autodiff.py")
@pytest.mark.depends_on("test_reverse_mode_operators")
def test_reverse_mode_deep_and_wide_graphs(student):
    """Reverse mode on a graph 4,000 nodes deep (an explicit stack) and on 2,000 inputs (one backward pass)"""
    r = Report("deep and wide graphs")
    A.check_deep(r, student, Func, E.PUBLIC_CHAIN)
    A.check_one_pass(r, student, Func, 2000)
    r.finish()
