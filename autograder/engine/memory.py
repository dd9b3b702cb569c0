"""When a test failed because the student's code ran out of memory, and what it then says.

Trusted side, used by engine.plugin (see its docstring, "Memory"). Out of memory means: a
`RemoteError` whose type is `MemoryError` in the failure's exception chain, or the worker
SIGKILLed while the kernel's OOM-kill counter rose (engine.resources.oom_kill_count).
"""
from __future__ import annotations


MEMORY_TEXT = ("**Your code used more than {limit} during test {test}.** That is the memory your "
               "code may use on this grader{cause}. This test failed because of it; the next "
               "tests run in a fresh process.")
SIGKILL_WORDS = "killed by signal 9 (SIGKILL)"


def _exception_chain(exc: BaseException | None, limit: int = 20) -> list[BaseException]:
    """`exc` and the exceptions it was raised from or while handling (cause and context)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < limit:
        e = todo.pop(0)
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [getattr(e, "__cause__", None), getattr(e, "__context__", None)]
    return seen


def _sigkilled(text: str) -> bool:
    """Whether an exit description (engine.sandbox) says SIGKILL by someone other than the
    grader (a timeout) or the CPU limit."""
    return (SIGKILL_WORDS in text and "by the grader" not in text
            and "of CPU time" not in text)


def memory_failure(exc: BaseException | None, oom_rose: bool = False,
                   worker_exit: str = "") -> str | None:
    """Why a failed test ran out of memory: "MemoryError", "SIGKILL", or None if it did not.

    exc: the test's exception; its chain (cause, context) is searched, so a suite helper that
    re-raises a RemoteError as its own error (`raise ... from None` keeps the context) counts.
    "MemoryError": an exception whose `type_name` (RemoteError's, and of suite errors that
    copy it) ends with MemoryError (numpy's `_ArrayMemoryError` too); a MemoryError of the
    grader itself is not the student's. "SIGKILL": the kernel's OOM killer struck while the test
    ran (`oom_rose`) and the worker was SIGKILLed: a WorkerFailure in the chain says so, or
    `worker_exit` (how a worker that ended during the test ended) does.
    """
    chain = _exception_chain(exc)
    for e in chain:
        type_name = getattr(e, "type_name", None)
        if isinstance(type_name, str) and type_name.endswith("MemoryError"):
            return "MemoryError"
    if not oom_rose:
        return None
    texts = [worker_exit] + [str(e) for e in chain if "WorkerFailure" in {
        c.__name__ for c in type(e).__mro__} or getattr(e, "type_name", None) == "WorkerFailure"]
    return "SIGKILL" if any(_sigkilled(t) for t in texts) else None


def memory_text(limit_bytes: int | None, number: str | None, name: str, kind: str) -> str:
    """The message of a test that ran out of memory (kind: what memory_failure said)."""
    limit = f"{limit_bytes >> 20} MB" if limit_bytes else "the memory it may use"
    test = f'{number} "{name}"' if number else f'"{name}"'
    cause = (" (the operating system stopped it when the machine ran out of memory)"
             if kind == "SIGKILL" else "")
    return MEMORY_TEXT.format(limit=limit, test=test, cause=cause)
