"""Hidden tests, part 5: automatic differentiation (6 of the part's 12 points).

Shared subexpressions, a chain 10,000 nodes deep, forward mode on every operator and on
shared graphs, the two modes agreeing, and the elementary functions on every kind of input.
"""

import math

import pytest
from engine.remote import Func
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import autochecks as A
import expressions as E
import imitations as I
from backends import StudentError
from checking import Report

CHAIN = E.Expression("a chain 10,000 nodes deep: y = x, then 5,000 times y = 0.9999 * y + 0.001",
                     E.long_chain(10_000), (2.0,), shared=False)


@weight(1)
@number("5.20")
@visibility("after_due_date")
@pytest.mark.submission_files("autodiff.py")
def test_hidden_reverse_mode_shared_subexpressions(student):
    """Reverse mode on graphs that reuse subexpressions (each node visited once, gradients accumulated)"""
    r = Report("shared subexpressions")
    quiet_ok = A.operators_ok(student, Func)
    for expr in E.SHARED:
        A.check_reverse(r, student, Func, expr, operators_ok=quiet_ok, bugs=I.reverse_mode_bugs(expr))
    r.finish()


@weight(1)
@number("5.21")
@visibility("after_due_date")
@pytest.mark.submission_files("autodiff.py")
def test_hidden_reverse_mode_long_chain(student):
    """Reverse mode on a graph 10,000 nodes deep (no recursion limit) and on 3,000 inputs (one backward pass)"""
    r = Report("deep and wide graphs")
    A.check_deep(r, student, Func, CHAIN)
    A.check_one_pass(r, student, Func, 3000)
    r.finish()


@weight(1.5)
@number("5.22")
@visibility("after_due_date")
@pytest.mark.submission_files("autodiff.py")
def test_hidden_forward_mode(student):
    """Forward mode: every operator with numbers on either side, shared graphs and the long chain"""
    r = Report("forward mode")
    for expr in E.OPERATORS + E.SHARED + [CHAIN]:
        A.check_forward(r, student, Func, expr)
    r.finish()


@weight(1)
@number("5.23")
@visibility("after_due_date")
@pytest.mark.submission_files("autodiff.py")
def test_hidden_modes_agree(student):
    """Reverse and forward mode give the same partials at other points"""
    r = Report("modes agree")
    for expr in E.LECTURE + E.SHARED[:4]:
        moved = E.Expression(expr.name, expr.build, tuple(v * 0.9 + 0.05 for v in expr.point), expr.shared)
        traced = E.traced(moved, Func)
        log = student.evaluation_log()
        reverse = student.call("autodiff.gradient", E.traced(moved, Func, log=log), *moved.point)
        A.check_evaluated_once(r, f"gradient(f, ...) for f = {moved.source()}", student.evaluations(log))
        if not isinstance(reverse, tuple) or len(reverse) != len(moved.point):
            r.fail(f"gradient(f, ...) for f = {moved.source()} returned {type(reverse).__name__}; expected a tuple")
            continue
        for i, partial in enumerate(reverse):
            if isinstance(partial, bool) or not isinstance(partial, (int, float)):
                r.fail(f"gradient(f, ...) for f = {moved.source()}: partial {i} is {type(partial).__name__}, "
                       "not a float")
                continue
            forward = student.call("autodiff.derivative", traced, *moved.point, wrt=i)
            r.scalar(f"f = {moved.source()}: derivative(f, ..., wrt={i}) (forward mode) against "
                     f"gradient(f, ...)[{i}] = {partial!r} (reverse mode)", forward, float(partial), rtol=1e-9)
    r.finish()


@weight(1.5)
@number("5.24")
@visibility("after_due_date")
@pytest.mark.submission_files("autodiff.py")
def test_hidden_elementary_functions_and_dual(student):
    """sin, cos, exp, log on a float, a Var and a Dual; Dual arithmetic; Var.grad after backward"""
    r = Report("elementary functions")
    for name, fn, dfn in (("sin", math.sin, math.cos), ("cos", math.cos, lambda v: -math.sin(v)),
                          ("exp", math.exp, math.exp), ("log", math.log, lambda v: 1.0 / v)):
        v = 0.7
        got = student.call(f"autodiff.{name}", v)
        if r.require(isinstance(got, float), f"{name}(0.7) on a float returned {type(got).__name__}, expected a float"):
            r.scalar(f"{name}(0.7)", got, fn(v), rtol=1e-12)
        dual = student.make("autodiff.Dual", v, 2.0)
        out = student.call(f"autodiff.{name}", dual)
        kind = getattr(out, "type_name", type(out).__name__)
        if r.require(kind.endswith("Dual"), f"{name}(Dual(0.7, 2.0)) returned {kind}, expected a Dual"):
            r.scalar(f"{name}(Dual(0.7, 2.0)).value", student.attr(out, "value"), fn(v), rtol=1e-12)
            r.scalar(f"{name}(Dual(0.7, 2.0)).deriv (chain rule: 2 * {name}'(0.7))", student.attr(out, "deriv"),
                     2.0 * dfn(v), rtol=1e-12)
        var = student.make("autodiff.Var", v)
        out = student.call(f"autodiff.{name}", var)
        kind = getattr(out, "type_name", type(out).__name__)
        if r.require(kind.endswith("Var"), f"{name}(Var(0.7)) returned {kind}, expected a Var"):
            student.method(out, "backward")
            r.scalar(f"{name}(Var(0.7)).backward(): the input's grad", student.attr(var, "grad"), dfn(v), rtol=1e-12)
    a = student.make("autodiff.Dual", 1.5, 1.0)
    q = student.call_op("truediv", 3.0, student.call_op("mul", a, student.call_op("sub", a, 0.5)))
    r.scalar("Dual: 3 / (a * (a - 0.5)) at a = Dual(1.5, 1.0): deriv", student.attr(q, "deriv"),
             -3.0 * (2 * 1.5 - 0.5) / (1.5 * 1.0) ** 2, rtol=1e-12)
    r.finish()
