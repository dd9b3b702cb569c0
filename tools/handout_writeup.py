"""The generated sections of the writeup, handout/README.md, rendered from the data files.

Tables that come from data files are never typed by hand: each sits in the writeup between

    <!-- BEGIN GENERATED: <name> (python -m tools.handout --writeup) -->
    <!-- END GENERATED: <name> -->

and ``update`` replaces what is between the markers with a fresh rendering:
- ``datasets``: hidden units, bounds, accuracy thresholds and time budgets, from
  autograder/suite/thresholds.toml;
- ``quiz``: the questions of quiz/quiz.toml (via tools.quiz), numbered, with the answer format;
- ``points``: the points of each part of the grade, from the grading suite's tests.
tests/test_handout.py checks that the committed writeup equals ``update`` of itself.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from tools.quiz import load_quiz

BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (?P<name>\w+)[^>]*-->\n)(?P<body>.*?)(<!-- END GENERATED: (?P=name) -->)",
                   re.DOTALL)


class WriteupError(ValueError):
    """A generated section cannot be rendered (a data file is missing or malformed)."""


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


# ------------------------------------------------------------------------------------ the quiz

def render_quiz(root: Path) -> str:
    """Every question of quiz/quiz.toml as a numbered Markdown subsection."""
    quiz = load_quiz(root / "quiz" / "quiz.toml")
    total = sum(q.points for q in quiz)
    out = [f"The quiz has {len(quiz)} questions, {_points(total)} in all.", ""]
    for number, q in enumerate(quiz, start=1):
        out += [f"#### Q{number}. {q.title} ({_points(q.points)})", "", q.text.strip(), ""]
        if q.type == "choice":
            answer = "one of " + ", ".join(f'`"{c}"`' for c in q.choices) + " (a string, in quotes)"
        else:
            answer = "a number"
            if q.abs_tol == 0 and q.rel_tol == 0:
                answer += ", graded exactly"
            else:
                parts = [f"{q.abs_tol:g}"] if q.abs_tol else []
                parts += [f"{q.rel_tol:g} times the exact value"] if q.rel_tol else []
                answer += f", accepted within {' or '.join(parts)} of the exact value"
        out += [f"*Answer:* `{q.id}` in `answers.toml`, {answer}.", ""]
    return "\n".join(out)


# -------------------------------------------------------------------------------- the datasets

def _csv_rows(path: Path) -> int:
    """Data rows of a dataset CSV file (all lines but the header)."""
    if not path.is_file():
        raise WriteupError(f"{path} is missing")
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines()[1:] if line.strip())


def _bound(name: str, value) -> str:
    """One row of the bounds table: what the key may hold."""
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "one of " + ", ".join(f'`"{v}"`' for v in value)
    if isinstance(value, list) and len(value) == 2:
        lo, hi = value
        kind = "an integer" if isinstance(lo, int) and isinstance(hi, int) else "a number"
        return f"{kind} from {lo:g} to {hi:g}" if kind == "a number" else f"{kind} from {lo} to {hi}"
    raise WriteupError(f"thresholds.toml: cannot render the bound {name} = {value!r}")


def render_datasets(root: Path) -> str:
    """The tables of thresholds, budgets and bounds, from autograder/suite/thresholds.toml."""
    path = root / "autograder" / "suite" / "thresholds.toml"
    if not path.is_file():
        raise WriteupError(f"{path} is missing")
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    datasets_dir = root / "solution" / "backprop" / "datasets"  # copied verbatim into assignment/
    known = {"hidden_units", "threshold", "n_test", "time_budget_seconds"}
    out = ["| dataset | hidden units $h$ | training points | accuracy threshold | fresh test points | "
           "time budget for `train` |", "|---|---|---|---|---|---|"]
    for name, table in doc.get("datasets", {}).items():
        if set(table) != known:
            raise WriteupError(f"{path}: [datasets.{name}] has keys {sorted(table)}, expected {sorted(known)}")
        n_train = _csv_rows(datasets_dir / f"{name}_train.csv")
        out.append(f"| `{name}` | {table['hidden_units']} | {n_train} | {table['threshold']:.0%} | "
                   f"{table['n_test']} | {table['time_budget_seconds']:g} s |")
    bounds = dict(doc.get("bounds", {}))
    max_steps = bounds.pop("max_sgd_steps", None)
    out += ["", "Allowed values in each table of `hyperparams.toml` (bounds included):", "",
            "| key | allowed values |", "|---|---|"]
    out += [f"| `{key}` | {_bound(key, value)} |" for key, value in bounds.items()]
    if max_steps is not None:
        out += ["", f"and the number of SGD updates, `epochs` $\\times \\lceil N_{{\\text{{train}}}} / "
                f"\\text{{batch\\_size}} \\rceil$, must be at most {max_steps:,}."]
    out += ["", "The time budget is wall-clock time for the `train` call on the grading machine, "
            "which may well be slower than your computer."]
    return "\n".join(out)


# ---------------------------------------------------------------------------------- the points

# The parts of the grade, in the order of the tests' numbers ("1.x" is part 1, ...).
PARTS = {
    "1": ("Modules and losses", "`modules.py`, `losses.py`",
          "forward against reference values; backward against finite differences and the reference; "
          "no input modified; shapes; edge values"),
    "2": ("Network", "`mlp.py`",
          "`build_mlp` structure and seeded initialisation; whole-network gradient check; `sgd_step`; "
          "`train`'s epoch losses equal the reference's for the same seed"),
    "3": ("Pocket datasets", "`mlp.py` + `hyperparams.toml`",
          "your `train` with your settings reaches the accuracy threshold on fresh hidden test points, "
          "within the time budget"),
    "4": ("Finite differences", "`gradcheck.py`", "`numerical_gradient` and `relative_error` on hidden functions"),
    "5": ("Automatic differentiation", "`autodiff.py`",
          "reverse and forward mode against known derivatives, including shared subexpressions and deep graphs"),
    "6": ("Quiz", "`answers.toml`",
          "your answers against the key on Gradescope (shown after the deadline); `make grade` checks only "
          "that each answer is well-formed"),
}


def _discover():
    """engine/discover.py, imported from its file under a private name (it needs only the stdlib),
    so that tools need not put autograder/ on sys.path."""
    name = "_handout_engine_discover"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "autograder" / "engine" / "discover.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is made
        spec.loader.exec_module(module)
    return sys.modules[name]


def suite_points(root: Path) -> dict[str, dict[str, float]]:
    """{part number: {"public": points, "hidden": points}} from the suite's test decorators."""
    discover = _discover()
    suite = root / "autograder" / "suite"
    points = {}
    for kind in ("public", "hidden"):
        for path in sorted((suite / kind).glob("test*.py")):
            for test in discover.discover_module(path, path.relative_to(suite).as_posix()):
                part = (test.number or "").split(".")[0]
                if part not in PARTS:
                    raise WriteupError(f"{path.name}::{test.qualname}: number {test.number!r} is in no part of {sorted(PARTS)}")
                entry = points.setdefault(part, {"public": 0.0, "hidden": 0.0})
                entry[kind] += test.weight * test.cases
    return points


