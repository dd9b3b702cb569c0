"""Grade a submission on your own machine and print a score table (`make grade`).

    python -m engine.grade --submission DIR --suite SUITE [--public-only] [--provided DIR]
                           [--results FILE] [--worker-python PY]
    python -m engine.grade --list --suite SUITE [--public-only] [--results FILE]

--list only collects the suite and prints every test with its points (no
submission needed): what an instructor checks before building the zip.

Runs as an ordinary user with no solution present: the worker is a plain child
process (no user switch). Prints, per test: number, name, points, status and,
for failures, the first lines of the message; then the total and, with
--public-only, the reminder that hidden tests run on Gradescope. Exit code 0
when grading ran (whatever the score), 2 when it could not.
"""
from __future__ import annotations

import argparse
import re
import shutil
import textwrap
import sys
from pathlib import Path

from engine.config import AssignmentConfig, ConfigError, load_config
from engine.escape import markdown_to_text, terminal_output
from engine.plugin import GradingPlugin, run_suite
from engine.results import build_results, write_results
from engine.identity import lease_worker
from engine.session import (PUBLIC_DIR, SessionSpec, default_provided, grade, make_work_dir,
                            suite_paths, worker_python)

MESSAGE_LINES = 3
NAME_WIDTH = 52


def _natural(number: str | None) -> tuple:
    if number is None:
        return (1,)
    return (0, *[(0, int(p), "") if p.isdigit() else (1, 0, p) for p in number.split(".")])


def _message_lines(output: str) -> list[str]:
    """The first few meaningful lines of a Markdown message, without fences or bold markers
    (only paired ones: `p ** self` in a formula stays)."""
    lines = [ln.strip() for ln in markdown_to_text(output).splitlines()]
    lines = [re.sub(r"\*\*(\S(?:.*?\S)?)\*\*", r"\1", ln) for ln in lines if ln and not ln.startswith("```")]
    return lines[:MESSAGE_LINES]


def _points_elsewhere(test: dict) -> float | None:
    """The points of a test listed unscored in this grading (engine.results), else None."""
    extra = test.get("extra_data", {})
    return extra.get("points_elsewhere") if extra.get("unscored") else None


def format_table(results: dict, public_only: bool) -> str:
    """The terminal report for a results dictionary."""
    tests = sorted(results["tests"], key=lambda t: _natural(t.get("number")))
    rows = [f"{'#':<8} {'test':<{NAME_WIDTH}} {'points':>11}  status", "-" * (NAME_WIDTH + 30)]
    for t in tests:
        name, *more = textwrap.wrap(t["name"], NAME_WIDTH) or [""]   # whole names, wrapped
        elsewhere = _points_elsewhere(t)
        points = f"({elsewhere:g} later)" if elsewhere is not None else f"{t['score']:g}/{t['max_score']:g}"
        status = ("checked" if elsewhere is not None else "ok") if t["status"] == "passed" else "FAILED"
        rows.append(f"{t.get('number', ''):<8} {name:<{NAME_WIDTH}} {points:>11}  {status}")
        rows += [f"{'':<8} {line}" for line in more]
        if t["status"] != "passed" or elsewhere is None:   # a failure's message, a passing test's notes
            rows += [wrapped for ln in _message_lines(t.get("output", ""))
                     for wrapped in textwrap.wrap(ln, NAME_WIDTH + 30, initial_indent=" " * 11,
                                                  subsequent_indent=" " * 13)]
    got = sum(t["score"] for t in tests)
    out_of = sum(t["max_score"] for t in tests)
    later = [p for p in map(_points_elsewhere, tests) if p is not None]
    rows += ["-" * (NAME_WIDTH + 30), f"Total{' (public tests)' if public_only else ''}: "
             f"{got:g} / {out_of:g} points"]
    if later:
        rows.append(f"Checked but scored only on Gradescope: {len(later)} tests worth "
                    f"{sum(later):g} points (\"checked\" above).")
    if public_only:
        rows.append("Hidden tests run only on Gradescope and count towards your grade too.")
    return "\n".join(rows)


