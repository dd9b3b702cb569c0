"""Visible tests: each hands the student's recorder a value the student may see."""
import time

import pytest
from gradescope_utils.autograder_utils.decorators import number, weight


@weight(1)
@number("1.1")
def test_first_visible(sandbox, mark):
    """the recorder takes a visible value"""
    mark(sandbox.call("spypkg.spy.record", "visible-one"))


@weight(1)
@number("1.2")
def test_second_visible(sandbox, mark):
    """the recorder takes another visible value"""
    mark(sandbox.call("spypkg.spy.record", "visible-two"))


@weight(1)
@number("1.3")
@pytest.mark.depends_on("test_hidden_fails")
def test_visible_depends_on_hidden(sandbox, mark):
    """a visible test that (wrongly) depends on a hidden one"""
    mark(sandbox.call("spypkg.spy.record", "visible-three"))
    raise AssertionError("own failure")


@pytest.fixture
def slow_teardown():
    yield
    time.sleep(1.0)  # the worker prints meanwhile: after this test's report, before the next test


@weight(1)
@number("1.4")
def test_last_visible(sandbox, mark, slow_teardown):
    """the recorder prints again after the call returned"""
    mark(sandbox.call("spypkg.spy.record_then_print_late", "visible-four", 0.1))
