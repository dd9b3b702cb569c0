"""Build dist/handout.zip, what students download.

    python -m tools.handout                 # build dist/handout.zip (fails on any leak)
    python -m tools.handout --out FILE      # somewhere else
    python -m tools.handout --writeup       # re-render the generated tables of handout/README.md
    python -m tools.handout --list          # print the files the zip would hold

The zip holds one folder, ``backprop-handout/``:

    README.md  backprop.ipynb          the writeup and the notebook (both checked up to date)
    Makefile  grade.py  submit.py      `make grade`, `make submit` (handout/Makefile.student, *.py)
    requirements.txt                   what `make grade` installs (autograder/requirements.txt)
    requirements-notebook.txt          + matplotlib and ipykernel (pins of requirements-dev.txt)
    hyperparams.toml  answers.toml     the templates of assignment/
    backprop/                          the skeleton, assignment/backprop (data.py and datasets/ included)
    grader/engine/                     the grading engine, autograder/engine
    grader/suite/                      assignment.toml, thresholds.toml, public/ and the suite
                                       modules those import (found by following their imports)
    grader/quiz/quiz.toml  grader/tools/quiz.py   the quiz's questions and parser (no key)
    grader/provided/                   the provided files the grader puts over the student's

Before writing, every file is scanned by content for the solution, the quiz key, the hidden
tests, the hidden seeds and the tuned settings (tools.handout_leaks); any finding fails the
build. The zip is deterministic: sorted entries, fixed timestamps and permissions.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import zipfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from tools import handout_leaks, handout_writeup, notebook

ROOT = Path(__file__).resolve().parents[1]
TOP = "backprop-handout"
DEFAULT_OUT = ROOT / "dist" / "handout.zip"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
JUNK = {"__pycache__", ".DS_Store", ".pytest_cache", ".ipynb_checkpoints"}
STUDENT_FILES = ("modules.py", "losses.py", "mlp.py", "gradcheck.py", "autodiff.py")
NOTEBOOK_PACKAGES = ("matplotlib", "ipykernel")   # taken, pinned, from requirements-dev.txt
FORBIDDEN_PARTS = {"hidden", "solution", "calibration.toml"}
# Files the suite reads by path rather than imports (autograder/suite/quizfiles.py looks for
# them beside the suite): the quiz's questions and its parser, never the key.
SUITE_RESOURCES = ("quiz/quiz.toml", "tools/quiz.py")


class HandoutError(RuntimeError):
    """The handout cannot be built (an input is missing or stale, or a secret would leak)."""


def _tree(folder: Path, prefix: str) -> dict[str, Path]:
    """Handout name -> source path for every regular file under ``folder`` (junk skipped)."""
    if not folder.is_dir():
        raise HandoutError(f"{folder} is missing")
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part in JUNK for part in rel.parts) and path.suffix != ".pyc":
            files[f"{prefix}/{rel.as_posix()}"] = path
    return files


def _read(path: Path) -> bytes:
    """The bytes of a file the handout needs; HandoutError if it is missing."""
    if not path.is_file():
        raise HandoutError(f"{path} is missing")
    return path.read_bytes()


# ------------------------------------------------------------------------------- the local grader

def _imported_modules(path: Path) -> set[str]:
    """Dotted names of every module a Python file imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def _resolve(module: str, roots: list[tuple[Path, str]]) -> dict[str, Path]:
    """The files (with their package __init__s) that make up ``module`` under the first root holding it."""
    parts = module.split(".")
    for base, prefix in roots:
        found = {}
        for depth in range(1, len(parts) + 1):
            init = base.joinpath(*parts[:depth], "__init__.py")
            if init.is_file():
                found[f"{prefix}/{'/'.join(parts[:depth])}/__init__.py"] = init
        leaf = base.joinpath(*parts[:-1], parts[-1] + ".py")
        if leaf.is_file():
            found[f"{prefix}/{'/'.join(parts)}.py"] = leaf
        if leaf.is_file() or base.joinpath(*parts, "__init__.py").is_file():
            return found
    return {}


def grader_files(root: Path) -> dict[str, Path]:
    """Handout name -> source for the local grader: engine, public suite and what it imports."""
    autograder = root / "autograder"
    suite = autograder / "suite"
    files = _tree(autograder / "engine", "grader/engine")
    for name in ("assignment.toml", "thresholds.toml"):
        files[f"grader/suite/{name}"] = suite / name
    files.update(_tree(suite / "public", "grader/suite/public"))
    files.update({f"grader/{rel}": root / rel for rel in SUITE_RESOURCES})
    if (suite / "conftest.py").is_file():
        files["grader/suite/conftest.py"] = suite / "conftest.py"
    # Follow imports from the suite's Python files to the suite modules and project tools they need.
    roots = [(suite, "grader/suite"), (autograder, "grader"), (root, "grader")]
    queue = [name for name in files if name.endswith(".py") and not name.startswith("grader/engine/")]
    while queue:
        for module in sorted(_imported_modules(files[queue.pop()])):
            for name, path in _resolve(module, roots).items():
                if name not in files:
                    files[name] = path
                    queue.append(name)
    config = tomllib.loads(_read(suite / "assignment.toml").decode("utf-8"))
    provided = root / "assignment" / config["assignment"]["package"]
    for pattern in config["assignment"].get("provided_files", []):
        matches = sorted(p for p in provided.glob(pattern) if p.is_file())
        if not matches:
            raise HandoutError(f"provided file pattern {pattern!r} matches nothing in {provided}")
        files.update({f"grader/provided/{p.relative_to(provided).as_posix()}": p for p in matches})
    return files


