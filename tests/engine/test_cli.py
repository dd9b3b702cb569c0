"""The entry points: engine.run (always writes results), engine.build, engine.grade, engine.autograde."""
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from engine import run as engine_run
from engine.plugin import OUT_OF_TIME as OUT_OF_TIME_TEXT
from engine.results import validate

HERE = Path(__file__).resolve().parent
AUTOGRADER = HERE.parents[1] / "autograder"
TOY = HERE / "toy"
OUTCOMES = TOY / "outcomes"


def python_m(module: str, *args: str, timeout: float = 300, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=AUTOGRADER, capture_output=True,
                          text=True, timeout=timeout, env=env)


def fake_root(tmp_path: Path, suite: Path, files: dict) -> Path:
    """An AUTOGRADER_ROOT whose source/ holds only `suite` (the engine is imported from the repo)."""
    root = tmp_path / "root"
    shutil.copytree(suite, root / "source" / "suite")
    for rel, text in files.items():
        (root / "submission" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / rel).write_text(text)
    (root / "submission").mkdir(exist_ok=True)
    (root / "results").mkdir()
    return root


def read_results(root: Path) -> dict:
    data = json.loads((root / "results" / "results.json").read_text())
    validate(data)
    return data


# ---------------------------------------------------------------- engine.run

def test_run_grades_in_gradescope_mode(tmp_path):
    root = fake_root(tmp_path, OUTCOMES, {"arith.py": "def add(a, b):\n    return a + b\n"})
    proc = python_m("engine.run", "--root", str(root))
    assert proc.returncode == 0, proc.stderr
    res = read_results(root)
    assert len(res["tests"]) == 31 and res["score"] == 20
    by_number = {t.get("number"): t for t in res["tests"]}
    assert by_number["5.2"]["status"] == "failed"  # it checks grading_mode == "local"
    assert res["output"].startswith("**Visible tests:")
    assert "[grader] pytest exited with code 1" in proc.stdout  # the instructor's log


def test_run_writes_results_when_the_engine_crashes(tmp_path, monkeypatch, capsys):
    root = fake_root(tmp_path, OUTCOMES, {})

    def crash(*args, **kwargs):
        raise RuntimeError("injected engine crash")

    monkeypatch.setattr(engine_run, "grade_submission", crash)
    assert engine_run.main(["--root", str(root)]) == 0
    res = read_results(root)
    assert res["score"] == 0 and "problem on our side" in res["output"]
    assert "injected" not in res["output"]
    (hidden,) = res["tests"]
    assert hidden["visibility"] == "hidden" and "RuntimeError: injected engine crash" in hidden["output"]
    assert "injected engine crash" in capsys.readouterr().out


def test_run_writes_results_when_the_config_is_missing(tmp_path):
    root = fake_root(tmp_path, OUTCOMES, {})
    (root / "source" / "suite" / "assignment.toml").unlink()
    proc = python_m("engine.run", "--root", str(root))
    assert proc.returncode == 0
    res = read_results(root)
    assert res["score"] == 0 and "assignment.toml" in res["tests"][0]["output"]


def _hang_at_the_deadline(tmp_path, budget: float):
    """engine.run on a suite whose second test hangs, with a time budget of `budget` s and the
    hard deadline 1 s later; returns (seconds taken, the process, the results)."""
    suite = tmp_path / f"suite-{budget:g}"
    suite.mkdir()
    (suite / "assignment.toml").write_text(
        '[assignment]\npackage = "p"\nstudent_files = ["a.py"]\n'
        f'[limits]\ntime_budget_seconds = {budget}\nhard_deadline_seconds = {budget + 1}\n')
    (suite / "test_hang.py").write_text(
        "import time\nfrom gradescope_utils.autograder_utils.decorators import weight\n\n"
        "@weight(1)\ndef test_quick():\n    pass\n\n"
        "@weight(2)\ndef test_hangs():\n    time.sleep(600)\n\n"
        "@weight(3)\ndef test_never_reached():\n    pass\n")
    root = fake_root(tmp_path / f"x-{budget:g}", suite, {})
    started = time.monotonic()
    proc = python_m("engine.run", "--root", str(root), timeout=120 + 2 * budget)
    return time.monotonic() - started, proc, read_results(root)


