"""Part 6: the quiz (8 points), one test per question of quiz/quiz.toml.

answers.toml is parsed on the grader's side with tools/quiz.py (never executed). A
malformed file or value costs only the questions it concerns, with a message naming the
line. Graded locally (`make grade`) there is no key: a test passes when its answer is
well-formed and counts no points there (the engine's `unscored`); the score comes from
Gradescope, where each answer is compared with the key within the question's tolerance. On
Gradescope these tests are shown after the due date (like the hidden tests), so that the key
cannot be found by resubmitting.
"""

import pytest
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import quizfiles

LOCAL_NOTE = ("Format OK, no points here: the key is not shipped, so `make grade` checks only the "
              "format of your answer. Gradescope scores it.")


def _score(qid, weight_, submission, grading_mode, solution_dir, unscored):
    tools = quizfiles.quiz_module()
    quiz = quizfiles.questions()
    question = next((q for q in quiz if q.id == qid), None)
    if question is None or abs(question.points - weight_) > 1e-9:
        raise RuntimeError(f"quiz question {qid!r} is not worth {weight_} points in quiz.toml (suite out of date)")
    sheet = tools.parse_answers(submission.path("answers.toml"), quiz)
    answer = sheet.answers[qid]
    where = f"answers.toml, question `{qid}` ({question.title})"
    if grading_mode != "gradescope":
        unscored(LOCAL_NOTE)
        assert answer.value is not None, f"{where}: {answer.problem}"
        return
    key = tools.load_key(solution_dir / "answers.toml", quiz)
    score = tools.score_answers(sheet, key, quiz)[qid]
    assert score.points >= score.max_points, f"{where}: {score.message}"


@weight(1)
@number("6.1")
@visibility("after_due_date")
@pytest.mark.submission_files("answers.toml")
@pytest.mark.parametrize("qid", ["objective_matching", "simple_example_dj_dx", "differentiation_approach",
                                 "activation_functions", "erratum_cross_entropy", "erratum_dx",
                                 "erratum_hidden_units"])
def test_quiz_question(qid, submission, grading_mode, solution_dir, unscored):
    """Quiz question worth 1 point"""
    _score(qid, 1, submission, grading_mode, solution_dir, unscored)


@weight(0.5)
@number("6.2")
@visibility("after_due_date")
@pytest.mark.submission_files("answers.toml")
@pytest.mark.parametrize("qid", ["calc_dy_dx", "calc_dy_dz"])
def test_quiz_question_half(qid, submission, grading_mode, solution_dir, unscored):
    """Quiz question worth 1/2 point"""
    _score(qid, 0.5, submission, grading_mode, solution_dir, unscored)
