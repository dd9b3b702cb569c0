"""Load the reference solution's package in the trusted process (Gradescope, and tools/).

The package is imported from `<solution_dir>/backprop` under the private name
`_reference_backprop`, so it can never be mistaken for a student's `backprop`.
"""

import importlib
import importlib.util
import sys
from pathlib import Path

REFERENCE_NAME = "_reference_backprop"
SUBMODULES = ("modules", "losses", "mlp", "gradcheck", "autodiff", "data")


def load_reference(solution_dir):
    """The package solution_dir/backprop with its submodules as attributes (modules, losses, ...)."""
    package_dir = Path(solution_dir) / "backprop"
    if REFERENCE_NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            REFERENCE_NAME, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)])
        module = importlib.util.module_from_spec(spec)
        sys.modules[REFERENCE_NAME] = module
        spec.loader.exec_module(module)
    package = sys.modules[REFERENCE_NAME]
    for name in SUBMODULES:
        setattr(package, name, importlib.import_module(f"{REFERENCE_NAME}.{name}"))
    return package
