"""The benchmark's floors, and its results as a table for the terminal.

A section's result is a dict: {"title", "status": "ok" | "skipped" | "failed", "reason"
(when not ok), "rows": [[label, value text], ...] (what the table shows), "data": {...}
(every figure, in bench.json)}. A floor names a figure by section and a dotted path into
"data"; it is met, missed, or not measured (section not run, figure absent).
"""

from __future__ import annotations

import dataclasses
import operator

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
    Floor("train", "aggregate.reference_over_fused_time", "<=", 1.5, "x",
          "reference training time / hand-fused NumPy loop's"),
    Floor("grade", "assignment.seconds", "<", 5.0, "s", "make grade on the skeleton"),
    Floor("grade", "solution.seconds", "<", 5.0, "s", "make grade on the solution"),
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
        shown = "-" if f["value"] is None else f"{f['value']:.3g} {f['unit']}"
        lines.append(f"   {state:<12} {f['text']}: {shown} (floor {f['op']} {f['limit']:g} "
                     f"{f['unit']})")
    return "\n".join(lines)
