"""The one way out for text that may hold what a student wrote: into results.json or a terminal.

Student-controlled text reaches the output in many ways: file names, exception type names and
messages, tracebacks, what the code printed, returned strings and class names quoted by a check,
TOML values. Every string that leaves goes through one of two exits, whatever built it:

    markdown(text, limit)   a field of results.json (output_format "md"): `plain` first, then
                            every part that a CommonMark renderer would treat as prose (not
                            as a fenced code block or a code span) loses its active markup:
                            raw HTML and entities (`<`, `&`), images, headings. Trusted messages
                            use only paragraphs, lists, emphasis and code, which survive.
    plain(text, limit)      anything else (terminal, logs): valid Unicode without C0/C1 control
                            characters (newline and tab kept), without ANSI/OSC escape sequences,
                            without bidirectional overrides or invisible format characters;
                            at most `limit` characters, head and tail kept.

`TerminalStream` applies `plain` to everything written to a stream (the CLIs wrap stdout and
stderr in it). Where the engine quotes student text on purpose it uses `code` (an inline code
span) or `block` (a fenced code block): both choose a fence longer than any backtick run inside,
so the text cannot end its own fence, and show the text literally.
"""
from __future__ import annotations

import bisect
import contextlib
import html
import re
import sys
from typing import Iterator, TextIO

# ESC-introduced sequences (CSI, OSC/DCS/APC/PM/SOS strings up to their terminator, two-byte
# escapes) and their 8-bit C1 forms; whatever is left of a cut sequence goes with the controls.
# A string sequence left open ends at the end of its line: it never swallows what follows.
_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"                      # CSI ... final byte
    r"|\x1b[\]PX^_].*?(?:\x07|\x1b\\|\x9c|(?=\n)|$)"  # OSC, DCS, SOS, PM, APC ... ST or BEL
    r"|\x9b[0-?]*[ -/]*[@-~]"                        # 8-bit CSI
    r"|[\x90\x98\x9d\x9e\x9f].*?(?:\x07|\x1b\\|\x9c|(?=\n)|$)"  # 8-bit DCS, SOS, OSC, PM, APC
    r"|\x1b[ -/]*[0-~]")                             # other escapes (ESC c, ESC ( B, ...)
# C0 but tab and newline, DEL, C1; bidi embeddings, overrides and isolates; zero-width and
# other invisible format characters; byte-order marks and interlinear annotation.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u2069\ufeff\ufff9-\ufffb]")
_SURROGATE = re.compile("[\ud800-\udfff]")
CUT = "\n\n[... cut ...]\n\n"


def cap(text: str, limit: int) -> str:
    """`text` if it has at most `limit` characters, else its head and tail around a cut mark."""
    if len(text) <= limit:
        return text
    half = max(limit - len(CUT), 0) // 2
    return text[:half] + CUT + text[len(text) - half:] if half else text[:limit]


def plain(text: str, limit: int = 1 << 20) -> str:
    """`text` safe for a terminal and for JSON (see the module docstring)."""
    text = _SURROGATE.sub("\ufffd", str(text))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", _SEQUENCES.sub("", text))
    return cap(text, limit)


def is_plain(text: str) -> bool:
    """Whether `text` holds nothing `plain` would remove (controls, escapes, bidi, surrogates)."""
    return not (_INVISIBLE.search(text) or _SURROGATE.search(text))


def fence_for(text: str, char: str = "`", least: int = 3) -> str:
    """A run of `char` longer than any run of it in `text` (and at least `least` long)."""
    longest = max((len(m) for m in re.findall(re.escape(char) + "+", text)), default=0)
    return char * max(least, longest + 1)


