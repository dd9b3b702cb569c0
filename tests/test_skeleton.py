"""tools/skeleton.py: the marker transformation, the generated tree, and the real assignment/.

The real assignment/ must equal what the generator makes now, import cleanly, contain none of
the solution's marked code, and every public function, method and constructor of the five
student files must raise NotImplementedError there (except the provided code listed in PROVIDED).
"""

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import skeleton  # noqa: E402
from tools.quiz import load_quiz, parse_answers  # noqa: E402
from tools.skeleton import DEFAULT_HINT, SkeletonError, find_regions, strip_solutions  # noqa: E402

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

SOLUTION = ROOT / "solution"
ASSIGNMENT = ROOT / "assignment"
QUIZ = ROOT / "quiz" / "quiz.toml"
STUDENT_FILES = skeleton.STUDENT_FILES

# Code outside the markers that works in the skeleton (everything else must raise NotImplementedError).
PROVIDED = {
    "modules.Module.__init__", "modules.Sigmoid.__init__", "modules.Tanh.__init__", "modules.ReLU.__init__",
    "modules.Softplus.__init__", "modules.Sequential.__init__", "modules.Sequential.params",
    "modules.Sequential.grads",
    "losses.SquaredError.__init__", "losses.BinaryCrossEntropy.__init__", "losses.SoftmaxCrossEntropy.__init__",
    "autodiff.Var.__init__", "autodiff.Var.__repr__", "autodiff.Dual.__init__", "autodiff.Dual.__repr__",
}


def run_stub(source: str, call: str):
    """Exec a generated skeleton and evaluate ``call`` in it; return the NotImplementedError raised."""
    namespace = {}
    exec(compile(source, "<skeleton>", "exec"), namespace)
    with pytest.raises(NotImplementedError) as info:
        eval(call, namespace)
    return info.value


# ------------------------------------------------------------------------ the transformation

def test_region_becomes_stub_with_hint_kept_as_comment():
    source = textwrap.dedent('''\
        def f(x):
            """Double x."""
            # HINT: multiply by "two" \\ twice
            # BEGIN SOLUTION
            y = 2 * x
            return y
            # END SOLUTION


        class C:
            def g(self):
                if True:
                    # BEGIN SOLUTION
                    return 42
                    # END SOLUTION
        ''')
    out = strip_solutions(source, "m.py")
    assert out == textwrap.dedent('''\
        def f(x):
            """Double x."""
            # HINT: multiply by "two" \\ twice
            raise NotImplementedError("multiply by \\"two\\" \\\\ twice")


        class C:
            def g(self):
                if True:
                    raise NotImplementedError("%s")
        ''' % DEFAULT_HINT)
    assert str(run_stub(out, "f(1)")) == 'multiply by "two" \\ twice'
    assert str(run_stub(out, "C().g()")) == DEFAULT_HINT


def test_code_after_a_region_and_unmarked_files_are_kept():
    source = "import math\n\ndef f(x):\n    # BEGIN SOLUTION\n    x = x + 1\n    # END SOLUTION\n    return x\n"
    assert strip_solutions(source) == ("import math\n\ndef f(x):\n    raise NotImplementedError(\"%s\")\n"
                                       "    return x\n" % DEFAULT_HINT)
    plain = "X = 1\n# a comment\n"
    assert strip_solutions(plain, "data.py") == plain
    assert find_regions(plain) == []


def test_line_numbers_follow_python_with_crlf_and_form_feeds():
    source = "x = 1\x0c\r\ndef f():\r\n    # BEGIN SOLUTION\r\n    return 1\r\n"
    with pytest.raises(SkeletonError, match=r"^m\.py:3: '# BEGIN SOLUTION' without a matching"):
        strip_solutions(source, "m.py")
    out = strip_solutions(source + "    # END SOLUTION\r\n", "m.py")
    assert out == 'x = 1\x0c\ndef f():\n    raise NotImplementedError("%s")\n' % DEFAULT_HINT


