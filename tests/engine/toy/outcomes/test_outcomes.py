"""Every outcome kind, each worth a distinct weight so that tests can tell entries apart."""
import pytest
from gradescope_utils.autograder_utils.decorators import (hide_errors, leaderboard, number,
                                                          partial_credit, tags, visibility, weight)


@weight(1)
@number("1.1")
@tags("basics")
def test_passes():
    """Passing test"""
    assert 1 + 1 == 2


@weight(2)
@number("1.2")
def test_fails_with_message():
    """Failing test"""
    got = 3
    assert got == 4, f"add(1, 2): expected 4, got {got}"


@weight(3)
@number("1.3")
def test_fails_bare_assert():
    total = 5
    assert total == 6


@weight(4)
@number("1.4")
def test_raises():
    return 1 / 0


@weight(5)
@number("1.5")
def test_fixture_error(broken_fixture):
    pass


@weight(6)
@number("1.6")
@pytest.mark.skip(reason="not ready")
def test_skipped_by_marker():
    pass


@weight(7)
@number("1.7")
@pytest.mark.xfail(reason="known bug")
def test_xfails():
    assert False


@weight(8)
@number("1.8")
@pytest.mark.xfail(reason="maybe")
def test_xpasses():
    pass


@weight(9)
@number("1.9")
def test_skips_inside():
    pytest.skip("skipped at run time")


@partial_credit(4)
@number("2.1")
@pytest.mark.parametrize("case", [4, 0, None, 1])
def test_partial(case, set_score=None):
    """Partial credit"""
    if case is None:
        return  # passes without calling set_score: full marks
    set_score(case)
    assert case == 4, f"case {case}"


@leaderboard("speed", "asc")
@number("3.1")
def test_leaderboard(set_leaderboard_value=None):
    set_leaderboard_value(12.5)


@weight(2)
@number("4.1")
@pytest.mark.depends_on("test_fails_with_message")
def test_depends_on_failure():
    assert False, "downstream"


@weight(2)
@number("4.2")
@pytest.mark.depends_on("1.1")
def test_depends_on_success():
    assert False, "own fault"


@weight(3)
@number("5.1")
@pytest.mark.submission_files("arith.py", "answers.toml")
def test_needs_files(answer):
    assert answer


@weight(1)
@number("5.2")
@pytest.mark.submission_files("arith.py")
def test_has_files(submission, grading_mode):
    assert submission.has("arith.py") and grading_mode == "local"


@weight(2)
@number("6.1")
@hide_errors("Something is off.")
def test_hidden_message():
    assert False, "secret expected value 42"


@weight(1)
@number("6.2")
@visibility("hidden")
def test_hidden_visibility():
    pass


@weight(1)
@number("9.1")
def test_note_on_a_pass(note):
    note("format only here; the real score comes from elsewhere")


@weight(1)
@number("9.2")
def test_note_before_a_failure(note):
    note("what was tried")
    assert False, "what went wrong"
