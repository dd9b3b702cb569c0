"""The pytest plugin on the toy `outcomes` suite: every outcome appears with its max score."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.discover import discover_module
from engine.results import validate

HERE = Path(__file__).resolve().parent
AUTOGRADER = HERE.parents[1] / "autograder"
OUTCOMES = HERE / "toy" / "outcomes"


def grade(suite: Path, submission: Path, results: Path, *extra: str) -> dict:
    """Run `python -m engine.grade` as a student would; return the results it wrote."""
    proc = subprocess.run([sys.executable, "-m", "engine.grade", "--submission", str(submission),
                           "--suite", str(suite), "--results", str(results), *extra],
                          cwd=AUTOGRADER, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(results.read_text())
    validate(data)
    return data


@pytest.fixture(scope="module")
def outcome_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("outcomes")
    sub = tmp / "sub"
    sub.mkdir()
    (sub / "arith.py").write_text("def add(a, b):\n    return a + b\n")  # answers.toml is missing
    res = grade(OUTCOMES, sub, tmp / "results.json")
    return {t.get("number", t["name"]): t for t in res["tests"]}, res


def entry(outcome_results, number):
    return outcome_results[0][number]


@pytest.mark.parametrize("number, max_score, status, score, text", [
    ("1.1", 1, "passed", 1, ""),
    ("1.2", 2, "failed", 0, "add(1, 2): expected 4, got 3"),
    ("1.3", 3, "failed", 0, "assert total == 6"),
    ("1.4", 4, "failed", 0, "`ZeroDivisionError`: division by zero"),
    ("1.5", 5, "failed", 0, "could not start because of an unexpected `RuntimeError`: fixture exploded"),
    ("1.6", 6, "failed", 0, "Not run (skipped): not ready"),
    ("1.7", 7, "failed", 0, "Expected to fail: known bug"),
    ("1.8", 8, "passed", 8, ""),
    ("1.9", 9, "failed", 0, "skipped at run time"),
    ("5.1", 3, "failed", 0, "`answers.toml` was not found in your submission"),
    ("5.2", 1, "passed", 1, ""),
    ("6.1", 2, "failed", 0, "Something is off."),
    ("9.1", 1, "passed", 1, "format only here; the real score comes from elsewhere"),
    ("9.2", 1, "failed", 0, "what was tried\n\nwhat went wrong"),
])
def test_every_outcome_is_listed_with_its_max_score(outcome_results, number, max_score, status,
                                                    score, text):
    t = entry(outcome_results, number)
    assert (t["max_score"], t["status"], t["score"]) == (max_score, status, score)
    assert text in t["output"]
    assert t["output_format"] == "md"


def test_failure_messages_hide_trusted_internals(outcome_results):
    for t in outcome_results[0].values():
        assert "Traceback" not in t["output"] and "/toy/" not in t["output"], t
    assert "42" not in entry(outcome_results, "6.1")["output"]  # @hide_errors replaces the message


def test_partial_credit_is_per_case_and_never_leaks(outcome_results):
    cases = [entry(outcome_results, f"2.1.{k}") for k in range(1, 5)]
    assert [c["name"] for c in cases] == [f"Partial credit [{i}]" for i in ("4", "0", "None", "1")]
    assert [c["score"] for c in cases] == [4, 0, 4, 1]  # case 3 sets nothing: full, not case 2's 0
    assert [c["status"] for c in cases] == ["passed", "failed", "passed", "failed"]
    assert all(c["max_score"] == 4 for c in cases)


def test_leaderboard_metadata_visibility_and_timing(outcome_results):
    by_number, res = outcome_results
    assert res["leaderboard"] == [{"name": "speed", "value": 12.5, "order": "asc"}]
    assert entry(outcome_results, "3.1")["status"] == "passed"
    assert entry(outcome_results, "6.2")["visibility"] == "hidden"
    assert entry(outcome_results, "1.1")["tags"] == ["basics"]
    assert isinstance(res["execution_time"], float) and res["execution_time"] >= 0


def test_dependency_hint_only_when_the_named_test_failed(outcome_results):
    assert entry(outcome_results, "4.1")["output"].startswith(
        "This fails because `Failing test` fails; fix that first.")
    assert entry(outcome_results, "4.2")["output"] == "own fault"


def test_module_that_fails_to_import_is_listed_statically(outcome_results):
    static = {n: entry(outcome_results, n) for n in ("7.1", "7.2.1", "7.2.2", "7.2.3", "7.3")}
    assert [t["max_score"] for t in static.values()] == [2, 1.5, 1.5, 1.5, 1]
    assert static["7.1"]["name"] == "Static one"
    assert static["7.2.2"]["visibility"] == "after_published"
    assert all(t["score"] == 0 and "problem in the autograder" in t["output"] for t in static.values())


def test_collection_error_and_unreadable_module_keep_their_points(outcome_results):
    assert [entry(outcome_results, n)["max_score"] for n in ("8.1.1", "8.1.2", "8.2")] == [2, 2, 1]
    fallback = entry(outcome_results, "Tests in sub/test_unreadable.py")
    assert fallback["max_score"] == 7 and fallback["score"] == 0  # from [module_weights]


def test_totals(outcome_results):
    by_number, res = outcome_results
    assert len(by_number) == 31
    assert sum(t["max_score"] for t in by_number.values()) == 93.5
    assert res["score"] == sum(t["score"] for t in by_number.values()) == 21


def test_static_discovery_agrees_with_collection(outcome_results):
    """What `ast` reads from a module equals what pytest collects from it."""
    static = discover_module(OUTCOMES / "test_outcomes.py", "test_outcomes.py")
    listed = {}
    for t in static:
        for k in range(1, t.cases + 1):
            listed[f"{t.number}.{k}" if t.parametrized else t.number] = (t.weight, t.visibility)
    collected = {n: (e["max_score"], e["visibility"]) for n, e in outcome_results[0].items()
                 if n[0] in "1234569"}
    assert listed == collected


def test_broken_suite_conftest_still_lists_every_test(tmp_path):
    suite = tmp_path / "suite"
    shutil.copytree(OUTCOMES, suite)
    (suite / "conftest.py").write_text("raise ImportError('the suite itself is broken')\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    res = grade(suite, sub, tmp_path / "results.json")
    assert sum(t["max_score"] for t in res["tests"]) == 93.5
    assert res["score"] == 0 and len(res["tests"]) == 31
    assert all("problem in the autograder" in t["output"] for t in res["tests"])


def test_time_budget_marks_later_tests_not_run(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "assignment.toml").write_text(
        '[assignment]\npackage = "toypkg"\nstudent_files = ["arith.py"]\n'
        '[limits]\ntime_budget_seconds = 0.3\nhard_deadline_seconds = 30\n')
    (suite / "test_slow.py").write_text(
        "import time\nfrom gradescope_utils.autograder_utils.decorators import weight\n\n"
        "@weight(1)\ndef test_slow():\n    time.sleep(0.5)\n\n"
        "@weight(2)\ndef test_after():\n    pass\n")
    res = grade(suite, tmp_path, tmp_path / "results.json")
    slow, after = res["tests"]
    assert slow["status"] == "passed"
    assert after["max_score"] == 2 and after["score"] == 0
    assert "time budget ran out" in after["output"]


LISTING = """
import json, sys
from pathlib import Path
from engine.config import load_config
from engine.plugin import GradingPlugin, run_suite
config = load_config(sys.argv[1])
plugin = GradingPlugin(suite_dir=config.suite_dir, test_paths=[config.suite_dir], mode="local",
                       module_weights=config.module_weights, log=lambda m: None)
