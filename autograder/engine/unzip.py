"""Read the files of a submission without trusting it: a folder walk and a zip reader.

Both produce `Entry` records (a path relative to the submission root, a size and
a bounded reader) and `Refusal` records (an entry we will not use, and why). A
zip's members are placed where the zip itself is, as if it had been unpacked
there, but nothing is ever written to disk here and nothing is executed.
"""
from __future__ import annotations

import collections
import dataclasses
import os
import re
import stat
import zipfile
from pathlib import Path
from typing import Callable

from engine.config import Limits
from engine.escape import code

JUNK_NAMES = frozenset({"__pycache__", ".DS_Store", "__MACOSX", ".ipynb_checkpoints", ".git",
                        ".idea", ".vscode", "Thumbs.db", "desktop.ini", ".pytest_cache",
                        # environments and caches a whole-folder upload brings along
                        ".venv", "venv", "node_modules", ".tox", ".nox", ".mypy_cache",
                        ".ruff_cache", ".hypothesis", "site-packages", ".cache", ".eggs"})
VENV_MARKER = "pyvenv.cfg"   # a folder holding it is a virtual environment, whatever its name
MAX_NAME_CHARS = 255         # longer names exist on no common file system: not looked at
# zip compression methods Python's zipfile reads (bzip2 and lzma if Python was built with them)
READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
READABLE_METHODS |= {m for m, mod in ((zipfile.ZIP_BZIP2, "bz2"), (zipfile.ZIP_LZMA, "lzma"))
                     if getattr(zipfile, mod, None) is not None}
METHOD_NAMES = {9: "Deflate64", 10: "PKWARE DCL Implode", 12: "bzip2", 14: "LZMA", 93: "Zstandard",
                95: "xz", 96: "JPEG", 97: "WavPack", 98: "PPMd", 99: "AES encryption"}


