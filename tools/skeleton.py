"""Generate the student skeleton assignment/ from the reference solution/ (one source of truth).

    python -m tools.skeleton            # (re)write assignment/ from solution/ and quiz/quiz.toml
    python -m tools.skeleton --check    # write nothing; exit 1 listing the files that differ

What is generated (docs/architecture.md, "Markers"):
- every ``*.py`` under solution/backprop/: each region between ``# BEGIN SOLUTION`` and
  ``# END SOLUTION`` becomes one line ``raise NotImplementedError("<hint>")`` at the markers'
  indentation; the hint comes from a ``# HINT: ...`` line directly above ``# BEGIN SOLUTION``
  (which stays in the skeleton as a comment), else DEFAULT_HINT. Everything else is copied as is;
  a file without markers (``__init__.py``, ``data.py``) is copied byte for byte, as is every
  other file under solution/backprop/ (the datasets' CSVs);
- ``hyperparams.toml``: a valid but untuned template (never the tuned values of solution/);
- ``answers.toml``: the quiz with empty answers (never the key of solution/).
The output is a pure function of the inputs: the same solution/ gives the same bytes.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from tools.quiz import load_quiz, render_answers_template

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END, HINT = "# BEGIN SOLUTION", "# END SOLUTION", "# HINT:"
DEFAULT_HINT = "not implemented yet: write this part (see the handout)"
STUDENT_FILES = ("modules.py", "losses.py", "mlp.py", "gradcheck.py", "autodiff.py")
PACKAGE = "backprop"
# The template's settings: valid (inside any sensible bounds) but deliberately not tuned.
UNTUNED = {"learning_rate": 0.1, "epochs": 5, "batch_size": 32, "init": "xavier", "seed": 0}
TUNED_KEYS = ("learning_rate", "epochs", "batch_size")
# The published per-dataset settings; the template's comments give each dataset's hidden units.
THRESHOLDS = ROOT / "autograder" / "suite" / "thresholds.toml"
_IGNORED_DIRS = {"__pycache__"}
_NEAR_MISS = re.compile(r"\b(BEGIN|END)[\s_-]*SOLUTIONS?\b", re.IGNORECASE)  # typos of the markers


class SkeletonError(ValueError):
    """A solution file cannot be turned into a skeleton; the message names the file and line."""


@dataclass(frozen=True)
class Region:
    begin: int   # 1-based line of "# BEGIN SOLUTION"
    end: int     # 1-based line of "# END SOLUTION"
    indent: str
    hint: str


# ------------------------------------------------------------------------------ one source file

def _source_lines(source: str) -> list[str]:
    """The lines as Python numbers them (only \\n, \\r\\n and \\r end a line, unlike str.splitlines)."""
    lines = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def find_regions(source: str, filename: str = "<source>") -> list[Region]:
    """The marked regions of a source text, in order; SkeletonError on malformed markers."""
    lines = _source_lines(source)
    regions, open_at, open_indent = [], None, ""
    for n, line in enumerate(lines, start=1):
        stripped, indent = line.strip(), line[:len(line) - len(line.lstrip())]
        is_begin, is_end = stripped == BEGIN, stripped == END
        if not (is_begin or is_end) and _NEAR_MISS.search(stripped):
            raise SkeletonError(f"{filename}:{n}: malformed marker {stripped!r}: "
                                f"write exactly {BEGIN!r} or {END!r} on its own line")
        if is_begin:
            if open_at is not None:
                raise SkeletonError(f"{filename}:{n}: nested {BEGIN!r} (the region opened on line "
                                    f"{open_at} is not closed)")
            open_at, open_indent = n, indent
        elif is_end:
            if open_at is None:
                raise SkeletonError(f"{filename}:{n}: {END!r} without a {BEGIN!r} before it")
            if indent != open_indent:
                raise SkeletonError(f"{filename}:{n}: {END!r} is not indented like the {BEGIN!r} "
                                    f"on line {open_at}")
            above = lines[open_at - 2].strip() if open_at >= 2 else ""
            hint = above[len(HINT):].strip() if above.startswith(HINT) else ""
            regions.append(Region(open_at, n, open_indent, hint or DEFAULT_HINT))
            open_at = None
        elif stripped.startswith(HINT) and open_at is None:
            following = lines[n].strip() if n < len(lines) else ""
            if following != BEGIN:
                raise SkeletonError(f"{filename}:{n}: a {HINT!r} line must be directly above {BEGIN!r}")
    if open_at is not None:
        raise SkeletonError(f"{filename}:{open_at}: {BEGIN!r} without a matching {END!r}")
    return regions


def _check_region_shape(lines: list[str], region: Region, statements, filename: str) -> None:
    """The region must hold whole statements (``statements``: (first, last) line of every statement,
    decorators included) indented like its markers."""
    body = range(region.begin + 1, region.end)
    for n in body:
        line = lines[n - 1]
        if line.strip() and not line.startswith(region.indent):
            raise SkeletonError(f"{filename}:{n}: this line of the region opened on line {region.begin} "
                                "is indented less than its markers")
    code = [n for n in body if lines[n - 1].strip() and not lines[n - 1].strip().startswith("#")]
    if code:
        first = lines[code[0] - 1]
        if first[:len(first) - len(first.lstrip())] != region.indent:
            raise SkeletonError(f"{filename}:{region.begin}: the markers must be indented like the code "
                                f"they enclose (line {code[0]})")
    inside = {n for first, last in statements if first in body and last in body
              for n in range(first, last + 1)}
    for n in code:
        if n not in inside:
            raise SkeletonError(f"{filename}:{n}: this line is not part of a whole statement inside the "
                                f"region opened on line {region.begin}: a region must hold whole statements")


def strip_solutions(source: str, filename: str = "<source>") -> str:
    """The skeleton of one solution source: each marked region replaced by its stub.

    Raises SkeletonError (naming file and line) for malformed markers, for a region that does not
    hold whole statements, and when the result would not be valid Python.
    """
    regions = find_regions(source, filename)
    if not regions:
        return source
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as e:
        raise SkeletonError(f"{filename}:{e.lineno}: the solution file is not valid Python: {e.msg}") from None
    statements = [(min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", [])]), s.end_lineno)
                  for s in ast.walk(tree) if isinstance(s, ast.stmt)]
    lines = _source_lines(source)
    out, stub_lines, previous_end = [], [], 0
    for region in regions:
        _check_region_shape(lines, region, statements, filename)
        out += lines[previous_end:region.begin - 1]
        out.append(f"{region.indent}raise NotImplementedError({json.dumps(region.hint, ensure_ascii=False)})")
        stub_lines.append((len(out), region))
        previous_end = region.end
    out += lines[previous_end:]
    result = "\n".join(out) + "\n"
    try:
        ast.parse(result, filename)
    except SyntaxError as e:
        culprit = [r for line, r in stub_lines if line <= (e.lineno or 0)]
        where = culprit[-1].begin if culprit else regions[0].begin
        raise SkeletonError(f"{filename}:{where}: the stub of this region is not valid Python there "
                            f"({e.msg}, skeleton line {e.lineno})") from None
    return result


# ------------------------------------------------------------------------------------ templates

def dataset_names(data_py: Path) -> tuple[str, ...]:
    """``DATASETS`` of solution/backprop/data.py, read without importing it."""
    try:
        tree = ast.parse(data_py.read_text(encoding="utf-8"), str(data_py))
    except (OSError, SyntaxError) as e:
        raise SkeletonError(f"{data_py}: cannot read DATASETS: {e}") from None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DATASETS" for t in node.targets):
            names = ast.literal_eval(node.value)
            if isinstance(names, (tuple, list)) and names and all(isinstance(s, str) for s in names):
                return tuple(names)
    raise SkeletonError(f"{data_py}: no literal `DATASETS = (...)` of dataset names")


def hidden_units(thresholds: Path = THRESHOLDS) -> dict[str, int]:
    """Dataset name -> hidden units fixed by the lecture's slides, as thresholds.toml publishes them."""
    tables = tomllib.loads(thresholds.read_text(encoding="utf-8")).get("datasets", {})
    return {name: table["hidden_units"] for name, table in tables.items()}


