"""Explain a test's failure to the student, in Markdown, without leaking trusted-side internals.

The suite's assertion messages already say what was tried, expected and got;
they are shown as written. An exception raised by the student's code in the
worker (`engine.remote.RemoteError`) is shown with its type, message and the
worker-side traceback (the student's own files). A crash or a timeout of the
worker is named as such. Any other exception is a trusted-side error: the
student sees its type and message only, never our traceback or our paths.
"""
from __future__ import annotations

import traceback
from typing import Any

import pytest

from engine.escape import block, code

MAX_TRACEBACK_LINES = 25


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _first_line_of_assert(excinfo: Any) -> str:
    """The source of the failing `assert` statement, from the innermost frame in the test."""
    try:
        entry = excinfo.traceback[-1]
        return str(entry.statement).strip()
    except Exception:  # no source available: say nothing rather than guess
        return ""


def _tail(text: str) -> str:
    lines = text.rstrip().splitlines()
    if len(lines) > MAX_TRACEBACK_LINES:
        lines = ["..."] + lines[-MAX_TRACEBACK_LINES:]
    return "\n".join(lines)


def describe_remote(exc: BaseException) -> str:
    """A RemoteError (the student's code raised in the worker), as Markdown."""
    type_name = getattr(exc, "type_name", "Exception")
    message = str(getattr(exc, "message", "") or "")
    if type_name == "NotImplementedError":
        return "Not implemented yet" + (f": {_quoted(message)}" if message else ".")
    text = f"Your code raised {code(type_name, 200)}" + (f": {_quoted(message)}" if message else ".")
    tb = getattr(exc, "traceback_text", "") or ""
    return text + ("\n\n" + block(_tail(tb)) if tb.strip() else "")


def _quoted(message: str) -> str:
    """A message from the student's code: one short line as text (engine.escape's exit makes
    its markup inert), anything longer in a code block."""
    one_line = "\n" not in message.strip() and len(message) <= 300
    return message.strip() if one_line else "\n\n" + block(message, 4000)


def describe(exc: BaseException, excinfo: Any = None, when: str = "call") -> str:
    """Markdown saying why a test failed, for an exception raised while it ran.

    when: "setup" (in a fixture, before the test body) or "call".
    """
    names = _class_names(exc)
    if "RemoteError" in names:
        return describe_remote(exc)
    if "NotCalledAgain" in names:
        return f"Not run: {exc}"
    if "CallTimeout" in names:
        return f"Your code did not finish in time: {exc}"
    if "WorkerFailure" in names:
        return f"The process running your code stopped unexpectedly: {exc}"
    if isinstance(exc, AssertionError):
        message = str(exc).strip()
        if message:
            return message
        statement = _first_line_of_assert(excinfo) if excinfo is not None else ""
        return "A check failed" + (f":\n\n{block(statement)}" if statement else ".")
    if isinstance(exc, (pytest.fail.Exception, pytest.skip.Exception)):
        return str(getattr(exc, "msg", None) or exc).strip() or "The test failed."
    message = str(exc).strip()
    verb = "could not start" if when == "setup" else "stopped"
    return (f"The test {verb} because of an unexpected `{type(exc).__name__}`"
            + (f": {message}" if message else "."))


def instructor_traceback(exc: BaseException) -> str:
    """The full trusted-side traceback, for the instructor log (stdout) only."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
