"""results.json: schema validation, invariants, atomic writes, summaries and crash results."""
import copy
import json
import os

import pytest

from engine.results import (ResultsError, TestRecord, build_results, crash_results, validate,
                            write_results)

GOOD = {"score": 3.0, "execution_time": 1.5, "output": "hi", "output_format": "md",
        "tests": [{"name": "t", "score": 1.0, "max_score": 2.0, "status": "failed", "number": "1.2",
                   "visibility": "visible", "output": "x", "output_format": "md", "tags": ["a"]}],
        "leaderboard": [{"name": "speed", "value": 3.5, "order": "asc"}]}


def test_good_results_validate():
    assert json.loads(validate(GOOD)) == GOOD


@pytest.mark.parametrize("path, value, why", [
    (("execution_time",), "1.5", "a string, as JSONTestRunner writes it"),
    (("tests", 0, "status"), "error", "status is passed or failed"),
    (("tests", 0, "visibility"), "secret", "unknown visibility"),
    (("tests", 0, "score"), 2.5, "score above max_score"),
    (("tests", 0, "score"), -1.0, "negative score"),
    (("tests", 0, "max_scor"), 2.0, "misspelt key"),
    (("tests", 0, "number"), "1..2", "malformed number"),
    (("tests", 0, "output"), "x" * 100_001, "longer than Gradescope keeps"),
    (("score",), float("nan"), "NaN is not JSON"),
    (("output_format",), "markdown", "unknown format"),
    (("leaderboard", 0, "order"), "up", "order is asc or desc"),
    (("leaderboard", 0, "value"), [1], "value is a number or a string"),
])
def test_schema_rejects(path, value, why):
    bad = copy.deepcopy(GOOD)
    target = bad
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ResultsError):
        validate(bad)


def test_needs_score_or_tests():
    with pytest.raises(ResultsError):
        validate({"output": "nothing else"})
    validate({"score": 0})


def test_test_entry_requires_scores():
    bad = copy.deepcopy(GOOD)
    del bad["tests"][0]["max_score"]
    with pytest.raises(ResultsError, match="max_score"):
        validate(bad)


def test_write_is_atomic_and_keeps_old_file_on_invalid(tmp_path):
    path = tmp_path / "results" / "results.json"
    write_results(GOOD, path)
    assert json.loads(path.read_text()) == GOOD
    bad = copy.deepcopy(GOOD)
    bad["tests"][0]["status"] = "exploded"
    with pytest.raises(ResultsError):
        write_results(bad, path)
    assert json.loads(path.read_text()) == GOOD
    assert os.listdir(path.parent) == ["results.json"]  # no temporary file left behind


def _rec(key, score, max_score, outcome, **kw):
    return TestRecord(key=key, function=key.split("::")[-1], name=kw.pop("name", key),
                      max_score=max_score, score=score, outcome=outcome, **kw)


def test_build_results_dependency_summary_and_leaderboard():
    records = [
        _rec("m::test_base", 0, 2, "failed", output="base broke", number="1.1", name="Base"),
        _rec("m::test_next", 0, 3, "failed", output="next broke", number="1.2",
             depends_on=("test_base",)),
        _rec("m::test_ok", 1, 1, "passed", number="1.3", depends_on=("1.1",)),
        _rec("m::test_secret", 4, 4, "passed", visibility="hidden", leaderboard=("acc", 0.9, "desc")),
    ]
    res = build_results(records, mode="gradescope")
    validate(res)
    by_number = {t.get("number"): t for t in res["tests"]}
    assert by_number["1.2"]["output"].startswith("This fails because `Base` fails; fix that first.")
    assert by_number["1.2"]["output"].endswith("next broke")
    assert by_number["1.1"]["output"] == "base broke"
    assert by_number["1.3"]["status"] == "passed" and "fails because" not in by_number["1.3"]["output"]
    assert res["score"] == 5.0
    assert "Visible tests: 1.0 / 6.0 points" in res["output"] and "4.0 points" in res["output"]
    assert res["leaderboard"] == [{"name": "acc", "value": 0.9, "order": "desc"}]
    assert isinstance(res["execution_time"], float)


