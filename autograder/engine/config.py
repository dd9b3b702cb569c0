"""The assignment's grading configuration (`assignment.toml` beside the suite).

The engine knows nothing about a particular assignment: everything it needs
(package name, student files, provided files, limits, fallback weights) comes
from this file, read on the trusted side only. Example::

    [assignment]
    package = "backprop"
    student_files = ["modules.py", "losses.py"]      # inside the package folder
    extra_files = ["hyperparams.toml"]               # beside the package folder
    provided_files = ["__init__.py", "data.py", "datasets/*.csv"]  # ours, inside the package
    total_points = 100

    [limits]            # all optional, defaults in `Limits`
    max_file_bytes = 1_000_000
    time_budget_seconds = 420
    gradescope_timeout_seconds = 600   # checked: hard deadline + FINISH_MARGIN_SECONDS at most

    [sandbox]           # optional keyword arguments for engine.remote.Sandbox
    timeout = 30

    [module_weights]    # suite module -> total points, used only if it cannot be imported
    "public/test_arith.py" = 10

    [build]             # paths relative to `root`, itself relative to this file's folder
    root = "../.."
    solution = "solution"
    solution_files = ["backprop/*.py", "answers.toml"]
    provided = "assignment/backprop"
    support_files = ["quiz/quiz.toml"]   # optional: zipped at the same relative path
"""
from __future__ import annotations

import dataclasses
from pathlib import Path, PurePosixPath
from typing import Any

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_NAME = "assignment.toml"


class ConfigError(ValueError):
    """The assignment's configuration is missing or malformed (an instructor error)."""


FINISH_MARGIN_SECONDS = 30   # after the hard deadline: stop the worker, write results.json


@dataclasses.dataclass(frozen=True)
class Limits:
    """Caps on what intake accepts and on how long grading may take."""

    max_file_bytes: int = 1_000_000          # one student file
    max_upload_bytes: int = 50_000_000       # one uploaded zip, compressed
    max_zip_total_bytes: int = 50_000_000    # sum of the declared sizes inside one zip
    max_zip_members: int = 1_000             # entries inside one zip
    max_walk_entries: int = 5_000            # files and folders walked in the submission
    max_path_depth: int = 8                  # folders above a file
    time_budget_seconds: float = 420.0       # tests starting later are not run
    hard_deadline_seconds: float = 510.0     # results are written and the run ends
    gradescope_timeout_seconds: float = 600.0  # the timeout set on Gradescope (its default)

    @property
    def gradescope_timeout_needed(self) -> float:
        """The least Gradescope timeout that leaves the engine time to write its results."""
        return self.hard_deadline_seconds + FINISH_MARGIN_SECONDS


@dataclasses.dataclass(frozen=True)
class BuildSpec:
    """Where `engine.build` finds the solution and the provided files."""

    root: Path
    solution: Path
    solution_files: tuple[str, ...]
    provided: Path
    support_files: tuple[str, ...] = ()   # files the suite reads, zipped at the same path from `root`


@dataclasses.dataclass(frozen=True)
class AssignmentConfig:
    """Everything the engine knows about one assignment."""

    path: Path                               # the assignment.toml it came from
    package: str
    student_files: tuple[str, ...]
    extra_files: tuple[str, ...]
    provided_files: tuple[str, ...]          # glob patterns relative to the package folder
    total_points: float | None
    limits: Limits
    sandbox: dict[str, Any]
    module_weights: dict[str, float]         # suite-relative module path -> points
    build: BuildSpec | None

    @property
    def suite_dir(self) -> Path:
        return self.path.parent

    @property
    def expected_files(self) -> tuple[str, ...]:
        """Every file a submission should contain, student files first."""
        return self.student_files + self.extra_files


def _str_list(table: dict, key: str, where: str, required: bool = True) -> tuple[str, ...]:
    value = table.get(key, None if required else [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}.{key} must be a list of non-empty strings")
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}.{key} has duplicates")
    return tuple(value)


def _plain_name(name: str, where: str) -> str:
    if "/" in name or "\\" in name or name in (".", ".."):
        raise ConfigError(f"{where}: {name!r} must be a plain file name")
    return name


