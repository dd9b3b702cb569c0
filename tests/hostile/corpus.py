"""The hostile submissions, each built from the solution or the skeleton plus attack snippets.

A builder `build(dest, tag) -> path` writes one submission under `dest` (a new folder) and
returns what a student would upload (a folder or a zip). The attack code lives in
attacks/*.py, appended to a student file after attacks/common.py; "@TAG@" becomes `tag`, so
every marker an attack leaves can be found. `SUBMISSIONS` names them all.
"""
from __future__ import annotations

import ast
import shutil
import stat
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOLUTION = REPO / "solution"
SKELETON = REPO / "assignment"
ATTACKS = Path(__file__).resolve().parent / "attacks"
PACKAGE = "backprop"
STUDENT_FILES = ("modules.py", "losses.py", "mlp.py", "gradcheck.py", "autodiff.py")
EXTRA_FILES = ("hyperparams.toml", "answers.toml")
# every place a file could run code when pytest, the interpreter or an import starts
STARTUP_FILES = ("conftest.py", "sitecustomize.py", "usercustomize.py", "numpy.py", "pytest.py",
                 "gradescope_utils.py", f"{PACKAGE}/conftest.py", f"{PACKAGE}/numpy.py",
                 f"{PACKAGE}/__init__.py", f"{PACKAGE}/data.py")


def snippet(name: str, tag: str) -> str:
    return (ATTACKS / f"{name}.py").read_text(encoding="utf-8").replace("@TAG@", tag)


def copy_base(base: Path, dest: Path) -> Path:
    """A copy of the solution or the skeleton: backprop/ and the two toml files."""
    shutil.copytree(base / PACKAGE, dest / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "datasets"))
    for name in EXTRA_FILES:
        shutil.copy2(base / name, dest / name)
    return dest


def inject(dest: Path, filename: str, tag: str, *attacks: str) -> None:
    """Append common.py and the named attacks to dest/backprop/filename."""
    path = dest / PACKAGE / filename
    parts = [path.read_text(encoding="utf-8").rstrip("\n"), snippet("common", tag),
             *(snippet(a, tag) for a in attacks)]
    path.write_text("\n\n\n".join(parts) + "\n", encoding="utf-8")


def link_member(zf: zipfile.ZipFile, name: str, target: str) -> None:
    """A symbolic link inside a zip (what `zip --symlinks` writes)."""
    info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, target)


# ------------------------------------------------------------------ baselines

def solution(dest: Path, tag: str) -> Path:
    return SOLUTION


def skeleton(dest: Path, tag: str) -> Path:
    return SKELETON


def solution_zip(dest: Path, tag: str) -> Path:
    """The solution uploaded as a zip with a top folder (hw/backprop/..., hw/*.toml)."""
    dest.mkdir(parents=True)
    upload = dest / "submission.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        for name in STUDENT_FILES:
            zf.write(SOLUTION / PACKAGE / name, f"hw/{PACKAGE}/{name}")
        for name in EXTRA_FILES:
            zf.write(SOLUTION / name, f"hw/{name}")
    return upload


# ------------------------------------------------------------------ attacks

def forge(dest: Path, tag: str) -> Path:
    """Skeleton + forging results.json (at import of modules.py: direct writes, atexit, SIGTERM
    handler, double-forked daemon), fake results on stdout then os._exit(0) at import of
    gradcheck.py, sys.exit at import of autodiff.py, and startup files (conftest.py,
    sitecustomize.py, ...) that would leave a marker if anything ran them."""
    copy_base(SKELETON, dest)
    inject(dest, "modules.py", tag, "forge")
    inject(dest, "gradcheck.py", tag, "stdout_exit")
    inject(dest, "autodiff.py", tag, "sys_exit")
    startup = snippet("startup", tag)
    for rel in STARTUP_FILES:
        (dest / rel).write_text(startup, encoding="utf-8")
    (dest / "hostile.pth").write_text(f"import os; open('/tmp/agw-hostile-{tag}-executed-pth', "
                                      "'w').close()\n", encoding="utf-8")
    return dest


