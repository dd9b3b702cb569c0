"""The handout: its writeup's generated tables, its leak check, submit.py, and the whole round trip.

Round trip: build dist/handout.zip with `python -m tools.handout`, unzip it, `make grade` on the
skeleton (every public test runs, score 0), copy the solution's files in, `make grade` (full public
marks), `make submit`, and `python -m engine.autograde` on that zip (100 points). The student
Makefile is pointed at this interpreter (`PY=...`) instead of creating its own virtualenv.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tools import handout, handout_leaks, handout_writeup

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solution"
sys.path.insert(0, str(ROOT / "handout"))
import submit  # noqa: E402  (handout/submit.py, shipped to students)

TOTAL_LINE = re.compile(r"^Total \(public tests\): (\S+) / (\S+) points$", re.MULTILINE)
ROW = re.compile(r"^(\S+)\s+(.+?)\s+(\S+)/(\S+)\s+(ok|FAILED)$", re.MULTILINE)


# ------------------------------------------------------------------------------------ the writeup

def test_writeup_is_up_to_date_with_the_data_files():
    text = (ROOT / "handout" / "README.md").read_text(encoding="utf-8")
    assert handout_writeup.block_names(text) == ["datasets", "quiz", "points"]
    assert handout_writeup.update(text, ROOT) == text, "run `python -m tools.handout --writeup`"


def test_points_table_matches_the_contract():
    """The suite's weights per part add up to the points SPEC.md promises, 100 in all."""
    points = handout_writeup.suite_points(ROOT)
    per_part = {part: p["public"] + p["hidden"] for part, p in points.items()}
    assert per_part == {"1": 40, "2": 15, "3": 20, "4": 5, "5": 12, "6": 8}


def _copy_inputs(dest):
    """The data files the writeup's tables come from, in a scratch repository layout."""
    for rel in ("quiz/quiz.toml", "autograder/suite/thresholds.toml"):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, dest / rel)
    shutil.copytree(SOLUTION / "backprop" / "datasets", dest / "solution" / "backprop" / "datasets")


def test_writeup_tables_follow_the_data_files(tmp_path):
    _copy_inputs(tmp_path)
    thresholds = tmp_path / "autograder/suite/thresholds.toml"
    text = thresholds.read_text()
    thresholds.write_text(re.sub(r"(\[datasets\.one_pocket\][^\[]*?threshold = )[\d.]+", r"\g<1>0.83", text)
                          .replace("epochs = [1, 2000]", "epochs = [3, 1234]"))
    table = handout_writeup.render_datasets(tmp_path)
    assert "| `one_pocket` | 3 | 500 | 83% |" in table
    assert "an integer from 3 to 1234" in table
    quiz = tmp_path / "quiz/quiz.toml"
    quiz.write_text(quiz.read_text().replace('title = "Activation functions"', 'title = "Renamed question"'))
    assert "Renamed question" in handout_writeup.render_quiz(tmp_path)
    block = "intro\n<!-- BEGIN GENERATED: quiz (x) -->\nstale\n<!-- END GENERATED: quiz -->\nend\n"
    updated = handout_writeup.update(block, tmp_path)
    assert "stale" not in updated and "Renamed question" in updated and updated.endswith("quiz -->\nend\n")
    with pytest.raises(handout_writeup.WriteupError, match="unknown generated block"):
        handout_writeup.update("<!-- BEGIN GENERATED: nope -->\n<!-- END GENERATED: nope -->", tmp_path)


# --------------------------------------------------------------------------------- the leak check

