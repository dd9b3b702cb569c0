"""Build the Gradescope autograder zip, byte-for-byte reproducible.

    python -m engine.build [--suite autograder/suite] [--out dist/autograder.zip]

Zip root: setup.sh, run_autograder, requirements.txt, constraints.txt (from the folder
above the engine), engine/ (this package), suite/ (the whole suite: public + hidden +
assignment.toml), solution/ (`[build].solution_files`), provided/ (the
assignment's `provided_files`, from `[build].provided`), and `[build].support_files`
(files the suite reads, at the same path as in the repository). Entries are sorted,
timestamps fixed to 1980-01-01, modes 0644 (0755 for the two scripts), so the
same sources always give the same bytes.
"""
from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

from engine.config import AssignmentConfig, ConfigError, load_config
from engine.unzip import is_junk

ENGINE_DIR = Path(__file__).resolve().parent
AUTOGRADER_DIR = ENGINE_DIR.parent
SCRIPTS = ("setup.sh", "run_autograder")
PIN_FILES = ("requirements.txt", "constraints.txt")   # what setup.sh installs, and at which versions
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class BuildError(RuntimeError):
    """Something the zip must contain is missing."""


def _tree(folder: Path, prefix: str) -> dict[str, Path]:
    """Every regular file under `folder` (junk and caches skipped), keyed by its zip name."""
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and not any(is_junk(p) for p in rel.parts):
            files[f"{prefix}/{rel.as_posix()}"] = path
    return files


def _globbed(folder: Path, patterns: tuple[str, ...], prefix: str) -> dict[str, Path]:
    files = {}
    for pattern in patterns:
        matches = sorted(p for p in folder.glob(pattern) if p.is_file())
        if not matches:
            raise BuildError(f"`{pattern}` matches nothing in {folder}")
        for path in matches:
            files[f"{prefix}/{path.relative_to(folder).as_posix()}"] = path
    return files


def contents(config: AssignmentConfig) -> dict[str, Path]:
    """Zip name -> source file, for the assignment described by `config`."""
    if config.build is None:
        raise BuildError(f"{config.path} has no [build] table")
    files = {name: AUTOGRADER_DIR / name for name in SCRIPTS + PIN_FILES}
    for name, path in files.items():
        if not path.is_file():
            raise BuildError(f"{path} is missing")
    files.update(_tree(ENGINE_DIR, "engine"))
    files.update(_tree(config.suite_dir, "suite"))
    files.update(_globbed(config.build.solution, config.build.solution_files, "solution"))
    files.update(_globbed(config.build.provided, config.provided_files, "provided"))
    for name, path in _globbed(config.build.root, config.build.support_files, "").items():
        files[name.lstrip("/")] = path
    return files


def write_zip(files: dict[str, Path], out: Path) -> None:
    """Write `files` (zip name -> path) to `out` deterministically, replacing it atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.create_system = 3  # unix, so the modes below are honoured
            mode = 0o755 if name in SCRIPTS else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name].read_bytes(), compresslevel=9)
    tmp.replace(out)


def build(suite: Path, out: Path) -> dict[str, Path]:
    """Build the zip for the suite at `suite`; returns what went in."""
    files = contents(load_config(suite))
    write_zip(files, out)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.build", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default=str(AUTOGRADER_DIR / "suite"))
    parser.add_argument("--out", default=str(AUTOGRADER_DIR.parent / "dist" / "autograder.zip"))
    args = parser.parse_args(argv)
    try:
        files = build(Path(args.suite), Path(args.out))
    except (BuildError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    tops = sorted({name.split("/")[0] for name in files})
    print(f"wrote {args.out}: {len(files)} files ({', '.join(tops)})")
    limits = load_config(Path(args.suite)).limits
    print(f"On Gradescope, set the autograder timeout to {limits.gradescope_timeout_seconds:g} s "
          f"(at least {limits.gradescope_timeout_needed:g} s: grading stops at "
          f"{limits.hard_deadline_seconds:g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
