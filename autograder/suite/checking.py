"""Collect the checks of one grading test and fail once, with every problem explained.

    r = Report("Linear(3, 5) forward")
    r.compare("forward(x (4, 3))", got, expected, batch=4)
    r.unchanged("x", x, x_after, "Linear(3, 5).forward(x (4, 3))")
    r.finish()   # raises AssertionError listing the failures, if any

Each failure message comes from diagnose.compare: what was called, the largest error
and where, and the likely bug.
"""

import pytest

import diagnose

MAX_SHOWN = 4


class Report:
    """The failures of one test, in the order found."""

    def __init__(self, title=""):
        self.title = title
        self.failures = []

    def fail(self, text):
        self.failures.append(text)
        return False

    def require(self, condition, text):
        """Record `text` as a failure if `condition` is false; return the condition."""
        return True if condition else self.fail(text)

    def compare(self, what, got, expected, **options):
        """diagnose.compare(got, expected, **options); record the explanation on failure."""
        c = diagnose.compare(got, expected, **options)
        return True if c.ok else self.fail(c.explain(what))

    def scalar(self, what, got, expected, **options):
        """Compare one number (a loss value, a partial derivative)."""
        c = diagnose.scalar_diagnosis(got, expected, **options)
        return True if c.ok else self.fail(c.explain(what))

    def unchanged(self, name, before, after, call):
        """The input `name` sent to `call` must be unchanged after it."""
        msg = diagnose.mutation(before, after, name)
        return True if msg is None else self.fail(f"{call}: {msg}")

    def finish(self):
        if not self.failures:
            return
        shown = self.failures[:MAX_SHOWN]
        more = len(self.failures) - len(shown)
        text = "\n\n".join(shown)
        if more:
            text += f"\n\n({more} more problem{'s' if more > 1 else ''} of the same test not shown)"
        raise AssertionError(text)


def after(case, *tests):
    """A parametrize case that depends on the same case of other tests: after("Tanh", "test_f")
    is pytest.param("Tanh") marked depends_on("test_f[Tanh]") (see the engine's plugin)."""
    return pytest.param(case, marks=pytest.mark.depends_on(*(f"{t}[{case}]" for t in tests)))
