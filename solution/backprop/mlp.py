"""Multi-layer perceptrons: build one, train it with SGD, and predict labels.

The lecture's recipe: choose a decision function y = f_theta(x) and a loss, then
train with SGD, theta <- theta - eta * grad J(theta), where backpropagation
(the modules' backward passes) computes grad J.
"""

import numpy as np

from .modules import Linear, ReLU, Sequential, Sigmoid, Softplus, Tanh


def build_mlp(n_inputs, hidden_sizes, n_outputs, activation="sigmoid",
              output="sigmoid", init="xavier", seed=0):
    """Build Linear(n_inputs, h1), Act, Linear(h1, h2), Act, ..., Linear(h_last, n_outputs), OutputAct.

    Inputs:
    - n_inputs: D, the number of input features x_i.
    - hidden_sizes: list of hidden layer widths (e.g. [3] is the lecture's network with
      3 hidden units z_j); [] gives logistic regression.
    - n_outputs: the number of output units (1 for binary classification).
    - activation: the hidden nonlinearity, one of "sigmoid", "tanh", "relu", "softplus".
    - output: "sigmoid" appends Sigmoid() (y = sigmoid(b)); "softmax" and "identity" append
      nothing (softmax lives in SoftmaxCrossEntropy).
    - init: passed to every Linear ("xavier", "uniform" or "zero").
    - seed: ONE rng = np.random.default_rng(seed) is passed to every Linear, first layer first.
    Unknown activation, output or init strings raise ValueError.
    Returns: a Sequential, whose forward maps (N, n_inputs) to (N, n_outputs).
    """
    # HINT: one rng = np.random.default_rng(seed) shared by all Linear layers, in order
    # BEGIN SOLUTION
    activations = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "softplus": Softplus}
    if activation not in activations:
        raise ValueError(f"unknown activation {activation!r}: expected one of {sorted(activations)}")
    if output not in ("sigmoid", "softmax", "identity"):
        raise ValueError(f"unknown output {output!r}: expected 'sigmoid', 'softmax' or 'identity'")
    rng = np.random.default_rng(seed)
    sizes = [n_inputs, *hidden_sizes]
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers.append(Linear(fan_in, fan_out, init=init, rng=rng))
        layers.append(activations[activation]())
    layers.append(Linear(sizes[-1], n_outputs, init=init, rng=rng))
    if output == "sigmoid":
        layers.append(Sigmoid())
    return Sequential(*layers)
    # END SOLUTION


def sgd_step(model, learning_rate):
    """One SGD update, in place: theta <- theta - eta * dJ/dtheta for every parameter.

    Inputs:
    - model: a Module whose grads hold dJ/dtheta from the latest backward (same keys as params).
    - learning_rate: eta, a float.
    Updates the arrays in model.params in place (p -= eta * g); returns None.
    """
    # HINT: for every key: params[key] -= learning_rate * grads[key], in place
    # BEGIN SOLUTION
    # Layer by layer: a Sequential's params/grads properties rebuild their dicts on every
    # access, which costs more than the update itself for the pocket networks.
    for layer in getattr(model, "modules", (model,)):
        if layer.params:
            grads = layer.grads
            for key, param in layer.params.items():
                param -= learning_rate * grads[key]
    # END SOLUTION


def train(model, loss, X, y, epochs, learning_rate, batch_size, seed=0):
    """Minibatch SGD.

    Inputs:
    - model: a Module, e.g. from build_mlp.  loss: a Loss, e.g. BinaryCrossEntropy().
    - X: (N, D) inputs.  y: (N,) targets (as the loss expects them).
    - epochs, learning_rate (eta), batch_size: integers / float as named.
    - seed: rng = np.random.default_rng(seed), the only source of randomness.

    Each epoch draws perm = rng.permutation(N) and walks it in consecutive minibatches of
    batch_size (the last may be smaller); for each: forward, loss, backward, sgd_step.
    Minibatch targets are y[batch] as sliced from y. After each epoch, appends the mean
    loss over the whole training set (one forward over all of X).
    Returns: a list of `epochs` Python floats, the epoch losses.
    Neither X nor y is modified.
    """
    # HINT: for each epoch: perm = rng.permutation(N); per minibatch forward, loss, backward, sgd_step
    # BEGIN SOLUTION
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    history = []
    for _ in range(epochs):
        perm = rng.permutation(n)
        X_perm, y_perm = X[perm], y[perm]  # shuffled copies, so each minibatch is a cheap slice
        for start in range(0, n, batch_size):
            stop = start + batch_size
            pred = model.forward(X_perm[start:stop])
            loss.forward(pred, y_perm[start:stop])
            model.backward(loss.backward())
            sgd_step(model, learning_rate)
        history.append(float(loss.forward(model.forward(X), y)))
    return history
    # END SOLUTION


def predict(model, X):
    """Predicted integer labels for X, shape (N, D).

    Output: shape (N,), integer dtype. With one output column, label 1 where the output
    is >= 0.5 (y = sigmoid(b) >= 0.5); with K > 1 columns, the argmax over the columns.
    """
    # HINT: one column: (output >= 0.5); several columns: argmax over axis 1
    # BEGIN SOLUTION
    out = np.asarray(model.forward(X))
    if out.ndim == 1:
        out = out[:, None]
    if out.shape[1] == 1:
        return (out[:, 0] >= 0.5).astype(np.int64)
    return np.argmax(out, axis=1).astype(np.int64)
    # END SOLUTION
