"""The quiz: load quiz/quiz.toml, read an answers.toml, score it against the key.

Pure functions shared by the skeleton generator, the handout and the autograder. Stdlib only.

quiz.toml holds the questions (no answers); its format is described at the top of that file.
An answers file, a student's ``answers.toml`` or the key ``solution/answers.toml``, is flat TOML,
one ``question_id = value`` per line:
- a "number" question takes a TOML integer or float (a string holding a plain decimal number,
  such as ``"1.5"``, is accepted too);
- a "choice" question takes a string from the question's ``choices``, compared ignoring case
  and surrounding spaces;
- ``""`` means "not answered" (the student template ships every key with ``""``).

Nothing in an answers file is ever evaluated: it is parsed as TOML, nothing else. Reading an
answers file never raises: every problem becomes a message for the question it costs (naming the
line), or a note when it costs nothing (an unknown key). A syntax error on one line costs only
the question on that line: the other lines are then read one by one.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence, Union

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

MAX_ANSWERS_BYTES = 64 * 1024
QUESTION_TYPES = ("number", "choice")
_ID_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z")
# The key at the start of a `key = value` line: bare, "basic" or 'literal'.
_KEY_LINE_RE = re.compile(r"""\s*(?:([A-Za-z0-9_-]+)|"([^"\\]*)"|'([^']*)')\s*=""")
_FIELDS = {"title", "text", "type", "points", "choices", "abs_tol", "rel_tol"}
Value = Union[float, str]


@dataclass(frozen=True)
class Question:
    """One quiz question; ``choices`` only for "choice", tolerances only for "number"."""

    id: str
    title: str
    text: str
    type: str
    points: float
    choices: tuple[str, ...] = ()
    abs_tol: float = 0.0
    rel_tol: float = 0.0

    def tolerance(self, key: float) -> float:
        """The largest accepted |answer - key| for a number question."""
        return max(self.abs_tol, self.rel_tol * abs(key))

    def tolerance_text(self) -> str:
        """How close a number answer must be, in words (empty for a choice question)."""
        if self.type != "number":
            return ""
        parts = [f"within {self.abs_tol:g}"] if self.abs_tol else []
        parts += [f"within a relative error of {self.rel_tol:g}"] if self.rel_tol else []
        if not parts:
            return "only the exact value is accepted"
        larger = ", whichever is larger" if len(parts) == 2 else ""
        return "accepted " + " or ".join(parts) + " of the exact value" + larger

    def answer_format(self) -> str:
        """What an answer looks like, for templates and messages."""
        if self.type == "choice":
            return "one of " + ", ".join(f'"{c}"' for c in self.choices)
        return "a number"


@dataclass(frozen=True)
class Answer:
    """One question's answer: a normalised ``value``, or ``value is None`` and a ``problem``."""

    value: Value | None
    problem: str | None = None
    line: int | None = None  # 1-based line of the key in the answers file, when known


@dataclass(frozen=True)
class AnswerSheet:
    """A parsed answers file: ``answers[id]`` for every quiz question (in quiz order), and
    ``notes``, problems that cost no question (unknown keys, unreadable lines without a key)."""

    answers: dict[str, Answer]
    notes: tuple[str, ...] = ()


class Score(NamedTuple):
    points: float
    max_points: float
    message: str


# ----------------------------------------------------------------------------------- the quiz

def load_quiz(path: str | os.PathLike) -> list[Question]:
    """Load and validate quiz.toml; raise ``ValueError("<path>: <problem>")`` if it is malformed."""
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"{path}: cannot read the quiz: {e}") from None
    try:
        return _validate_quiz(doc)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def _validate_quiz(doc: dict) -> list[Question]:
    extra = set(doc) - {"total_points", "questions"}
    if extra:
        raise ValueError(f"unknown top-level keys {sorted(extra)}")
    total = _positive_number(doc.get("total_points"), "total_points")
    tables = doc.get("questions")
    if not isinstance(tables, dict) or not tables:
        raise ValueError("no [questions.<id>] tables")
    quiz = [_validate_question(qid, table) for qid, table in tables.items()]
    got = sum(q.points for q in quiz)
    if not math.isclose(got, total, rel_tol=1e-9):
        raise ValueError(f"the questions' points add up to {got:g}, not total_points = {total:g}")
    return quiz


