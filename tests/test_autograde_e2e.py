"""The whole Gradescope flow on this machine (python -m engine.autograde): autograder zip ->
AUTOGRADER_ROOT -> run_autograder -> results.json, on the real suite.

- the reference solution scores every test's max_score, and the maxima add up to 100;
- the skeleton scores 0 with every test listed, each with the same max_score as for the
  solution, and says why each one failed;
- a zip upload of the solution scores the same as the folder.
Run as root, the worker runs as an unprivileged throwaway user (see tests/hostile/campaign.py);
otherwise as the current user. The runs are shared with tests/test_hostile.py.
"""
import pytest

from hostile.campaign import campaign  # noqa: F401 (fixture)

AUTOGRADE_RUNS = ("solution", "skeleton", "solution_zip")
TOTAL_POINTS = 100   # SPEC "Grading, in points"


def summary(test: dict) -> tuple:
    return test.get("number"), test["name"][:80], test["output"][:300]


def test_solution_scores_full_marks(campaign):
    run = campaign.get("solution")
    results = run.check()
    assert run.returncode == 0, run.log[-3000:]
    assert [summary(t) for t in results["tests"] if t["status"] != "passed"] == []
    out_of = sum(t["max_score"] for t in results["tests"])
    assert results["score"] == pytest.approx(out_of)
    assert all(t["score"] == t["max_score"] > 0 for t in results["tests"])
    assert out_of == pytest.approx(TOTAL_POINTS)


def test_every_test_has_a_unique_number_and_a_visibility(campaign):
    tests = campaign.get("solution").check()["tests"]
    numbers = [t.get("number") for t in tests]
    assert None not in numbers and len(set(numbers)) == len(numbers)
    assert {t["visibility"] for t in tests} <= {"visible", "after_due_date", "after_published"}
    assert any(t["visibility"] == "visible" for t in tests)


def test_skeleton_scores_zero_with_every_test_listed(campaign):
    solution, skeleton = campaign.get("solution"), campaign.get("skeleton")
    results = skeleton.check()
    def listing(run):
        return {k: (t["name"], t["max_score"], t["visibility"]) for k, t in run.tests().items()}
    assert listing(skeleton) == listing(solution)
    assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(TOTAL_POINTS)
    assert [summary(t) for t in results["tests"] if t["score"] > 0] == []
    assert results["score"] == 0
    assert all(t["status"] == "failed" and t["output"].strip() for t in results["tests"])


def test_solution_uploaded_as_a_zip_scores_like_the_folder(campaign):
    folder, upload = campaign.get("solution"), campaign.get("solution_zip")
    assert {k: t["score"] for k, t in upload.tests().items()} == \
           {k: t["score"] for k, t in folder.tests().items()}
    assert "hw/backprop/modules.py" in upload.check()["output"]   # intake says which file it used