def test_watchdog_writes_results_at_the_hard_deadline(tmp_path):
    """The hung test is stopped by the watchdog, not by its 600 s sleep. On a machine so busy that
    the engine's own start took the whole budget, the tests are 'not run' for lack of time
    instead (the budget, not the watchdog, is then what this run shows): try a longer one."""
    for budget in (1, 4, 16, 64):
        took, proc, results = _hang_at_the_deadline(tmp_path, budget)
        quick, hangs, never = results["tests"]
        if OUT_OF_TIME_TEXT in quick["output"]:
            continue
        assert took < 120 + budget, "the watchdog did not end the hung run"
        assert proc.returncode == 0 and "hard deadline reached" in proc.stdout
        assert quick["status"] == "passed"
        assert (hangs["max_score"], hangs["score"], never["max_score"]) == (2, 0, 3)
        assert "Not run" in hangs["output"] and "Not run" in never["output"]
        return
    pytest.fail("the engine never started a test within a 64 s budget")


def test_the_watchdog_covers_intake_too(tmp_path):
    """An intake that never ends (here: made to sleep) still gets a results.json at the hard
    deadline, with a message for the student, because the watchdog is armed before intake."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "assignment.toml").write_text(
        '[assignment]\npackage = "p"\nstudent_files = ["a.py"]\n'
        '[limits]\ntime_budget_seconds = 1\nhard_deadline_seconds = 2\n')
    (suite / "test_a.py").write_text("def test_a():\n    pass\n")
    root = fake_root(tmp_path, suite, {"a.py": "A = 1\n"})
    code = ("import sys, time, engine.run as run\n"
            "run.prepare = lambda spec: time.sleep(600)\n"
            "sys.exit(run.main(sys.argv[1:]))\n")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, "--root", str(root)], cwd=AUTOGRADER,
                          capture_output=True, text=True, timeout=300)
    assert time.monotonic() - started < 300 and proc.returncode == 0, proc.stdout + proc.stderr
    assert "hard deadline reached" in proc.stdout
    res = read_results(root)
    assert res["score"] == 0 and res["output"] == engine_run.INTAKE_TOO_SLOW
    assert "during intake" in res["tests"][0]["output"]


def test_run_autograder_falls_back_when_the_engine_cannot_start(tmp_path):
    root = fake_root(tmp_path, OUTCOMES, {})  # source/ has no engine/: `python -m engine.run` fails
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable,
           "WORKER_USER": ""}
    proc = subprocess.run(["bash", str(AUTOGRADER / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "writing the fallback" in proc.stdout
    res = read_results(root)
    assert res["score"] == 0 and res["tests"] == []
    assert oct((root / "source").stat().st_mode & 0o777) == "0o700"
    assert oct((root / "results").stat().st_mode & 0o777) == "0o700"


# ---------------------------------------------------------------- engine.build

def test_build_is_deterministic_and_complete(tmp_path):
    for name in ("a.zip", "b.zip"):
        proc = python_m("engine.build", "--suite", str(TOY / "suite"), "--out", str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        infos = {i.filename: i for i in zf.infolist()}
    names = list(infos)
    assert names == sorted(names)
    assert {"setup.sh", "run_autograder", "requirements.txt", "constraints.txt", "engine/run.py",
            "engine/schema/results.schema.json", "suite/assignment.toml",
            "suite/public/test_arith.py", "suite/hidden/test_arith_hidden.py",
            "solution/toypkg/arith.py", "solution/answers.toml", "provided/__init__.py",
            "provided/data.py", "provided/datasets/numbers.csv"} <= set(names)
    assert not any("__pycache__" in n or n.startswith("skeleton") for n in names)
    assert infos["run_autograder"].external_attr >> 16 & 0o777 == 0o755
    assert infos["engine/run.py"].external_attr >> 16 & 0o777 == 0o644
    assert {i.date_time for i in infos.values()} == {(1980, 1, 1, 0, 0, 0)}


def test_build_refuses_a_pattern_that_matches_nothing(tmp_path):
    suite = tmp_path / "suite"
    shutil.copytree(TOY / "suite", suite)
    toml = (suite / "assignment.toml").read_text().replace('root = ".."', f'root = "{TOY}"')
    (suite / "assignment.toml").write_text(toml.replace('"answers.toml"]', '"missing.toml"]'))
    proc = python_m("engine.build", "--suite", str(suite), "--out", str(tmp_path / "a.zip"))
    assert proc.returncode == 1 and "missing.toml" in proc.stderr
    assert not (tmp_path / "a.zip").exists()


@pytest.mark.parametrize("old,new,words", [
    ("hard_deadline_seconds = 90", "hard_deadline_seconds = 590", "at least 620 s"),
    ("hard_deadline_seconds = 90", "hard_deadline_seconds = 90\ngradescope_timeout_seconds = 100",
     "at least 120 s"),
    ("[sandbox]", "[sandbox]\ntimeout = 60", "[sandbox].timeout"),
])
def test_build_refuses_time_limits_that_gradescope_would_cut(tmp_path, old, new, words):
    suite = tmp_path / "suite"
    shutil.copytree(TOY / "suite", suite)
    toml = (suite / "assignment.toml").read_text().replace('root = ".."', f'root = "{TOY}"')
    assert toml.count(old + "\n") == 1
    (suite / "assignment.toml").write_text(toml.replace(old + "\n", new + "\n"))
    proc = python_m("engine.build", "--suite", str(suite), "--out", str(tmp_path / "a.zip"))
    assert proc.returncode == 1 and words in proc.stderr, proc.stderr
    assert not (tmp_path / "a.zip").exists()


def test_build_says_which_gradescope_timeout_to_set(tmp_path):
    proc = python_m("engine.build", "--suite", str(TOY / "suite"), "--out", str(tmp_path / "a.zip"))
    assert proc.returncode == 0, proc.stderr
    assert "set the autograder timeout to 600 s (at least 120 s" in proc.stdout


# ---------------------------------------------------------------- engine.grade (make grade)

def test_grade_prints_a_public_score_table(tmp_path):
    proc = python_m("engine.grade", "--submission", str(TOY / "skeleton"), "--suite",
                    str(TOY / "suite"), "--public-only", "--results", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    row = next(ln for ln in lines if ln.startswith("1.1 "))
    assert "add(2, 3)" in row and "0/2" in row and "FAILED" in row
    assert lines[lines.index(row) + 1].strip() == "Not implemented yet: add the two numbers"
    assert "Total (public tests): 0 / 7 points" in proc.stdout
    assert "Hidden tests run only on Gradescope" in proc.stdout
    assert not any(ln.startswith("3.") for ln in lines)  # hidden tests are not run locally
    assert len(json.loads((tmp_path / "r.json").read_text())["tests"]) == 6


def test_same_submission_same_results(tmp_path):
    runs = []
    for name in ("a.json", "b.json"):
        proc = python_m("engine.grade", "--submission", str(TOY / "skeleton"), "--suite",
                        str(TOY / "suite"), "--results", str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
        data = json.loads((tmp_path / name).read_text())
        data.pop("execution_time")
        # staff-only: which worker account was leased depends on the gradings running beside it
        assert data.pop("extra_data", {"isolation": []})["isolation"] is not None
        runs.append(data)
    assert runs[0] == runs[1]
    assert len(runs[0]["tests"]) == 9


def test_grade_list_shows_every_test_and_the_total():
    proc = python_m("engine.grade", "--list", "--suite", str(TOY / "suite"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "9 tests, 14 points (7 not visible to students before publication)"
    assert any(ln.startswith("3.2") and " 4  hidden" in ln for ln in proc.stdout.splitlines())


def test_grade_reports_a_missing_submission():
    proc = python_m("engine.grade", "--submission", "/nonexistent/x", "--suite", str(TOY / "suite"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr


# ---------------------------------------------------------------- engine.autograde (end to end)

def autograde(tmp_path: Path, submission: Path) -> dict:
    out = tmp_path / "results.json"
    proc = python_m("engine.autograde", "--submission", str(submission), "--suite",
                    str(TOY / "suite"), "--results", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    validate(data)
    return data


def test_autograde_solution_gets_full_marks(tmp_path):
    res = autograde(tmp_path, TOY / "solution")
    assert res["score"] == 14 and len(res["tests"]) == 9
    assert all(t["status"] == "passed" for t in res["tests"])
    assert res["output"].startswith("**Visible tests: 7.0 / 7.0 points.** Hidden tests worth 7.0")


def test_autograde_empty_submission_lists_every_test_at_zero(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = autograde(tmp_path, empty)
    assert res["score"] == 0
    assert sorted(t["number"] for t in res["tests"]) == [
        "1.1", "1.2.1", "1.2.2", "1.2.3", "1.3", "2.1", "3.1", "3.2", "3.3"]
    assert sum(t["max_score"] for t in res["tests"]) == 14
    assert all("was not found in your submission" in t["output"] for t in res["tests"])


def test_autograde_zip_upload_with_a_folder(tmp_path):
    upload = tmp_path / "hw.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        for path in sorted((TOY / "solution").rglob("*")):
            if path.is_file():
                zf.write(path, "hw/" + path.relative_to(TOY / "solution").as_posix())
    assert autograde(tmp_path, upload)["score"] == 14


HOSTILE = '''
import glob


def add(a, b):
    """Looks for hidden tests and tries to forge results; prints on the way."""
    print("hello from the student")
    leaked = [p for pattern in ("/tmp/autograde-*/source/suite/hidden/*.py", "/tmp/autograde*.zip",
                                "/tmp/autograde-*/*.zip") for p in glob.glob(pattern)]
    for folder in glob.glob("/tmp/autograde-*/results"):
        try:
            with open(folder + "/results.json", "w") as fh:
                fh.write('{"score": 1000}')
        except OSError:
            pass
    return a + b + len(leaked)


def mean(x):
    return sum(x) / len(x)
'''


def test_autograde_student_cannot_read_sources_or_forge_results(tmp_path):
    sub = tmp_path / "sub" / "toypkg"
    sub.mkdir(parents=True)
    (sub / "arith.py").write_text(HOSTILE)
    (sub.parent / "answers.toml").write_text("answer = 42\n")
    res = autograde(tmp_path, sub.parent)
    assert res["score"] == 14  # add() saw no hidden test file; the forged score did not land
    first = next(t for t in res["tests"] if t["number"] == "1.1")
    assert "hello from the student" in first["output"]


def test_backprop_public_suite_gives_the_reference_full_marks(tmp_path):
    """Smoke test of the real assignment through the engine (public tests, local mode)."""
    repo = AUTOGRADER.parent
    proc = python_m("engine.grade", "--submission", str(repo / "solution"), "--suite",
                    str(AUTOGRADER / "suite"), "--public-only", "--provided",
                    str(repo / "solution" / "backprop"), "--results", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    res = json.loads((tmp_path / "r.json").read_text())
    failed = [(t.get("number"), t["output"][:300]) for t in res["tests"] if t["status"] != "passed"]
    assert res["tests"] and failed == []
    assert "Public tests:" in res["output"]


def test_grade_table_shows_whole_names_formulas_and_notes():
    from engine.grade import format_table
    long_name = "Pocket dataset: accuracy on test points reaches the threshold (Gradescope: fresh points)"
    results = {"tests": [
        {"number": "3.1.1", "name": long_name, "score": 2, "max_score": 2, "status": "passed",
         "output": "diagonal_band: accuracy 1.000 (threshold 0.97); training took 0.21 s (budget 10 s)."},
        {"number": "3.1.2", "name": long_name, "score": 2, "max_score": 2, "status": "passed", "output": ""},
        {"number": "5.1", "name": "Reverse mode", "score": 0, "max_score": 1.5, "status": "failed",
         "output": "**Likely cause:** du/dself = p * self ** (p - 1)"},
    ]}
    table = format_table(results, public_only=True)
    import textwrap
    assert all(piece in table for piece in textwrap.wrap(long_name, 52)) and "..." not in table
    flowing = " ".join(table.split())
    assert "training took 0.21 s (budget 10 s)" in flowing
    assert "Likely cause: du/dself = p * self ** (p - 1)" in flowing
    assert "Total (public tests): 4 / 5.5 points" in table
    assert all(len(line) <= 100 for line in table.splitlines())
