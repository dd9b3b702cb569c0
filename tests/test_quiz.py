"""quiz/quiz.toml, the key solution/answers.toml, and tools/quiz.py (load, parse, score).

The numeric keys are re-derived here independently of the key file: centered finite
differences and complex-step derivatives of the lecture's functions.
"""

import cmath
import math
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.quiz import load_key, load_quiz, parse_answers, render_answers_template, score_answers  # noqa: E402

QUIZ_PATH = ROOT / "quiz" / "quiz.toml"
KEY_PATH = ROOT / "solution" / "answers.toml"


@pytest.fixture(scope="module")
def quiz():
    return load_quiz(QUIZ_PATH)


@pytest.fixture(scope="module")
def key(quiz):
    return load_key(KEY_PATH, quiz)


def by_id(quiz):
    return {q.id: q for q in quiz}


def option_text(question, letter):
    """The text of option ``letter`` ("- E. ...") of a choice question."""
    m = re.search(rf"^- {letter}\. (.*)$", question.text, re.MULTILINE)
    assert m, f"{question.id}: no option {letter}"
    return m.group(1)


# --------------------------------------------------------------------------- quiz and key

def test_quiz_has_the_required_questions_worth_8_points(quiz):
    ids = [q.id for q in quiz]
    assert len(set(ids)) == len(ids)
    assert {"objective_matching", "calc_dy_dx", "calc_dy_dz", "simple_example_dj_dx", "differentiation_approach",
            "activation_functions", "erratum_cross_entropy", "erratum_dx", "erratum_hidden_units"} <= set(ids)
    assert math.isclose(sum(q.points for q in quiz), 8.0)


def test_choice_questions_show_exactly_their_allowed_options(quiz):
    for q in quiz:
        if q.type == "choice":
            shown = re.findall(r"^- ([A-Z])\. ", q.text, re.MULTILINE)
            assert shown == list(q.choices), q.id


def test_key_matches_the_quiz(quiz, key):
    assert list(key) == [q.id for q in quiz]
    for q in quiz:
        if q.type == "choice":
            assert key[q.id] in q.choices, q.id
        else:
            assert isinstance(key[q.id], float) and math.isfinite(key[q.id]), q.id
    assert score_answers(parse_answers(KEY_PATH, quiz), key, quiz) == {
        q.id: (q.points, q.points, "correct") for q in quiz}


def quiz1_y(x, z, lib=cmath):
    return lib.exp(x * z) + x * z / lib.log(x) + lib.sin(lib.log(x)) / lib.exp(x * z)


def simple_example_j(x, lib=cmath):
    return lib.cos(lib.sin(x ** 2) + 3 * x ** 2)


def complex_step(f, x, h=1e-30):
    """f'(x) to machine precision for f analytic and real on the reals."""
    return f(x + 1j * h).imag / h


