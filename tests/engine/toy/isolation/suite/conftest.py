"""Fixtures of the isolation suite: `mark` notes the worker's pid and the order tests ran in."""
import itertools

import pytest


@pytest.fixture(scope="session")
def counter():
    return itertools.count(1)


@pytest.fixture
def mark(note, counter):
    """mark(pid): note "pid=<worker pid> order=<k>" (k: this test's place in the run)."""
    return lambda pid: note(f"pid={pid} order={next(counter)}")
