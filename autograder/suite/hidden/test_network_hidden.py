"""Hidden tests, part 2: the network (9 of the part's 15 points).

Other configurations (hidden_sizes=[], two hidden layers, every activation and output),
unknown options, gradient checks with softmax and squared error, sgd_step with other
learning rates, 20 epochs of train with a smaller last batch, predict with several columns
and at exactly 0.5. Expected values come from the reference solution (Gradescope only).
"""

import numpy as np
import pytest
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import imitations as I
import netchecks as N
import scenarios as S
from backends import StudentError, raised_instead
from cases import Case
from checking import Report

CONFIGS = [
    dict(n_inputs=3, hidden=[], n_outputs=1, activation="sigmoid", output="sigmoid", init="xavier", seed=4),
    dict(n_inputs=2, hidden=[4, 3], n_outputs=3, activation="tanh", output="softmax", init="uniform", seed=9),
    dict(n_inputs=4, hidden=[5], n_outputs=2, activation="relu", output="identity", init="xavier", seed=13),
    dict(n_inputs=2, hidden=[2, 2], n_outputs=1, activation="softplus", output="sigmoid", init="zero", seed=0),
    dict(n_inputs=5, hidden=[3, 6], n_outputs=2, activation="sigmoid", output="identity", init="xavier", seed=21),
]


@weight(2)
@number("2.20")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py", "mlp.py")
def test_hidden_build_mlp(student, expect):
    """build_mlp: hidden_sizes=[], two hidden layers, every activation/output/init; unknown options raise"""
    r = Report("build_mlp")
    for config in CONFIGS:
        N.check_structure(r, student, config, expect(Case(f"hidden/mlp/{config}", S.mlp_structure, config)))
    for option, bad in (("activation", "elu"), ("output", "linear"), ("init", "he")):
        call = f"build_mlp(2, [3], 1, {option}={bad!r})"
        try:
            student.call("mlp.build_mlp", 2, [3], 1, **{option: bad})
            r.fail(f"{call} returned without raising; an unknown {option} must raise ValueError")
        except StudentError as exc:
            r.require(exc.type_name == "ValueError", raised_instead(exc, call, "ValueError"))
    r.finish()


GRAD_CASES = [
    (dict(n_inputs=3, hidden_sizes=[4, 3], n_outputs=3, activation="tanh", output="softmax"),
     "SoftmaxCrossEntropy", 6, True),
    (dict(n_inputs=2, hidden_sizes=[5], n_outputs=2, activation="softplus", output="identity"),
     "SquaredError", 4, False),
    (dict(n_inputs=4, hidden_sizes=[], n_outputs=1, activation="sigmoid", output="sigmoid"),
     "BinaryCrossEntropy", 3, True),
]


@weight(2)
@number("2.21")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py", "losses.py", "mlp.py")
@pytest.mark.depends_on("test_hidden_build_mlp", "test_hidden_linear_backward", "test_hidden_activation_backward",
                        "test_hidden_loss_backward")
def test_hidden_network_gradient_check(student, expect, cheap_backward):
    """Whole-network gradient checks: two hidden layers with softmax, squared error, logistic regression"""
    cheap_backward("Sequential", "SoftmaxCrossEntropy", "SquaredError")
    r = Report("network gradients")
    for i, (config, loss_name, n, labels) in enumerate(GRAD_CASES):
        X, y = S.network_data(n, config["n_inputs"], config["n_outputs"], seed=310 + i, labels=labels)
        kwargs = dict(config=config, loss_name=loss_name, X=X, y=y, params=S.mlp_params(config, 310 + i))
        N.check_network_grads(r, student, kwargs, expect(Case(f"hidden/grads/{i}", S.network_grads, kwargs)),
                              seed=320 + 10 * i)
    r.finish()


SGD_SPEC = ("Sequential", [("Linear", 2, 5), ("ReLU",), ("Linear", 5, 3), ("Tanh",), ("Linear", 3, 1)])


@weight(1)
@number("2.22")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py", "mlp.py")
def test_hidden_sgd_step(student, expect):
    """sgd_step on three Linear layers with learning rates 2.5 and 0.01, in place"""
    r = Report("sgd_step")
    for lr in (2.5, 0.01):
        kwargs = dict(spec=SGD_SPEC, params=S.linear_params(SGD_SPEC, 331), grads=S.linear_params(SGD_SPEC, 332),
                      learning_rate=lr)
        N.check_sgd(r, student, kwargs, expect(Case(f"hidden/sgd/{lr}", S.sgd_run, kwargs)))
    r.finish()


def _train_cases():
    X1, y1 = S.network_data(13, 2, 3, seed=341)
    X2, y2 = S.network_data(9, 3, 2, seed=342, labels=False)
    X3, y3 = S.network_data(11, 2, 1, seed=343)
    return [
        dict(config=dict(n_inputs=2, hidden_sizes=[4], n_outputs=3, activation="tanh", output="softmax",
                         init="uniform", seed=11), loss_name="SoftmaxCrossEntropy", X=X1, y=y1, epochs=20,
             learning_rate=0.3, batch_size=4, seed=12),
        dict(config=dict(n_inputs=3, hidden_sizes=[3], n_outputs=2, activation="softplus", output="identity",
                         seed=5), loss_name="SquaredError", X=X2, y=y2, epochs=8, learning_rate=0.05,
             batch_size=9, seed=6),
        dict(config=dict(n_inputs=2, hidden_sizes=[], n_outputs=1, seed=2), loss_name="BinaryCrossEntropy",
             X=X3, y=y3, epochs=12, learning_rate=1.5, batch_size=5, seed=3),
    ]


@weight(2.5)
@number("2.23")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py", "losses.py", "mlp.py")
@pytest.mark.depends_on("test_hidden_build_mlp", "test_hidden_network_gradient_check", "test_hidden_sgd_step")
def test_hidden_train(student, expect):
    """train: 20 epochs with a last batch of 1 (softmax), full-batch squared error, logistic regression"""
    r = Report("train")
    for i, kwargs in enumerate(_train_cases()):
        exp = expect(Case(f"hidden/train/{i}", S.train_run, kwargs))
        variants = expect(Case(f"hidden/train/{i}/variants", I.train_variants, kwargs))
        N.check_train(r, student, kwargs, exp, variants)
    r.finish()


@weight(1.5)
@number("2.24")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py", "mlp.py")
@pytest.mark.depends_on("test_hidden_sequential_forward")
def test_hidden_predict(student, expect):
    """predict: argmax over several columns, label 1 at exactly 0.5, a batch of one"""
    r = Report("predict")
    three = ("Sequential", [("Linear", 2, 4), ("Tanh",), ("Linear", 4, 3)])
    X3, _ = S.network_data(8, 2, 3, seed=351)
    half = ("Sequential", [("Linear", 2, 1), ("Sigmoid",)])
    Xh = np.array([[0.0, 1.0], [1.0, 0.0], [-1.0, 3.0], [0.0, -2.0]])
    runs = [dict(spec=three, params=S.linear_params(three, 351), X=X3),
            dict(spec=half, params={"0.W": np.array([[1.0, 0.0]]), "0.b": np.array([0.0])}, X=Xh),
            dict(spec=three, params=S.linear_params(three, 352), X=X3[:1])]
    for i, kwargs in enumerate(runs):
        exp = expect(Case(f"hidden/predict/{i}", S.predict_run, kwargs))
        N.check_predict(r, student, kwargs, exp)
    r.finish()
