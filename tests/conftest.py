"""Shared fixtures of the project's tests."""

import importlib
import importlib.util
import sys
import types
from pathlib import Path

import pytest

SOLUTION_DIR = Path(__file__).resolve().parents[1] / "solution"
SOLUTION_PACKAGE = "solution_backprop"  # not "backprop", so it never clashes with a skeleton/student import


@pytest.fixture(scope="session")
def solution():
    """The reference package solution/backprop, its files as attributes (solution.modules, ...).

    Imported under the name ``solution_backprop`` so that tests which import a skeleton's or a
    submission's ``backprop`` in the same process get theirs, not the reference.
    """
    if SOLUTION_PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            SOLUTION_PACKAGE, SOLUTION_DIR / "backprop" / "__init__.py",
            submodule_search_locations=[str(SOLUTION_DIR / "backprop")])
        package = importlib.util.module_from_spec(spec)
        sys.modules[SOLUTION_PACKAGE] = package
        spec.loader.exec_module(package)
    names = ("modules", "losses", "mlp", "gradcheck", "autodiff")
    return types.SimpleNamespace(**{
        name: importlib.import_module(f"{SOLUTION_PACKAGE}.{name}") for name in names})