def render_points(root: Path) -> str:
    """The points table: every part's points, public and hidden, from the grading suite."""
    points = suite_points(root)
    out = ["| part | your files | points | of which public | what is checked |", "|---|---|---|---|---|"]
    total = public = 0.0
    for part, (title, files, what) in PARTS.items():
        p = points.get(part, {"public": 0.0, "hidden": 0.0})
        total += p["public"] + p["hidden"]
        public += p["public"]
        out.append(f"| {part}. {title} | {files} | {p['public'] + p['hidden']:g} | {p['public']:g} | {what} |")
    out.append(f"| **total** | | **{total:g}** | **{public:g}** | |")
    quiz = points.get("6", {}).get("public", 0.0)
    out += ["", f"`make grade` runs the public tests: it scores {public - quiz:g} points and checks the "
                f"quiz's {quiz:g} for format only (their key is not shipped); Gradescope runs all of them."]
    return "\n".join(out)


RENDERERS = {"quiz": render_quiz, "datasets": render_datasets, "points": render_points}


def update(text: str, root: Path) -> str:
    """``text`` with every generated block re-rendered; WriteupError on an unknown block name."""
    def replace(match):
        name = match.group("name")
        if name not in RENDERERS:
            raise WriteupError(f"unknown generated block {name!r}: expected one of {sorted(RENDERERS)}")
        body = RENDERERS[name](Path(root)).strip("\n")
        return f"{match.group(1)}{body}\n{match.group(4)}"
    return BLOCK.sub(replace, text)


def block_names(text: str) -> list[str]:
    """The names of the generated blocks of a writeup, in order."""
    return [m.group("name") for m in BLOCK.finditer(text)]
