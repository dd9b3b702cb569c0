"""Fixtures of the isolation suite: `mark` notes which worker served the test (the Sandbox's
count of workers started: pids repeat when each worker has a PID namespace of its own) and the
order tests ran in."""
import itertools

import pytest


@pytest.fixture(scope="session")
def counter():
    return itertools.count(1)


@pytest.fixture
def mark(note, counter, sandbox):
    """mark(value): note "pid=<worker> order=<k>" (k: this test's place in the run); `value`, the
    call's result, only shows that the call came back."""
    return lambda value: note(f"pid={sandbox.generation} order={next(counter)}")