def render_hyperparams_template(datasets: tuple[str, ...], tuned: dict | None = None,
                                units: dict[str, int] | None = None) -> str:
    """assignment/hyperparams.toml: one table per dataset with valid, untuned values.

    ``tuned`` (solution/hyperparams.toml, if any) is only compared against: a template that would
    equal a tuned table is an error, so the tuned settings never reach students.
    """
    for name, table in (tuned or {}).items():
        if isinstance(table, dict) and all(table.get(k) == UNTUNED[k] for k in TUNED_KEYS):
            raise SkeletonError(f"hyperparams template: the untuned settings equal the tuned ones of "
                                f"[{name}] in solution/hyperparams.toml; change UNTUNED in tools/skeleton.py")
    out = [
        "# Training settings the autograder uses with YOUR code, one table per dataset.",
        "# For each dataset it runs",
        '#   model = build_mlp(2, [h], 1, activation="sigmoid", output="sigmoid", init=init, seed=seed)',
        "#   train(model, BinaryCrossEntropy(), X_train, y_train, epochs, learning_rate, batch_size, seed=seed)",
        "# with the number of hidden units h fixed by the lecture's slides (given above each table), then",
        "# measures the accuracy on fresh test points.",
        "#",
        "# The values below are valid but NOT tuned: they will not reach the accuracy thresholds.",
        "# Tune learning_rate, epochs, batch_size, init (\"xavier\", \"uniform\" or \"zero\") and seed.",
        "# The handout gives the allowed range of every value, the accuracy thresholds and the time budget.",
        "# Every table is required; a missing or invalid table costs that dataset only.",
    ]
    for name in datasets:
        out.append("")
        if name in (units or {}):
            out.append(f"# {name}: one hidden layer of {units[name]} logistic units")
        out.append(f"[{name}]")
        out += [f"{key} = {json.dumps(value)}" for key, value in UNTUNED.items()]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- the whole tree