def _validate_question(qid: str, t: object) -> Question:
    where = f"question `{qid}`"
    if not _ID_RE.match(qid):
        raise ValueError(f"{where}: the id must be lowercase letters, digits and _ (starting with a letter)")
    if not isinstance(t, dict):
        raise ValueError(f"{where}: must be a table")
    extra = set(t) - _FIELDS
    if extra:
        raise ValueError(f"{where}: unknown fields {sorted(extra)}")
    for field in ("title", "text"):
        if not isinstance(t.get(field), str) or not t[field].strip():
            raise ValueError(f"{where}: `{field}` must be a non-empty string")
    qtype = t.get("type")
    if qtype not in QUESTION_TYPES:
        raise ValueError(f"{where}: `type` must be one of {QUESTION_TYPES}, got {qtype!r}")
    points = _positive_number(t.get("points"), f"{where}: `points`")
    common = dict(id=qid, title=t["title"].strip(), text=t["text"].strip(), type=qtype, points=points)
    if qtype == "choice":
        if "abs_tol" in t or "rel_tol" in t:
            raise ValueError(f"{where}: a choice question has no tolerance")
        choices = t.get("choices")
        if (not isinstance(choices, list) or len(choices) < 2
                or not all(isinstance(c, str) and c and c == c.strip() and "\n" not in c for c in choices)):
            raise ValueError(f"{where}: `choices` must list at least two non-empty strings")
        if len({c.casefold() for c in choices}) != len(choices):
            raise ValueError(f"{where}: `choices` has duplicates (compared ignoring case)")
        return Question(**common, choices=tuple(choices))
    if "choices" in t:
        raise ValueError(f"{where}: a number question has no `choices`")
    if "abs_tol" not in t and "rel_tol" not in t:
        raise ValueError(f"{where}: a number question needs `abs_tol` and/or `rel_tol`")
    tols = {k: _number(t.get(k, 0.0), f"{where}: `{k}`") for k in ("abs_tol", "rel_tol")}
    if any(v < 0 for v in tols.values()):
        raise ValueError(f"{where}: tolerances must be >= 0")
    return Question(**common, **tols)


