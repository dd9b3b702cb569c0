"""Build the handout notebook, handout/backprop.ipynb, from its diff-friendly source.

The source, handout/notebook.py, is a Python file in "percent" format:

    # %% [markdown]
    # # A title
    # Some *Markdown* text, each line behind "# ".

    # %%
    x = 1 + 1          # a code cell, copied as it is

Text above the first ``# %%`` line is a note for maintainers and is dropped.
The notebook is built without outputs and with deterministic cell ids, so the
committed .ipynb is a pure function of the source (tests compare the two).

Usage:
    python -m tools.notebook            # write handout/backprop.ipynb
    python -m tools.notebook --check    # exit 1 if the committed notebook is stale
"""

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "handout" / "notebook.py"
TARGET = ROOT / "handout" / "backprop.ipynb"

_HEADER = re.compile(r"^# %%(?:\s+\[(?P<kind>\w+)\])?\s*$")
_KINDS = {None: "code", "code": "code", "markdown": "markdown", "md": "markdown"}


def parse_percent(text):
    """Split percent-format source into cells.

    Input:  the text of a percent-format Python file.
    Output: list of (cell_type, source) pairs, cell_type "code" or "markdown";
            sources have no leading or trailing blank lines, and Markdown
            lines have their "# " (or a bare "#") prefix removed.
    Raises ValueError on an unknown cell kind, a Markdown line without "#",
    or a cell with nothing in it.
    """
    cells = []
    kind, lines, lineno = None, None, 0
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        if match:
            if lines is not None:
                cells.append(_finish(kind, lines, lineno))
            if match.group("kind") not in _KINDS:
                raise ValueError(f"line {number}: unknown cell kind [{match.group('kind')}]")
            kind, lines, lineno = _KINDS[match.group("kind")], [], number
        elif lines is not None:
            lines.append(line)
    if lines is not None:
        cells.append(_finish(kind, lines, lineno))
    if not cells:
        raise ValueError("no '# %%' cell markers found")
    return cells


def _finish(kind, lines, lineno):
    """Turn the raw lines of one cell into (cell_type, source)."""
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ValueError(f"line {lineno}: empty cell")
    if kind == "markdown":
        stripped = []
        for offset, line in enumerate(lines, start=1):
            if line.startswith("# "):
                stripped.append(line[2:])
            elif line.rstrip() == "#":
                stripped.append("")
            else:
                raise ValueError(f"cell at line {lineno}: Markdown line {offset} does not start with '# ': {line!r}")
        lines = stripped
    return kind, "\n".join(lines)


def build_notebook(text):
    """Build an nbformat v4 notebook (no outputs, ids "cell-00", "cell-01", ...) from percent source."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, (kind, source) in enumerate(parse_percent(text)):
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        nb.cells.append(make(source=source, id=f"cell-{index:02d}"))
    nbformat.validate(nb)
    return nb


def render(text):
    """The .ipynb file contents (a str ending in a newline) for percent source ``text``."""
    return nbformat.writes(build_notebook(text)) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--output", type=Path, default=TARGET)
    parser.add_argument("--check", action="store_true", help="fail if --output differs from a fresh build")
    args = parser.parse_args(argv)
    fresh = render(args.source.read_text(encoding="utf-8"))
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != fresh:
            print(f"{args.output} is stale: run `python -m tools.notebook`", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(fresh, encoding="utf-8")
    print(f"wrote {args.output} ({len(nbformat.reads(fresh, as_version=4).cells)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