def code(text: str, limit: int = 300) -> str:
    """`text` on one line as a Markdown code span that shows it literally."""
    text = cap(" ".join(plain(text).split("\n")), limit)
    if not text.strip():
        return "(empty)" if not text else "(only spaces)"
    fence = fence_for(text, least=1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def block(text: str, limit: int = 20_000) -> str:
    """`text` as a fenced Markdown code block that shows it literally."""
    text = cap(plain(text).rstrip(), limit)
    fence = fence_for(text)
    return f"{fence}\n{text}\n{fence}"


# ----- the Markdown exit ------------------------------------------------------------------
# Fences only at the start of a line, unindented: an indented fence may belong to a list item
# that ends before the grader thinks the block does.
_FENCE_LINE = re.compile(r"(`{3,})([^`]*)$")
_CLOSING_LINE = re.compile(r"(`{3,})[ \t]*$")
_BACKTICKS = re.compile(r"`+")


def _fenced_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(first, last) line indexes of the fenced code blocks (backtick fences only; an unclosed
    fence is not a block: its lines stay prose, so they are neutralised). Linear time."""
    closing = [len(m.group(1)) if (m := _CLOSING_LINE.match(ln)) else 0 for ln in lines]
    widest_after = [0] * (len(lines) + 1)        # widest closing fence from line i on
    for i in range(len(lines) - 1, -1, -1):
        widest_after[i] = max(widest_after[i + 1], closing[i])
    blocks, i = [], 0
    while i < len(lines):
        opening = _FENCE_LINE.match(lines[i])
        if opening and widest_after[i + 1] >= len(opening.group(1)):
            j = next(j for j in range(i + 1, len(lines)) if closing[j] >= len(opening.group(1)))
            blocks.append((i, j))
            i = j
        i += 1
    return blocks


def _code_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the code spans in one line of prose: a backtick run not preceded
    by a backslash escape, up to the next run of exactly its length on the same line (a span
    over several lines may be cut by a list or a block the renderer sees: it stays prose)."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(line)]
    by_width: dict[int, list[int]] = {}
    for k, (start, end) in enumerate(runs):
        by_width.setdefault(end - start, []).append(k)
    spans, k = [], 0
    while k < len(runs):
        start, end = runs[k]
        backslashes = 0
        while start - backslashes > 0 and line[start - backslashes - 1] == "\\":
            backslashes += 1
        start += backslashes % 2             # an escaped backtick is literal; the rest may open
        same = by_width.get(end - start, [])
        at = bisect.bisect_right(same, k)
        if start == end or at == len(same):
            k += 1                           # no closing run of that width on this line
            continue
        spans.append((start, runs[same[at]][1]))
        k = same[at] + 1
    return spans


_HEADING_MARK = re.compile(r"^((?:[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+)*[ \t]*)#", re.MULTILINE)
_UNDERLINE = re.compile(r"^([ \t]*)(?=(?:=+|-+)[ \t]*$)", re.MULTILINE)


def _neutralise(prose: str, starts_line: bool, ends_line: bool) -> str:
    """Prose with its active markup made literal: HTML and entities, links and images,
    headings (also inside list items, and setext underlines). starts_line / ends_line: whether
    the piece begins a line / ends one (a piece between code spans does neither)."""
    pre, post = ("" if starts_line else "\0"), ("" if ends_line else "\0")  # no ^ or $ there
    text = html.escape(pre + prose + post, quote=False)   # & < > become entities: no tag
    text = text.replace("[", "\\[")                         # no link, no image
    text = _HEADING_MARK.sub(lambda m: m.group(1) + "\\#", text)
    text = _UNDERLINE.sub(lambda m: m.group(1) + "\\", text)
    return text[len(pre):len(text) - len(post)]


def _prose_and_code(text: str) -> list[tuple[bool, str]]:
    """The text cut into (is_code, piece) in order."""
    lines = text.split("\n")
    pieces: list[tuple[bool, str]] = []
    prose_from = 0
    for first, last in _fenced_blocks(lines):
        pieces += _inline_pieces("\n".join(lines[prose_from:first]) + "\n" if first else "")
        pieces.append((True, "\n".join(lines[first:last + 1]) + ("\n" if last + 1 < len(lines) else "")))
        prose_from = last + 1
    pieces += _inline_pieces("\n".join(lines[prose_from:]))
    return pieces


def _inline_pieces(prose: str) -> list[tuple[bool, str]]:
    pieces = []
    for line in prose.splitlines(keepends=True):
        pos = 0
        for start, end in _code_spans(line):
            pieces += [(False, line[pos:start]), (True, line[start:end])]
            pos = end
        pieces.append((False, line[pos:]))
    return pieces


def markdown(text: str, limit: int = 100_000) -> str:
    """`text` (trusted Markdown with student text inside) safe as a results.json field, at
    most `limit` characters (cut before neutralising, so that a cut never splits an entity)."""
    budget = limit
    while True:
        pieces = _prose_and_code(plain(text, budget))
        out = []
        for i, (is_code, piece) in enumerate(pieces):
            if is_code:
                out.append(piece)
                continue
            starts = i == 0 or pieces[i - 1][1].endswith("\n")
            ends = i == len(pieces) - 1 or piece.endswith("\n")
            out.append(_neutralise(piece, starts, ends))
        out = "".join(out)
        if len(out) <= limit or budget <= len(CUT):
            return out[:limit]
        budget = min(budget - 1, budget * limit // len(out))


def markdown_to_text(text: str) -> str:
    """What a terminal should show for a `markdown` field: the neutralising undone (a terminal
    renders no markup) and the result `plain`."""
    text = re.sub(r"\\([#=\-\[])", r"\1", text)
    return plain(html.unescape(text))


class TerminalStream:
    """A text stream that writes everything through `plain` to `stream` (stdout or stderr of a
    trusted process that may repeat student text). Never reports itself as a terminal, so
    tools that colour their output (pytest) write plain text."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(plain(text))
        return len(text)

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name):
        return getattr(self._stream, name)


@contextlib.contextmanager
def terminal_output() -> Iterator[None]:
    """Meanwhile, sys.stdout and sys.stderr write through `plain` (for a command that may repeat
    student text: a grading's log, pytest's report, the score table)."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalStream(saved[0]), TerminalStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
