"""Fails to import AND its weights are not literals: the [module_weights] entry (7) stands in."""
from gradescope_utils.autograder_utils.decorators import weight

import toy_module_that_does_not_exist  # noqa: F401

W = 3.5


@weight(W)
def test_a():
    pass


@weight(W)
def test_b():
    pass
