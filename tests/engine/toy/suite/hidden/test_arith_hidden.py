"""Hidden tests of the toy package (need the reference, so Gradescope only)."""
import numpy as np
import pytest
from gradescope_utils.autograder_utils.decorators import number, partial_credit, visibility, weight


@weight(2)
@number("3.1")
@visibility("hidden")
@pytest.mark.submission_files("arith.py")
def test_add_matches_reference(sandbox, reference):
    """add agrees with the reference on random integers"""
    rng = np.random.default_rng(7)
    for a, b in rng.integers(-100, 100, size=(5, 2)).tolist():
        got = sandbox.call("toypkg.arith.add", a, b)
        assert got == reference.add(a, b), f"add({a}, {b}): expected {reference.add(a, b)}, got {got!r}"


@partial_credit(4)
@number("3.2")
@visibility("hidden")
@pytest.mark.submission_files("arith.py")
def test_mean_partial(sandbox, reference, set_score=None):
    """mean on four arrays, one point each"""
    arrays = [np.arange(n, dtype=float) for n in (1, 2, 5, 10)]
    good = 0
    for x in arrays:
        try:
            good += sandbox.call("toypkg.arith.mean", x) == pytest.approx(reference.mean(x))
        except Exception:  # a crash on one array costs that array only
            pass
        set_score(good)
    assert good == len(arrays), f"mean: {good} of {len(arrays)} arrays right"


@weight(1)
@number("3.3")
@visibility("after_published")
@pytest.mark.submission_files("answers.toml")
def test_answer_key(answers, answer_key):
    """the answer matches the key"""
    assert answers.get("answer") == answer_key["answer"], "`answer` is not the expected value"
