"""The engine's tests. The toy suites under toy/ are graded BY the engine, never collected here."""
import os
import sys
from pathlib import Path

import pytest

AUTOGRADER = Path(__file__).resolve().parents[2] / "autograder"
if str(AUTOGRADER) not in sys.path:
    sys.path.insert(0, str(AUTOGRADER))

collect_ignore_glob = ["toy/*"]


@pytest.fixture(scope="module")
def worker_python():
    """An interpreter the worker's account can run (as root: engine.workerenv's venv, built
    once from requirements.txt as a leased account; ENGINE_TEST_WORKER_USER names one)."""
    from engine.identity import leased_user
    from engine.sandbox import ensure_worker_python
    requirements = (AUTOGRADER.parent / "requirements.txt").read_text().splitlines()
    with leased_user(os.environ.get("ENGINE_TEST_WORKER_USER") or None) as user:
        return ensure_worker_python(requirements, user=user)