@pytest.mark.parametrize("source, line, words", [
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", 2, "without a matching"),
    ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", 3, "nested"),
    ("def f():\n    return 1\n    # END SOLUTION\n", 3, "without a '# BEGIN SOLUTION' before it"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n# END SOLUTION\n", 4, "not indented like"),
    ("def f():\n    #BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", 2, "malformed marker"),
    ("def f():\n    # begin solution\n    return 1\n", 2, "malformed marker"),
    ("def f():\n    # HINT: x\n\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n", 2,
     "directly above"),
    # the region cuts a statement in half
    ("def f():\n    y = max(\n        # BEGIN SOLUTION\n        1, 2)\n        # END SOLUTION\n    return y\n", 4,
     "whole statement"),
    # the region holds the `else:` of an `if` but not the `if`
    ("def f(a):\n    if a:\n        return 1\n    # BEGIN SOLUTION\n    else:\n        return 2\n"
     "    # END SOLUTION\n", 5, "whole statement"),
    # markers indented less than the code (the stub would end the method's body)
    ("class C:\n    def f(self):\n    # BEGIN SOLUTION\n        return 1\n    # END SOLUTION\n", 3,
     "indented like the code"),
    # code in the region indented less than the markers
    ("def f():\n        # BEGIN SOLUTION\n    return 1\n        # END SOLUTION\n", 3, "indented less"),
    # a region holding a method's decorator but not the method
    ("class C:\n    # BEGIN SOLUTION\n    @property\n    # END SOLUTION\n    def f(self):\n        return 1\n",
     3, "whole statement"),
])
def test_malformed_markers_name_file_and_line(source, line, words):
    with pytest.raises(SkeletonError) as info:
        strip_solutions(source, "pkg/mod.py")
    message = str(info.value)
    assert message.startswith(f"pkg/mod.py:{line}:"), message
    assert words in message, message


def test_stub_that_is_not_valid_python_is_rejected():
    # An empty region at column 0 inside a function: it cuts no statement, but its stub would
    # end the function and leave the next line indented for nothing.
    source = "def f():\n    pass\n# BEGIN SOLUTION\n# END SOLUTION\n    x = 1\n"
    with pytest.raises(SkeletonError) as info:
        strip_solutions(source, "m.py")
    assert str(info.value).startswith("m.py:3: the stub of this region is not valid Python"), info.value


def test_a_solution_file_that_does_not_parse_is_reported():
    with pytest.raises(SkeletonError, match=r"m\.py:1: the solution file is not valid Python"):
        strip_solutions("def f(:\n    # BEGIN SOLUTION\n    pass\n    # END SOLUTION\n", "m.py")


# ------------------------------------------------------------------------- the generated tree

FIXTURE_MODULE = '''\
"""A student file."""
import numpy as np


class Layer:
    def __init__(self, n):
        self.n = n

    def forward(self, x):
        """x: (N, n)."""
        # HINT: return x times two
        # BEGIN SOLUTION
        return x * 2.0 + 0.123456789
        # END SOLUTION
'''


@pytest.fixture
def fixture_tree(tmp_path):
    """A small solution/ with one student file, provided files, a key, tuned settings, secrets."""
    solution = tmp_path / "solution"
    package = solution / "backprop"
    (package / "datasets").mkdir(parents=True)
    (package / "__init__.py").write_text('"""pkg."""\n')
    (package / "data.py").write_bytes(b'DATASETS = ("alpha", "beta")\r\n# crlf kept\r\n')
    (package / "layers.py").write_text(FIXTURE_MODULE)
    (package / "datasets" / "alpha_train.csv").write_bytes(b"x1,x2,y\n0.5,-0.25,1\n")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "layers.cpython-311.pyc").write_bytes(b"junk")
    (solution / "answers.toml").write_text('objective_matching = "E"\ncalc_dy_dx = 1208.3665605541923\n')
    (solution / "hyperparams.toml").write_text(
        "[alpha]\nlearning_rate = 3.75\nepochs = 417\nbatch_size = 16\ninit = \"uniform\"\nseed = 9\n")
    (solution / "calibration.toml").write_text("hidden_seed = 987654321\n")
    return solution


def build_fixture(solution):
    return skeleton.build(solution, QUIZ, required=("layers.py",))


def test_build_makes_exactly_the_skeleton_tree(fixture_tree):
    files = build_fixture(fixture_tree)
    assert sorted(files) == ["answers.toml", "backprop/__init__.py", "backprop/data.py",
                             "backprop/datasets/alpha_train.csv", "backprop/layers.py", "hyperparams.toml"]
    package = fixture_tree / "backprop"
    for rel in ("__init__.py", "data.py", "datasets/alpha_train.csv"):
        assert files[f"backprop/{rel}"] == (package / rel).read_bytes(), rel
    layers = files["backprop/layers.py"].decode()
    assert "0.123456789" not in layers and "BEGIN SOLUTION" not in layers
    assert '        # HINT: return x times two\n        raise NotImplementedError("return x times two")\n' in layers
    everything = b"".join(files.values())
    for secret in (b"987654321", b"1208.366", b"3.75", b"417", b'"uniform"\n'):
        assert secret not in everything, secret
    assert build_fixture(fixture_tree) == files  # deterministic


