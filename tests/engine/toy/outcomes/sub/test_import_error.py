"""Fails to import; its tests are listed from the source (literal decorator arguments)."""
import pytest
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import toy_module_that_does_not_exist  # noqa: F401


@weight(2)
@number("7.1")
def test_static_one():
    """Static one"""


@weight(1.5)
@number("7.2")
@visibility("after_published")
@pytest.mark.parametrize("x", [1, 2, 3])
def test_static_param(x):
    pass


class TestGroup:
    @weight(1)
    @number("7.3")
    def test_in_class(self):
        pass
