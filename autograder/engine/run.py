"""What run_autograder calls on Gradescope: grade the submission, always write results.json.

    python -m engine.run [--root /autograder] [--worker-user NAME] [--worker-python PY]

Layout under the root (Gradescope's): submission/ (as uploaded), source/ (the
unpacked autograder zip: suite/, provided/, solution/, engine/), results/.
Order: lease a worker account of our own (engine.identity, as root) -> intake ->
pytest with the plugin -> sweep the worker account -> write results -> give the
account back. Whatever fails, a valid results.json is written: an
engine error gives score 0 with a neutral message for the student and the
traceback in a hidden entry (and on stdout, which only instructors see). A
watchdog thread writes the results gathered so far, with the unfinished tests
marked as not run, when the hard deadline passes, and ends the process.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Callable

from engine.config import load_config
from engine.escape import terminal_output
from engine.results import crash_results, write_results
from engine.identity import lease_worker
from engine.session import (SessionSpec, make_plugin, make_work_dir, prepare, results_of,
                            worker_python)
from engine.plugin import run_suite

INTAKE_TOO_SLOW = ("Reading your upload took longer than the grader's time limit, so nothing was "
                   "graded. Upload only the homework's files (the `backprop/` folder and the two "
                   ".toml files), not a whole folder with environments or data.")


class OnceWriter:
    """Writes results.json at most once, from whichever thread gets there first."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self.done = False

    def write(self, build: Callable[[], dict], started: float) -> bool:
        with self._lock:
            if self.done:
                return False
            try:
                write_results(build(), self.path)
            except BaseException:
                print("[grader] building the results failed:\n" + traceback.format_exc(), flush=True)
                write_results(crash_results(traceback.format_exc(), time.monotonic() - started),
                              self.path)
            self.done = True
            return True


def sweep_worker(lease) -> None:
    """Kill every process of the leased worker account, detached ones included, and delete what
    it left in world-writable folders and SysV IPC (the next grading must not see it)."""
    if lease is None:
        return
    dead, removed = lease.sweep()
    if not dead:
        print(f"[grader] some processes of {lease.user.name} survived SIGKILL", flush=True)
    if removed:
        print(f"[grader] removed what {lease.user.name} left behind: {removed[:20]}", flush=True)


def grade_submission(root: Path, sandbox_options: dict, writer: OnceWriter, started: float,
                     lease) -> None:
    """Intake, tests, cleanup, results; a watchdog covers the hard deadline."""
    source = root / "source"
    config = load_config(source / "suite")
    solution = source / "solution"
    work = make_work_dir(None if lease is None else lease.user)
    spec = SessionSpec(config=config, submission=root / "submission", work=work, mode="gradescope",
                       provided=source / "provided", solution=solution if solution.is_dir() else None,
                       sandbox_options=sandbox_options, verbose=True)
    limits = config.limits
    state: dict = {}   # what the watchdog can report from: the intake report, then the plugin

    def on_deadline() -> None:
        print("[grader] hard deadline reached: writing what is known", flush=True)
        sweep_worker(lease)
        if "plugin" in state:
            writer.write(lambda: results_of(spec, state["plugin"], state["report"], started),
                         started)
        else:   # still reading the upload: nothing was graded
            writer.write(lambda: crash_results("the hard deadline passed during intake",
                                               time.monotonic() - started, INTAKE_TOO_SLOW),
                         started)
        shutil.rmtree(work, ignore_errors=True)
        os._exit(0)

    # armed before intake: reading an upload is bounded by the same deadline as the tests
    watchdog = threading.Timer(
        max(0.0, started + limits.hard_deadline_seconds - time.monotonic()), on_deadline)
    watchdog.daemon = True
    watchdog.start()
    try:
        state["report"] = prepare(spec)
        state["plugin"] = plugin = make_plugin(spec, state["report"],
                                               started + limits.time_budget_seconds,
                                               log=lambda m: print(m, flush=True))
        code = run_suite(plugin, verbose=True)
        print(f"[grader] pytest exited with code {code}", flush=True)
        sweep_worker(lease)
        writer.write(lambda: results_of(spec, plugin, state["report"], started), started)
    finally:
        watchdog.cancel()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    with terminal_output():   # what is printed may repeat the student's text
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    started = time.monotonic()
    parser = argparse.ArgumentParser(prog="python -m engine.run", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    parser.add_argument("--worker-user", default=os.environ.get("WORKER_USER") or None)
    parser.add_argument("--worker-python", default=os.environ.get("WORKER_PYTHON") or None)
    args = parser.parse_args(argv)
    root = Path(args.root)
    writer = OnceWriter(root / "results" / "results.json")
    lease = None
    try:
        lease = lease_worker(args.worker_user)
        if lease is not None:
            print(f"[grader] the worker runs as {lease.user.name} (uid {lease.user.uid}), "
                  "leased for this grading alone", flush=True)
        options = {"user": lease,
                   "python": worker_python(args.worker_python, lease.user if lease else None)}
        grade_submission(root, options, writer, started, lease)
    except BaseException:  # noqa: BLE001 - whatever happened, results must be written
        text = traceback.format_exc()
        print("[grader] the engine failed:\n" + text, flush=True)
        writer.write(lambda: crash_results(text, time.monotonic() - started), started)
    finally:
        if lease is not None:
            lease.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
