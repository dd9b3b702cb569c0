"""Find a suite module's grading tests without importing it (used when importing it failed).

When a test module cannot be imported its tests never reach pytest, yet their
points must still count in the maximum. This reads the module with `ast` and
evaluates only literal decorator arguments: `@weight(2)`, `@partial_credit(3)`,
`@number("1.2")`, `@visibility("hidden")`, `@tags("a")` and the number of cases
of `@pytest.mark.parametrize(names, [...])` (stacked ones multiply). Anything it
cannot read for sure raises `StaticDiscoveryError`; the caller then falls back
to the module's total from `[module_weights]` in assignment.toml.
"""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

WEIGHT_DECORATORS = ("weight", "partial_credit")
TEXT_DECORATORS = ("number", "visibility")


class StaticDiscoveryError(Exception):
    """The module's tests cannot be listed reliably without importing it."""


@dataclasses.dataclass(frozen=True)
class StaticTest:
    """One test function as written (cases > 1 when parametrized).

    qualname: "test_f" or "TestClass::test_f" (the node id after the module path).
    """

    module: str
    qualname: str
    function: str
    name: str
    number: str | None
    weight: float
    visibility: str
    tags: tuple[str, ...]
    cases: int
    parametrized: bool


def _decorator_name(node: ast.expr) -> str:
    func = node.func if isinstance(node, ast.Call) else node
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _literal(node: ast.AST, what: str):
    try:
        return ast.literal_eval(node)
    except ValueError as exc:
        raise StaticDiscoveryError(f"{what} has a non-literal argument") from exc


def _case_count(call: ast.Call, where: str) -> int:
    values = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "argvalues"), None)
    if not isinstance(values, (ast.List, ast.Tuple)):
        raise StaticDiscoveryError(f"{where}: parametrize values are not a literal list")
    return len(values.elts)


def _read_decorators(decorators: list[ast.expr], where: str) -> dict:
    """Attribute values set by the decorators; the topmost one wins, as at run time."""
    found: dict = {"cases": 1, "parametrized": False}
    for node in reversed(decorators):  # applied bottom-up
        name = _decorator_name(node)
        if not isinstance(node, ast.Call):
            continue
        if name in WEIGHT_DECORATORS + TEXT_DECORATORS and len(node.args) != 1:
            raise StaticDiscoveryError(f"{where}: @{name} needs one argument")
        if name in WEIGHT_DECORATORS:
            value = _literal(node.args[0], f"{where}: @{name}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise StaticDiscoveryError(f"{where}: @{name} is not a number")
            found["weight"] = float(value)
        elif name in TEXT_DECORATORS:
            found[name] = str(_literal(node.args[0], f"{where}: @{name}"))
        elif name == "tags":
            found["tags"] = tuple(str(_literal(a, f"{where}: @tags")) for a in node.args)
        elif name == "parametrize":
            found["cases"] *= _case_count(node, where)
            found["parametrized"] = True
    return found


def _first_doc_line(node: ast.AST) -> str:
    doc = ast.get_docstring(node) or ""
    return next((line.strip() for line in doc.splitlines() if line.strip()), "")


def _make(module: str, qualname: str, fn: ast.FunctionDef, cls: dict) -> StaticTest:
    info = _read_decorators(fn.decorator_list, f"{module}::{qualname}")
    return StaticTest(module=module, qualname=qualname, function=fn.name,
                      name=_first_doc_line(fn) or fn.name, number=info.get("number"),
                      weight=info.get("weight", 0.0), visibility=info.get("visibility", "visible"),
                      tags=info.get("tags", ()), cases=info["cases"] * cls["cases"],
                      parametrized=info["parametrized"] or cls["parametrized"])


def discover_module(path: str | Path, module: str, only: str | None = None) -> list[StaticTest]:
    """The tests of the module file `path`, named `module` (its suite-relative path).

    only: a qualname ("test_f" or "TestX::test_f"): list just that test or that class.
    """
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
        raise StaticDiscoveryError(f"{module}: cannot be parsed ({exc})") from exc
    found: list[StaticTest] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            found.append(_make(module, node.name, node, {"cases": 1, "parametrized": False}))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            cls = _read_decorators(node.decorator_list, f"{module}::{node.name}")
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                        and item.name.startswith("test"):
                    found.append(_make(module, f"{node.name}::{item.name}", item, cls))
    if only is not None:
        found = [t for t in found if t.qualname == only or t.qualname.startswith(only + "::")]
        if not found:
            raise StaticDiscoveryError(f"{module}::{only} not found in the source")
    return found
