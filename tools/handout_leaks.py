"""Find secrets inside the files of a handout, by content (not only by file name).

The handout must never carry, in any file and under any name:
- the solution: a line of a ``# BEGIN SOLUTION`` region of solution/backprop/*.py
  ("distinctive" lines: long enough and found nowhere in the student skeleton, not even
  inside a longer line), whatever its spacing or indentation;
- the quiz key: an answer of solution/answers.toml next to its question id
  (``question_id = "X"``), or the leading digits of a non-integer numeric answer anywhere;
- the hidden tests: the name of a function or class defined under autograder/suite/hidden/
  that the public suite does not also define, or a hidden test file's name;
- the hidden seeds: a value of a ``*seed*`` key of solution/calibration.toml, written as it
  appears there (the ``key = value`` line), or as a bare number when it has 4+ digits;
- the tuned settings: a table of solution/hyperparams.toml written out line for line.

    secrets = collect_secrets(ROOT)
    findings = scan({"README.md": b"...", ...}, secrets)   # [] when clean

Notebooks are scanned as their cells' text too, so that quotes escaped in JSON hide nothing.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from tools.skeleton import find_regions

MIN_LINE_CHARS = 14     # a solution line shorter than this (without spaces) is too generic to flag
# Solution lines that give nothing away: common idioms, or what the skeleton's hints and the
# writeup already state. The grader's own code may contain them. tests/test_handout.py checks
# that each one still occurs in a solution region (drop it from here when it does not).
GENERIC_LINES = (
    "n = pred.shape[0]",                                  # an idiom
    "for _ in range(epochs):",                            # an idiom
    "return fn(float(x))",                                # an idiom
    "model.backward(loss.backward())",                    # the writeup states the order of train's steps
    "e = np.exp(-np.abs(a))",                             # the Sigmoid and Softplus hints state it
    "shifted = pred - pred.max(axis=1, keepdims=True)",   # the SoftmaxCrossEntropy hint states it
)
MIN_SEED_DIGITS = 4     # a bare seed value shorter than this is too common a number to flag
KEY_DECIMALS = 3        # numeric key answers are flagged by their digits up to this decimal


@dataclass(frozen=True)
class Secret:
    """One thing that must not appear: what it is, where it comes from, and how to find it."""

    kind: str            # "solution", "quiz key", "hidden test", "hidden seed", "tuned settings"
    source: str          # e.g. "solution/backprop/modules.py:85"
    pattern: re.Pattern  # searched in each file's whitespace-normalised text

    def find(self, text: str, squashed: str):
        """The matched text in a file's normalised text (or its squashed form), or None."""
        match = self.pattern.search(text)
        return match.group(0) if match else None

    def describe(self, match: str) -> str:
        return f"{self.kind} from {self.source}: {match.strip()[:100]!r}"


@dataclass(frozen=True)
class CodeLine(Secret):
    """A line of code, found whatever its spacing: searched without any whitespace."""

    code: str = ""   # the line without whitespace, searched in the file without whitespace
    line: str = ""   # the line as written, for the message

    def find(self, text: str, squashed: str):
        return self.line if self.code in squashed else None


def _normal(text: str) -> str:
    """Collapse every run of spaces and tabs to one space and strip each line."""
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def _squash(text: str) -> str:
    """The text without any whitespace."""
    return "".join(text.split())


def _literal(text: str, source: str, kind: str) -> Secret:
    return Secret(kind, source, re.compile(re.escape(_normal(text))))


# ----------------------------------------------------------------------------- the solution

