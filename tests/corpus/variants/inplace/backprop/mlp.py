"""Correct variant "inplace": sgd_step with out=, minibatches as views of a permuted copy."""

import numpy as np

from . import modules as M


def build_mlp(n_inputs, hidden_sizes, n_outputs, activation="sigmoid",
              output="sigmoid", init="xavier", seed=0):
    act = {"sigmoid": M.Sigmoid, "tanh": M.Tanh, "relu": M.ReLU, "softplus": M.Softplus}.get(activation)
    if act is None:
        raise ValueError(f"unknown activation {activation!r}")
    if output not in {"sigmoid", "softmax", "identity"}:
        raise ValueError(f"unknown output {output!r}")
    if init not in M.INITS:
        raise ValueError(f"unknown init {init!r}")
    rng = np.random.default_rng(seed)
    widths = [n_inputs] + list(hidden_sizes) + [n_outputs]
    layers = []
    for k in range(len(widths) - 1):
        layers.append(M.Linear(widths[k], widths[k + 1], init=init, rng=rng))
        if k < len(widths) - 2:
            layers.append(act())
    if output == "sigmoid":
        layers.append(M.Sigmoid())
    return M.Sequential(*layers)


def sgd_step(model, learning_rate):
    grads = model.grads
    for key, p in model.params.items():
        np.subtract(p, learning_rate * grads[key], out=p)


def train(model, loss, X, y, epochs, learning_rate, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        perm = rng.permutation(X.shape[0])
        Xp, yp = X[perm], y[perm]
        for start in range(0, len(perm), batch_size):
            stop = start + batch_size
            loss.forward(model.forward(Xp[start:stop]), yp[start:stop])
            model.backward(loss.backward())
            sgd_step(model, learning_rate)
        history.append(loss.forward(model.forward(X), y))
    return [float(v) for v in history]


def predict(model, X):
    out = model.forward(X)
    if out.shape[-1] == 1:
        return (out.reshape(-1) >= 0.5).astype(int)
    return out.argmax(axis=-1).astype(int)