class TooLarge(Exception):
    """A file turned out larger than the cap while it was being read."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One regular file of the submission.

    parts:  path relative to the submission root, e.g. ("hw", "backprop", "mlp.py");
            members of a zip at ("a.zip",) start at the root.
    origin: how to name it to the student, e.g. "hw/backprop/mlp.py (in a.zip)".
    size:   declared size in bytes.
    read:   returns the content, raising TooLarge if it exceeds the cap.
    """

    parts: tuple[str, ...]
    origin: str
    size: int
    read: Callable[[], bytes] = dataclasses.field(compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.parts[-1]


@dataclasses.dataclass(frozen=True)
class Refusal:
    """A path we did not use: `parts` may be empty when a whole archive is refused."""

    parts: tuple[str, ...]
    origin: str
    reason: str

    @property
    def message(self) -> str:
        return f"{code(self.origin)} {self.reason}"


def is_junk(name: str) -> bool:
    """Editor, OS, cache and environment litter, skipped before anything is counted."""
    return name in JUNK_NAMES or name.startswith("._") or name.endswith((".pyc", ".pyo"))


def skipped_summary(skipped: list[str]) -> str:
    """One line for the student about what was skipped as litter ("" if nothing)."""
    if not skipped:
        return ""
    names = sorted(set(skipped))
    shown = ", ".join(code(n) for n in names[:6]) + (f" and {len(names) - 6} more"
                                                       if len(names) > 6 else "")
    return f"Skipped as not part of the homework: {shown}"


def human_size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def _read_file(path: Path, cap: int) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise TooLarge(f"{path} is no longer a regular file")
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise TooLarge(str(path))
    return data


def walk_folder(root: Path, limits: Limits,
                skipped: list | None = None) -> tuple[list[Entry], list[Refusal]]:
    """Every regular file under `root`, never following symlinks, the shallowest first (a
    breadth-first walk, each folder's entries sorted by name), so that the files of the
    homework, which sit near the top, are found whatever else an upload holds.

    Symlinks and special files (FIFOs, sockets, devices) are refused; litter (`is_junk`, a
    folder holding a virtual environment, a name over MAX_NAME_CHARS) is skipped before it is
    counted, its names appended to `skipped`; the walk stops after `limits.max_walk_entries`.
    """
    entries: list[Entry] = []
    refused: list[Refusal] = []
    skipped = [] if skipped is None else skipped
    budget = limits.max_walk_entries
    queue = collections.deque([(Path(root), ())])
    while queue:
        folder, parts = queue.popleft()
        try:
            children = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            refused.append(Refusal(parts, "/".join(parts) or ".", f"could not be read ({exc.strerror})"))
            continue
        for child in children:
            if is_junk(child.name) or len(child.name) > MAX_NAME_CHARS:
                skipped.append(child.name if len(child.name) <= 40 else child.name[:37] + "...")
                continue
            if budget <= 0:
                refused.append(Refusal((), "your submission", f"has more than "
                                       f"{limits.max_walk_entries} files and folders; the "
                                       "deepest were not looked at"))
                return entries, refused
            budget -= 1
            sub = parts + (child.name,)
            shown = "/".join(sub)
            if child.is_symlink():
                refused.append(Refusal(sub, shown, "is a symbolic link; links are not accepted, "
                                       "upload the file itself"))
            elif child.is_dir(follow_symlinks=False):
                if os.path.lexists(os.path.join(child.path, VENV_MARKER)):
                    skipped.append(child.name)
                elif len(sub) > limits.max_path_depth:
                    refused.append(Refusal(sub, shown, "is nested too deeply and was not looked at"))
                else:
                    queue.append((Path(child.path), sub))
            elif child.is_file(follow_symlinks=False):
                size = child.stat(follow_symlinks=False).st_size
                cap = limits.max_file_bytes
                entries.append(Entry(sub, shown, size,
                                     lambda p=Path(child.path), c=cap: _read_file(p, c)))
            else:
                refused.append(Refusal(sub, shown, "is not a regular file (a pipe, socket or "
                                       "device) and was not used"))
    return entries, refused


_DRIVE = re.compile(r"^[A-Za-z]:")


def _member_parts(raw: str) -> tuple[tuple[str, ...] | None, str | None]:
    """Split a member name into safe parts, or return (None, reason)."""
    name = raw.replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return None, "has an absolute path and was not unpacked"
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        return None, "points outside the archive (`..`) and was not unpacked"
    return parts, None


def _read_member(archive: Path, info: zipfile.ZipInfo, cap: int) -> bytes:
    with zipfile.ZipFile(archive) as zf, zf.open(info) as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise TooLarge(info.filename)
    return data


def _litter(infos: list, skipped: list) -> list:
    """The members that are not litter (`is_junk` in their path, beneath a folder holding a
    virtual environment, a name over MAX_NAME_CHARS); the litter's top names go to `skipped`."""
    venvs = {info.filename.replace("\\", "/").rsplit("/", 1)[0] + "/" for info in infos
             if info.filename.replace("\\", "/").rsplit("/", 1)[-1] == VENV_MARKER
             and "/" in info.filename.replace("\\", "/")}
    kept, seen = [], set()
    for info in infos:
        name = info.filename.replace("\\", "/")
        bad = next((p for p in name.split("/") if is_junk(p) or len(p) > MAX_NAME_CHARS), None)
        venv = next((v for v in venvs if name.startswith(v)), None) if venvs else None
        if bad is None and venv is None:
            kept.append(info)
            continue
        if bad is not None:
            label = bad if len(bad) <= 40 else bad[:37] + "..."
        else:
            label = venv.rstrip("/").rsplit("/", 1)[-1]
        if label not in seen:
            seen.add(label)
            skipped.append(label)
    return kept


def read_zip(path: Path, parts: tuple[str, ...], limits: Limits,
             skipped: list | None = None) -> tuple[list[Entry], list[Refusal]]:
    """The members of the zip at `path` (shown as `parts`), placed in the zip's folder.

    Litter is set aside first (`_litter`, names appended to `skipped`). The whole archive is
    refused if it is too big, has too many other members or they would unpack to more than
    `limits.max_zip_total_bytes`; single members are refused for absolute or `..` paths,
    links, encryption, a compression method that cannot be read, depth or size.
    """
    shown = "/".join(parts)
    size = path.stat().st_size
    if size > limits.max_upload_bytes:
        return [], [Refusal(parts, shown, f"is {human_size(size)}; archives over "
                            f"{human_size(limits.max_upload_bytes)} are not unpacked")]
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        return [], [Refusal(parts, shown, f"is not a readable zip archive ({exc})")]
    infos = _litter(infos, [] if skipped is None else skipped)
    if len(infos) > limits.max_zip_members:
        return [], [Refusal(parts, shown, f"has {len(infos)} entries; the limit is "
                            f"{limits.max_zip_members}, so it was not unpacked")]
    total = sum(i.file_size for i in infos)
    if total > limits.max_zip_total_bytes:
        return [], [Refusal(parts, shown, f"would unpack to {human_size(total)}; the limit is "
                            f"{human_size(limits.max_zip_total_bytes)}, so it was not unpacked")]
    entries: list[Entry] = []
    refused: list[Refusal] = []
    base = parts[:-1]
    for info in sorted(infos, key=lambda i: i.filename):
        member, reason = _member_parts(info.filename)
        where = f"{info.filename} (in {shown})"
        if member is None:
            refused.append(Refusal((), where, reason))
            continue
        if not member or info.is_dir() or any(is_junk(p) for p in member):
            continue
        kind = stat.S_IFMT(info.external_attr >> 16)
        full = base + member
        if kind == stat.S_IFLNK:
            refused.append(Refusal(full, where, "is a symbolic link; links are not accepted"))
        elif kind not in (0, stat.S_IFREG):
            refused.append(Refusal(full, where, "is not a regular file and was not unpacked"))
        elif info.flag_bits & 0x1:
            refused.append(Refusal(full, where, "is encrypted and cannot be read"))
        elif info.compress_type not in READABLE_METHODS:
            method = METHOD_NAMES.get(info.compress_type, "unknown")
            refused.append(Refusal(full, where, f"is compressed with method {info.compress_type} "
                                   f"({method}), which cannot be read; zip it again with the "
                                   "standard Deflate method"))
        elif len(full) - 1 > limits.max_path_depth:
            refused.append(Refusal(full, where, "is nested too deeply and was not unpacked"))
        else:
            cap = limits.max_file_bytes
            entries.append(Entry(full, where, info.file_size,
                                 lambda i=info, c=cap: _read_member(path, i, c)))
    return entries, refused