def centered(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def test_calculus_quiz_keys_are_the_derivatives_at_x2_z3(quiz, key):
    for qid in ("calc_dy_dx", "calc_dy_dz"):
        assert "x = 2" in by_id(quiz)[qid].text and "z = 3" in by_id(quiz)[qid].text
    dydx = [complex_step(lambda x: quiz1_y(x, 3.0), 2.0),
            centered(lambda x: quiz1_y(x, 3.0, math), 2.0)]
    dydz = [complex_step(lambda z: quiz1_y(2.0, z), 3.0),
            centered(lambda z: quiz1_y(2.0, z, math), 3.0)]
    assert key["calc_dy_dx"] == pytest.approx(dydx[0], rel=1e-12)
    assert key["calc_dy_dz"] == pytest.approx(dydz[0], rel=1e-12)
    assert key["calc_dy_dx"] == pytest.approx(dydx[1], abs=1e-4)
    assert key["calc_dy_dz"] == pytest.approx(dydz[1], abs=1e-4)


def test_simple_example_key_is_dj_dx_at_the_stated_x(quiz, key):
    x = float(re.search(r"at \$x = ([0-9.]+)\$", by_id(quiz)["simple_example_dj_dx"].text).group(1))
    assert key["simple_example_dj_dx"] == pytest.approx(complex_step(simple_example_j, x), rel=1e-12)
    assert key["simple_example_dj_dx"] == pytest.approx(centered(lambda v: simple_example_j(v, math), x), abs=1e-6)


def test_hidden_units_key_counts_the_reference_networks_parameters(solution, key):
    model = solution.mlp.build_mlp(2, [10], 1, activation="sigmoid", output="sigmoid")
    assert key["erratum_hidden_units"] == sum(p.size for p in model.params.values()) == 41


def test_choice_keys_point_at_the_intended_options(quiz, key):
    q = by_id(quiz)
    assert option_text(q["objective_matching"], key["objective_matching"]) == "1=8, 2=6, 3=5, 4=7"
    assert option_text(q["differentiation_approach"], key["differentiation_approach"]) == "(i) RM, (ii) FM, (iii) FD"
    assert "only ReLU and softplus do not saturate" in option_text(q["activation_functions"],
                                                                   key["activation_functions"])
    ce = option_text(q["erratum_cross_entropy"], key["erratum_cross_entropy"])
    assert ce.startswith("$J = -") and r"\frac{dJ}{dy} = -\frac{y^*}{y} + \frac{1 - y^*}{1 - y}$" in ce
    dx = option_text(q["erratum_dx"], key["erratum_dx"])
    assert dx == (r"$\frac{da_j}{dx_i} = \alpha_{ji}$ and "
                  r"$\frac{dJ}{dx_i} = \sum_{j=1}^{D} \frac{dJ}{da_j} \alpha_{ji}$")


# ------------------------------------------------------------------------- answers files

def good_text(key):
    """A student's correct answers, written as a student would: rounded, lowercase, comments."""
    return "\n".join([
        '# my answers',
        f'objective_matching = "{key["objective_matching"].lower()}"   # option E',
        f'calc_dy_dx = {key["calc_dy_dx"]:.3f}',
        f'calc_dy_dz = "{key["calc_dy_dz"]:.4f}"',
        f'simple_example_dj_dx = {key["simple_example_dj_dx"]:.4f}',
        f'differentiation_approach = " {key["differentiation_approach"]} "',
        f'activation_functions = "{key["activation_functions"]}"',
        f"erratum_cross_entropy = '{key['erratum_cross_entropy']}'",
        f'erratum_dx = "{key["erratum_dx"]}"',
        f'erratum_hidden_units = {int(key["erratum_hidden_units"])}',
    ]) + "\n"


def total(scores):
    return sum(s.points for s in scores.values())


def test_good_answers_get_full_marks(quiz, key, tmp_path):
    text = good_text(key)
    sheet = parse_answers(text, quiz)
    assert sheet.notes == ()
    assert all(a.problem is None for a in sheet.answers.values())
    assert sheet.answers["objective_matching"].value == "E"
    assert sheet.answers["objective_matching"].line == 2
    assert total(score_answers(sheet, key, quiz)) == 8.0
    path = tmp_path / "answers.toml"
    path.write_text(text)
    assert parse_answers(path, quiz) == sheet == parse_answers(text.encode(), quiz)


def test_template_parses_and_scores_zero(quiz, key):
    sheet = parse_answers(render_answers_template(quiz), quiz)
    assert sheet.notes == ()
    scores = score_answers(sheet, key, quiz)
    assert total(scores) == 0
    assert all("not answered" in s.message for s in scores.values())


def test_partial_answers_score_only_what_is_answered(quiz, key):
    text = f'calc_dy_dz = {key["calc_dy_dz"]}\nerratum_dx = ""\nobjective_matching = "A"\n'
    scores = score_answers(parse_answers(text, quiz), key, quiz)
    assert scores["calc_dy_dz"].points == 0.5
    assert scores["erratum_dx"] == (0, 1, 'line 2: `erratum_dx = ""`: not answered')
    assert scores["objective_matching"] == (0, 1, 'line 3: `objective_matching = "A"` is not the correct choice')
    assert scores["calc_dy_dx"].message == "no answer: the key `calc_dy_dx` is missing"
    assert total(scores) == 0.5


def replace_line(text, qid, new_line):
    return re.sub(rf"^{qid} = .*$", new_line, text, count=1, flags=re.MULTILINE)


@pytest.mark.parametrize("qid, line, problem", [
    ("calc_dy_dx", 'calc_dy_dx = "abc"', 'line 3: `calc_dy_dx = "abc"` is not a number'),
    ("calc_dy_dx", "calc_dy_dx = true", "line 3: `calc_dy_dx = true` is not a number"),
    ("calc_dy_dx", "calc_dy_dx = [1208.37]", "line 3: `calc_dy_dx = [1208.37]` is not a number"),
    ("calc_dy_dx", "calc_dy_dx = nan", "line 3: `calc_dy_dx = nan` is not a finite number"),
    ("calc_dy_dx", 'calc_dy_dx = "1208.37e"', 'line 3: `calc_dy_dx = "1208.37e"` is not a number'),
    ("erratum_dx", 'erratum_dx = "G"', 'line 9: `erratum_dx = "G"` is not one of "A", "B", "C", "D", "E"'),
    ("erratum_dx", "erratum_dx = 2", 'line 9: `erratum_dx = 2` is not one of "A", "B", "C", "D", "E" (write it'),
    ("erratum_dx", 'erratum_dx = "B', "line 9: `erratum_dx = \"B` is not valid TOML (Unterminated string"),
    ("erratum_dx", "erratum_dx = B", "line 9: `erratum_dx = B` is not valid TOML (Invalid value"),
    ("erratum_dx", 'erratum_dx = "B"\nerratum_dx = "B"', "line 10: `erratum_dx` is answered twice"),
])
def test_a_bad_answer_costs_only_its_question(quiz, key, qid, line, problem):
    text = replace_line(good_text(key), qid, line)
    sheet = parse_answers(text, quiz)
    assert sheet.answers[qid].value is None
    assert sheet.answers[qid].problem.startswith(problem), sheet.answers[qid].problem
    scores = score_answers(sheet, key, quiz)
    assert scores[qid].points == 0 and scores[qid].message == sheet.answers[qid].problem
    assert total(scores) == 8.0 - by_id(quiz)[qid].points


def test_a_syntax_error_is_reported_and_the_other_lines_still_count(quiz, key):
    text = good_text(key).replace("# my answers", "this is not toml")
    sheet = parse_answers(text, quiz)
    assert sheet.notes[0].startswith("answers.toml is not valid TOML")
    assert sheet.notes[1].startswith("line 1: `this is not toml` is not valid TOML")
    assert total(score_answers(sheet, key, quiz)) == 8.0


def test_unknown_keys_and_tables_are_notes_not_penalties(quiz, key):
    text = good_text(key) + "calc_dydx = 3\n\n[extra]\nobjective_matching = \"A\"\n"
    sheet = parse_answers(text, quiz)
    assert sheet.notes == ("line 11: unknown key `calc_dydx` ignored (did you mean `calc_dy_dx`?)",
                           "line 13: `[extra]`: tables are not used in answers files, so the keys under it "
                           "were ignored; write every `key = value` at the top level")
    assert total(score_answers(sheet, key, quiz)) == 8.0


@pytest.mark.parametrize("source, words", [
    (b"\xff\xfe\x00garbage", "is not UTF-8 text"),
    (b"x = 1\n" * 20000, "is larger than"),
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", "the key `objective_matching` is missing (answers.toml is not valid"),
    (Path("/nonexistent/answers.toml"), "cannot read answers.toml"),
])
def test_an_unreadable_file_costs_every_question_and_never_raises(quiz, key, source, words):
    sheet = parse_answers(source, quiz)
    assert set(sheet.answers) == {q.id for q in quiz}
    assert all(a.value is None for a in sheet.answers.values())
    assert words in sheet.answers["objective_matching"].problem
    assert total(score_answers(sheet, key, quiz)) == 0


def test_number_tolerance_and_sign_hint(quiz, key):
    q = by_id(quiz)["calc_dy_dx"]
    k = key["calc_dy_dx"]
    tol = q.tolerance(k)
    assert tol == 0.001

    def score(value):
        sheet = parse_answers(f"calc_dy_dx = {value!r}\n", quiz)
        return score_answers(sheet, key, quiz)["calc_dy_dx"]

    assert score(k + 0.9 * tol).points == 0.5 and score(k - 0.9 * tol).points == 0.5
    wrong = score(k + 1.1 * tol)
    assert wrong.points == 0 and "within 0.001" in wrong.message and "1208.3665" not in wrong.message
    assert "sign is wrong" in score(-k).message and "sign" not in wrong.message
    exact = by_id(quiz)["erratum_hidden_units"]
    assert exact.tolerance(41.0) == 0
    scores = score_answers(parse_answers("erratum_hidden_units = 41.0000001\n", quiz), key, quiz)
    assert scores["erratum_hidden_units"].points == 0 and "only the exact value" in scores["erratum_hidden_units"].message


# ---------------------------------------------------------------------------- quiz loading

VALID_QUIZ = '''
total_points = 2
[questions.pick]
title = "Pick"
text = "- A. yes\\n- B. no"
type = "choice"
choices = ["A", "B"]
points = 1
[questions.num]
title = "Num"
text = "How many?"
type = "number"
abs_tol = 0.5
points = 1
'''


@pytest.mark.parametrize("old, new, words", [
    ("total_points = 2", "total_points = 3", "add up to 2, not total_points = 3"),
    ('type = "number"', 'type = "text"', "question `num`: `type` must be one of"),
    ('choices = ["A", "B"]', 'choices = ["A", "a"]', "question `pick`: `choices` has duplicates"),
    ('choices = ["A", "B"]', 'choices = ["A"]', "question `pick`: `choices` must list at least two"),
    ("abs_tol = 0.5", "answer = 3", "question `num`: unknown fields ['answer']"),
    ("abs_tol = 0.5", "points_extra = 1", "question `num`: unknown fields"),
    ("abs_tol = 0.5\n", "", "question `num`: a number question needs `abs_tol` and/or `rel_tol`"),
    ("abs_tol = 0.5", "abs_tol = -1.0", "question `num`: tolerances must be >= 0"),
    ('choices = ["A", "B"]', 'choices = ["A", "B"]\nabs_tol = 1', "question `pick`: a choice question has no tol"),
    ("[questions.num]", "[questions.Num-1]", "question `Num-1`: the id must be"),
    ('title = "Num"', 'title = ""', "question `num`: `title` must be a non-empty string"),
    ("points = 1\n[questions.num]", "points = true\n[questions.num]", "question `pick`: `points` must be a finite"),
    ("total_points = 2", "total_points = 2\nextra = 1", "unknown top-level keys ['extra']"),
    ("[questions.pick]", "[questions.pick\n", "cannot read the quiz"),
])
def test_malformed_quiz_raises_a_clear_value_error(tmp_path, old, new, words):
    path = tmp_path / "quiz.toml"
    path.write_text(VALID_QUIZ)
    assert [q.id for q in load_quiz(path)] == ["pick", "num"]
    assert old in VALID_QUIZ
    path.write_text(VALID_QUIZ.replace(old, new, 1))
    with pytest.raises(ValueError) as info:
        load_quiz(path)
    assert str(info.value).startswith(f"{path}: "), info.value
    assert words in str(info.value), info.value


def test_a_bad_key_file_is_refused(quiz, tmp_path):
    path = tmp_path / "answers.toml"
    path.write_text(KEY_PATH.read_text().replace('erratum_dx = "B"', 'erratum_dx = "Z"'))
    with pytest.raises(ValueError, match=r"the quiz key is not valid: erratum_dx: line \d+: `erratum_dx = \"Z\"`"):
        load_key(path, quiz)