def cheat(dest: Path, tag: str) -> Path:
    """Skeleton whose every function is a cheat (monkeypatching, always-equal objects, stack
    and heap walking, reading secrets), plus symbolic links to the solution: autodiff.py and
    hyperparams.toml (absolute), answers.toml (relative, into AUTOGRADER_ROOT/source) and two
    folders holding a whole solution."""
    copy_base(SKELETON, dest)
    for name in STUDENT_FILES:
        inject(dest, name, tag, "cheat")
    (dest / PACKAGE / "autodiff.py").unlink()
    (dest / PACKAGE / "autodiff.py").symlink_to(SOLUTION / PACKAGE / "autodiff.py")
    for name in EXTRA_FILES:
        (dest / name).unlink()
    (dest / "hyperparams.toml").symlink_to(SOLUTION / "hyperparams.toml")
    (dest / "answers.toml").symlink_to("../source/solution/answers.toml")
    (dest / "more").symlink_to(SOLUTION, target_is_directory=True)
    (dest / "more2").symlink_to("../source/solution", target_is_directory=True)
    return dest


def zip_links(dest: Path, tag: str) -> Path:
    """A zip upload made only of symbolic links to the solution (absolute, relative into
    AUTOGRADER_ROOT/source, and into /autograder/source), and a link to its folder."""
    dest.mkdir(parents=True)
    upload = dest / "submission.zip"
    targets = {"modules.py": str(SOLUTION / PACKAGE / "modules.py"),
               "losses.py": f"../../../source/solution/{PACKAGE}/losses.py",
               "mlp.py": f"/autograder/source/solution/{PACKAGE}/mlp.py",
               "gradcheck.py": str(SOLUTION / PACKAGE / "gradcheck.py"),
               "autodiff.py": f"../../../source/solution/{PACKAGE}/autodiff.py"}
    with zipfile.ZipFile(upload, "w") as zf:
        for name, target in targets.items():
            link_member(zf, f"hw/{PACKAGE}/{name}", target)
        link_member(zf, "hw/hyperparams.toml", str(SOLUTION / "hyperparams.toml"))
        link_member(zf, "hw/answers.toml", "../../source/solution/answers.toml")
        link_member(zf, "hw2", str(SOLUTION))
    return upload


def faults(dest: Path, tag: str) -> Path:
    """Solution + one fault per rarely used input (attacks/faults.py): an endless loop, SIGKILL
    of itself (alone, and leaving a child that holds the channel), a memory hog, a bounded fork bomb, 20 MB of output, a forged and an oversized
    frame on the channel, the channel dup'ed over stdout, kill(parent) and kill(-1), a 5 MB
    exception raised 400 frames deep."""
    copy_base(SOLUTION, dest)
    for name in ("modules.py", "losses.py", "gradcheck.py"):
        inject(dest, name, tag, "faults")
    return dest


def neighbour(dest: Path, tag: str, neighbours=(), port: int = 9) -> Path:
    """Solution + reaching the gradings beside it and after it (attacks/neighbour.py):
    kill(-1) in a loop, reading the folders `neighbours` (their TMPDIRs), the checkout and every
    command line, a TCP connection to 127.0.0.1:`port`, and inputs it records kept in SysV
    shared memory and shared folders for a later grading to print."""
    copy_base(SOLUTION, dest)
    path = dest / PACKAGE / "modules.py"
    attack = (snippet("neighbour", tag).replace("@NEIGHBOURS@", ":".join(map(str, neighbours)))
              .replace("@REPO@", str(REPO)).replace("@PORT@", str(port)))
    path.write_text("\n\n\n".join([path.read_text(encoding="utf-8").rstrip("\n"),
                                    snippet("common", tag), attack]) + "\n", encoding="utf-8")
    return dest


def all_loops(dest: Path, tag: str) -> Path:
    """Solution whose every function and method begins with a loop that never ends (the
    answers and hyperparameters are the solution's): each call into it times out."""
    copy_base(SOLUTION, dest)
    for name in STUDENT_FILES:
        path = dest / PACKAGE / name
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                docstring = ast.get_docstring(node, clean=False) is not None
                node.body.insert(int(docstring), ast.parse("while True:\n    pass").body[0])
        path.write_text(ast.unparse(tree) + "\n", encoding="utf-8")
    return dest


SUBMISSIONS = {f.__name__: f for f in (solution, skeleton, solution_zip, forge, cheat, zip_links,
                                       faults, all_loops)}
