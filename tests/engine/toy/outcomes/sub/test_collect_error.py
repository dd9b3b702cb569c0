"""Collection fails (parametrize ids do not match its values): the module's tests are listed statically."""
import pytest
from gradescope_utils.autograder_utils.decorators import number, weight


@weight(2)
@number("8.1")
@pytest.mark.parametrize("x", [1, 2], ids=["only-one-id"])
def test_bad_param(x):
    pass


@weight(1)
@number("8.2")
def test_fine():
    pass
