"""One grading session, shared by the student CLI (engine.grade) and Gradescope (engine.run).

intake -> pytest with the plugin -> stop the worker -> results dictionary.
The caller decides where results go and what happens around it (time limits,
killing stray processes, crash handling).
"""
from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from engine.config import AssignmentConfig
from engine.intake import IntakeReport, intake
from engine.plugin import GradingPlugin, run_suite
from engine.results import build_results

PUBLIC_DIR = "public"   # the suite's public tests; everything else under the suite is hidden
ENGINE_DIR = Path(__file__).resolve().parent
REQUIREMENT_FILES = (ENGINE_DIR.parents[1] / "requirements.txt",   # the student package's runtime
                     ENGINE_DIR.parent / "requirements.txt")       # the autograder image's


def worker_python(explicit: str | None = None, user: Any = None) -> str:
    """The worker's interpreter: `explicit`, else ours, except as root, where ours may not be
    executable by the worker's user (`user`, a leased engine.workerenv.WorkerUser): then
    engine.sandbox.ensure_worker_python builds (once) one from the first requirements file
    found in REQUIREMENT_FILES."""
    if explicit:
        return explicit
    if os.geteuid() != 0:
        return sys.executable
    from engine.sandbox import ensure_worker_python
    found = next((f for f in REQUIREMENT_FILES if f.is_file()), None)
    lines = found.read_text(encoding="utf-8").splitlines() if found else ["numpy"]
    return ensure_worker_python(lines, user=user)


@dataclasses.dataclass
class SessionSpec:
    """What to grade and how.

    submission: folder or zip as uploaded; work: an empty folder the worker can read;
    provided: folder of our provided files; solution: reference solution (or None);
    sandbox_options: extra keyword arguments for engine.remote.Sandbox (python=, user=, ...).
    """

    config: AssignmentConfig
    submission: Path
    work: Path
    mode: str
    public_only: bool = False
    provided: Path | None = None
    solution: Path | None = None
    sandbox_options: dict = dataclasses.field(default_factory=dict)
    verbose: bool = False


def make_work_dir(user: Any = None) -> Path:
    """An empty folder for one grading's copy of the submission, owned by us: readable (not
    writable) through its group by that grading's worker `user` (a WorkerUser: 0750, group
    user.gid) and by no other account; 0700 when the worker runs as ourselves (`user` None)."""
    path = Path(tempfile.mkdtemp(prefix="autograder-work-"))
    if user is None:
        path.chmod(0o700)
    else:
        os.chown(path, os.geteuid(), user.gid)
        path.chmod(0o750)
    return path


def default_provided(config: AssignmentConfig) -> Path | None:
    """Where the provided files are when no folder is named: `provided/` beside the suite
    (the autograder zip's layout), else the `[build].provided` folder (the repository's)."""
    for folder in (config.suite_dir.parent / "provided",
                   config.build.provided if config.build else None):
        if folder is not None and folder.is_dir():
            return folder
    return None


ISOLATION_OFF = "AUTOGRADER_ISOLATION_OFF"   # staff's switch, e.g. "landlock,namespaces"
ISOLATION_SWITCHES = ("landlock", "namespaces")


def layers_turned_off(environ=os.environ) -> list[str]:
    """The kernel layers staff turned off for this grading (AUTOGRADER_ISOLATION_OFF, a comma
    list of ISOLATION_SWITCHES), to measure what each one stops; the grading records them as
    "off: turned off by the grader". An unknown name is an error, never silently ignored."""
    names = [n.strip() for n in environ.get(ISOLATION_OFF, "").split(",") if n.strip()]
    unknown = [n for n in names if n not in ISOLATION_SWITCHES]
    if unknown:
        raise ValueError(f"{ISOLATION_OFF}: unknown layer(s) {unknown}; "
                         f"known: {', '.join(ISOLATION_SWITCHES)}")
    return names


def sandbox_factory(spec: SessionSpec) -> Callable[[str], Any]:
    """root folder -> engine.remote.Sandbox for the assignment's package."""
    off = layers_turned_off()

    def start(root: str) -> Any:
        from engine.remote import Sandbox  # imported late: only runs that need a worker pay for it
        options = {**spec.config.sandbox, **spec.sandbox_options}
        if off:
            limits = options.get("limits") or {}
            limits = limits if isinstance(limits, dict) else dataclasses.asdict(limits)
            options["limits"] = {**limits, **{name: False for name in off}}
        return Sandbox(root, packages=(spec.config.package,), **options)
    return start


def suite_paths(spec: SessionSpec) -> list[Path]:
    suite = spec.config.suite_dir
    return [suite / PUBLIC_DIR] if spec.public_only else [suite]


def prepare(spec: SessionSpec) -> IntakeReport:
    return intake(spec.submission, spec.config, spec.provided, spec.work / "submission")


def make_plugin(spec: SessionSpec, report: IntakeReport | None, deadline: float | None,
                log: Callable[[str], None] = print) -> GradingPlugin:
    return GradingPlugin(suite_dir=spec.config.suite_dir, test_paths=suite_paths(spec),
                         mode=spec.mode, intake=report, sandbox_factory=sandbox_factory(spec),
                         solution_dir=spec.solution, deadline=deadline,
                         module_weights=spec.config.module_weights, log=log)


def results_of(spec: SessionSpec, plugin: GradingPlugin, report: IntakeReport | None,
               started: float) -> dict:
    """The results dictionary for what `plugin` saw; the maximum is checked against
    total_points only when the whole suite ran."""
    expected = None if spec.public_only else spec.config.total_points
    return build_results(plugin.finalize(expected), mode=spec.mode, intake=report,
                         execution_time=time.monotonic() - started,
                         staff=plugin.isolation.as_extra_data())


def grade(spec: SessionSpec, log: Callable[[str], None] = print) -> dict:
    """Run a whole session and return its results dictionary (not yet written)."""
    started = time.monotonic()
    report = prepare(spec)
    limits = spec.config.limits
    plugin = make_plugin(spec, report, started + limits.time_budget_seconds, log)
    code = run_suite(plugin, spec.verbose)
    if code not in (0, 1):
        log(f"[grader] pytest exited with code {code}")
    return results_of(spec, plugin, report, started)