def _fake_repo(root):
    """A tiny repository with one secret of every kind."""
    files = {
        "assignment/backprop/f.py": 'def f(x):\n    raise NotImplementedError("hint")\n',
        "solution/backprop/f.py": 'def f(x):\n    # BEGIN SOLUTION\n    total = secret_helper(x, "sum") * 3\n'
                                  "    return total\n    # END SOLUTION\n",
        "solution/answers.toml": 'q_choice = "C"\nq_number = 12.34567\nq_count = 41\n',
        "solution/calibration.toml": "[grading]\nseed = 52718406\n[calibration]\nseeds = [11112222, 3]\n",
        "solution/hyperparams.toml": '[band]\nlearning_rate = 4.0\nepochs = 100\ninit = "xavier"\n',
        "autograder/suite/public/test_pub.py": "def test_shared():\n    pass\n",
        "autograder/suite/hidden/test_secret_cases.py": "def test_shared():\n    pass\n\n"
                                                        "def test_hidden_only_thing():\n    pass\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


@pytest.mark.parametrize("planted, kind", [
    ('        total  =  secret_helper(x,"sum")*3', "solution"),
    ("q_choice = 'C'", "quiz key"),
    ("q_count: 41", "quiz key"),
    ("the value is 12.346 or so", "quiz key"),
    ("q_number = 12.3", "quiz key"),
    ("pytest -k test_hidden_only_thing", "hidden test"),
    ("see test_secret_cases.py", "hidden test"),
    ("seed = 52718406", "hidden seed"),
    ("rng = default_rng(11112222)", "hidden seed"),
    ('learning_rate = 4.0\nepochs = 100  # tuned\ninit = "xavier"', "tuned settings"),
])
def test_leak_check_finds_each_kind_of_secret(tmp_path, planted, kind):
    _fake_repo(tmp_path)
    secrets = handout_leaks.collect_secrets(tmp_path)
    clean = {"README.md": b"Answer q_choice with a letter such as \"A\"; q_count = 40; seed = 0.\n",
             "suite/public/test_pub.py": b"def test_shared():\n    pass\n"}
    assert handout_leaks.scan(clean, secrets) == []
    found = handout_leaks.scan({**clean, "notes.txt": planted.encode()}, secrets)
    assert found and all(f.startswith("notes.txt: " + kind) for f in found), found


def test_leak_check_reads_notebook_cells_and_outputs(tmp_path):
    _fake_repo(tmp_path)
    secrets = handout_leaks.collect_secrets(tmp_path)
    nb = {"cells": [{"cell_type": "code", "source": ['total = secret_helper(x, "sum") * 3\n'], "outputs": [
        {"output_type": "stream", "name": "stdout", "text": ['q_choice = "C"\n']}]}]}
    found = handout_leaks.scan({"a.ipynb": json.dumps(nb).encode()}, secrets)
    assert {f.split(":")[1].split(" from")[0].strip() for f in found} == {"solution", "quiz key"}


def test_generic_lines_are_still_solution_lines():
    """Each allowed idiom must still be a line of a solution region (else drop it from the list)."""
    solution_text = "\n".join(" ".join(line.split()) for p in (SOLUTION / "backprop").glob("*.py")
                              for line in p.read_text().splitlines())
    for line in handout_leaks.GENERIC_LINES:
        assert line in solution_text.splitlines(), line


def test_the_repository_secrets_are_all_guarded():
    kinds = {s.kind for s in handout_leaks.collect_secrets(ROOT)}
    assert kinds == {"solution", "quiz key", "hidden test", "hidden seed", "tuned settings"}


# ------------------------------------------------------------------------------------- submit.py

def _student_folder(root, source=SOLUTION):
    for name in submit.FILES:
        src = source / name
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, root / name)


def test_submit_packs_exactly_the_seven_files(tmp_path, capsys):
    _student_folder(tmp_path)
    (tmp_path / "backprop" / "data.py").write_text("# not sent\n")
    out = tmp_path / "submission.zip"
    assert submit.main(["--folder", str(tmp_path), "--output", str(out)]) == 0
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == list(submit.FILES)
        assert zf.read("backprop/mlp.py") == (SOLUTION / "backprop" / "mlp.py").read_bytes()
    first = out.read_bytes()
    assert submit.main(["--folder", str(tmp_path), "--output", str(out)]) == 0
    assert out.read_bytes() == first, "the zip is not deterministic"
    assert "warning" not in capsys.readouterr().out


