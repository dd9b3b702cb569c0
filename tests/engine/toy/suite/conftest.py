"""The toy suite's own fixtures, on top of the engine's (sandbox, submission, solution_dir)."""
import importlib.util
import sys

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@pytest.fixture(scope="session")
def reference(solution_dir):
    """The reference toypkg.arith, imported on the trusted side (Gradescope only)."""
    if solution_dir is None:
        pytest.skip("the reference solution is only available on Gradescope")
    path = solution_dir / "toypkg" / "arith.py"
    spec = importlib.util.spec_from_file_location("toy_reference_arith", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def answers(submission):
    """The student's answers.toml, parsed on the trusted side."""
    return tomllib.loads(submission.path("answers.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def answer_key(solution_dir):
    """The key, from the solution's answers.toml (Gradescope only)."""
    if solution_dir is None:
        pytest.skip("the answer key is only available on Gradescope")
    return tomllib.loads((solution_dir / "answers.toml").read_text(encoding="utf-8"))
