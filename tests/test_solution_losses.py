"""Tests of the reference losses (solution/backprop/losses.py)."""

import warnings

import numpy as np
import pytest

TOL = 1e-7


def check_loss_gradient(solution, loss, pred, target):
    """Compare loss.backward() with finite differences of loss.forward in pred; return the error."""
    J = loss.forward(pred, target)
    assert isinstance(J, float)
    grad = loss.backward()
    assert grad.shape == pred.shape
    numeric = solution.gradcheck.numerical_gradient(lambda p: loss.forward(p, target), pred.copy())
    err = solution.gradcheck.relative_error(grad, numeric)
    assert err < TOL
    return err


def test_squared_error_value_and_gradient(solution):
    rng = np.random.default_rng(0)
    pred, target = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    loss = solution.losses.SquaredError()
    expected = sum(0.5 * np.sum((pred[n] - target[n]) ** 2) for n in range(5)) / 5
    assert loss.forward(pred, target) == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(loss.backward(), (pred - target) / 5, rtol=1e-13)
    check_loss_gradient(solution, loss, pred, target)


def test_column_pred_accepts_flat_target(solution):
    rng = np.random.default_rng(1)
    pred = rng.uniform(0.1, 0.9, size=(4, 1))
    target = np.array([0, 1, 1, 0])
    for loss in (solution.losses.SquaredError(), solution.losses.BinaryCrossEntropy()):
        flat = loss.forward(pred, target)
        grad = loss.backward()
        assert grad.shape == (4, 1)
        assert flat == loss.forward(pred, target.reshape(4, 1).astype(float))
        np.testing.assert_array_equal(grad, loss.backward())


@pytest.mark.parametrize("pred_shape, target_shape", [((4, 2), (4,)), ((4,), (4, 1)), ((4, 1), (3,)),
                                                       ((4, 3), (3, 4))])
def test_shape_mismatch_raises(solution, pred_shape, target_shape):
    for loss in (solution.losses.SquaredError(), solution.losses.BinaryCrossEntropy()):
        with pytest.raises(ValueError):
            loss.forward(np.full(pred_shape, 0.5), np.zeros(target_shape))


@pytest.mark.parametrize("shape", [(6, 1), (6,)])
def test_binary_cross_entropy_value_and_gradient(solution, shape):
    rng = np.random.default_rng(2)
    p = rng.uniform(0.05, 0.95, size=shape)
    t = rng.integers(0, 2, size=shape).astype(float)
    t.flat[:2] = [0.0, 1.0]
    loss = solution.losses.BinaryCrossEntropy()
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert loss.forward(p, t) == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(loss.backward(), -(t / p - (1 - t) / (1 - p)) / 6, rtol=1e-13)
    check_loss_gradient(solution, loss, p, t)


def test_binary_cross_entropy_clips_saturated_probabilities(solution):
    loss = solution.losses.BinaryCrossEntropy()
    pred = np.array([[0.0], [1.0], [1.0], [0.0]])
    target = np.array([1.0, 0.0, 1.0, 0.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        J = loss.forward(pred, target)
        grad = loss.backward()
    p = np.clip(pred[:, 0], 1e-12, 1 - 1e-12)
    expected = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
    assert J == pytest.approx(expected, rel=1e-12) and J == pytest.approx(-np.log(1e-12) / 2, rel=1e-6)
    np.testing.assert_allclose(grad[:, 0], -(target / p - (1 - target) / (1 - p)) / 4, rtol=1e-12)
    assert np.all(np.isfinite(grad))


def test_softmax_cross_entropy_value_and_gradient(solution):
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(5, 3))
    labels = np.array([0, 2, 1, 2, 0])
    loss = solution.losses.SoftmaxCrossEntropy()
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(probs[np.arange(5), labels]))
    assert loss.forward(logits, labels) == pytest.approx(expected, rel=1e-13)
    onehot = np.eye(3)[labels]
    np.testing.assert_allclose(loss.backward(), (probs - onehot) / 5, rtol=1e-12, atol=1e-15)
    check_loss_gradient(solution, loss, logits, labels)


def test_softmax_cross_entropy_stable_at_extremes(solution):
    loss = solution.losses.SoftmaxCrossEntropy()
    logits = np.array([[1000.0, -1000.0, 0.0], [1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]])
    labels = np.array([0, 1, 2])
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        J = loss.forward(logits, labels)
        grad = loss.backward()
    assert J == pytest.approx((0.0 + 2000.0 + np.log(3.0)) / 3, rel=1e-12)
    expected = np.array([[0, 0, 0], [1, -1, 0], [1 / 3, 1 / 3, -2 / 3]]) / 3
    np.testing.assert_allclose(grad, expected, atol=1e-15)
    # shifting every logit of a row by a constant changes nothing
    assert loss.forward(logits - 500.0, labels) == pytest.approx(J, rel=1e-12)


@pytest.mark.parametrize("pred_shape, labels", [((3, 2), [0, 1, 2]), ((3, 2), [0, -1, 1]), ((3, 2), [0, 1]),
                                                ((3, 2), [[0], [1], [1]]), ((3,), [0, 1, 1]),
                                                ((3, 2), [0.5, 1, 0])])
def test_softmax_cross_entropy_bad_targets_raise(solution, pred_shape, labels):
    with pytest.raises(ValueError):
        solution.losses.SoftmaxCrossEntropy().forward(np.zeros(pred_shape), np.array(labels))


@pytest.mark.parametrize("name, pred, target", [
    ("SquaredError", np.linspace(-1, 1, 6).reshape(3, 2), np.ones((3, 2))),
    ("BinaryCrossEntropy", np.array([[0.2], [0.7], [1.0]]), np.array([0.0, 1.0, 1.0])),
    ("SoftmaxCrossEntropy", np.linspace(-1, 1, 6).reshape(3, 2), np.array([1, 0, 1])),
])
def test_no_input_mutation(solution, name, pred, target):
    pred_copy, target_copy = pred.copy(), target.copy()
    loss = getattr(solution.losses, name)()
    loss(pred, target)  # __call__ is forward
    loss.backward()
    np.testing.assert_array_equal(pred, pred_copy)
    np.testing.assert_array_equal(target, target_copy)