def _limits(table: dict) -> Limits:
    fields = {f.name: f for f in dataclasses.fields(Limits)}
    unknown = set(table) - set(fields)
    if unknown:
        raise ConfigError(f"[limits] has unknown keys: {sorted(unknown)}")
    values = {}
    for key, raw in table.items():
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw <= 0:
            raise ConfigError(f"[limits].{key} must be a positive number")
        values[key] = float(raw) if fields[key].type == "float" else int(raw)
    limits = Limits(**values)
    if limits.hard_deadline_seconds <= limits.time_budget_seconds:
        raise ConfigError("[limits] hard_deadline_seconds must exceed time_budget_seconds")
    if limits.gradescope_timeout_seconds < limits.gradescope_timeout_needed:
        raise ConfigError(
            f"[limits] gradescope_timeout_seconds = {limits.gradescope_timeout_seconds:g} leaves "
            f"no time to write results after hard_deadline_seconds = "
            f"{limits.hard_deadline_seconds:g}: Gradescope would overwrite them with a score of 0. "
            f"Set Gradescope's timeout to at least {limits.gradescope_timeout_needed:g} s, or "
            "lower hard_deadline_seconds")
    return limits


def _build(table: dict | None, base: Path) -> BuildSpec | None:
    if table is None:
        return None
    for key in ("root", "solution", "provided"):
        if not isinstance(table.get(key), str):
            raise ConfigError(f"[build].{key} must be a path string")
    root = (base / table["root"]).resolve()
    return BuildSpec(root=root, solution=root / table["solution"],
                     solution_files=_str_list(table, "solution_files", "[build]"),
                     provided=root / table["provided"],
                     support_files=_str_list(table, "support_files", "[build]", required=False))


def load_config(path: str | Path) -> AssignmentConfig:
    """Read an assignment.toml (or the one inside a suite folder).

    Raises ConfigError with a message naming the faulty key.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    known = {"assignment", "limits", "sandbox", "module_weights", "build"}
    if set(data) - known:
        raise ConfigError(f"{path.name} has unknown tables: {sorted(set(data) - known)}")
    a = data.get("assignment")
    if not isinstance(a, dict):
        raise ConfigError(f"{path.name} needs an [assignment] table")
    package = a.get("package")
    if not isinstance(package, str) or not package.isidentifier():
        raise ConfigError("[assignment].package must be a Python identifier")
    student = tuple(_plain_name(n, "[assignment].student_files")
                    for n in _str_list(a, "student_files", "[assignment]"))
    extra = tuple(_plain_name(n, "[assignment].extra_files")
                  for n in _str_list(a, "extra_files", "[assignment]", required=False))
    provided = _str_list(a, "provided_files", "[assignment]", required=False)
    if set(student) & set(extra):
        raise ConfigError("[assignment] a file cannot be both a student file and an extra file")
    clash = [n for n in student if any(PurePosixPath(n).match(p) for p in provided)]
    if clash:
        raise ConfigError(f"[assignment] student files {clash} are also provided files")
    total = a.get("total_points")
    if total is not None and (isinstance(total, bool) or not isinstance(total, (int, float))
                              or total <= 0):
        raise ConfigError("[assignment].total_points must be a positive number")
    weights = data.get("module_weights", {})
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
               for v in weights.values()):
        raise ConfigError("[module_weights] values must be non-negative numbers")
    sandbox = data.get("sandbox", {})
    if not isinstance(sandbox, dict):
        raise ConfigError("[sandbox] must be a table")
    limits = _limits(data.get("limits", {}))
    timeout = sandbox.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout < limits.time_budget_seconds):
        raise ConfigError("[sandbox].timeout must be a positive number of seconds below "
                          "[limits].time_budget_seconds")
    return AssignmentConfig(
        path=path.resolve(), package=package, student_files=student, extra_files=extra,
        provided_files=provided, total_points=None if total is None else float(total),
        limits=limits, sandbox=dict(sandbox),
        module_weights={k: float(v) for k, v in weights.items()},
        build=_build(data.get("build"), path.resolve().parent))
