"""Build, validate and atomically write Gradescope's results.json.

The plugin turns every test into a `TestRecord`; `build_results` turns the
records into the results dictionary (dependency hints, the visible-score
summary, intake's findings; nothing of a test the student cannot see yet goes
into a visible test's output or the top-level output); `write_results`
validates it against `schema/results.schema.json` plus the invariants a
schema cannot say (finite numbers, score <= max_score) and replaces the file
atomically. `crash_results` is what is written when the engine itself fails:
score 0, a neutral message for the student and the error in a hidden
(instructor-only) entry.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from engine.escape import block, is_plain, markdown, plain

SCHEMA_PATH = Path(__file__).with_name("schema") / "results.schema.json"
MAX_TEST_OUTPUT = 20_000       # characters per test (Gradescope cuts at 100,000)
MAX_TOP_OUTPUT = 50_000
NEUTRAL_CRASH = ("The autograder could not finish grading this submission because of a problem "
                 "on our side, not in your code. Please tell your instructor; you may resubmit.")


class ResultsError(ValueError):
    """The results dictionary does not satisfy Gradescope's format or our invariants."""


@dataclasses.dataclass
class TestRecord:
    """One entry of results.json, as the plugin sees it.

    key:        pytest node id (or a synthetic id for statically discovered tests)
    function:   the test function's name (what depends_on names refer to)
    outcome:    "passed", "failed", "error", "skipped", "xfailed", "xpassed" or "notrun"
    output:     Markdown explaining the outcome (empty when passed)
    depends_on: names, numbers or node ids of tests this one builds on
    leaderboard: (column, value, order) when the test set a leaderboard value
    unscored:   set when the test checked what it could but its points are decided elsewhere
                (the quiz locally: no key): listed with 0 of 0 points and that reason
    """

    __test__ = False  # not a pytest test class, whatever imports it

    key: str
    function: str
    name: str
    max_score: float
    score: float = 0.0
    outcome: str = "notrun"
    output: str = ""
    number: str | None = None
    visibility: str = "visible"
    tags: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    leaderboard: tuple[str, Any, str] | None = None
    duration: float = 0.0
    unscored: str = ""   # why its points cannot be decided in this grading (listed at 0 points)

    @property
    def passed(self) -> bool:
        return self.outcome in ("passed", "xpassed") and self.score >= self.max_score


def _points(x: float) -> float:
    return round(float(x), 6)


def matches(ref: str, rec: TestRecord) -> bool:
    """Whether a `depends_on` reference (function name, number or node id) names `rec`."""
    return ref in (rec.function, rec.number, rec.key) or rec.key.endswith("::" + ref)


def shown_with(rec: TestRecord, other: TestRecord) -> bool:
    """Whether `other` is shown to the student whenever `rec` is: a visible test's output must
    not name, nor tell the outcome of, a test the student does not see yet."""
    return rec.visibility != "visible" or other.visibility == "visible"


def _dependency_prefix(rec: TestRecord, records: list[TestRecord]) -> str:
    for ref in rec.depends_on:
        failing = [r for r in records if r is not rec and matches(ref, r) and not r.passed
                   and shown_with(rec, r)]
        if failing:
            return f"This fails because `{failing[0].name}` fails; fix that first.\n\n"
    return ""


def _summary(records: list[TestRecord], mode: str) -> str:
    shown = [r for r in records if r.visibility == "visible" and not r.unscored]
    got = sum(r.score for r in shown)
    out_of = sum(r.max_score for r in shown)
    later = sum(r.max_score for r in records if r.visibility != "visible" and not r.unscored)
    unscored = [r for r in records if r.unscored]
    elsewhere = (f" {len(unscored)} more tests worth {sum(r.max_score for r in unscored):.1f} "
                 "points were checked but are scored only on Gradescope (see each)."
                 if unscored else "")
    if mode == "local":
        return (f"**Public tests: {got:.1f} / {out_of:.1f} points.**{elsewhere} Hidden tests run "
                "only on Gradescope and count towards your grade too.")
    if later:
        when = {"after_due_date": "after the due date", "after_published": "when grades are "
                "published", "hidden": "only to your instructor"}
        shown_later = sorted({when[r.visibility] for r in records if r.visibility in when})
        return (f"**Visible tests: {got:.1f} / {out_of:.1f} points.** Hidden tests worth "
                f"{later:.1f} points also ran; their results are shown {' or '.join(shown_later)}.")
    return f"**Total: {got:.1f} / {out_of:.1f} points.**"


def _intake_section(report: Any) -> str:
    if report is None:
        return ""
    lines = ["", "", "**Files used:** "
             + (", ".join(f"`{v}`" for v in report.found.values()) or "none")]
    if report.problems:
        lines += ["", "**Problems with your submission:**"] + [f"- {p}" for p in report.problems]
    if report.notes:
        lines += ["", "**Notes:**"] + [f"- {n}" for n in report.notes]
    return "\n".join(lines)