# ----------------------------------------------------------------------------- the student side

def _requirements(root: Path) -> dict[str, bytes]:
    """requirements.txt (the grader's pins) and requirements-notebook.txt (+ the notebook's)."""
    grading = [line for line in _read(root / "autograder" / "requirements.txt").decode().splitlines()
               if line.strip() and not line.startswith("#")]
    dev = _read(root / "requirements-dev.txt").decode().splitlines()
    extra = [line for line in dev if line.split("==")[0].strip() in NOTEBOOK_PACKAGES]
    if len(extra) != len(NOTEBOOK_PACKAGES):
        raise HandoutError(f"requirements-dev.txt does not pin all of {NOTEBOOK_PACKAGES}")
    head = "# What `make grade` installs into .venv/: NumPy, and pytest and friends for the local grader."
    return {
        "requirements.txt": ("\n".join([head, *grading]) + "\n").encode(),
        "requirements-notebook.txt": ("\n".join(
            ["# For the notebook (`make notebook-env`): the grading packages plus Matplotlib and a Jupyter kernel.",
             "-r requirements.txt", *extra]) + "\n").encode(),
    }


def _writeup(root: Path) -> bytes:
    """handout/README.md, which must equal a fresh rendering of its generated tables."""
    path = root / "handout" / "README.md"
    text = _read(path).decode("utf-8")
    if handout_writeup.update(text, root) != text:
        raise HandoutError(f"{path} is stale: run `python -m tools.handout --writeup`")
    return text.encode("utf-8")


def _notebook(root: Path) -> bytes:
    """handout/backprop.ipynb, which must equal a fresh build of handout/notebook.py."""
    built = notebook.render(_read(root / "handout" / "notebook.py").decode("utf-8"))
    committed = _read(root / "handout" / "backprop.ipynb").decode("utf-8")
    if committed != built:
        raise HandoutError("handout/backprop.ipynb is stale: run `python -m tools.notebook`")
    return built.encode("utf-8")


def student_files(root: Path) -> dict[str, bytes]:
    """Handout name -> contents for everything but the grader."""
    files = {
        "README.md": _writeup(root),
        "backprop.ipynb": _notebook(root),
        "Makefile": _read(root / "handout" / "Makefile.student"),
        "submit.py": _read(root / "handout" / "submit.py"),
        "grade.py": _read(root / "handout" / "grade.py"),
        "hyperparams.toml": _read(root / "assignment" / "hyperparams.toml"),
        "answers.toml": _read(root / "assignment" / "answers.toml"),
    }
    files.update(_requirements(root))
    files.update({name: _read(path) for name, path in _tree(root / "assignment" / "backprop", "backprop").items()})
    missing = [f"backprop/{f}" for f in STUDENT_FILES + ("data.py", "__init__.py") if f"backprop/{f}" not in files]
    if not any(name.startswith("backprop/datasets/") for name in files):
        missing.append("backprop/datasets/")
    if missing:
        raise HandoutError(f"the skeleton in assignment/ lacks {', '.join(missing)}: run `python -m tools.skeleton`")
    return files


# -------------------------------------------------------------------------------- build and check

def collect(root: Path = ROOT) -> dict[str, bytes]:
    """Every file of the handout (name inside the top folder -> bytes), checked; HandoutError if not."""
    files = student_files(root)
    files.update({name: _read(path) for name, path in grader_files(root).items()})
    problems = check(files, root)
    if problems:
        raise HandoutError("the handout would leak or is malformed:\n  " + "\n  ".join(problems))
    return dict(sorted(files.items()))


def check(files: dict[str, bytes], root: Path = ROOT) -> list[str]:
    """Problems with a set of handout files: forbidden names, outputs in the notebook, secrets."""
    problems = [f"{name}: forbidden path" for name in files
                if FORBIDDEN_PARTS & set(name.lower().split("/"))]
    if not any(name.startswith("grader/suite/public/test") for name in files):
        problems.append("grader/suite/public/ holds no test module")
    for name, data in files.items():
        if name.endswith(".ipynb"):
            cells = json.loads(data).get("cells", [])
            if any(cell.get("outputs") or cell.get("execution_count") for cell in cells):
                problems.append(f"{name}: the notebook has outputs (students get it without)")
    problems += handout_leaks.scan(files, handout_leaks.collect_secrets(root))
    return problems


def write_zip(files: dict[str, bytes], out: Path) -> None:
    """Write ``files`` under TOP/ into the zip ``out``: sorted, fixed dates and modes."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{TOP}/{name}", date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, so that the modes above are honoured
            zf.writestr(info, files[name], compresslevel=9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.handout", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--writeup", action="store_true", help="re-render the generated tables of handout/README.md")
    parser.add_argument("--list", action="store_true", help="print the files the zip would hold")
    args = parser.parse_args(argv)
    try:
        if args.writeup:
            path = ROOT / "handout" / "README.md"
            text = path.read_text(encoding="utf-8")
            fresh = handout_writeup.update(text, ROOT)
            path.write_text(fresh, encoding="utf-8")
            print(f"{path}: {'updated' if fresh != text else 'already up to date'} "
                  f"(blocks: {', '.join(handout_writeup.block_names(fresh))})")
            return 0
        files = collect(ROOT)
    except (HandoutError, handout_writeup.WriteupError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.list:
        for name, data in files.items():
            print(f"{len(data):>9}  {TOP}/{name}")
        return 0
    write_zip(files, args.out)
    print(f"wrote {args.out}: {len(files)} files, {args.out.stat().st_size / 1e3:.1f} kB "
          f"(no solution, key, hidden test, hidden seed or tuned setting found inside)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
