"""Static checks of the grading suite: points per part, public/hidden split, quiz questions, fixtures."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "autograder" / "suite"
sys.path.insert(0, str(ROOT / "autograder"))
sys.path.insert(0, str(SUITE))

from engine.discover import discover_module  # noqa: E402

# SPEC.md's points table, by the first component of the test numbers.
PARTS = {"1": 40, "2": 15, "3": 20, "4": 5, "5": 12, "6": 8}


def _tests():
    found = []
    for path in sorted(SUITE.rglob("test_*.py")):
        rel = path.relative_to(SUITE).as_posix()
        for t in discover_module(path, rel):
            found.append((rel, t))
    return found


def test_points_add_up_per_part_and_in_total():
    per_part, public, hidden = {}, {}, {}
    for rel, t in _tests():
        assert t.weight > 0, f"{rel}::{t.qualname} has no weight"
        assert t.number is not None, f"{rel}::{t.qualname} has no number"
        part = t.number.split(".")[0]
        points = t.weight * t.cases
        per_part[part] = per_part.get(part, 0) + points
        side = public if rel.startswith("public/") else hidden
        side[part] = side.get(part, 0) + points
    assert per_part == pytest.approx(PARTS)
    assert sum(per_part.values()) == pytest.approx(100)
    # every part except the quiz has public and hidden tests, about 40% public
    for part in "12345":
        share = public.get(part, 0) / PARTS[part]
        assert 0.3 <= share <= 0.5, f"part {part}: {share:.0%} public"


def test_visibility_by_folder():
    for rel, t in _tests():
        if rel.startswith("hidden/"):
            assert t.visibility == "after_due_date", f"{rel}::{t.qualname}"
        elif t.number.startswith("6."):
            assert t.visibility == "after_due_date", "quiz results wait for the due date (no key fishing)"
        else:
            assert t.visibility == "visible", f"{rel}::{t.qualname}"


def test_numbers_are_unique():
    numbers = [t.number for _, t in _tests()]
    assert len(numbers) == len(set(numbers))


def test_hidden_tests_do_not_reuse_public_names():
    public = {t.function for rel, t in _tests() if rel.startswith("public/")}
    hidden = {t.function for rel, t in _tests() if rel.startswith("hidden/")}
    assert not public & hidden, "depends_on refers to tests by function name"


def test_quiz_tests_cover_quiz_toml_with_its_points():
    import quizfiles
    path = SUITE / "public" / "test_quiz.py"
    weights = {t.function: t.weight for t in discover_module(path, "public/test_quiz.py")}
    covered = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name in weights:
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "parametrize":
                    for qid in ast.literal_eval(deco.args[1]):
                        covered[qid] = weights[node.name]
    assert covered == {q.id: q.points for q in quizfiles.questions()}


def test_public_fixtures_are_up_to_date():
    """Within public_fixtures.RTOL, not bit for bit: recomputed on another CPU, the floats may differ
    in the last bits (tests/test_fixture_tolerance.py checks the tolerance both ways)."""
    sys.path.insert(0, str(ROOT))
    from tools import public_fixtures
    import cases
    found = public_fixtures.differences(public_fixtures.fresh(), cases.load_fixtures(public_fixtures.OUT))
    assert not found, f"worst: {public_fixtures.worst(found)}; run python -m tools.public_fixtures"


def test_bug_imitations_stay_on_the_hidden_side():
    """imitations.py holds bugged copies of the students' algorithms: nothing the handout ships
    (public tests and what they import) may import it; the public tests read its results from
    public/fixtures.npz instead."""
    sys.path.insert(0, str(ROOT))
    from tools import handout
    shipped = handout.grader_files(ROOT)
    assert "grader/suite/public/test_autodiff.py" in shipped and "grader/suite/imitations.py" not in shipped
    for name, path in shipped.items():
        if name.endswith(".py"):
            assert "imitations" not in handout._imported_modules(path), name


def test_time_limits_table_agrees_with_the_files_it_names():
    """autograder/suite/README.md's "Time limits" table states each limit as the files set it."""
    import autochecks
    import costs
    import pockets
    from engine.config import FINISH_MARGIN_SECONDS, load_config
    from engine.remote import Sandbox
    import inspect
    config = load_config(SUITE)
    limits = config.limits
    budgets = [d["time_budget_seconds"] for d in pockets.thresholds()["datasets"].values()]
    start = inspect.signature(Sandbox).parameters["start_timeout"].default
    expected = {
        "one call into the student's code": f"{config.sandbox['timeout']:g} s",
        "one call on a traced autodiff graph": f"{autochecks.GRAPH_TIMEOUT:g} s",
        "one backward on the large input of `costs.py`": f"{costs.BUDGET_FLOOR:g} s, or "
                                                          f"{costs.BUDGET_RATIO:g} times the forward",
        "gradient() on thousands of inputs": f"{autochecks.ONE_PASS_FLOOR:g} s, or "
                                             f"{autochecks.ONE_PASS_RATIO:g} times one evaluation",
        "training one pocket dataset": ", ".join(f"{b:g}" for b in budgets) + " s",
        "starting a worker": f"{start:g} s",
        "tests may start until": f"{limits.time_budget_seconds:g} s",
        "the whole grading": f"{limits.hard_deadline_seconds:g} s",
        "Gradescope's autograder timeout": f"{limits.gradescope_timeout_seconds:g} s",
    }
    readme = (SUITE / "README.md").read_text(encoding="utf-8")
    rows = {cells[1].strip(): cells[2].strip() for line in readme.splitlines()
            if line.startswith("| ") and len(cells := line.split("|")) > 3}
    assert {k: rows.get(k) for k in expected} == expected
    assert f"at least the hard deadline plus {FINISH_MARGIN_SECONDS} s " \
           f"({limits.gradescope_timeout_needed:g} s here)" in " ".join(readme.split())
