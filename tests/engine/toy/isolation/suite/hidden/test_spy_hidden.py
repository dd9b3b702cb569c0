"""Hidden tests: the values passed here must never reach a visible test's output."""
from gradescope_utils.autograder_utils.decorators import number, visibility, weight


@weight(1)
@number("2.1")
@visibility("after_due_date")
def test_hidden_one(sandbox, mark):
    """the recorder takes a secret value"""
    mark(sandbox.call("spypkg.spy.record", "SECRET-alpha"))


@weight(1)
@number("2.2")
@visibility("hidden")
def test_hidden_fails(sandbox, mark):
    """the recorder takes another secret value, and the test fails"""
    mark(sandbox.call("spypkg.spy.record", "SECRET-beta"))
    raise AssertionError("hidden failure")


@weight(2)
@number("2.3")
@visibility("after_published")
def test_hidden_last(sandbox, mark):
    """a last secret value"""
    mark(sandbox.call("spypkg.spy.record", "SECRET-gamma"))