def test_a_visible_test_never_names_a_hidden_one():
    """A dependency hint tells a test's name and that it failed: not from a hidden test into a
    visible one (a suite bug the plugin logs), but from a visible test into a hidden one."""
    records = [
        _rec("h::test_secret", 0, 2, "failed", output="secret broke", visibility="after_due_date",
             name="Secret", number="2.1"),
        _rec("p::test_base", 0, 1, "failed", output="base broke", name="Base", number="1.1"),
        _rec("p::test_shown", 0, 1, "failed", output="own fault", number="1.2",
             depends_on=("test_secret",)),
        _rec("h::test_later", 0, 1, "failed", output="later broke", visibility="hidden",
             number="2.2", depends_on=("test_secret", "test_base")),
        _rec("h::test_after_base", 0, 1, "failed", output="x", visibility="hidden", number="2.3",
             depends_on=("1.1",)),
    ]
    tests = {t["number"]: t for t in build_results(records, mode="gradescope")["tests"]}
    assert tests["1.2"]["output"] == "own fault"
    assert tests["2.2"]["output"].startswith("This fails because `Secret` fails")
    assert tests["2.3"]["output"].startswith("This fails because `Base` fails")


def test_partial_score_is_failed_status_and_local_summary():
    res = build_results([_rec("m::t", 1.5, 4, "passed")], mode="local")
    assert res["tests"][0]["status"] == "failed" and res["tests"][0]["score"] == 1.5
    assert "Public tests: 1.5 / 4.0 points" in res["output"] and "Gradescope" in res["output"]


def test_crash_results_are_valid_and_hide_the_traceback():
    res = crash_results("Traceback: /autograder/source/engine/run.py line 1\nBoom", 2.0)
    validate(res)
    assert res["score"] == 0 and "problem on our side" in res["output"]
    assert "Boom" not in res["output"]
    (entry,) = res["tests"]
    assert entry["visibility"] == "hidden" and "Boom" in entry["output"]


def test_summary_says_when_the_later_tests_are_shown():
    records = [_rec("m::a", 1, 1, "passed"),
               _rec("m::b", 0, 2, "failed", visibility="after_due_date"),
               _rec("m::c", 3, 3, "passed", visibility="after_published")]
    text = build_results(records, mode="gradescope")["output"]
    assert "Visible tests: 1.0 / 1.0 points" in text and "worth 5.0 points" in text
    assert "shown after the due date or when grades are published" in text
    only_due = build_results(records[:2], mode="gradescope")["output"]
    assert "shown after the due date." in only_due and "published" not in only_due


def test_results_list_visible_tests_first_in_number_order():
    records = [_rec("m::h2", 1, 1, "passed", visibility="hidden", number="5.2"),
               _rec("m::v10", 1, 1, "passed", number="1.10"),
               _rec("m::free", 1, 1, "passed", number=None),
               _rec("m::h1", 1, 1, "passed", visibility="after_due_date", number="1.1"),
               _rec("m::v9", 1, 1, "passed", number="1.9"),
               _rec("m::v2", 1, 1, "passed", number="2.1")]
    tests = build_results(records, mode="gradescope")["tests"]
    assert [(t.get("number"), t["visibility"]) for t in tests] == [
        ("1.9", "visible"), ("1.10", "visible"), ("2.1", "visible"), (None, "visible"),
        ("1.1", "after_due_date"), ("5.2", "hidden")]


def test_an_unscored_test_counts_no_points_here_and_says_where_it_is_scored():
    records = [_rec("m::a", 2, 2, "passed"),
               TestRecord(key="m::q", function="q", name="quiz", max_score=1.0, score=1.0,
                          outcome="passed", number="6.1", unscored="Format OK, no points here."),
               TestRecord(key="m::r", function="r", name="quiz 2", max_score=0.5,
                          outcome="failed", output="bad format", number="6.2",
                          unscored="Format OK, no points here.")]
    res = build_results(records, mode="local")
    validate(res)
    quiz = {t["number"]: t for t in res["tests"] if t.get("number", "").startswith("6.")}
    assert [(t["score"], t["max_score"], t["status"]) for t in quiz.values()] == [
        (0, 0, "passed"), (0, 0, "failed")]
    assert quiz["6.1"]["extra_data"] == {"unscored": True, "points_elsewhere": 1.0}
    assert quiz["6.2"]["output"].startswith("Format OK, no points here.\n\nbad format")
    assert res["score"] == 2
    assert "Public tests: 2.0 / 2.0 points.** 2 more tests worth 1.5 points were checked but are " \
           "scored only on Gradescope" in res["output"]