def solution_secrets(root: Path) -> list[Secret]:
    """Distinctive lines of every solution region (those absent from the skeleton)."""
    skeleton = "\n".join(_squash(line) for path in sorted((root / "assignment").rglob("*.py"))
                         for line in path.read_text(encoding="utf-8").splitlines())
    generic = {_squash(line) for line in GENERIC_LINES}
    secrets = []
    for path in sorted((root / "solution" / "backprop").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        rel = path.relative_to(root).as_posix()
        for region in find_regions(source, rel):
            for number in range(region.begin + 1, region.end):
                line = _normal(lines[number - 1])
                code = _squash(line)
                if (len(code) >= MIN_LINE_CHARS and not line.startswith("#") and code not in skeleton
                        and code not in generic):
                    secrets.append(CodeLine("solution", f"{rel}:{number}", re.compile(re.escape(line)),
                                            code=code, line=line))
    return secrets


# --------------------------------------------------------------------------------- the quiz key

def _number_patterns(value: float) -> list[str]:
    """Regexes for the leading digits of a non-integer number, truncated and rounded."""
    if float(value).is_integer():
        return []
    magnitude = abs(float(value))
    scale = 10 ** KEY_DECIMALS
    texts = {f"{int(magnitude * scale) / scale:.{KEY_DECIMALS}f}", f"{magnitude:.{KEY_DECIMALS}f}"}
    return [r"(?<![\d.])" + re.escape(text) for text in sorted(texts)]


def key_secrets(root: Path) -> list[Secret]:
    """Each answer of the key next to its id, and the digits of its non-integer numbers."""
    path = root / "solution" / "answers.toml"
    if not path.exists():
        return []
    secrets = []
    for qid, value in tomllib.loads(path.read_text(encoding="utf-8")).items():
        source = f"solution/answers.toml: {qid}"
        if isinstance(value, str):
            shown = r"""["']""" + re.escape(value) + r"""["']"""
        elif float(value).is_integer():
            shown = r"[+-]?" + re.escape(str(int(abs(value)))) + r"(?:\.0*)?(?![\d.])"
        else:  # the integer part and the first decimal are enough to give it away
            whole, decimals = f"{abs(value):.12f}".split(".")
            shown = r"[+-]?" + re.escape(f"{whole}.{decimals[0]}")
        context = rf"\b{re.escape(qid)}\b\s*[=:]\s*{shown}"
        secrets.append(Secret("quiz key", source, re.compile(context, re.IGNORECASE)))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            secrets += [Secret("quiz key", source, re.compile(p)) for p in _number_patterns(value)]
    return secrets


# ------------------------------------------------------------------------------ the hidden tests

def _defined_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def hidden_test_secrets(root: Path) -> list[Secret]:
    """Names defined only in the hidden suite, and the hidden files' names."""
    suite = root / "autograder" / "suite"
    hidden = suite / "hidden"
    if not hidden.is_dir():
        return []
    public_names = set()
    for path in sorted(suite.rglob("*.py")):
        if hidden not in path.parents:
            public_names |= _defined_names(path)
    secrets = []
    for path in sorted(hidden.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if path.stem.startswith("test"):
            secrets.append(Secret("hidden test", rel, re.compile(rf"\b{re.escape(path.stem)}\b")))
        for name in sorted(_defined_names(path) - public_names):
            if len(name) >= 8:
                secrets.append(Secret("hidden test", f"{rel}: {name}", re.compile(rf"\b{re.escape(name)}\b")))
    return secrets


# ------------------------------------------------------------------------- seeds and settings

def _seed_values(doc, path=()):
    """(dotted key, value) for every integer under a key whose name contains "seed"."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _seed_values(value, path + (key,))
    elif isinstance(doc, list):
        for item in doc:
            yield from _seed_values(item, path)
    elif isinstance(doc, int) and not isinstance(doc, bool) and any("seed" in k.lower() for k in path):
        yield ".".join(path), doc


def seed_secrets(root: Path) -> list[Secret]:
    """The calibration's seed lines as written, and each long seed value as a bare number."""
    path = root / "solution" / "calibration.toml"
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    secrets = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0]
        if "seed" in code.lower() and "=" in code and re.search(r"\d", code.split("=", 1)[1]):
            secrets.append(_literal(code.strip(), f"solution/calibration.toml:{number}", "hidden seed"))
    seen = set()
    for key, value in _seed_values(tomllib.loads(text)):
        if len(str(abs(value))) >= MIN_SEED_DIGITS and value not in seen:
            seen.add(value)
            secrets.append(Secret("hidden seed", f"solution/calibration.toml: {key}",
                                  re.compile(rf"(?<![\w.]){value}(?![\w.])")))
    return secrets


def tuned_secrets(root: Path) -> list[Secret]:
    """Each tuned table of solution/hyperparams.toml, as its consecutive key = value lines."""
    path = root / "solution" / "hyperparams.toml"
    if not path.exists():
        return []
    secrets = []
    for name, table in tomllib.loads(path.read_text(encoding="utf-8")).items():
        if isinstance(table, dict):
            body = r"\s*(?:#[^\n]*)?\n".join(
                rf"{re.escape(k)} ?= ?{re.escape(json.dumps(v) if isinstance(v, str) else repr(v))}"
                for k, v in table.items())
            secrets.append(Secret("tuned settings", f"solution/hyperparams.toml: [{name}]", re.compile(body)))
    return secrets


def collect_secrets(root: Path) -> list[Secret]:
    """Every secret the repository holds at ``root`` (a repository checkout)."""
    root = Path(root)
    return (solution_secrets(root) + key_secrets(root) + hidden_test_secrets(root)
            + seed_secrets(root) + tuned_secrets(root))


# -------------------------------------------------------------------------------------- scanning

def texts_of(name: str, data: bytes) -> list[str]:
    """The texts to scan for one file: its decoded text and, for a notebook, its cells' sources."""
    text = data.decode("utf-8", errors="replace")
    texts = [text]
    if name.endswith(".ipynb"):
        try:
            cells = json.loads(text).get("cells", [])
            texts.append("\n".join("".join(c.get("source", "")) for c in cells))
            texts += ["".join(o.get("text", "")) for c in cells for o in c.get("outputs", [])]
        except (ValueError, AttributeError):
            pass
    return [_normal(t) for t in texts]


def scan(files: dict[str, bytes], secrets: list[Secret]) -> list[str]:
    """Findings "path: <secret> " for every secret found in any file; [] when clean."""
    findings = []
    for name in sorted(files):
        texts = [(text, _squash(text)) for text in texts_of(name, files[name])]
        for secret in secrets:
            for text, squashed in texts:
                match = secret.find(text, squashed)
                if match:
                    findings.append(f"{name}: {secret.describe(match)}")
                    break
    return findings