@pytest.mark.parametrize("breakage, message", [
    (lambda d: (d / "backprop" / "losses.py").unlink(), "backprop/losses.py: missing"),
    (lambda d: (d / "backprop" / "mlp.py").write_text("def f(:\n"), "mlp.py: syntax error at line 1"),
    (lambda d: (d / "answers.toml").write_text("q = = 1\n"), "answers.toml: not valid TOML"),
    (lambda d: (d / "hyperparams.toml").write_bytes(b"\xff\xfe"), "hyperparams.toml: not UTF-8"),
])
def test_submit_refuses_broken_files_with_a_clear_message(tmp_path, capsys, breakage, message):
    _student_folder(tmp_path)
    breakage(tmp_path)
    out = tmp_path / "submission.zip"
    assert submit.main(["--folder", str(tmp_path), "--output", str(out)]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_submit_warns_about_stubs_and_stages_files_as_they_are(tmp_path, capsys):
    _student_folder(tmp_path, ROOT / "assignment")
    assert submit.main(["--folder", str(tmp_path), "--output", str(tmp_path / "s.zip")]) == 0
    printed = capsys.readouterr().out
    assert "modules.py: still raises NotImplementedError" in printed
    assert "answers.toml: 9 question(s) not answered yet: objective_matching, " in printed
    text = (tmp_path / "answers.toml").read_text(encoding="utf-8")
    (tmp_path / "answers.toml").write_text(text.replace('objective_matching = ""', 'objective_matching = "E"'),
                                           encoding="utf-8")
    assert submit.main(["--folder", str(tmp_path), "--output", str(tmp_path / "s.zip")]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "not answered" in ln)
    assert "answers.toml: 8 question(s) not answered yet: calc_dy_dx" in line and "objective_matching" not in line
    (tmp_path / "backprop" / "mlp.py").write_text("def f(:\n")
    stage = tmp_path / "stage"
    (stage / "backprop").mkdir(parents=True)
    (stage / "backprop" / "losses.py").write_text("stale")
    (tmp_path / "backprop" / "losses.py").unlink()
    assert submit.main(["--folder", str(tmp_path), "--stage", str(stage)]) == 0
    assert (stage / "backprop" / "mlp.py").read_text() == "def f(:\n"
    assert not (stage / "backprop" / "losses.py").exists()


# --------------------------------------------------------------------------------- the zip itself

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """dist-like build through the CLI: (zip path, unpacked handout folder)."""
    folder = tmp_path_factory.mktemp("handout")
    out = folder / "handout.zip"
    run = subprocess.run([sys.executable, "-m", "tools.handout", "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(out) as zf:
        zf.extractall(folder / "unpacked")
    return out, folder / "unpacked" / handout.TOP


def test_zip_is_deterministic_and_holds_the_handout(built, tmp_path):
    out, unpacked = built
    again = tmp_path / "again.zip"
    handout.write_zip(handout.collect(ROOT), again)
    assert again.read_bytes() == out.read_bytes()
    with zipfile.ZipFile(out) as zf:
        names = {n.split("/", 1)[1] for n in zf.namelist()}
        assert all(n.startswith(handout.TOP + "/") for n in zf.namelist())
        assert {i.date_time for i in zf.infolist()} == {handout.ZIP_DATE}
    expected = {"README.md", "backprop.ipynb", "Makefile", "submit.py", "requirements.txt",
                "hyperparams.toml", "answers.toml", "grader/suite/assignment.toml",
                "grader/suite/thresholds.toml", "grader/engine/grade.py", "grader/provided/data.py",
                "grader/quiz/quiz.toml", "grader/tools/quiz.py", "grade.py", "requirements-notebook.txt"}
    expected |= {f"backprop/{f}" for f in handout.STUDENT_FILES + ("data.py", "__init__.py")}
    expected |= {f"grader/suite/public/{p.relative_to(ROOT / 'autograder/suite/public').as_posix()}"
                 for p in (ROOT / "autograder/suite/public").rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    assert expected <= names, sorted(expected - names)
    assert not [n for n in names if re.search(r"(^|/)(hidden|solution)(/|$)|calibration", n)]
    assert (unpacked / "hyperparams.toml").read_bytes() == (ROOT / "assignment/hyperparams.toml").read_bytes()
    assert (unpacked / "Makefile").read_bytes() == (ROOT / "handout/Makefile.student").read_bytes()


def test_student_side_is_clean_and_a_planted_secret_fails_the_check():
    files = handout.student_files(ROOT)   # everything but the grader (whose own findings are separate)
    secrets = handout_leaks.collect_secrets(ROOT)
    assert handout_leaks.scan(files, secrets) == []
    line = next(s for s in secrets if s.kind == "solution")
    files["backprop/modules.py"] += b"\n        " + line.line.encode() + b"\n"
    problems = handout.check(files, ROOT)
    assert f"backprop/modules.py: solution from {line.source}: {line.line!r}" in problems
    files["grader/suite/hidden/test_x.py"] = b""
    assert "grader/suite/hidden/test_x.py: forbidden path" in handout.check(files, ROOT)


# ------------------------------------------------------------------------------------ round trip

def _env():
    """The environment without what an enclosing `make` or venv would leak into the student's make."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _make(folder, target):
    run = subprocess.run(["make", "--no-print-directory", target, f"PY={sys.executable}"], cwd=folder,
                         env=_env(), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"make {target} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout


def _table(output):
    total = TOTAL_LINE.search(output)
    assert total, f"no total line in:\n{output}"
    rows = ROW.findall(output)
    return float(total.group(1)), float(total.group(2)), rows


def test_round_trip_skeleton_solution_submit_autograde(built, tmp_path):
    _, folder = built
    student = tmp_path / "student"
    shutil.copytree(folder, student)

    got, out_of, rows = _table(_make(student, "grade"))
    assert got == 0 and out_of > 0
    assert rows and all(status == "FAILED" and float(score) == 0 for *_, score, _, status in rows)
    assert sum(float(r[3]) for r in rows) == out_of

    _student_folder(student)
    got, full, solved_rows = _table(_make(student, "grade"))
    assert (got, full) == (out_of, out_of), _make(student, "grade")
    assert len(solved_rows) == len(rows) and all(r[4] == "ok" for r in solved_rows)

    _make(student, "submit")
    upload = student / "submission.zip"
    with zipfile.ZipFile(upload) as zf:
        assert zf.namelist() == list(submit.FILES)
    results = tmp_path / "results.json"
    env = {**_env(), "PYTHONPATH": f"{ROOT / 'autograder'}{os.pathsep}{ROOT}"}
    run = subprocess.run([sys.executable, "-m", "engine.autograde", "--submission", str(upload),
                          "--results", str(results)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads(results.read_text())
    failed = [t["name"] for t in data["tests"] if t["status"] != "passed"]
    assert data["score"] == pytest.approx(100) and not failed, failed
