"""Intake: find the student's files in whatever they uploaded, copy them into a clean tree.

Accepted layouts (SPEC "What a submission is"): the files loose at the top, in
`<package>/`, one folder deeper (`hw/<package>/` or `hw/`), or inside an
uploaded zip holding any of those. Nothing from the submission is imported or
executed here; files are only read as bytes (with a size cap) and copied.

Output: a fresh folder `dest` holding `<package>/` (the student files that were
found, plus our provided files, which replace the student's copies) and the
extra files beside it; directories 0755, files 0644. And an `IntakeReport`
saying what was found, what is missing and why, with every message naming the
file it is about.

    python -m engine.intake --submission DIR_OR_ZIP --suite SUITE --provided DIR --dest DIR
prints the report as JSON.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import re
import sys
from pathlib import Path

from engine.config import AssignmentConfig, load_config
from engine.escape import code
from engine.unzip import (Entry, Refusal, TooLarge, human_size, read_zip, skipped_summary,
                          walk_folder)

MAX_PACKAGE_DEPTH = 2   # the package folder may sit at most this many folders deep


@dataclasses.dataclass
class IntakeReport:
    """What intake found. Paths in `found` are as the student uploaded them."""

    root: str                                   # the prepared copy (absolute)
    package: str
    student_files: list[str]
    extra_files: list[str]
    found: dict[str, str] = dataclasses.field(default_factory=dict)
    missing: dict[str, str] = dataclasses.field(default_factory=dict)
    problems: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    def has(self, name: str) -> bool:
        """True if the expected file `name` was found and copied."""
        return name in self.found

    def message_for(self, name: str) -> str:
        """Why `name` is unusable (empty if it was found)."""
        if name in self.found:
            return ""
        if name in self.missing:
            return self.missing[name]
        raise KeyError(f"{name!r} is not one of the assignment's files")

    def path(self, name: str) -> Path:
        """Where the copy of expected file `name` lives (extra files beside the package)."""
        if name in self.extra_files:
            return Path(self.root) / name
        if name in self.student_files:
            return Path(self.root) / self.package / name
        raise KeyError(f"{name!r} is not one of the assignment's files")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "IntakeReport":
        return cls(**data)


def _normal_stem(name: str) -> str:
    """`Modules (1).PY` -> `modules`: the name without copy markers or extensions."""
    stem = name.lower().split(".")[0]
    stem = re.sub(r"\s*\(\d+\)$|[\s_-]*copy( \d+)?$", "", stem)
    return stem.strip(" _-")


def _similar(expected: str, candidates: list[Entry]) -> Entry | None:
    """The candidate whose name looks most like a misspelling of `expected`."""
    want = _normal_stem(expected)
    same = [e for e in candidates if _normal_stem(e.name) == want]
    if same:
        return same[0]
    names = [e.name.lower() for e in candidates]
    close = difflib.get_close_matches(expected.lower(), names, n=1, cutoff=0.75)
    return candidates[names.index(close[0])] if close else None


def _rank_package_dirs(entries: list[Entry], config: AssignmentConfig) -> list[tuple[str, ...]]:
    """Candidate package folders, best first. The rule when an upload holds several copies:
    the folder with the most of the student files; among equals, one named like the package
    (`backprop/`) before loose files; then the shallowest; then by name."""
    counts: dict[tuple[str, ...], int] = {}
    for e in entries:
        folder = e.parts[:-1]
        if len(folder) <= MAX_PACKAGE_DEPTH and e.name in config.student_files:
            counts[folder] = counts.get(folder, 0) + 1
    order = sorted(counts, key=lambda d: (-counts[d], not d or d[-1] != config.package, len(d), d))
    return order or [()]


def _copies_note(entries: list[Entry], picks: dict[str, Entry], config: AssignmentConfig,
                 primary: tuple[str, ...]) -> str:
    """A note naming the copy graded and the other copies of the student files ("" if none)."""
    chosen = {id(e) for e in picks.values()}
    others = [e for e in entries if e.name in config.student_files and id(e) not in chosen
              and len(e.parts) - 1 <= MAX_PACKAGE_DEPTH]
    if not others:
        return ""
    where = "/".join(primary) + "/" if primary else "the top level"
    shown = ", ".join(code(e.origin) for e in others[:8]) + (
        f" and {len(others) - 8} more" if len(others) > 8 else "")
    return (f"Your upload holds more than one copy of the homework's files: the copy in {code(where)} "
            f"was graded (the folder with the most of them, a `{config.package}/` folder first); "
            f"ignored: {shown}.")


def _locate(entries: list[Entry], config: AssignmentConfig) -> tuple[dict[str, Entry], list[str]]:
    """Pick one entry per expected file; returns the picks and notes about odd placements."""
    by_path = {e.parts: e for e in entries}
    ranked = _rank_package_dirs(entries, config)
    primary = ranked[0]
    picks: dict[str, Entry] = {}
    notes: list[str] = []
    for name in config.student_files:
        for folder in ranked:
            if folder + (name,) in by_path:
                picks[name] = by_path[folder + (name,)]
                if folder != primary:
                    notes.append(f"{code(picks[name].origin)} was taken from a different folder than "
                                 f"your other files ({code('/'.join(primary)) if primary else 'the top level'})")
                break
    copies = _copies_note(entries, picks, config, primary)
    if copies:
        notes.append(copies)
    base = primary[:-1] if primary and primary[-1] == config.package else primary
    extra_dirs = [base, primary] + [d for d in ranked if d not in (base, primary)] + [()]
    for name in config.extra_files:
        for folder in extra_dirs:
            if folder + (name,) in by_path:
                picks[name] = by_path[folder + (name,)]
                break
    return picks, notes


def _missing_message(name: str, config: AssignmentConfig, pool: list[Entry],
                     refused: list[Refusal], too_large: dict[str, str]) -> str:
    if name in too_large:
        return too_large[name]
    for r in refused:
        if r.parts and r.parts[-1] == name:
            return f"`{name}` could not be used: {r.message}."
    twin = _similar(name, pool)
    where = (f"inside a `{config.package}/` folder" if name in config.student_files
             else f"beside the `{config.package}/` folder")
    if twin is not None:
        pool.remove(twin)
        if twin.name == name:
            return (f"`{name}` was found only as {code(twin.origin)}, which is nested too deeply; "
                    f"put it {where}.")
        return f"`{name}` was not found, but there is {code(twin.origin)}: rename it to `{name}`."
    return f"`{name}` was not found in your submission; upload it {where}."


def _write(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o644)


def _mkdir(path: Path) -> None:
    path.mkdir(mode=0o755, parents=False, exist_ok=False)
    os.chmod(path, 0o755)


def _copy_provided(provided: Path | None, config: AssignmentConfig, pkg: Path) -> list[str]:
    """Copy our provided files into the package folder; returns problems (instructor-facing)."""
    problems = []
    if provided is None:
        return ["the grader's provided files were not found (a problem with the autograder, not "
                "with your submission); tests that need them will fail"] if config.provided_files else []
    for pattern in config.provided_files:
        matches = sorted(p for p in Path(provided).glob(pattern) if p.is_file())
        if not matches:
            problems.append(f"the grader's own copy of `{pattern}` is missing (a problem with the "
                            "autograder, not with your submission)")
        for src in matches:
            target = pkg / src.relative_to(provided)
            for parent in reversed(target.relative_to(pkg).parents[:-1]):
                if not (pkg / parent).exists():
                    _mkdir(pkg / parent)
            _write(target, src.read_bytes())
    return problems


def gather(submission: Path, config: AssignmentConfig,
           skipped: list | None = None) -> tuple[list[Entry], list[Refusal]]:
    """All entries of a submission folder or zip, zips within two folders of the top unpacked;
    the names of the litter set aside go to `skipped` (engine.unzip)."""
    limits = config.limits
    submission = Path(submission)
    if submission.is_symlink() or not submission.exists():
        return [], [Refusal((), str(submission.name), "does not exist or is a link")]
    if submission.is_file():
        return read_zip(submission, (submission.name,), limits, skipped)
    entries, refused = walk_folder(submission, limits, skipped)
    loose: list[Entry] = []
    for e in entries:
        if e.name.lower().endswith(".zip") and len(e.parts) <= 2:
            inner, bad = read_zip(submission.joinpath(*e.parts), e.parts, limits, skipped)
            loose_paths = {x.parts for x in entries}
            loose.extend(x for x in inner if x.parts not in loose_paths)
            refused.extend(bad)
        else:
            loose.append(e)
    return loose, refused


def intake(submission: str | Path, config: AssignmentConfig, provided: str | Path | None,
           dest: str | Path) -> IntakeReport:
    """Prepare `dest` (must not exist) from `submission`; see the module docstring."""
    dest = Path(dest)
    _mkdir(dest)
    pkg = dest / config.package
    _mkdir(pkg)
    skipped: list[str] = []
    entries, refused = gather(Path(submission), config, skipped)
    picks, notes = _locate(entries, config)
    litter = skipped_summary(skipped)
    if litter:
        notes.append(litter)
    report = IntakeReport(root=str(dest.resolve()), package=config.package,
                          student_files=list(config.student_files),
                          extra_files=list(config.extra_files), notes=notes)
    too_large: dict[str, str] = {}
    for name in config.expected_files:
        entry = picks.get(name)
        if entry is None:
            continue
        try:
            data = entry.read()
        except TooLarge:
            too_large[name] = (f"{code(entry.origin)} is {human_size(entry.size)}; files over "
                               f"{human_size(config.limits.max_file_bytes)} are not accepted.")
            continue
        except Exception as exc:   # noqa: BLE001 - whatever the archive does, this file only
            too_large[name] = (f"{code(entry.origin)} could not be read ({type(exc).__name__}: "
                               f"{str(exc)[:200]}).")
            continue
        _write(report.path(name), data)
        report.found[name] = entry.origin
    used = {id(e) for e in picks.values()}
    pool = [e for e in entries if id(e) not in used and len(e.parts) <= MAX_PACKAGE_DEPTH + 2]
    for name in config.expected_files:
        if name not in report.found:
            report.missing[name] = _missing_message(name, config, pool, refused, too_large)
    said = " ".join(report.missing.values())
    report.problems = list(report.missing.values()) + [r.message for r in refused
                                                       if r.message not in said]
    report.problems += _copy_provided(Path(provided) if provided else None, config, pkg)
    report.notes += _ignored_notes(entries, picks, config, said)
    return report


def _ignored_notes(entries: list[Entry], picks: dict[str, Entry], config: AssignmentConfig,
                   said: str) -> list[str]:
    """Say which of the student's package files were ignored or replaced by ours.

    Files already named in a message (`said`, e.g. a misnamed file) are not repeated.
    """
    folders = {e.parts[:-1] for n, e in picks.items() if n in config.student_files}
    notes = []
    for e in entries:
        if (e.parts[:-1] not in folders or e in picks.values() or not e.name.endswith(".py")
                or code(e.origin) in said):
            continue
        if any(Path(e.name).match(p) for p in config.provided_files):
            notes.append(f"{code(e.origin)} is ignored: the grader uses its own copy")
        else:
            notes.append(f"{code(e.origin)} is not one of the assignment's files and is not graded")
    return notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submission", required=True)
    parser.add_argument("--suite", required=True, help="folder holding assignment.toml")
    parser.add_argument("--provided", default=None)
    parser.add_argument("--dest", required=True, help="folder to create")
    args = parser.parse_args(argv)
    report = intake(args.submission, load_config(args.suite), args.provided, args.dest)
    json.dump(report.to_dict(), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
