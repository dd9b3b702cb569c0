import pytest


@pytest.fixture
def broken_fixture():
    raise RuntimeError("fixture exploded")


@pytest.fixture
def answer(submission):
    return submission.path("answers.toml").read_text()