def test_hyperparams_template_is_valid_and_untuned(fixture_tree):
    files = build_fixture(fixture_tree)
    settings = tomllib.loads(files["hyperparams.toml"].decode())
    assert list(settings) == ["alpha", "beta"]
    for table in settings.values():
        assert set(table) == {"learning_rate", "epochs", "batch_size", "init", "seed"}
        assert isinstance(table["learning_rate"], float) and 0 < table["learning_rate"] <= 10
        assert isinstance(table["epochs"], int) and table["epochs"] >= 1
        assert isinstance(table["batch_size"], int) and table["batch_size"] >= 1
        assert table["init"] in ("xavier", "uniform", "zero")
        assert isinstance(table["seed"], int) and table["seed"] >= 0
    tuned = "\n".join(f"[{n}]\nlearning_rate = {skeleton.UNTUNED['learning_rate']}\n"
                      f"epochs = {skeleton.UNTUNED['epochs']}\nbatch_size = {skeleton.UNTUNED['batch_size']}\n"
                      for n in ("alpha",))
    (fixture_tree / "hyperparams.toml").write_text(tuned)
    with pytest.raises(SkeletonError, match=r"equal the tuned ones of \[alpha\]"):
        build_fixture(fixture_tree)


def test_answers_template_has_every_question_unanswered(fixture_tree):
    text = build_fixture(fixture_tree)["answers.toml"].decode()
    quiz = load_quiz(QUIZ)
    sheet = parse_answers(text, quiz)
    assert sheet.notes == ()
    assert list(sheet.answers) == [q.id for q in quiz]
    for q in quiz:
        answer = sheet.answers[q.id]
        assert answer.value is None and "not answered" in answer.problem, (q.id, answer)
        assert f'\n{q.id} = ""\n' in text
        assert f"# {q.id} (" in text
        for choice in q.choices:
            assert f'"{choice}"' in text


def test_build_refuses_a_student_file_without_regions_or_missing(fixture_tree):
    layers = fixture_tree / "backprop" / "layers.py"
    layers.write_text("def f():\n    return 1\n")
    with pytest.raises(SkeletonError, match="would ship the solution"):
        build_fixture(fixture_tree)
    layers.unlink()
    with pytest.raises(SkeletonError, match="missing solution files"):
        build_fixture(fixture_tree)


def test_bad_marker_in_the_tree_names_the_file(fixture_tree):
    (fixture_tree / "backprop" / "layers.py").write_text(FIXTURE_MODULE.replace("        # END SOLUTION\n", ""))
    with pytest.raises(SkeletonError, match=r"backprop/layers\.py:12: '# BEGIN SOLUTION' without"):
        build_fixture(fixture_tree)


def test_cli_writes_checks_and_prunes(fixture_tree, tmp_path, capsys):
    out = tmp_path / "assignment"
    argv = ["--solution", str(fixture_tree), "--quiz", str(QUIZ), "--assignment", str(out)]

    def main(*extra):
        return skeleton.main(argv + list(extra), required=("layers.py",))

    assert main("--check") == 1
    assert not out.exists()  # --check writes nothing
    assert main() == 0
    assert main("--check") == 0
    (out / "backprop" / "layers.py").write_text("tampered\n")
    (out / "extra.txt").write_text("x")
    (out / "backprop" / "__pycache__").mkdir()
    (out / "backprop" / "__pycache__" / "x.pyc").write_bytes(b"ignored")
    capsys.readouterr()
    assert main("--check") == 1
    err = capsys.readouterr().err
    assert "differs:    backprop/layers.py" in err and "unexpected: extra.txt" in err
    assert "pycache" not in err
    assert (out / "backprop" / "layers.py").read_text() == "tampered\n"
    assert main("--prune") == 0
    assert not (out / "extra.txt").exists()
    assert main("--check") == 0
    (fixture_tree / "backprop" / "layers.py").write_text("def f():\n    # BEGIN SOLUTION\n")
    assert main() == 2
    assert "layers.py:2:" in capsys.readouterr().err