def build(solution_dir: Path, quiz_path: Path, required: tuple[str, ...] = STUDENT_FILES) -> dict[str, bytes]:
    """Everything the generator writes: {path relative to assignment/ (POSIX): content}.

    ``required`` names the files of solution/backprop/ that must exist and hold at least one region
    (a student file without one would ship the solution as is).
    """
    package = Path(solution_dir) / PACKAGE
    if not package.is_dir():
        raise SkeletonError(f"{package}: no such folder")
    files: dict[str, bytes] = {}
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(solution_dir)
        if path.is_dir() or _ignored(rel):
            continue
        data = path.read_bytes()
        if path.suffix == ".py":
            try:
                source = data.decode("utf-8")
            except UnicodeDecodeError:
                raise SkeletonError(f"{rel}: not UTF-8 text") from None
            if find_regions(source, str(rel)):
                data = strip_solutions(source, str(rel)).encode("utf-8")
            elif rel.name in required:
                raise SkeletonError(f"{rel}: a student file without any {BEGIN!r} region "
                                    "(the skeleton would ship the solution)")
        files[rel.as_posix()] = data
    missing = [name for name in required if f"{PACKAGE}/{name}" not in files]
    if missing:
        raise SkeletonError(f"{package}: missing solution files {missing}")
    tuned_path = Path(solution_dir) / "hyperparams.toml"
    tuned = tomllib.loads(tuned_path.read_text(encoding="utf-8")) if tuned_path.exists() else None
    datasets = dataset_names(package / "data.py")
    files["hyperparams.toml"] = render_hyperparams_template(datasets, tuned, hidden_units()).encode("utf-8")
    files["answers.toml"] = render_answers_template(load_quiz(quiz_path)).encode("utf-8")
    return dict(sorted(files.items()))


def _ignored(rel: Path) -> bool:
    return any(part in _IGNORED_DIRS or part.startswith(".") for part in rel.parts) or rel.suffix == ".pyc"


def on_disk(assignment_dir: Path) -> dict[str, bytes]:
    """The files currently in assignment/ (ignoring caches and hidden files)."""
    root = Path(assignment_dir)
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not _ignored(p.relative_to(root))}


def differences(expected: dict[str, bytes], assignment_dir: Path) -> list[str]:
    """One line per file of assignment/ that differs from ``expected``; empty when up to date."""
    current = on_disk(assignment_dir)
    lines = [f"missing:    {p}" for p in expected if p not in current]
    lines += [f"differs:    {p}" for p in expected if p in current and current[p] != expected[p]]
    lines += [f"unexpected: {p}" for p in current if p not in expected]
    return lines


def write(expected: dict[str, bytes], assignment_dir: Path, prune: bool = False) -> tuple[int, list[str]]:
    """Write the files that changed; return (number written, unexpected files [removed if prune])."""
    root, written = Path(assignment_dir), 0
    current = on_disk(root)
    for rel, data in expected.items():
        if current.get(rel) != data:
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written += 1
    unexpected = [p for p in current if p not in expected]
    if prune:
        for rel in unexpected:
            (root / rel).unlink()
    return written, unexpected


def main(argv: list[str] | None = None, required: tuple[str, ...] = STUDENT_FILES) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.skeleton", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 listing the files of assignment/ that are out of date")
    parser.add_argument("--prune", action="store_true", help="also delete files the generator does not make")
    parser.add_argument("--solution", type=Path, default=ROOT / "solution")
    parser.add_argument("--quiz", type=Path, default=ROOT / "quiz" / "quiz.toml")
    parser.add_argument("--assignment", type=Path, default=ROOT / "assignment")
    args = parser.parse_args(argv)
    try:
        expected = build(args.solution, args.quiz, required)
    except (SkeletonError, ValueError) as e:
        print(f"skeleton: error: {e}", file=sys.stderr)
        return 2
    if args.check:
        diff = differences(expected, args.assignment)
        if diff:
            print(f"{args.assignment} is out of date (run `python -m tools.skeleton`):", file=sys.stderr)
            print("\n".join("  " + line for line in diff), file=sys.stderr)
            return 1
        print(f"{args.assignment} is up to date ({len(expected)} files)")
        return 0
    written, unexpected = write(expected, args.assignment, args.prune)
    print(f"{args.assignment}: {written} file(s) written, {len(expected) - written} unchanged")
    for rel in unexpected:
        print(f"  {'removed' if args.prune else 'not generated (use --prune to remove)'}: {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
