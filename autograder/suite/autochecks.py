"""Checks of the autodiff part, shared by the public and hidden tests.

Each test expression (expressions.py) is traced into a Func that runs in the worker with
the student's Var / Dual and sin/cos/exp/log; the expected value and partials come from
expressions.expected (complex-step derivatives). A failure names the expression and the
partial; for graphs with shared subexpressions it also says whether the result matches a
backward that overwrites gradients or lets a shared node's gradient flow out twice, when the
caller passes those bugs' partials (``bugs``: from imitations.reverse_mode_bugs on the hidden
side, from public/fixtures.npz in the public tests).
"""

import math

import expressions as E
import opbugs
from backends import StudentError
from checking import Report

RTOL = 1e-9

SHARED_NOTE = ("this expression uses a subexpression more than once; the result matches a backward that ")
BUG_TEXT = {"overwrite": SHARED_NOTE + "OVERWRITES a node's grad (v.grad = ...) instead of adding to it "
                                       "(v.grad += ...): shared subexpressions must accumulate",
            "twice": SHARED_NOTE + "visits a shared node more than once (its gradient is passed on once per "
                                   "path): visit each node exactly once, in reverse topological order"}

# seconds for one call on a traced graph: the longest (10,000 steps) takes 0.1 s with the reference;
# past it, what was called is not called again (engine.timeouts)
GRAPH_TIMEOUT = 10


def _suspects(bugs, index):
    """{diagnosis: wrong partial} for the classic reverse-mode bugs (bugs: {mode: partials})."""
    out = {}
    for mode, partials in (bugs or {}).items():
        value = float(partials[index])
        if not math.isnan(value):
            out[BUG_TEXT[mode]] = value
    return out


SHARED_FALLBACK = ("this expression uses a subexpression more than once, and the operators alone are right: "
                   "each node must be visited exactly once, after every node that uses it (reverse "
                   "topological order), and its grad must accumulate (+=) the contributions of all its uses")


def check_reverse(r, student, func_cls, expr, operators_ok=False, bugs=None):
    """gradient(f, *point): a tuple with every partial.

    operators_ok: the per-operator tests passed, so a wrong result on a shared graph is
    blamed on the handling of shared subexpressions when nothing more specific fits.
    bugs: {"overwrite" | "twice": the partials those reverse-mode bugs give} (shared graphs).
    """
    _, want = E.expected(expr)
    call = f"gradient(f, {', '.join(f'{v:g}' for v in expr.point)}) for f = {expr.name}"
    if expr.note:
        call += f" ({expr.note})"
    traced = E.traced(expr, func_cls)
    _check_graph(r, student, traced, expr)
    got = student.call("autodiff.gradient", traced, *expr.point, timeout=GRAPH_TIMEOUT)
    if not isinstance(got, tuple) or len(got) != len(want):
        r.fail(f"{call} returned {_describe(got)}; expected a tuple of {len(want)} floats")
        return
    for i, (g, w) in enumerate(zip(got, want)):
        r.scalar(f"{call}: partial {i + 1} of {len(want)}", g, w, rtol=RTOL,
                 suspects={**opbugs.suspects(expr, i, "Var"),
                           **_suspects(bugs if expr.shared else None, i)},
                 fallback=SHARED_FALLBACK if expr.shared and operators_ok else None)


def _check_graph(r, student, traced, expr):
    """f applied to Var inputs directly: the output node's .value (the forward pass of reverse mode)."""
    value, _ = E.expected(expr)
    inputs = [student.make("autodiff.Var", v) for v in expr.point]
    what = f"f({', '.join(f'Var({v:g})' for v in expr.point)}) for f = {expr.name}"
    out = student._run(what, student.sb.call, traced, *inputs, keep=True, timeout=GRAPH_TIMEOUT)
    r.scalar(f"{what}: .value of the output node", student.attr(out, "value"), value, rtol=RTOL)


def check_forward(r, student, func_cls, expr):
    """derivative(f, *point, wrt=i) for every input i."""
    _, want = E.expected(expr)
    traced = E.traced(expr, func_cls)
    for i, w in enumerate(want):
        call = f"derivative(f, {', '.join(f'{v:g}' for v in expr.point)}, wrt={i}) for f = {expr.name}"
        if expr.note:
            call += f" ({expr.note})"
        got = student.call("autodiff.derivative", traced, *expr.point, wrt=i, timeout=GRAPH_TIMEOUT)
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            r.fail(f"{call} returned {_describe(got)}; expected a float")
            continue
        r.scalar(call, got, w, rtol=RTOL, suspects=opbugs.suspects(expr, i, "Dual"))


def _describe(value):
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)}"
    return getattr(value, "type_name", type(value).__name__)


def operators_ok(student, func_cls):
    """True if reverse mode gets every single-operator expression right (checked quietly)."""
    r = Report("operators")
    try:
        for expr in E.OPERATORS:
            check_reverse(r, student, func_cls, expr)
    except StudentError:
        return False
    return not r.failures
