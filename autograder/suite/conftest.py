"""Fixtures of the backprop grading suite (trusted side).

From the engine's plugin: `sandbox`, `submission`, `grading_mode`, `solution_dir`.
Added here:
- `reference`: the reference solution's package, loaded in this process from
  `solution_dir/backprop` under a private name (Gradescope only; hidden tests use it).
- `student`: a backends.Student driving the student's code in the worker.
- `expect`: case -> expected dict: from public/fixtures.npz for public cases, else by
  running the case on the reference.
- `trained_pocket`: dataset name -> pockets.Trained (the student's network trained once per
  session with their hyperparams.toml, shared by the public and the hidden pocket tests).
- `grading_seed`: the hidden seed of the pocket datasets' fresh test points (Gradescope only).
- `cheap_backward`: cheap_backward(kind, ...) fails the test unless each kind's backward costs
  about one forward pass (costs.problem, checked once per session and kind).
- `pocket_points`: dataset name -> pockets.ScoredPoints, the points its accuracy is scored on:
  on Gradescope fresh points drawn with `grading_seed` (what SPEC.md's 20 points are for),
  locally (`make grade`) the shipped test split.
"""

from pathlib import Path

import pytest

import backends
import cases as case_registry
import costs
import pockets
from reference import load_reference

SUITE = Path(__file__).resolve().parent
FIXTURES = SUITE / "public" / "fixtures.npz"


@pytest.fixture(scope="session")
def reference(solution_dir):
    """The reference solution package (modules, losses, mlp, gradcheck, autodiff, data)."""
    if solution_dir is None or not (Path(solution_dir) / "backprop" / "__init__.py").is_file():
        raise RuntimeError("the reference solution is not available: this test only runs on Gradescope")
    return load_reference(solution_dir)


@pytest.fixture(scope="session")
def student(sandbox):
    """The student's code, driven through the sandbox (see backends.Student)."""
    from engine import remote
    return backends.Student(sandbox, remote)


@pytest.fixture(scope="session")
def cheap_backward(student):
    """cheap_backward("Sigmoid", ...): AssertionError (the test fails with the reason) unless the
    backward of each module or loss kind costs about one forward pass (see costs.py)."""
    found = {}

    def require(*kinds):
        for kind in kinds:
            if kind not in found:
                found[kind] = costs.problem(student, kind)
            if found[kind]:
                raise AssertionError(found[kind])
    return require


@pytest.fixture(scope="session")
def expect(request, solution_dir):
    """expect(case) -> the expected dict: committed fixture for public cases, else the reference.

    expect("name") -> a committed fixture by name only (the bug imitations of public cases).
    """
    stored = case_registry.load_fixtures(FIXTURES) if FIXTURES.is_file() else {}
    cache = {}

    def get(case):
        if isinstance(case, str):
            if case not in stored:
                raise RuntimeError(f"public/fixtures.npz has no {case!r} (a packaging problem of the grader: "
                                   "python -m tools.public_fixtures writes it)")
            return stored[case]
        if case.name in stored:
            return stored[case.name]
        if case.name not in cache:
            package = request.getfixturevalue("reference")
            cache[case.name] = case_registry.flatten(case.run(backends.Reference(package)))
        return cache[case.name]
    return get


@pytest.fixture(scope="session")
def trained_pocket(student, submission):
    """name -> pockets.Trained, trained at most once per session."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = pockets.run_dataset(student, submission.root, submission.path("hyperparams.toml"), name)
        return cache[name]
    return get


@pytest.fixture(scope="session")
def grading_seed(solution_dir):
    """The seed of the fresh pocket test points, from solution_dir/calibration.toml."""
    path = Path(solution_dir or ".") / "calibration.toml"
    if solution_dir is None or not path.is_file():
        raise RuntimeError("calibration.toml is not available: this test only runs on Gradescope")
    return int(pockets.load_toml(path)["grading"]["seed"])


@pytest.fixture(scope="session")
def pocket_points(request, grading_mode, submission):
    """name -> pockets.ScoredPoints (drawn at most once per session and dataset)."""
    cache = {}

    def get(name):
        if name not in cache:
            if grading_mode == "gradescope":
                package = request.getfixturevalue("reference")
                seed = request.getfixturevalue("grading_seed")
                cache[name] = pockets.fresh_points(package.data, name, seed)
            else:
                cache[name] = pockets.shipped_points(submission.root, name)
        return cache[name]
    return get