run_suite(plugin, verbose=False, collect_only=True)
print(json.dumps([[r.key, r.number, r.max_score, r.visibility] for r in plugin.records.values()]))
"""


def collected(suite: Path) -> list:
    proc = subprocess.run([sys.executable, "-c", LISTING, str(suite)], cwd=AUTOGRADER,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.parametrize("suite", [HERE / "toy" / "suite", AUTOGRADER / "suite"], ids=["toy", "backprop"])
def test_every_module_keeps_its_points_if_it_cannot_be_imported(suite):
    """For each suite module: the tests `ast` finds (or, failing that, its [module_weights] entry)
    carry exactly the points pytest collects, so an import error never shrinks the maximum."""
    from engine.config import load_config
    from engine.discover import StaticDiscoveryError
    weights = load_config(suite).module_weights
    by_module: dict = {}
    for key, number, max_score, visibility in collected(suite):
        by_module.setdefault(key.split("::")[0], []).append((number, max_score, visibility))
    assert by_module, "the suite has no tests"
    for module, tests in by_module.items():
        try:
            static = discover_module(suite / module, module)
        except StaticDiscoveryError as exc:
            assert weights.get(module) == pytest.approx(sum(t[1] for t in tests)), (
                f"{module}: {exc}; add `\"{module}\" = {sum(t[1] for t in tests)}` to [module_weights]")
            continue
        listed = [(f"{t.number}.{k}" if t.parametrized and t.number else t.number, t.weight, t.visibility)
                  for t in static for k in range(1, t.cases + 1)]
        assert sorted(listed, key=str) == sorted(tests, key=str), module
