"""Reading the text files a student writes, one way for all of them (trusted side).

`decode_text`: UTF-8, with or without a byte-order mark, with LF, CRLF or CR line ends (as any
editor on any system saves them); any other encoding problem is named with its byte offset.
`read_toml_tables`: a TOML file read table by table, so that one bad table (a syntax error, a
5,000-digit integer) costs that table only:

    doc, problems = read_toml_tables(path, "hyperparams.toml")
    doc["one_pocket"]          # the tables that could be read
    problems["two_pockets"]    # why a table could not ("" key: the part before any table)
"""
from __future__ import annotations

import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

MAX_TEXT_BYTES = 1 << 20
TABLE_HEADER = re.compile(r"^[ \t]*\[(?!\[)")   # a line starting a [table] (not [[array]])


class StudentFileError(ValueError):
    """A student's file that cannot be read at all; the message names the file and why."""


def decode_text(data: bytes, name: str) -> str:
    """The text of a student's file (see the module docstring); raises StudentFileError."""
    if len(data) > MAX_TEXT_BYTES:
        raise StudentFileError(f"{name} is larger than {MAX_TEXT_BYTES >> 10} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StudentFileError(f"{name} is not UTF-8 text (at byte {exc.start:,}); save it as "
                               "UTF-8") from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: str | Path, name: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_TEXT_BYTES + 1)
    except OSError as exc:
        raise StudentFileError(f"{name} cannot be read: {exc.strerror or exc}") from None
    return decode_text(data, name)


def _reason(exc: Exception) -> str:
    text = str(exc).split("\n")[0]
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    if "integer string conversion" in text:   # Python's own limit on the digits of an int
        return "a number there has far too many digits"
    return text if len(text) <= 160 else text[:157] + "..."


def _chunks(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of the part before the first table and of each table."""
    chunks, start, lines = [], 0, text.split("\n")
    for i, line in enumerate(lines):
        if TABLE_HEADER.match(line) and i > start:
            chunks.append((start + 1, "\n".join(lines[start:i])))
            start = i
    chunks.append((start + 1, "\n".join(lines[start:])))
    return chunks


def read_toml_tables(path: str | Path, name: str) -> tuple[dict, dict]:
    """(what could be read, {table name: why it could not}); raises StudentFileError when the
    file itself cannot be read. A file that parses whole gives no problems; otherwise each
    table is parsed on its own and the line numbers in messages are the file's."""
    text = read_text(path, name)
    try:
        return tomllib.loads(text), {}
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        pass
    doc, problems = {}, {}
    for first_line, chunk in _chunks(text):
        header = re.match(r"^[ \t]*\[([^\]\n#]*)", chunk)   # "[name]", or "[name" left open
        table = header.group(1).strip().strip('"\'') if header else ""
        try:
            part = tomllib.loads(chunk)
        except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
            where = f"[{table}]" if table else "before the first table"
            problems[table] = (f"{name} {where} (from line {first_line}) cannot be read: "
                               f"{_reason(exc)}")
            continue
        for key, value in part.items():
            if key in doc:
                problems.setdefault(key, f"{name}: [{key}] appears twice")
            else:
                doc[key] = value
    return doc, problems
