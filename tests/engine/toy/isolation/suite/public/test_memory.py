"""Visible tests: one runs out of memory, one is SIGKILLed; the tests after them must not suffer."""
from gradescope_utils.autograder_utils.decorators import number, weight


@weight(1)
@number("3.1")
def test_hog(sandbox, mark):
    """allocates too much"""
    mark(sandbox.call("os.getpid"))
    sandbox.call("spypkg.spy.hog", 400)


@weight(1)
@number("3.2")
def test_after_hog(sandbox, mark):
    """runs after the hog"""
    mark(sandbox.call("spypkg.spy.record", "after-hog"))


@weight(1)
@number("3.3")
def test_sigkill(sandbox, mark):
    """is SIGKILLed"""
    mark(sandbox.call("os.getpid"))
    sandbox.call("spypkg.spy.die")


@weight(1)
@number("3.4")
def test_after_sigkill(sandbox, mark):
    """runs after the SIGKILL"""
    mark(sandbox.call("spypkg.spy.record", "after-kill"))


@weight(1)
@number("3.5")
def test_hog_caught(sandbox):
    """allocates too much, and the test fails in its own words"""
    try:
        got = sandbox.call("spypkg.spy.hog", 400)
    except Exception:  # the suite's own handling: the MemoryError is not in the failure's chain
        got = None
    assert got is not None, "hog(400) gave no result"