def format_intake(results: dict) -> str:
    """The part of the top-level output about the student's files (problems and notes)."""
    text = results.get("output", "")
    start = text.find("**Problems")
    if start < 0:
        start = text.find("**Notes")
    return markdown_to_text(re.sub(r"\*\*", "", text[start:])).strip() if start >= 0 else ""


def list_suite(config: AssignmentConfig, public_only: bool) -> dict:
    """Collect (not run) the suite: a results dictionary with every test at 0 points."""
    spec = SessionSpec(config=config, submission=Path("."), work=Path("."), mode="local",
                       public_only=public_only)
    plugin = GradingPlugin(suite_dir=config.suite_dir, test_paths=suite_paths(spec), mode="local",
                           module_weights=config.module_weights, log=print)
    run_suite(plugin, verbose=False, collect_only=True)
    records = plugin.finalize(None if public_only else config.total_points)
    for rec in records:
        rec.output = ""
    return build_results(records, mode="local")


def format_listing(results: dict) -> str:
    tests = sorted(results["tests"], key=lambda t: _natural(t.get("number")))
    rows = [f"{t.get('number', ''):<8} {t['max_score']:>6g}  {t['visibility']:<15} {t['name']}"
            for t in tests]
    hidden = sum(t["max_score"] for t in tests if t["visibility"] != "visible")
    total = sum(t["max_score"] for t in tests)
    return "\n".join(rows + [f"{len(tests)} tests, {total:g} points ({hidden:g} not visible "
                             "to students before publication)"])


def main(argv: list[str] | None = None) -> int:
    with terminal_output():   # what is printed may repeat the student's text
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.grade", description=__doc__.splitlines()[0])
    parser.add_argument("--submission", help="folder or zip to grade")
    parser.add_argument("--list", action="store_true", help="list the suite's tests, run none")
    parser.add_argument("--suite", required=True, help="the grading suite (holds assignment.toml)")
    parser.add_argument("--public-only", action="store_true", help=f"only the suite's {PUBLIC_DIR}/ tests")
    parser.add_argument("--provided", help="folder of the provided files (default: SUITE/../provided, "
                        "else [build].provided of assignment.toml)")
    parser.add_argument("--solution", help="reference solution folder, if any")
    parser.add_argument("--results", help="also write results.json here")
    parser.add_argument("--worker-python", help="interpreter for the worker (default: this one, "
                        "or as root one the worker's user can run)")
    parser.add_argument("--verbose", action="store_true", help="show pytest's own report too")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.suite)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.list:
        results = list_suite(config, args.public_only)
        if args.results:
            write_results(results, args.results)
        print(format_listing(results))
        return 0
    if not args.submission:
        parser.error("--submission is required (or --list)")
    if not Path(args.submission).exists():
        print(f"error: {args.submission} does not exist", file=sys.stderr)
        return 2
    provided = Path(args.provided) if args.provided else default_provided(config)
    lease = lease_worker()   # as root: an account no other grading uses meanwhile
    work = make_work_dir(None if lease is None else lease.user)
    try:
        options = {"user": lease,
                   "python": worker_python(args.worker_python, lease.user if lease else None)}
        spec = SessionSpec(config=config, submission=Path(args.submission), work=work, mode="local",
                           public_only=args.public_only, provided=provided,
                           solution=Path(args.solution) if args.solution else None,
                           sandbox_options=options, verbose=args.verbose)
        results = grade(spec, log=(print if args.verbose else lambda _msg: None))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if lease is not None:
            lease.release()
    if args.results:
        write_results(results, args.results)
    intake_text = format_intake(results)
    print((intake_text + "\n\n" if intake_text else "") + format_table(results, args.public_only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
