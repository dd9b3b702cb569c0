"""The acceptance corpus of uploads (tests/uploads.py): each graded as Gradescope would, through
`engine.autograde`, must get its verdict: the tests it names fail, every other test passes, the
outputs say what the case expects, and every output renders to the grader's own markup only."""
import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.autograde import autograde
from engine.build import AUTOGRADER_DIR, build
from engine.escape import is_plain
from engine.results import display_order, TestRecord
from tests.engine.nasty import ALLOWED_TAGS, rendered
from tests.uploads import CASES


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """case name -> results.json of its grading (two gradings at a time)."""
    base = tmp_path_factory.mktemp("uploads")
    zip_path = base / "autograder.zip"
    build(AUTOGRADER_DIR / "suite", zip_path)

    def grade(name):
        upload = CASES[name].build(base / name)
        for path in [base / name, *(base / name).rglob("*")]:   # readable by the worker (root)
            path.chmod(0o755 if path.is_dir() else 0o644)
        results = autograde(upload, base / f"{name}.json", AUTOGRADER_DIR / "suite", zip_path)
        shutil.rmtree(base / name, ignore_errors=True)
        return name, results
    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(grade, CASES))


def _under(number, where):
    """Test `number` is `where` ("1.1", not "1.10"), one of its cases ("1.1.2"), or in a part ("6.")."""
    return number == where or number.startswith(where if where.endswith(".") else where + ".")


@pytest.mark.parametrize("name", list(CASES))
def test_each_upload_gets_its_verdict(graded, name):
    case, results = CASES[name], graded[name]
    tests = {t["number"]: t for t in results["tests"]}
    failed = sorted(n for n, t in tests.items() if t["status"] != "passed")
    assert [n for n in failed if not n.startswith(case.fails)] == [], \
        {n: tests[n]["output"][:400] for n in failed}
    assert all(any(n.startswith(prefix) for n in failed) for prefix in case.fails), failed
    for where, texts in case.says.items():
        outputs = ([results["output"]] if where == "top" else
                   [t["output"] for n, t in tests.items() if _under(n, where)])
        assert outputs, where
        for text in texts:
            assert all(text in out for out in outputs), (where, text, outputs[0][:1500])
    lost = sum(t["max_score"] - t["score"] for t in results["tests"])
    assert results["score"] == pytest.approx(100 - lost)


@pytest.mark.parametrize("name", list(CASES))
def test_every_output_renders_to_the_graders_markup_only(graded, name):
    results = graded[name]
    for text in [results["output"], *(t["output"] for t in results["tests"])]:
        html = rendered(text)
        assert html.tags <= ALLOWED_TAGS and set(html.attrs) <= {("code", "class")}, text[:800]
        assert is_plain(text)
    assert is_plain(json.dumps(results, ensure_ascii=False))


def test_results_list_visible_tests_first_in_number_order_with_gradescope_names(graded):
    tests = graded["bom_crlf"]["tests"]
    records = [TestRecord(key=t["number"], function="", name=t["name"], max_score=0,
                          number=t["number"], visibility=t["visibility"]) for t in tests]
    assert records == sorted(records, key=display_order)
    assert tests[0]["number"] == "1.1" and tests[0]["visibility"] == "visible"
    quiz = [t["name"] for t in tests if t["number"].startswith("6.")]
    assert quiz and not any("locally" in name for name in quiz)


NASTY_RAISE = """

def _nasty(*args, **kwargs):
    print("\\x1b]0;pwned\\x07\\x1b[2J\\x1b[32mprinted 100/100\\x1b[0m \\x9b31m \\u202e")
    raise ValueError("\\x1b]52;c;cm0gLXJm\\x07\\x1b[32mall 100/100\\x1b[0m \\x9b31m\\u202e <script>")


Linear.__init__ = _nasty
"""


@pytest.mark.parametrize("verbose", [False, True])
def test_make_grade_prints_no_control_escape_or_bidi_character(tmp_path, verbose):
    """A Linear that prints and raises ANSI, OSC, C1 and bidi sequences: `make grade` shows the
    failure, and its terminal (pytest's own report too, with --verbose) gets none of them."""
    import os
    import subprocess
    import sys
    from tests.uploads import PACKAGE, ROOT, solution_files, write_tree
    files = solution_files()
    files[f"{PACKAGE}/modules.py"] += NASTY_RAISE.encode()
    upload = write_tree(tmp_path / "upload", files)
    for path in [tmp_path, *tmp_path.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "autograder"), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "engine.grade", "--submission", str(upload),
                           "--suite", str(AUTOGRADER_DIR / "suite"), "--public-only",
                           *(["--verbose"] if verbose else [])],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "raised ValueError: all 100/100" in proc.stdout       # the message, made inert
    assert is_plain(proc.stdout) and is_plain(proc.stderr)
