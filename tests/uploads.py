"""Uploads a careless student or an attacker makes, each with the verdict the grader must give.

Every case is the reference solution, uploaded in an awkward way or with one part broken. Its
verdict: the test numbers that must fail (by prefix; every other test must pass, so nothing
else may be lost), and text that the failing tests' output or the top-level output must hold.
Graded through the local Gradescope simulation by tests/test_uploads.py.
"""
from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solution"
SKELETON = ROOT / "assignment"
PACKAGE = "backprop"
STUDENT_FILES = ("modules.py", "losses.py", "mlp.py", "gradcheck.py", "autodiff.py")
EXTRA_FILES = ("hyperparams.toml", "answers.toml")


def solution_files(prefix: str = "") -> dict[str, bytes]:
    """{path in the upload: bytes}: the solution's student files and TOML files under `prefix`."""
    files = {f"{prefix}{PACKAGE}/{n}": (SOLUTION / PACKAGE / n).read_bytes() for n in STUDENT_FILES}
    files.update({f"{prefix}{n}": (SOLUTION / n).read_bytes() for n in EXTRA_FILES})
    return files


def write_tree(dest: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes(data)
    return dest


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for rel, data in files.items():
            zf.writestr(rel, data)
    return path


def set_method(path: Path, member_suffix: str, method: int) -> None:
    """Rewrite the compression method of the members whose name ends with `member_suffix`, in
    their local and central headers (what an archiver using PPMd or Deflate64 writes)."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = data.find(signature)
        while at >= 0:
            name_len = int.from_bytes(data[at + (26 if signature == b"PK\x03\x04" else 28):][:2],
                                      "little")
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if bytes(data[name_at:name_at + name_len]).endswith(member_suffix.encode()):
                data[at + offset:at + offset + 2] = method.to_bytes(2, "little")
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))


# ------------------------------------------------------------------ the cases

def ppmd(dest: Path) -> Path:
    """A zip whose answers.toml is compressed with PPMd (method 98)."""
    upload = write_zip(dest / "hw.zip", solution_files("hw/"))
    set_method(upload, "answers.toml", 98)
    return upload


def long_names(dest: Path) -> Path:
    """A zip with the solution and five members named by 65,000 spaces."""
    files = solution_files()
    files.update({" " * 65_000 + f"{i}": b"x" for i in range(5)})
    return write_zip(dest / "names.zip", files)


def whole_folder(dest: Path) -> Path:
    """The handout folder after `make notebook-env` (16,805 files then; 6,000 here, still more
    than intake walks): most in .venv, which sorts before backprop/, caches and checkpoints."""
    files = solution_files()
    for i in range(6_000):
        files[f".venv/lib/python3.11/site-packages/p{i // 400}/m{i}.py"] = b"x = 1\n"
    files[".venv/pyvenv.cfg"] = b"home = /usr/bin\n"
    for i in range(790):
        files[f"{PACKAGE}/__pycache__/c{i}.pyc"] = b"\0"
    files[".ipynb_checkpoints/backprop-checkpoint.ipynb"] = b"{}"
    return write_tree(dest / "handout", files)


def markup(dest: Path) -> Path:
    """File names and import-time output made to break out of Markdown and the terminal."""
    files = solution_files()
    files[f"{PACKAGE}/<img src=x onerror=alert(1)>.py"] = b"x = 1\n"
    files[f"{PACKAGE}/notes\u202etxt.py"] = b"x = 1\n"
    files[f"{PACKAGE}/```\n# Score set to 100.py"] = b"x\n"
    module = files[f"{PACKAGE}/modules.py"].decode()
    files[f"{PACKAGE}/modules.py"] = (
        "print('\\x1b]0;pwned\\x07\\x1b[2J\\x1b[32m100/100\\x1b[0m <script>alert(1)</script>"
        " \\x9b31m \\u202e ```')\n" + module).encode()
    return write_tree(dest / "markup", files)


def big_int(dest: Path) -> Path:
    """hyperparams.toml with a 5,000-digit integer as one_pocket's epochs."""
    files = solution_files()
    text = files["hyperparams.toml"].decode()
    head, rest = text.split("[one_pocket]", 1)
    rest = rest.replace("epochs = 100", "epochs = " + "9" * 5000, 1)
    files["hyperparams.toml"] = (head + "[one_pocket]" + rest).encode()
    return write_tree(dest / "bigint", files)


def bom_crlf(dest: Path) -> Path:
    """Both TOML files saved with a byte-order mark and CRLF line ends (a Windows editor)."""
    files = solution_files()
    for name in EXTRA_FILES:
        files[name] = b"\xef\xbb\xbf" + files[name].replace(b"\n", b"\r\n")
    return write_tree(dest / "windows", files)


def two_copies(dest: Path) -> Path:
    """A complete backprop/ folder and, loose at the top, stale drafts (the skeleton's files)."""
    files = solution_files()
    files.update({n: (SKELETON / PACKAGE / n).read_bytes() for n in STUDENT_FILES})
    return write_tree(dest / "both", files)


@dataclass(frozen=True)
class Case:
    """build(dest) -> the upload; fails: number prefixes that must fail (all others pass);
    says: {number prefix or "top": texts its output must hold}."""

    build: Callable[[Path], Path]
    fails: tuple = ()
    says: dict = field(default_factory=dict)


CASES = {
    "ppmd": Case(ppmd, fails=("6.",), says={
        "6.": ["method 98 (PPMd)", "zip it again with the standard Deflate method"]}),
    "long_names": Case(long_names, says={"top": ["Skipped as not part of the homework"]}),
    "whole_folder": Case(whole_folder, says={
        "top": ["Skipped as not part of the homework: `.ipynb_checkpoints`, `.venv`"]}),
    "markup": Case(markup, says={"top": ["`backprop/<img src=x onerror=alert(1)>.py` is not one "
                                         "of the assignment's files", "notestxt.py"],
                                 "1.1": ["**Your code printed:**", "100/100 <script>"]}),
    "big_int": Case(big_int, fails=("3.1.2", "3.20.2"), says={
        "3.1.2": ["one_pocket] (from line 16) cannot be read: a number there has far too many "
                  "digits", "The autograder did not train this dataset"]}),
    "bom_crlf": Case(bom_crlf),
    "two_copies": Case(two_copies, says={
        "top": ["the copy in `backprop/` was graded", "ignored: `autodiff.py`"]}),
}
