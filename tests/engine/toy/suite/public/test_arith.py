"""Public tests of the toy package."""
import pytest
from gradescope_utils.autograder_utils.decorators import number, weight


@weight(2)
@number("1.1")
@pytest.mark.submission_files("arith.py")
def test_add(sandbox):
    """add(2, 3)"""
    got = sandbox.call("toypkg.arith.add", 2, 3)
    assert got == 5, f"add(2, 3): expected 5, got {got!r}"


@weight(1)
@number("1.2")
@pytest.mark.submission_files("arith.py")
@pytest.mark.depends_on("test_add")
@pytest.mark.parametrize("a, b", [(0, 0), (-1, 1), (1.5, 2.25)])
def test_add_cases(sandbox, a, b):
    """add on more inputs"""
    got = sandbox.call("toypkg.arith.add", a, b)
    assert got == a + b, f"add({a}, {b}): expected {a + b}, got {got!r}"


@weight(1)
@number("1.3")
@pytest.mark.submission_files("arith.py")
def test_mean_of_provided_data(sandbox):
    """mean of the provided numbers"""
    data = sandbox.call("toypkg.data.numbers")
    got = sandbox.call("toypkg.arith.mean", data)
    assert got == pytest.approx(2.5), f"mean(numbers()): expected 2.5, got {got!r}"


@weight(1)
@number("2.1")
@pytest.mark.submission_files("answers.toml")
def test_answer_format(answers):
    """answers.toml has an integer `answer`"""
    value = answers.get("answer")
    assert isinstance(value, int), f"`answer` in answers.toml: expected an integer, got {value!r}"
