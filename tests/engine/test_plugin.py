"""The pytest plugin on the toy `outcomes` suite: every outcome appears with its max score; on
the toy `isolation` suite: visible tests first, hidden ones in a fresh worker, out-of-memory
messages."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.discover import discover_module
from engine.memory import memory_failure, memory_text
from engine.remote import CallTimeout, RemoteError, WorkerFailure
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


# ------------------------------------------------------------------ visible before hidden, memory

ISOLATION = HERE / "toy" / "isolation"
RUN_PLUGIN = """
import itertools, json, shutil, sys
from pathlib import Path
from engine.config import load_config
from engine.identity import lease_worker
from engine.plugin import GradingPlugin, run_suite
from engine.results import build_results
from engine.session import (SessionSpec, make_work_dir, prepare, sandbox_factory, suite_paths,
                            worker_python)
suite, submission, oom, whole = sys.argv[1:5]
config = load_config(suite)
lease = lease_worker()   # as engine.grade does
work = make_work_dir(lease.user if lease else None)
logs = []
try:
    options = {"user": lease, "python": worker_python(None, lease.user if lease else None)}
    spec = SessionSpec(config=config, submission=Path(submission), work=work, mode="local",
                       sandbox_options=options)
    report = prepare(spec)
    extra = {}
    if oom == "rising":  # every reading higher than the last: the OOM killer struck meanwhile
        extra["oom_counter"] = itertools.count().__next__
    plugin = GradingPlugin(suite_dir=config.suite_dir, test_paths=suite_paths(spec), mode="local",
                           intake=report, sandbox_factory=sandbox_factory(spec),
                           module_weights=config.module_weights, log=logs.append, **extra)
    run_suite(plugin, verbose=False)
    expected = config.total_points if whole == "whole" else None  # some modules dropped
    results = build_results(plugin.finalize(expected), mode="local", intake=report)
finally:
    shutil.rmtree(work, ignore_errors=True)
    if lease is not None:
        lease.release()