def display_order(rec: TestRecord) -> tuple:
    """Visible tests first, then the others; within each, by test number read as numbers
    ("1.9" before "1.10"); tests without a number last, in their own order (a stable sort)."""
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p)
                  for p in str(rec.number or "").split(".") if p)
    return (rec.visibility != "visible", not parts, parts)


def build_results(records: list[TestRecord], *, mode: str, intake: Any = None,
                  execution_time: float = 0.0, notices: list[str] = (),
                  staff: dict | None = None) -> dict:
    """The results.json dictionary for `records` (in the given order).

    mode: "local" or "gradescope" (wording of the summary); intake: an IntakeReport or None;
    notices: extra student-visible lines for the top-level output; staff: what only staff may
    see (the top-level extra_data, which Gradescope never shows students).
    """
    tests, board = [], []
    for rec in sorted(records, key=display_order):
        output = rec.output
        if not rec.passed and rec.depends_on:
            output = _dependency_prefix(rec, records) + output
        max_score = 0.0 if rec.unscored else rec.max_score
        if rec.unscored:
            output = f"{rec.unscored}\n\n{output}".rstrip()
        entry = {"name": plain(rec.name, 1000), "score": _points(min(rec.score, max_score)),
                 "max_score": _points(max_score),
                 "status": ("passed" if rec.outcome in ("passed", "xpassed") else "failed")
                           if rec.unscored else "passed" if rec.passed else "failed",
                 "output": markdown(output, MAX_TEST_OUTPUT), "output_format": "md",
                 "visibility": rec.visibility, "tags": [plain(str(t), 200) for t in rec.tags]}
        if rec.number is not None:
            entry["number"] = rec.number
        if rec.unscored:
            entry["extra_data"] = {"unscored": True, "points_elsewhere": _points(rec.max_score)}
        tests.append(entry)
        if rec.leaderboard is not None:
            column, value, order = rec.leaderboard
            board.append({"name": plain(str(column), 200), "value": value, "order": order})
    top = "\n".join([_summary(records, mode), *notices]) + _intake_section(intake)
    results = {"score": _points(sum(t["score"] for t in tests)),
               "execution_time": round(float(execution_time), 3),
               "output": markdown(top, MAX_TOP_OUTPUT), "output_format": "md",
               "test_output_format": "md", "stdout_visibility": "hidden", "tests": tests}
    if board:
        results["leaderboard"] = board
    if staff:
        results["extra_data"] = dict(staff)
    return results


def crash_results(instructor_text: str, execution_time: float = 0.0,
                  student_text: str = NEUTRAL_CRASH) -> dict:
    """Score 0, `student_text` (by default a neutral message), and `instructor_text` in a
    hidden entry."""
    return {"score": 0.0, "execution_time": round(float(execution_time), 3),
            "output": markdown(student_text, MAX_TOP_OUTPUT), "output_format": "md",
            "stdout_visibility": "hidden",
            "tests": [{"name": "Autograder error (instructors only)", "score": 0.0,
                       "max_score": 0.0, "status": "failed", "visibility": "hidden",
                       "output": markdown(block(instructor_text, MAX_TEST_OUTPUT - 100)),
                       "output_format": "md"}]}


def _strings(value: Any, where: str = "top level"):
    """(path, string) for every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield f"{where}/{key}", str(key)
            yield from _strings(item, f"{where}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}/{i}")


def _schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate(results: dict) -> str:
    """Check `results`; return its JSON text, or raise ResultsError saying what is wrong."""
    try:
        text = json.dumps(results, allow_nan=False, indent=1, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ResultsError(f"not JSON-serialisable: {exc}") from exc
    import jsonschema  # here, so that printing a score table locally does not need it
    try:
        jsonschema.validate(results, _schema(), cls=jsonschema.Draft202012Validator)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "top level"
        raise ResultsError(f"{where}: {exc.message}") from exc
    unsafe = [where for where, value in _strings(results) if not is_plain(value)]
    if unsafe:
        raise ResultsError(f"{unsafe[0]}: control, escape or bidirectional characters (every "
                           "string must leave through engine.escape)")
    for i, test in enumerate(results.get("tests", [])):
        if test["score"] > test["max_score"] + 1e-9:
            raise ResultsError(f"tests/{i}: score {test['score']} exceeds max_score {test['max_score']}")
    for entry in results.get("leaderboard", []):
        value = entry["value"]
        if isinstance(value, float) and not math.isfinite(value):
            raise ResultsError("leaderboard value must be finite")
    return text


def write_results(results: dict, path: str | Path) -> None:
    """Validate, then write `path` atomically (temporary file in the same folder + rename)."""
    text = validate(results)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".results-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