# --------------------------------------------------------------------- the real assignment/

def test_assignment_is_what_the_generator_makes_now():
    expected = skeleton.build(SOLUTION, QUIZ)
    assert skeleton.differences(expected, ASSIGNMENT) == [], "run `python -m tools.skeleton`"


@pytest.mark.parametrize("module", [f"backprop.{Path(n).stem}" for n in STUDENT_FILES] + ["backprop.data",
                                                                                          "backprop"])
def test_skeleton_module_imports_cleanly(module):
    code = f"import sys; sys.path.insert(0, {str(ASSIGNMENT)!r}); import {module}"
    proc = subprocess.run([sys.executable, "-I", "-B", "-W", "error", "-c", code],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def solution_targets():
    """Every public function, class constructor, method and property of the student files, from
    the SOLUTION's source (so a new one is covered without editing this test)."""
    targets = []
    for name in STUDENT_FILES:
        module = Path(name).stem
        tree = ast.parse((SOLUTION / "backprop" / name).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                targets.append({"module": module, "cls": None, "name": node.name, "kind": "function"})
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                for item in node.body:
                    if not isinstance(item, ast.FunctionDef):
                        continue
                    dunder = item.name.startswith("__") and item.name.endswith("__")
                    if item.name.startswith("_") and not dunder:
                        continue
                    is_property = any(getattr(d, "id", None) == "property" for d in item.decorator_list)
                    targets.append({"module": module, "cls": node.name, "name": item.name,
                                    "kind": "property" if is_property else "method"})
    return targets


# Runs in a fresh `python -I` with assignment/ first on sys.path; reads the targets on stdin and
# prints one JSON outcome per target. Arguments are chosen by parameter name (per module, or per
# "Class.method.param" where shapes matter); an unknown parameter name is reported, not guessed.
PROBE = r'''
import inspect, json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])

class FakeModel:
    def __init__(self):
        self.params, self.grads = {"W": np.zeros((1, 2))}, {"W": np.zeros((1, 2))}
    def forward(self, x):
        return np.full((len(x), 1), 0.5)
    def backward(self, g):
        return np.zeros((len(g), 2))

class FakeLoss:
    def forward(self, pred, target):
        return 0.0
    def backward(self):
        return np.zeros((1, 1))

ARGS = {
    "modules": {"x": lambda: np.zeros((3, 2)), "grad_out": lambda: np.zeros((3, 3)),
                "in_features": lambda: 2, "out_features": lambda: 3, "modules": lambda: ()},
    "losses": {"pred": lambda: np.full((4, 1), 0.5), "target": lambda: np.zeros((4, 1)),
               "SoftmaxCrossEntropy.forward.pred": lambda: np.zeros((4, 3)),
               "SoftmaxCrossEntropy.forward.target": lambda: np.zeros(4, dtype=np.int64),
               "SoftmaxCrossEntropy.__call__.pred": lambda: np.zeros((4, 3)),
               "SoftmaxCrossEntropy.__call__.target": lambda: np.zeros(4, dtype=np.int64)},
    "mlp": {"n_inputs": lambda: 2, "hidden_sizes": lambda: [3], "n_outputs": lambda: 1,
            "model": FakeModel, "learning_rate": lambda: 0.1, "loss": FakeLoss,
            "X": lambda: np.zeros((4, 2)), "y": lambda: np.zeros(4, dtype=np.int64),
            "epochs": lambda: 1, "batch_size": lambda: 2},
    "gradcheck": {"f": lambda: (lambda x: float(np.sum(x * x))), "x": lambda: np.ones(3),
                  "a": lambda: np.ones(3), "b": lambda: np.zeros(3)},
    "autodiff": {"x": lambda: 0.5, "other": lambda: 2.0, "power": lambda: 2.0, "value": lambda: 1.5,
                 "f": lambda: (lambda *v: v[0]), "xs": lambda: (1.0, 2.0)},
}

def arguments(module, where, fn):
    args = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) or p.default is not p.empty:
            continue
        table = ARGS[module]
        make = table.get(f"{where}.{p.name}") or table.get(p.name)
        if make is None:
            raise LookupError(f"no plausible argument for parameter {p.name!r}: add one to PROBE's ARGS")
        value = make()
        args += list(value) if p.kind == p.VAR_POSITIONAL else [value]
    return args

def instance(module, cls):
    try:
        return cls(*arguments(module, cls.__name__ + ".__init__", cls))
    except NotImplementedError:
        return object.__new__(cls)  # a constructor still to write: probe the methods without it

def probe(t):
    mod = __import__("backprop." + t["module"], fromlist=["_"])
    if t["cls"] is None:
        fn = getattr(mod, t["name"])
        return fn(*arguments(t["module"], t["name"], fn))
    cls = getattr(mod, t["cls"])
    where = t["cls"] + "." + t["name"]
    if t["name"] == "__init__":
        return cls(*arguments(t["module"], where, cls))
    obj = instance(t["module"], cls)
    if t["kind"] == "property":
        return getattr(obj, t["name"])
    method = getattr(obj, t["name"])
    return method(*arguments(t["module"], where, method))

results = []
for t in json.load(sys.stdin):
    try:
        value = probe(t)
        outcome, detail = "returned", repr(value)[:200]
    except NotImplementedError as e:
        outcome, detail = "NotImplementedError", str(e)
    except BaseException as e:
        outcome, detail = type(e).__name__, str(e)[:300]
    results.append(dict(t, outcome=outcome, detail=detail))
print(json.dumps(results))
'''


def test_every_public_callable_of_the_skeleton_raises_not_implemented():
    targets = solution_targets()
    names = {f"{t['module']}.{t['cls'] + '.' if t['cls'] else ''}{t['name']}" for t in targets}
    assert PROVIDED <= names, f"PROVIDED names that are not in the solution: {sorted(PROVIDED - names)}"
    proc = subprocess.run([sys.executable, "-I", "-B", "-c", PROBE, str(ASSIGNMENT)], input=json.dumps(targets),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert len(results) == len(targets) and len(targets) >= 40
    failures = []
    for r in results:
        name = f"{r['module']}.{r['cls'] + '.' if r['cls'] else ''}{r['name']}"
        if r["outcome"] == "NotImplementedError" or (name in PROVIDED and r["outcome"] == "returned"):
            continue
        failures.append(f"{name}: {r['outcome']}: {r['detail']}")
    assert not failures, ("calling these in the skeleton did not raise NotImplementedError (mark the code, or "
                          "list provided code in PROVIDED):\n" + "\n".join(failures))


def region_code_lines(source):
    """The stripped code lines inside marked regions that appear nowhere outside them."""
    lines = skeleton._source_lines(source)
    inside = set()
    for region in find_regions(source):
        inside.update(range(region.begin, region.end + 1))
    outside = {lines[i - 1].strip() for i in range(1, len(lines) + 1) if i not in inside}
    marked = {lines[i - 1].strip() for i in inside} - outside
    return {line for line in marked if line and not line.startswith("#")}


@pytest.mark.parametrize("name", STUDENT_FILES)
def test_skeleton_contains_no_marked_solution_code(name):
    solution = (SOLUTION / "backprop" / name).read_text(encoding="utf-8")
    student = (ASSIGNMENT / "backprop" / name).read_text(encoding="utf-8")
    secret = region_code_lines(solution)
    assert secret, f"{name} has no marked code"
    leaked = secret & {line.strip() for line in student.splitlines()}
    assert not leaked, f"solution lines in assignment/backprop/{name}: {sorted(leaked)}"
    assert "BEGIN SOLUTION" not in student and "END SOLUTION" not in student


def test_solution_only_files_never_reach_the_assignment():
    shipped = {p.relative_to(ASSIGNMENT).as_posix() for p in ASSIGNMENT.rglob("*") if p.is_file()}
    assert "calibration.toml" not in shipped
    key = tomllib.loads((SOLUTION / "answers.toml").read_text(encoding="utf-8"))
    student = tomllib.loads((ASSIGNMENT / "answers.toml").read_text(encoding="utf-8"))
    assert set(student) == set(key) and all(v == "" for v in student.values())
    tuned_path = SOLUTION / "hyperparams.toml"
    if tuned_path.exists():
        tuned = tomllib.loads(tuned_path.read_text(encoding="utf-8"))
        template = tomllib.loads((ASSIGNMENT / "hyperparams.toml").read_text(encoding="utf-8"))
        assert set(template) == set(tuned)
        for name, table in tuned.items():
            assert [table[k] for k in skeleton.TUNED_KEYS] != [template[name][k] for k in skeleton.TUNED_KEYS]
