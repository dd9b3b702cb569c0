"""Tests of the reference network code (solution/backprop/mlp.py)."""

import numpy as np
import pytest

TOL = 1e-7


def layer_names(model):
    return [type(m).__name__ for m in model.modules]


def test_build_mlp_structure(solution):
    build = solution.mlp.build_mlp
    assert layer_names(build(2, [3, 4], 1, activation="tanh")) == \
        ["Linear", "Tanh", "Linear", "Tanh", "Linear", "Sigmoid"]
    assert layer_names(build(2, [], 1)) == ["Linear", "Sigmoid"]  # logistic regression
    assert layer_names(build(2, [5], 3, activation="relu", output="softmax")) == ["Linear", "ReLU", "Linear"]
    assert layer_names(build(2, [5], 1, activation="softplus", output="identity")) == \
        ["Linear", "Softplus", "Linear"]
    model = build(4, [3, 5], 2)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {"0.W": (3, 4), "0.b": (3,), "2.W": (5, 3), "2.b": (5,), "4.W": (2, 5), "4.b": (2,)}


@pytest.mark.parametrize("kwargs", [{"activation": "gelu"}, {"output": "tanh"}, {"init": "normal"},
                                    {"activation": "Sigmoid"}])
def test_build_mlp_unknown_options_raise(solution, kwargs):
    with pytest.raises(ValueError):
        solution.mlp.build_mlp(2, [3], 1, **kwargs)
    if "activation" in kwargs:  # even when no hidden layer would use it
        with pytest.raises(ValueError):
            solution.mlp.build_mlp(2, [], 1, **kwargs)


@pytest.mark.parametrize("init", ["xavier", "uniform", "zero"])
def test_build_mlp_seeded_init_matches_recipe(solution, init):
    model = solution.mlp.build_mlp(2, [3, 4], 1, init=init, seed=42)
    rng = np.random.default_rng(42)
    for key, (n_in, n_out) in zip(["0.W", "2.W", "4.W"], [(2, 3), (3, 4), (4, 1)]):
        r = {"xavier": np.sqrt(6.0 / (n_in + n_out)), "uniform": 0.1}.get(init)
        expected = np.zeros((n_out, n_in)) if r is None else rng.uniform(-r, r, size=(n_out, n_in))
        np.testing.assert_array_equal(model.params[key], expected)
    again = solution.mlp.build_mlp(2, [3, 4], 1, init=init, seed=42)
    for key in model.params:
        np.testing.assert_array_equal(model.params[key], again.params[key])


def whole_network_error(solution, model, loss, X, y, seed=0):
    """Largest relative error between backprop and finite differences, over X and every parameter."""
    num_grad = solution.gradcheck.numerical_gradient
    rel = solution.gradcheck.relative_error
    rng = np.random.default_rng(seed)
    for p in model.params.values():
        p += rng.normal(scale=0.5, size=p.shape)  # break symmetry, leave zero biases behind

    def J(_):
        return loss.forward(model.forward(X), y)

    J(None)
    dX = model.backward(loss.backward())
    analytic = {k: np.array(g) for k, g in model.grads.items()}
    assert sorted(analytic) == sorted(model.params)
    worst = rel(dX, num_grad(J, X))
    for key, p in model.params.items():
        worst = max(worst, rel(analytic[key], num_grad(J, p)))
    return worst


@pytest.mark.parametrize("activation, output, loss_name, n_out", [
    ("sigmoid", "sigmoid", "BinaryCrossEntropy", 1),
    ("tanh", "softmax", "SoftmaxCrossEntropy", 3),
    ("softplus", "identity", "SquaredError", 2),
    ("relu", "sigmoid", "SquaredError", 2),
])
def test_whole_network_gradient(solution, activation, output, loss_name, n_out):
    rng = np.random.default_rng(7)
    model = solution.mlp.build_mlp(3, [4, 5], n_out, activation=activation, output=output, seed=3)
    X = rng.normal(size=(6, 3))
    if loss_name == "BinaryCrossEntropy":
        y = rng.integers(0, 2, size=6)
    elif loss_name == "SoftmaxCrossEntropy":
        y = np.array([0, 1, 2, 2, 1, 0])
    else:
        y = rng.normal(size=(6, n_out))
    loss = getattr(solution.losses, loss_name)()
    assert whole_network_error(solution, model, loss, X, y) < TOL


