"""The benchmark's floors, and its results as a table for the terminal.

A section's result is a dict: {"title", "status": "ok" | "skipped" | "failed", "reason"
(when not ok), "rows": [[label, value text], ...] (what the table shows), "data": {...}
(every figure, in bench.json)}. A floor names a figure by section and a dotted path into
"data"; it is met, missed, or not measured (section not run, figure absent). A floor on a
comparison is a ratio of runs made side by side in the same benchmark run. `INFORMATION`
lists figures shown beside the floors (in the Markdown table too) that have no floor.

    python -m tools.bench_report [dist/bench.json]

prints the floors and information of a saved run as a Markdown table (the README's).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import operator
import sys
from pathlib import Path

OPS = {"<": operator.lt, "<=": operator.le, ">=": operator.ge, ">": operator.gt}


@dataclasses.dataclass(frozen=True)
class Floor:
    """A requirement on one figure: `value op limit`, e.g. seconds < 10."""

    section: str
    path: str
    op: str
    limit: float
    unit: str
    text: str


FLOORS = (
    Floor("autograde", "one_core.seconds", "<", 10.0, "s",
          "full autograde of the solution, pinned to one core"),
    Floor("autograde", "memory.tree_peak_mb", "<", 300.0, "MB",
          "peak memory of the autograde's process tree"),
    Floor("sandbox", "ratio", "<=", 1.2, "x",
          "grading session with the sandboxed worker / in-process"),
    Floor("train", "aggregate.torch_over_reference_time", ">=", 3.0, "x",
          "reference training speed / PyTorch's"),
    Floor("train", "aggregate.reference_over_inlined_time", "<=", 1.2, "x",
          "reference training time / inlined contract loop's"),
    Floor("grade", "assignment.seconds", "<", 5.0, "s", "make grade on the skeleton"),
    Floor("grade", "solution.seconds", "<", 5.0, "s", "make grade on the solution"),
    Floor("timeouts", "seconds", "<", 120.0, "s",
          "autograde of a submission whose every function loops, one core"),
    Floor("timeouts", "not_run", "<=", 0, "tests", "tests of that grading not run"),
)


@dataclasses.dataclass(frozen=True)
class Information:
    """A figure reported beside the floors, with no requirement on it."""

    section: str
    path: str
    unit: str
    text: str


# The hand-fused loop is not a floor: the contract's own per-module arithmetic, inlined with no
# Python overhead, already costs about 1.7x the fused loop (inlined / fused below).
INFORMATION = (
    Information("intake", "folder.seconds", "s", "intake of a folder of 100,000 files"),
    Information("intake", "long_names.seconds", "s",
                "intake of a zip with five 65,000-character names"),
    Information("sandbox", "layers_ratio", "x",
                "grading session with Landlock and namespaces / without them"),
    Information("roundtrip", "worker_start_seconds", "s", "worker start, every layer in force"),
    Information("roundtrip", "worker_start_seconds_bare", "s",
                "worker start without Landlock and namespaces"),
    Information("train", "aggregate.reference_over_fused_time", "x",
                "reference training time / hand-fused NumPy loop's"),
    Information("train", "aggregate.inlined_over_fused_time", "x",
                "inlined contract loop's time / hand-fused NumPy loop's"),
)


def lookup(data: dict, path: str):
    """data["a"]["b"] for path "a.b"; None if any part is missing."""
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def evaluate(sections: dict, floors=FLOORS) -> list[dict]:
    """One dict per floor: text, section, path, op, limit, unit, value, met (True/False/None)."""
    out = []
    for floor in floors:
        section = sections.get(floor.section, {})
        value = lookup(section.get("data", {}), floor.path) if section.get("status") == "ok" else None
        met = None if not isinstance(value, (int, float)) else bool(OPS[floor.op](value, floor.limit))
        out.append({**dataclasses.asdict(floor), "value": value, "met": met})
    return out


def information(sections: dict, items=INFORMATION) -> list[dict]:
    """One dict per item: text, section, path, unit, value (None when not measured)."""
    out = []
    for item in items:
        section = sections.get(item.section, {})
        value = lookup(section.get("data", {}), item.path) if section.get("status") == "ok" else None
        out.append({**dataclasses.asdict(item),
                    "value": value if isinstance(value, (int, float)) else None})
    return out


def _shown(value, unit: str) -> str:
    return "-" if value is None else f"{value:.3g} {unit}"


def format_markdown(floors: list[dict], info: list[dict]) -> str:
    """The floors, then the information figures, as one Markdown table."""
    lines = ["| measure | value | floor | |", "| --- | --- | --- | --- |"]
    for f in floors:
        state = {True: "met", False: "**MISSED**", None: "not measured"}[f["met"]]
        lines.append(f"| {f['text']} | {_shown(f['value'], f['unit'])} | "
                     f"{f['op']} {f['limit']:g} {f['unit']} | {state} |")
    for item in info:
        lines.append(f"| {item['text']} | {_shown(item['value'], item['unit'])} | none | "
                     "information |")
    return "\n".join(lines)


def format_table(sections: dict, floors: list[dict]) -> str:
    """The terminal report: every section's rows, then the floors."""
    width = max([len(label) for s in sections.values() for label, _ in s.get("rows", [])] + [30])
    lines = []
    for name, section in sections.items():
        lines.append(f"== {section.get('title', name)}")
        if section["status"] != "ok":
            lines.append(f"   {section['status'].upper()}: {section.get('reason', '')}")
        for label, value in section.get("rows", []):
            lines.append(f"   {label:<{width}}  {value}")
        lines.append("")
    lines.append("== Floors")
    for f in floors:
        state = {True: "met", False: "MISSED", None: "not measured"}[f["met"]]
        lines.append(f"   {state:<12} {f['text']}: {_shown(f['value'], f['unit'])} "
                     f"(floor {f['op']} {f['limit']:g} {f['unit']})")
    for item in information(sections):
        lines.append(f"   {'(no floor)':<12} {item['text']}: {_shown(item['value'], item['unit'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_report",
                                     description="a saved benchmark run's floors as Markdown")
    parser.add_argument("bench_json", nargs="?", default=str(Path(__file__).resolve().parents[1]
                                                              / "dist" / "bench.json"))
    args = parser.parse_args(argv)
    sections = json.loads(Path(args.bench_json).read_text())["sections"]
    print(format_markdown(evaluate(sections), information(sections)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
