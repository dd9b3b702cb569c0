"""Correct variant "loops": the training loop with explicit index lists."""

import numpy as np

from .modules import Linear, ReLU, Sequential, Sigmoid, Softplus, Tanh

ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "softplus": Softplus}


def build_mlp(n_inputs, hidden_sizes, n_outputs, activation="sigmoid",
              output="sigmoid", init="xavier", seed=0):
    if activation not in ACTIVATIONS or output not in ("sigmoid", "softmax", "identity"):
        raise ValueError("unknown activation or output")
    rng = np.random.default_rng(seed)
    layers = []
    width = n_inputs
    for h in hidden_sizes:
        layers += [Linear(width, h, init, rng), ACTIVATIONS[activation]()]
        width = h
    layers.append(Linear(width, n_outputs, init, rng))
    if output == "sigmoid":
        layers.append(Sigmoid())
    return Sequential(*layers)


def sgd_step(model, learning_rate):
    params, grads = model.params, model.grads
    for key in params:
        params[key][...] = params[key] - learning_rate * grads[key]


def train(model, loss, X, y, epochs, learning_rate, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    n = len(X)
    losses = []
    for _ in range(epochs):
        order = list(rng.permutation(n))
        while order:
            batch, order = order[:batch_size], order[batch_size:]
            loss.forward(model.forward(X[batch]), y[batch])
            model.backward(loss.backward())
            sgd_step(model, learning_rate)
        losses.append(float(loss.forward(model.forward(X), y)))
    return losses


def predict(model, X):
    out = np.asarray(model.forward(X))
    if out.ndim == 2 and out.shape[1] > 1:
        return np.array([int(np.argmax(row)) for row in out], dtype=np.int64)
    return np.array([1 if v >= 0.5 else 0 for v in out.reshape(-1)], dtype=np.int64)
