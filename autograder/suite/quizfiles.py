"""Where the quiz logic and questions live, for the quiz tests (trusted side).

The suite never copies the quiz: it imports tools/quiz.py (parse_answers, load_key,
score_answers) and reads quiz/quiz.toml. In the repository they sit two folders above
the suite; in the Gradescope zip and in the students' grading kit, beside it.
"""

import importlib.util
import sys
from pathlib import Path

SUITE = Path(__file__).resolve().parent
MODULE_NAME = "_suite_quiz_tools"


def _first(relative):
    for base in (SUITE.parent, SUITE.parent.parent):
        path = base / relative
        if path.is_file():
            return path
    raise FileNotFoundError(f"{relative} not found beside the grading suite (an autograder packaging problem)")


def quiz_module():
    """tools/quiz.py, imported once under a private name."""
    if MODULE_NAME not in sys.modules:
        spec = importlib.util.spec_from_file_location(MODULE_NAME, _first("tools/quiz.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE_NAME] = module
        spec.loader.exec_module(module)
    return sys.modules[MODULE_NAME]


def questions():
    """The quiz's questions (tools.quiz.Question list), from quiz/quiz.toml."""
    return quiz_module().load_quiz(_first("quiz/quiz.toml"))
