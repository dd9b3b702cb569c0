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
import time

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
    log = student.evaluation_log()
    traced = student.keep(E.traced(expr, func_cls, log=log), f"sending f = {expr.name}")  # sent once, used twice
    _check_graph(r, student, traced, expr)
    before = len(student.evaluations(log))
    got = student.call("autodiff.gradient", traced, *expr.point, timeout=GRAPH_TIMEOUT)
    check_evaluated_once(r, call, student.evaluations(log)[before:])
    if not isinstance(got, tuple) or len(got) != len(want):
        r.fail(f"{call} returned {_describe(got)}; expected a tuple of {len(want)} floats")
        return
    for i, (g, w) in enumerate(zip(got, want)):
        r.scalar(f"{call}: partial {i + 1} of {len(want)}", g, w, rtol=RTOL,
                 suspects={**opbugs.suspects(expr, i, "Var"),
                           **_suspects(bugs if expr.shared else None, i)},
                 fallback=SHARED_FALLBACK if expr.shared and operators_ok else None)


def check_evaluated_once(r, call, kinds):
    """Reverse mode evaluates f once, on Vars: kinds are the classes of f's first argument, one per
    evaluation that gradient() made."""
    if kinds == ["Var"]:
        return
    how = "never evaluated f" if not kinds else (
        f"evaluated f {len(kinds)} time{'s' if len(kinds) > 1 else ''}, its first argument a "
        + ", ".join(dict.fromkeys(kinds)))
    cause = ("evaluating f once per input on Dual numbers is forward mode (that is derivative's job)"
             if "Dual" in kinds else
             "evaluating f at nudged numbers is finite differences" if set(kinds) & {"float", "int", "complex"}
             else "f must be called on Var inputs")
    r.fail(f"{call}: gradient() {how}. Reverse mode evaluates f ONCE, on Var inputs, and one backward pass "
           f"from the output gives every partial; {cause}.")


ONE_PASS_FLOOR, ONE_PASS_RATIO = 2.0, 50  # seconds; times one evaluation of f (derivative's cost)


def _wide(ops):
    """f(x_1, ..., x_n) = sum_i x_i * x_(i+1): n inputs, about 2n nodes; df/dx_i = x_(i-1) + x_(i+1)."""
    def f(*xs):
        total = xs[0] * xs[1]
        for a, b in zip(xs[1:-1], xs[2:]):
            total = total + a * b
        return total
    return f


def check_one_pass(r, student, func_cls, inputs):
    """gradient() on `inputs` (thousands of) inputs costs about one evaluation of f, not one pass per input.

    The yardstick is the student's own derivative(f, ..., wrt=0) (forward mode: one evaluation of
    f on Duals); gradient gets ONE_PASS_RATIO times that, and at least ONE_PASS_FLOOR seconds.
    A correct reverse mode in any style takes a few times one evaluation; walking the graph once
    per input takes thousands.
    """
    point = tuple(0.5 + 0.001 * ((7 * i) % 13) for i in range(inputs))
    expr = E.Expression(f"sum of x_i * x_(i+1) over {inputs:,} inputs", _wide, point, shared=True)
    traced = student.keep(E.traced(expr, func_cls), f"sending f = {expr.name}")  # timed calls send a Ref
    call = f"gradient(f, x_1, ..., x_{inputs}) for f = {expr.name}"
    forward = None
    try:
        started = time.perf_counter()
        student.call("autodiff.derivative", traced, *point, wrt=0, budget=ONE_PASS_FLOOR)
        forward = time.perf_counter() - started
    except StudentError:
        pass  # derivative is broken or slow: the floor alone
    budget = max(ONE_PASS_FLOOR, ONE_PASS_RATIO * (forward or 0.0))
    try:
        got = student.call("autodiff.gradient", traced, *point, budget=budget)
    except StudentError as exc:
        if exc.type_name != "CallTimeout":
            raise
        one = "" if forward is None else f", while one evaluation of f (derivative(f, ..., wrt=0)) takes {forward * 1000:.0f} ms"
        r.fail(f"{call} did not finish within {budget:.1f} s{one}. One backward pass from the output gives all "
               f"{inputs:,} partials for about the cost of evaluating f; walking the graph (or calling "
               f"backward) once per input costs {inputs:,} passes. Run backward once and read every "
               "input's .grad.")
        return
    if not isinstance(got, tuple) or len(got) != inputs:
        r.fail(f"{call} returned {_describe(got)}; expected a tuple of {inputs:,} floats")
        return
    want = [(point[i - 1] if i else 0.0) + (point[i + 1] if i + 1 < inputs else 0.0) for i in range(inputs)]
    wrong = [i for i, (g, w) in enumerate(zip(got, want))
             if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isclose(g, w, rel_tol=RTOL)]
    if wrong:
        i = wrong[0]
        r.fail(f"{call}: {len(wrong)} partials are wrong, the first df/dx_{i + 1} = {got[i]!r}, expected {want[i]!r} "
               "(x_i next to x_(i-1) and x_(i+1))")


def check_deep(r, student, func_cls, expr):
    """check_reverse on a graph thousands of nodes deep, naming a recursion limit if one is hit."""
    try:
        check_reverse(r, student, func_cls, expr)
    except StudentError as exc:
        if exc.type_name != "RecursionError":
            raise
        raise AssertionError(f"{exc}\n\nLikely cause: a recursive topological sort (or recursive backward) "
                             "exceeds Python's recursion limit on a graph this deep; use an explicit "
                             "stack.") from None


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