def test_sgd_step_updates_in_place(solution):
    model = solution.mlp.build_mlp(3, [4], 2, seed=1)
    rng = np.random.default_rng(2)
    loss = solution.losses.SquaredError()
    loss.forward(model.forward(rng.normal(size=(5, 3))), rng.normal(size=(5, 2)))
    model.backward(loss.backward())
    before = {k: (p, p.copy()) for k, p in model.params.items()}
    grads = {k: g.copy() for k, g in model.grads.items()}
    assert solution.mlp.sgd_step(model, 0.3) is None
    for k, p in model.params.items():
        obj, old = before[k]
        assert p is obj
        np.testing.assert_allclose(p, old - 0.3 * grads[k], rtol=1e-15)


def reference_train(solution, model, loss, X, y, epochs, lr, batch_size, seed):
    """The contract's training protocol, written out independently of mlp.train."""
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        perm = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = perm[start:start + batch_size]
            loss.forward(model.forward(X[idx]), y[idx])
            model.backward(loss.backward())
            for k, p in model.params.items():
                p -= lr * model.grads[k]
        losses.append(loss.forward(model.forward(X), y))
    return losses


def test_train_follows_the_protocol_and_is_reproducible(solution):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(10, 2))  # batch_size 4: batches of 4, 4 and 2
    y = (X[:, 0] > X[:, 1]).astype(np.int64)
    X_copy, y_copy = X.copy(), y.copy()
    build, BCE = solution.mlp.build_mlp, solution.losses.BinaryCrossEntropy
    got = solution.mlp.train(build(2, [3], 1, seed=5), BCE(), X, y, 6, 0.5, 4, seed=9)
    assert type(got) is list and len(got) == 6 and all(type(v) is float for v in got)
    expected = reference_train(solution, build(2, [3], 1, seed=5), BCE(), X, y, 6, 0.5, 4, seed=9)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    again = solution.mlp.train(build(2, [3], 1, seed=5), BCE(), X, y, 6, 0.5, 4, seed=9)
    assert again == got
    other = solution.mlp.train(build(2, [3], 1, seed=5), BCE(), X, y, 6, 0.5, 4, seed=10)
    assert other != got  # the seed drives the minibatch order
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_train_learns_a_separable_problem(solution):
    rng = np.random.default_rng(9)
    X = rng.uniform(-1, 1, size=(80, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = solution.mlp.build_mlp(2, [2], 1, seed=0)
    losses = solution.mlp.train(model, solution.losses.BinaryCrossEntropy(), X, y, 40, 2.0, 8, seed=0)
    assert losses[-1] < 0.5 * losses[0]
    assert np.mean(solution.mlp.predict(model, X) == y) >= 0.95


def test_predict_thresholds_and_argmax(solution):
    m = solution.modules
    X = np.array([[1.0, -2.0], [0.0, 0.0], [-1.0, 2.0]])
    half = m.Sequential(m.Linear(2, 1, init="zero"), m.Sigmoid())  # outputs exactly 0.5
    labels = solution.mlp.predict(half, X)
    assert labels.shape == (3,) and np.issubdtype(labels.dtype, np.integer)
    np.testing.assert_array_equal(labels, [1, 1, 1])
    half.modules[0].params["W"][...] = [[1.0, 0.0]]
    np.testing.assert_array_equal(solution.mlp.predict(half, X), [1, 1, 0])
    three = m.Linear(2, 3, init="zero")
    three.params["W"][...] = [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]
    labels = solution.mlp.predict(three, X)
    assert np.issubdtype(labels.dtype, np.integer)
    np.testing.assert_array_equal(labels, [0, 0, 1])