def _number(v: object, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{what} must be a finite number, got {v!r}")
    return float(v)


def _positive_number(v: object, what: str) -> float:
    if _number(v, what) <= 0:
        raise ValueError(f"{what} must be > 0, got {v!r}")
    return float(v)


# ------------------------------------------------------------------------------ answers files

def parse_answers(source: str | bytes | os.PathLike, quiz: Sequence[Question],
                  name: str = "answers.toml") -> AnswerSheet:
    """Read an answers file against the quiz; never raises.

    ``source`` is a path (``os.PathLike``, e.g. ``pathlib.Path``), the file's bytes, or its text
    (``str``: always taken as TOML text, never as a path). ``name`` is how messages call the file.
    """
    text, problem = _read_text(source, name)
    if problem is not None:
        return AnswerSheet({q.id: Answer(None, problem) for q in quiz})
    lines = text.splitlines()
    try:
        doc = tomllib.loads(text)
        entries = [(key, value, _key_line(lines, key)) for key, value in doc.items()]
        notes, errors = [], {}
        syntax = None
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as e:
        syntax = f"{name} is not valid TOML ({_short(str(e), 120)})"
        entries, errors, notes = _read_line_by_line(lines, quiz)
        notes.insert(0, syntax + ": its lines were read one by one")
    by_id = {q.id: q for q in quiz}
    answers: dict[str, Answer] = {}
    for key, value, line in entries:
        q = by_id.get(key)
        if q is None:
            notes.append(_unknown_key_note(key, value, line, by_id))
        elif key in answers:
            answers[key] = Answer(None, f"line {line}: `{key}` is answered twice "
                                        f"(first on line {answers[key].line})", line)
        else:
            snippet = _snippet(lines, line, key, value)
            answers[key] = _normalise(q, value, snippet, line)
    for qid, (problem, line) in errors.items():
        answers.setdefault(qid, Answer(None, problem, line))
    missing = "no answer: the key `{}` is missing"
    if syntax:
        missing += f" ({syntax})"
    result = {q.id: answers.get(q.id, Answer(None, missing.format(q.id))) for q in quiz}
    return AnswerSheet(result, tuple(notes))


def _read_text(source, name: str) -> tuple[str, str | None]:
    if isinstance(source, str):
        data = source.encode("utf-8", "surrogatepass")
    elif isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        try:
            with open(source, "rb") as f:
                data = f.read(MAX_ANSWERS_BYTES + 1)
        except OSError as e:
            return "", f"cannot read {name}: {e.strerror or e}"
    if len(data) > MAX_ANSWERS_BYTES:
        return "", f"{name} is larger than {MAX_ANSWERS_BYTES // 1024} KiB: it cannot be an answers file"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return "", f"{name} is not UTF-8 text (byte {e.start})"
    return text.removeprefix("\ufeff"), None


def _read_line_by_line(lines: list[str], quiz: Sequence[Question]):
    """Parse each ``key = value`` line on its own (used when the whole file is not valid TOML).

    Returns (entries [(key, value, line)], errors {question id: (problem, line)}, notes [str])."""
    ids = {q.id for q in quiz}
    entries, errors, notes = [], {}, []
    for n, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            doc = tomllib.loads(raw)
        except (tomllib.TOMLDecodeError, RecursionError, ValueError) as e:
            reason = _short(re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(e)), 80)
            problem = f"line {n}: `{_short(stripped, 60)}` is not valid TOML ({reason})"
            key = _line_key(raw)
            if key in ids and key not in errors:
                errors[key] = (problem, n)
            else:
                notes.append(problem)
            continue
        if len(doc) == 1 and _line_key(raw) is not None:
            (key, value), = doc.items()
            entries.append((key, value, n))
        elif doc or stripped.startswith("["):
            notes.append(f"line {n}: `{_short(stripped, 60)}` is not a `key = value` line: ignored")
    return entries, errors, notes


def _normalise(q: Question, value: object, snippet: str, line: int | None) -> Answer:
    at = f"line {line}: " if line else ""
    if isinstance(value, str) and not value.strip():
        return Answer(None, f"{at}`{snippet}`: not answered", line)
    if q.type == "choice":
        if isinstance(value, str):
            for c in q.choices:
                if value.strip().casefold() == c.casefold():
                    return Answer(c, None, line)
            return Answer(None, f"{at}`{snippet}` is not {q.answer_format()}", line)
        return Answer(None, f"{at}`{snippet}` is not {q.answer_format()} "
                            f'(write it in quotes, e.g. `{q.id} = "{q.choices[0]}"`)', line)
    if isinstance(value, str) and _NUMBER_RE.match(value.strip()):
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return Answer(None, f"{at}`{snippet}` is not a number (write e.g. `{q.id} = 1.25`)", line)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        return Answer(None, f"{at}`{snippet}` is not a finite number", line)
    return Answer(number, None, line)


def _unknown_key_note(key: str, value: object, line: int | None, by_id: dict) -> str:
    at = f"line {line}: " if line else ""
    if isinstance(value, dict):
        return (f"{at}`[{_short(key, 40)}]`: tables are not used in answers files, so the keys under it "
                "were ignored; write every `key = value` at the top level")
    close = difflib.get_close_matches(key, list(by_id), n=1)
    hint = f" (did you mean `{close[0]}`?)" if close else ""
    return f"{at}unknown key `{_short(key, 40)}` ignored{hint}"


def _line_key(raw: str) -> str | None:
    m = _KEY_LINE_RE.match(raw)
    if not m:
        return None
    return next(g for g in m.groups() if g is not None)


