"""A student function that has timed out is not called again in the same grading.

When a call into the worker runs past its timeout, the worker is killed and the request's
*targets* are remembered: the student's callables it calls (dotted names inside the student's
packages, methods and attributes of objects whose type is theirs, functions and operators
used by traced functions). A later request whose targets include every target of a request
that timed out is not sent: it fails at once with `NotCalledAgain`, naming the function and
the test where it timed out. So a function that loops forever costs one timeout per grading,
not one per test, and a submission whose every function loops is graded in a few timeouts.

The rule is sound when a function hangs whatever its input: a later request that calls all
that the timed-out one called calls the culprit too. A request that calls less (say
`gradient` of a function using `+` only, after one using `+` and `*` hung) is still sent.

A `Budget` timeout is the test's measure, not a guard against hangs (training must fit in the
dataset's time budget, and another dataset's settings may fit): running past it is not
remembered. Requests with a budget are checked like any other.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterator

from engine.remote import Attr, Budget, Call, Func, Ref
from engine.sandbox import CallTimeout
from engine.tracing import TracedFn


class NotCalledAgain(CallTimeout):
    """A request was not sent: what it calls timed out earlier in this grading."""


@dataclasses.dataclass(frozen=True)
class TimedOut:
    """A request that ran past its timeout: its targets, its limit (s) and the test it was in."""

    targets: frozenset
    limit: float
    test: str            # "1.3 Linear forward", for messages
    visible: bool        # whether that test is shown to the student


def _owner(obj: Any) -> str:
    """A name for the object a method or attribute is taken from."""
    if isinstance(obj, Ref):
        return obj.type_name
    if isinstance(obj, Call):
        return obj.target if type(obj.target) is str else _owner(obj.target) + "()"
    if isinstance(obj, Attr):
        return f"{_owner(obj.obj)}.{obj.name}"
    return type(obj).__name__


def _walk(expr: Any, depth: int = 0) -> Iterator[str]:
    """Every callable `expr` calls or attribute it reads, as dotted names (a Ref's type for
    objects), and "operator NAME" for the operators of traced functions."""
    if depth > 200:
        return
    d = depth + 1
    if isinstance(expr, Call):
        target = expr.target
        if type(target) is str:
            yield target
        elif isinstance(target, Attr):
            yield f"{_owner(target.obj)}.{target.name}"
            yield from _walk(target.obj, d)
        elif isinstance(target, Ref):
            yield f"{target.type_name}.__call__"
        else:
            yield from _walk(target, d)
        for item in (*expr.args, *expr.kwargs.values()):
            yield from _walk(item, d)
    elif isinstance(expr, Attr):
        yield f"{_owner(expr.obj)}.{expr.name}"
        yield from _walk(expr.obj, d)
    elif isinstance(expr, Ref):
        yield expr.type_name          # its methods may run (operators, conversions)
    elif isinstance(expr, Func):
        for node in expr.nodes:
            yield f"operator {node.data[0]}" if node.kind == "op" else node.data[0]
    elif isinstance(expr, TracedFn):
        yield expr.name
    elif isinstance(expr, (list, tuple)):
        for item in expr:
            yield from _walk(item, d)
    elif isinstance(expr, dict):
        for item in expr.values():
            yield from _walk(item, d)


def targets(expr: Any, packages: tuple[str, ...]) -> frozenset:
    """The student's callables (names under `packages`) and traced operators `expr` uses."""
    return frozenset(name for name in _walk(expr)
                     if name.startswith("operator ") or name.split(".")[0] in packages)


def shown(names: frozenset) -> str:
    """`modules.Linear.forward`, or several such, for a message (without the package prefix
    when the names have one)."""
    calls = sorted(n.split(".", 1)[-1] for n in names if not n.startswith("operator "))
    ops = sorted(n.split(" ", 1)[1] for n in names if n.startswith("operator "))
    text = ", ".join(f"`{n}`" for n in calls) or "your code"
    return text + (f" (on a function using the operators {', '.join(ops)})" if ops else "")


class TimeoutLog:
    """What timed out so far in one grading (trusted side; one per GradingPlugin)."""

    def __init__(self, packages: tuple[str, ...]):
        self.packages = tuple(packages)
        self.timed_out: list[TimedOut] = []

    def record(self, expr: Any, limit: float, test: str, visible: bool) -> None:
        found = targets(expr, self.packages)
        named = any(not n.startswith("operator ") for n in found)
        if named and not isinstance(limit, Budget):
            self.timed_out.append(TimedOut(found, float(limit), test, visible))

    def refusal(self, expr: Any, visible: bool) -> NotCalledAgain | None:
        """The exception to raise instead of sending `expr`, or None to send it.

        visible: whether the test about to run is visible (it never names a hidden test)."""
        found = targets(expr, self.packages)
        for entry in self.timed_out:
            if entry.targets <= found:
                where = f"test {entry.test}" if entry.visible or not visible else "an earlier test"
                return NotCalledAgain(
                    f"{shown(entry.targets)} did not finish within {entry.limit:g} s in {where}, "
                    "so it is not called again in this grading: every test that needs it fails "
                    "at once. Look for a loop that never ends there.")
        return None