print(json.dumps({"results": results, "run_order": plugin.run_order, "logs": logs}))
"""


def run_isolation(tmp_path: Path, drop=(), oom: str = "real", conftest_extra: str = "",
                  add=None) -> dict:
    """Grade the spy submission with a copy of the isolation suite (without the files in `drop`)
    in this machine's conditions (oom="real") or as if every SIGKILL came with an OOM kill
    (oom="rising"). Returns results, run_order (node ids) and the plugin's log lines, plus
    `by_number` (number -> test entry) and `pids`/`order` (number -> what `mark` noted)."""
    suite = tmp_path / "suite"
    shutil.copytree(ISOLATION / "suite", suite)
    for name in drop:
        (suite / name).unlink()
    if conftest_extra:
        with open(suite / "conftest.py", "a") as f:
            f.write(conftest_extra)
    for rel, text in (add or {}).items():   # more test modules
        (suite / rel).write_text(text)
    proc = subprocess.run([sys.executable, "-c", RUN_PLUGIN, str(suite),
                           str(ISOLATION / "submission"), oom, "part" if drop else "whole"],
                          cwd=AUTOGRADER, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    validate(out["results"])
    out["by_number"] = {t["number"]: t for t in out["results"]["tests"]}
    out["pids"], out["order"] = {}, {}
    for number, t in out["by_number"].items():
        m = re.search(r"pid=(\d+) order=(\d+)", t["output"])
        if m:
            out["pids"][number], out["order"][number] = int(m.group(1)), int(m.group(2))
    return out


@pytest.fixture(scope="module")
def isolation(tmp_path_factory):
    return run_isolation(tmp_path_factory.mktemp("isolation"))


def test_nothing_of_a_hidden_test_reaches_a_visible_test(isolation):
    """The student's package prints every value it was ever given, at each call, on stdout and
    stderr, and once more from a thread after the last visible call returned."""
    tests, res = isolation["by_number"], isolation["results"]
    visible = {n: t for n, t in tests.items() if t["visibility"] == "visible"}
    hidden = {n: t for n, t in tests.items() if t["visibility"] != "visible"}
    assert sorted(visible) == ["1.1", "1.2", "1.3", "1.4", "3.1", "3.2", "3.3", "3.4", "3.5"]
    assert sorted(hidden) == ["2.1", "2.2", "2.3"]
    for number, t in visible.items():
        assert "SECRET" not in t["output"] and "test_hidden" not in t["output"], number
    assert "SECRET" not in res["output"] and "SECRET" not in json.dumps(res.get("leaderboard", []))
    # the secrets were printed, in the hidden tests, by a worker that never saw a visible value
    assert "seen: ['SECRET-alpha', 'SECRET-beta', 'SECRET-gamma']" in hidden["2.3"]["output"]
    assert all("visible-" not in t["output"] for t in hidden.values())
    assert "spy imported" in hidden["2.1"]["output"]  # import-time output of the fresh worker
    # printed after the last visible test's call returned: stays with the visible tests
    late = [n for n, t in tests.items() if "late: [" in t["output"]]
    assert late == ["1.4"], late
    # a visible test that depends on a hidden one: logged, and its message does not name it
    assert visible["1.3"]["output"].startswith("pid=")
    assert "fails because" not in visible["1.3"]["output"]
    assert any("depends on" in line and "test_hidden_fails" in line for line in isolation["logs"])
    assert hidden["2.2"]["status"] == "failed" and hidden["2.3"]["score"] == 2


def test_visible_tests_run_first_in_their_own_order(isolation):
    order = isolation["run_order"]
    kinds = ["hidden/" in key for key in order]
    assert kinds == sorted(kinds), order        # every visible test before every hidden one
    assert len(order) == 12
    # pytest's order within each group (public/test_memory.py, public/test_spy.py, hidden/...)
    by_number = sorted(isolation["order"], key=isolation["order"].get)
    assert by_number == ["3.1", "3.2", "3.3", "3.4", "1.1", "1.2", "1.3", "1.4",
                         "2.1", "2.2", "2.3"]   # (3.5 notes nothing)


def test_hidden_tests_run_in_a_fresh_worker(isolation):
    pids = isolation["pids"]
    visible = {pids[n] for n in ("1.1", "1.2", "1.3", "1.4")}
    hidden = {pids[n] for n in ("2.1", "2.2", "2.3")}
    assert len(visible) == 1 and len(hidden) == 1 and visible != hidden, pids


def test_running_out_of_memory_costs_that_test_only(isolation):
    tests, pids = isolation["by_number"], isolation["pids"]
    hog = tests["3.1"]
    assert hog["status"] == "failed" and hog["score"] == 0
    assert 'Your code used more than 256 MB during test 3.1 "allocates too much"' in hog["output"]
    assert "MemoryError" in hog["output"]                  # the student's own error follows
    assert tests["3.2"]["status"] == "passed"
    assert pids["3.2"] != pids["3.1"]                       # the next test got a fresh worker
    assert "seen: ['after-hog']" in tests["3.2"]["output"]
    # a SIGKILL without the OOM killer (this machine's counter did not move) is not "memory"
    kill = tests["3.3"]
    assert kill["status"] == "failed" and "SIGKILL" in kill["output"]
    assert "used more than" not in kill["output"]
    assert tests["3.4"]["status"] == "passed" and pids["3.4"] != pids["3.3"]
    # the suite caught the MemoryError and failed in its own words: the plugin saw the call
    caught = tests["3.5"]["output"]
    assert caught.startswith('**Your code used more than 256 MB during test 3.5 "allocates too')
    assert caught.endswith("hog(400) gave no result")


def test_a_sigkill_with_an_oom_kill_is_reported_as_memory(tmp_path):
    out = run_isolation(tmp_path, drop=["public/test_spy.py", "hidden/test_spy_hidden.py"],
                        oom="rising")
    tests = out["by_number"]
    kill = tests["3.3"]
    assert 'Your code used more than 256 MB during test 3.3 "is SIGKILLed"' in kill["output"]
    assert "operating system stopped it" in kill["output"] and "SIGKILL" in kill["output"]
    assert 'during test 3.1 "allocates too much"' in tests["3.1"]["output"]
    assert [tests[n]["status"] for n in ("3.1", "3.2", "3.3", "3.4")] == [
        "failed", "passed", "failed", "passed"]


@pytest.mark.parametrize("drop, kind", [
    (["hidden/test_spy_hidden.py", "public/test_memory.py"], "visible"),
    (["public/test_spy.py", "public/test_memory.py"], "hidden")])
def test_one_kind_of_tests_only_needs_no_restart(tmp_path, drop, kind):
    out = run_isolation(tmp_path, drop=drop)
    tests = out["by_number"]
    assert len(tests) == (4 if kind == "visible" else 3)
    assert all(t["visibility"] == "visible" for t in tests.values()) == (kind == "visible")
    assert len(set(out["pids"].values())) == 1, out["pids"]     # one worker served them all
    assert "seen: [" in tests["1.4" if kind == "visible" else "2.3"]["output"]


def test_a_visible_test_scheduled_after_a_hidden_one_does_not_run(tmp_path):
    """Something reorders the tests after the plugin: the visible tests that would follow a
    hidden one fail without running (nothing of the hidden phase reaches them)."""
    reorder = ("\n\n@pytest.hookimpl(hookwrapper=True)\n"
               "def pytest_collection_modifyitems(items):\n"
               "    yield\n"
               "    items.sort(key=lambda item: 'hidden/' not in item.nodeid)  # hidden first\n")
    out = run_isolation(tmp_path, drop=["public/test_memory.py"], conftest_extra=reorder)
    tests = out["by_number"]
    assert ["hidden/" in key for key in out["run_order"]][:3] == [True] * 3
    for number in ("1.1", "1.2", "1.3", "1.4"):
        assert tests[number]["status"] == "failed", tests[number]
        assert "problem in the autograder" in tests[number]["output"]
        assert "SECRET" not in tests[number]["output"] and "pid=" not in tests[number]["output"]
    assert any("scheduled after hidden" in line for line in out["logs"])


class SuiteError(AssertionError):
    """What a suite helper raises for a student error (like the backprop suite's StudentError)."""

    def __init__(self, type_name, message):
        super().__init__(f"`f(x)` raised {type_name}: {message}")
        self.type_name = type_name


def raised_from(inner, outer):
    """`outer` raised while handling `inner` with `raise ... from None` (context kept)."""
    try:
        try:
            raise inner
        except Exception:
            raise outer from None
    except Exception as exc:
        return exc


KILLED = "the worker closed the channel; the worker was killed by signal 9 (SIGKILL)"


@pytest.mark.parametrize("exc, oom_rose, worker_exit, expected", [
    (RemoteError("MemoryError", "", "tb"), False, "", "MemoryError"),
    (RemoteError("numpy._core._exceptions._ArrayMemoryError", "Unable to allocate", ""), False,
     "", "MemoryError"),
    (raised_from(RemoteError("MemoryError", "", ""), SuiteError("MemoryError", "")), False, "",
     "MemoryError"),
    (raised_from(RemoteError("MemoryError", "", ""), AssertionError("3 of 4 right")), False, "",
     "MemoryError"),                                   # the test turned it into its own failure
    (MemoryError(), False, "", None),                  # the grader's own: not the student's
    (RemoteError("ValueError", "bad shape", ""), True, "", None),
    (WorkerFailure(KILLED), True, "", "SIGKILL"),
    (WorkerFailure(KILLED), False, "", None),          # no OOM kill: the student's own SIGKILL
    (raised_from(WorkerFailure(KILLED), SuiteError("WorkerFailure", KILLED)), True, "", "SIGKILL"),
    (AssertionError("0 of 4 right"), True, "the worker was killed by signal 9 (SIGKILL)",
     "SIGKILL"),                                       # swallowed by the test, seen by the plugin
    (CallTimeout("the call did not finish within 30 s"), True,
     "the worker was killed by signal 9 (SIGKILL) by the grader", None),
    (WorkerFailure("...; the worker was killed by signal 9 (SIGKILL) after 600.2 s of CPU time "
                   "(limit 600 s)"), True, "", None),
    (WorkerFailure("...; the worker was killed by signal 11 (SIGSEGV)"), True, "", None),
    (None, True, "", None),
])
def test_memory_failure_is_recognised_by_the_exception_and_the_oom_counter(
        exc, oom_rose, worker_exit, expected):
    assert memory_failure(exc, oom_rose, worker_exit) == expected


def test_memory_text_names_the_limit_and_the_test():
    text = memory_text(412 << 20, "5.1", "gradient of sin [x]", "MemoryError")
    assert text.startswith(
        '**Your code used more than 412 MB during test 5.1 "gradient of sin [x]"')
    assert "operating system" in memory_text(1 << 30, None, "t", "SIGKILL")
    assert "during test \"t\"" in memory_text(None, None, "t", "MemoryError")


FREE_TEST = """from gradescope_utils.autograder_utils.decorators import number, visibility, weight


@weight(1)
@number("{number}")
@visibility("{visibility}")
def test_runs_no_student_code():
    \"\"\"like the quiz: no sandbox\"\"\"
    assert True
"""


def test_tests_that_run_no_student_code_come_first_whatever_their_visibility(tmp_path):
    out = run_isolation(tmp_path, add={
        "public/test_zz_free.py": FREE_TEST.format(number="9.1", visibility="visible"),
        "hidden/test_zz_free.py": FREE_TEST.format(number="9.2", visibility="hidden")})
    order = out["run_order"]
    assert order[0].endswith("public/test_zz_free.py::test_runs_no_student_code"), order
    assert order[1].endswith("hidden/test_zz_free.py::test_runs_no_student_code"), order
    first_hidden = next(i for i, key in enumerate(order[2:], 2) if "hidden/" in key)
    assert all("hidden/" in key for key in order[first_hidden:])
    assert all("hidden/" not in key for key in order[2:first_hidden])
    assert out["by_number"]["9.1"]["status"] == out["by_number"]["9.2"]["status"] == "passed"
    # the hidden test that ran first did not start the hidden phase: visible tests kept their
    # output and the hidden ones still got a fresh worker
    assert "seen: ['visible-" in out["by_number"]["1.1"]["output"]
    assert out["pids"]["2.1"] != out["pids"]["1.1"]


# ------------------------------------------------------------------ what timed out is not called again

TIMEOUT_TESTS = {
    "public/test_timeouts.py": '''
from gradescope_utils.autograder_utils.decorators import number, weight
from engine.remote import Budget


@weight(1)
@number("4.1")
def test_spin(sandbox):
    """spins"""
    sandbox.call("spypkg.spy.spin", timeout=1)


@weight(1)
@number("4.2")
def test_spin_again(sandbox, note):
    """spins again"""
    note(f"generation={sandbox.generation}")
    sandbox.call("spypkg.spy.spin", timeout=30)


@weight(1)
@number("4.3")
def test_other_functions_still_run(sandbox, note):
    """records after the spin"""
    note(f"generation={sandbox.generation}")
    assert sandbox.call("spypkg.spy.record", "after-spin") > 0


@weight(1)
@number("4.4")
def test_over_budget(sandbox):
    """naps past its budget"""
    sandbox.call("spypkg.spy.nap", 5, timeout=Budget(0.5))


@weight(1)
@number("4.5")
def test_within_budget(sandbox):
    """naps within its budget"""
    assert sandbox.call("spypkg.spy.nap", 0, timeout=Budget(30)) == 0
''',
    "hidden/test_timeouts_hidden.py": '''
from gradescope_utils.autograder_utils.decorators import number, visibility, weight


@weight(1)
@number("5.1")
@visibility("hidden")
def test_spin_hidden(sandbox):
    """spins in a hidden test"""
    sandbox.call("spypkg.spy.spin", timeout=30)
''',
}


def test_a_function_that_timed_out_is_not_called_again(tmp_path):
    out = run_isolation(tmp_path, drop=["public/test_spy.py", "hidden/test_spy_hidden.py",
                                        "public/test_memory.py"], add=TIMEOUT_TESTS)
    tests = out["by_number"]
    assert tests["4.1"]["status"] == "failed" and "did not finish" in tests["4.1"]["output"]
    again = tests["4.2"]["output"]
    assert tests["4.2"]["status"] == "failed" and again.startswith("generation=1")  # no new worker
    assert "Not run: `spy.spin` did not finish within 1 s in test 4.1 spins" in again
    assert tests["4.3"]["status"] == "passed"                  # other functions are still called
    assert tests["4.4"]["status"] == "failed" and "did not finish within 0.5 s" in tests["4.4"]["output"]
    assert tests["4.5"]["status"] == "passed"                  # a budget overrun blocks nothing
    hidden = tests["5.1"]
    assert hidden["status"] == "failed" and "in test 4.1 spins" in hidden["output"]