def _key_line(lines: list[str], key: str) -> int | None:
    """The first line defining ``key`` (as ``key = ...`` or as a table header ``[key]``)."""
    for n, raw in enumerate(lines, start=1):
        if _line_key(raw) == key or raw.strip().startswith(f"[{key}]"):
            return n
    return None


def _snippet(lines: list[str], line: int | None, key: str, value: object) -> str:
    """The ``key = value`` text of a line, without its comment, to quote in a message."""
    if line is None:
        return _short(f"{key} = {value!r}", 60)
    text, quote, escaped = lines[line - 1].strip(), None, False
    for i, ch in enumerate(text):
        if quote is None and ch == "#":
            text = text[:i].rstrip()
            break
        if escaped:
            escaped = False
        elif quote == '"' and ch == "\\":
            escaped = True
        elif ch in "\"'" and quote in (None, ch):
            quote = None if quote else ch
    return _short(text, 60)


def _short(s: str, limit: int) -> str:
    s = s.replace("`", "'")
    return s if len(s) <= limit else s[:limit - 3] + "..."


# -------------------------------------------------------------------------------------- scoring

def load_key(path: str | os.PathLike, quiz: Sequence[Question]) -> dict[str, Value]:
    """The key file's value for every question; raise ValueError on any problem in it."""
    sheet = parse_answers(Path(path), quiz, name=str(path))
    problems = [f"{qid}: {a.problem}" for qid, a in sheet.answers.items() if a.value is None]
    problems += list(sheet.notes)
    if problems:
        raise ValueError(f"{path}: the quiz key is not valid: " + "; ".join(problems))
    return {qid: a.value for qid, a in sheet.answers.items()}


def score_answers(parsed: AnswerSheet, key: dict[str, Value], quiz: Sequence[Question]) -> dict[str, Score]:
    """``{question id: Score(points, max_points, message)}`` in quiz order. The messages never
    reveal the key (they may say that a number has the right magnitude but the wrong sign)."""
    scores = {}
    for q in quiz:
        answer = parsed.answers.get(q.id) or Answer(None, f"no answer for `{q.id}`")
        if answer.value is None:
            scores[q.id] = Score(0.0, q.points, answer.problem or "not answered")
            continue
        expected = key[q.id]
        at = f"line {answer.line}: " if answer.line else ""
        if q.type == "choice":
            ok = answer.value == expected
            got = f'{at}`{q.id} = "{answer.value}"`'
            wrong = f"{got} is not the correct choice"
        else:
            tol = q.tolerance(expected)
            ok = abs(answer.value - expected) <= tol
            got = f"{at}`{q.id} = {answer.value!r}`"
            wrong = f"{got} is incorrect ({q.tolerance_text()})"
            if not ok and abs(-answer.value - expected) <= tol:
                wrong += ": the magnitude is right but the sign is wrong"
        scores[q.id] = Score(q.points, q.points, "correct") if ok else Score(0.0, q.points, wrong)
    return scores


# ------------------------------------------------------------------------------------ template

def render_answers_template(quiz: Sequence[Question]) -> str:
    """The student's answers.toml: every question as comments, its key with the "" placeholder."""
    out = [
        "# Quiz answers. Replace each \"\" with your answer and keep the keys as they are.",
        "# - a number question takes a number, e.g.   calc_dy_dx = 12.345",
        "# - a multiple-choice question takes one of the listed letters in quotes, e.g.   objective_matching = \"A\"",
        "# An empty string \"\" counts as not answered. The handout shows the questions with the",
        "# formulas typeset; they are repeated below as plain text.",
    ]
    for q in quiz:
        points = f"{q.points:g} point" + ("" if q.points == 1 else "s")
        out += ["", "# " + "-" * 78, f"# {q.id} ({points}): {q.title}", "#"]
        out += [f"#   {line}".rstrip() for line in q.text.splitlines()]
        rule = f" ({q.tolerance_text()})" if q.type == "number" else ""
        out += ["#", f"# Answer: {q.answer_format()}{rule}.", f'{q.id} = ""']
    return "\n".join(out) + "\n"
