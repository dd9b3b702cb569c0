"""What common bugs would return, computed on the trusted side from the test's inputs.

Each function returns {diagnosis text: array}; diagnose.compare names the first one the
student's result matches. Generic mistakes (sign, constant factors such as N or 2,
transposes, shapes, zeros) are recognised by diagnose itself and are not listed here.
"""

import numpy as np


def _sigmoid(a):
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(a):
    return np.maximum(a, 0.0) + np.log1p(np.exp(-np.abs(a)))


def forward(kind, x, params=None):
    """Wrong forward outputs of a layer for input x (N, D)."""
    with np.errstate(all="ignore"):
        if kind == "Linear":
            W, b = params["W"], params["b"]
            return {"the bias b is not added (forward returns x @ W.T)": x @ W.T,
                    "the bias is subtracted instead of added": x @ W.T - b}
        if kind == "Sigmoid":
            return {"computes sigmoid(-a) = 1 / (1 + exp(a)): the sign inside exp is wrong": _sigmoid(-x),
                    "computes tanh instead of the logistic function": np.tanh(x),
                    "computes exp(-a) / (1 + exp(-a)) = 1 - sigmoid(a)": 1.0 - _sigmoid(x)}
        if kind == "Tanh":
            return {"computes the logistic function instead of tanh": _sigmoid(x)}
        if kind == "ReLU":
            return {"computes min(0, a) instead of max(0, a)": np.minimum(x, 0.0),
                    "computes |a| instead of max(0, a)": np.abs(x)}
        if kind == "Softplus":
            return {"computes log(1 + exp(-a)) = softplus(-a): the sign inside exp is wrong": _softplus(-x),
                    "computes log(exp(a)) = a: the 1 + is missing": x,
                    "computes max(0, a) (ReLU) instead of softplus": np.maximum(x, 0.0)}
    return {}


def backward(kind, x, g):
    """Wrong dJ/dx of an elementwise layer for input x and grad_out g."""
    with np.errstate(all="ignore"):
        if kind == "Sigmoid":
            z = _sigmoid(x)
            return {"uses the input a instead of the output z in z (1 - z)": g * x * (1 - x),
                    "does not multiply by grad_out (returns dz/da only)": z * (1 - z),
                    "the factor (1 - z) is missing": g * z,
                    "uses the derivative of tanh, 1 - z^2": g * (1 - z * z)}
        if kind == "Tanh":
            z = np.tanh(x)
            return {"uses 1 - z instead of 1 - z^2": g * (1 - z),
                    "uses the input: 1 - a^2 instead of 1 - tanh(a)^2": g * (1 - x * x),
                    "does not multiply by grad_out (returns dz/da only)": 1 - z * z,
                    "uses the derivative of the logistic function": g * _sigmoid(x) * (1 - _sigmoid(x))}
        if kind == "ReLU":
            return {"passes grad_out through unchanged (no mask)": g,
                    "multiplies grad_out by the output max(0, a) instead of the 0/1 mask": g * np.maximum(x, 0),
                    "masks with a < 0 instead of a > 0": np.where(x < 0, g, 0.0)}
        if kind == "Softplus":
            return {"multiplies by softplus(a) instead of its derivative sigmoid(a)": g * _softplus(x),
                    "multiplies by exp(a) instead of sigmoid(a)": g * np.exp(x),
                    "multiplies by sigmoid(-a) instead of sigmoid(a)": g * _sigmoid(-x),
                    "does not multiply by grad_out (returns sigmoid(a) only)": _sigmoid(x)}
    return {}


def regions(kind, x):
    """Named parts of the input where a bug typically shows alone."""
    if kind == "ReLU":
        return {"a == 0 (the derivative of ReLU at exactly 0 must be 0)": x == 0}
    return {"|a| > 30 (large inputs: a numerically unstable formula?)": np.abs(x) > 30}


def _broadcast_note(pred, target):
    return (np.ndim(pred) == 2 and np.shape(pred)[1] == 1 and np.ndim(target) == 1)


def _onehot(target, shape):
    onehot = np.zeros(shape)
    onehot[np.arange(shape[0]), np.asarray(target, dtype=int)] = 1.0
    return onehot


def loss_value(name, pred, target, J, grad=None):
    """Wrong loss values for a batch, derived where possible from the correct results (the
    reference's): J, the loss, and grad, its dJ/dpred (None if not at hand)."""
    n = pred.shape[0]
    out = {}
    J = float(J)
    with np.errstate(all="ignore"):
        if name == "SquaredError":
            if _broadcast_note(pred, target):
                d = pred - target  # (N, N) by broadcasting: the bug
                out["the target (N,) was broadcast against pred (N, 1) into an (N, N) array: "
                    "reshape it to (N, 1)"] = 0.5 * np.sum(d * d) / n
            out["the mean is taken over every entry (divided by N*K) instead of over the N examples"] = \
                J / int(np.prod(pred.shape[1:], dtype=np.int64))
        if name == "BinaryCrossEntropy":
            p = np.clip(pred, 1e-12, 1 - 1e-12)
            if _broadcast_note(pred, target):
                t = target  # broadcast (N, N)
                out["the target (N,) was broadcast against pred (N, 1) into an (N, N) array: "
                    "reshape it to (N, 1)"] = -np.sum(t * np.log(p) + (1 - t) * np.log(1 - p)) / n
            t = np.reshape(target, pred.shape)
            out["the labels are swapped: uses log(p) where y* = 0 and log(1 - p) where y* = 1"] = \
                -np.sum((1 - t) * np.log(p) + t * np.log(1 - p)) / n
        if name == "SoftmaxCrossEntropy":
            k = pred.shape[1]
            out[f"divided by N*K = {n}*{k} instead of N (the mean over the classes too)"] = J / k
            if grad is not None:  # softmax = N * dJ/dpred + onehot
                probs = n * np.asarray(grad, dtype=np.float64) + _onehot(target, pred.shape)
                out["sums -log softmax over every class instead of taking the true class"] = \
                    -np.sum(np.log(probs)) / n
    return out


def loss_grad(name, pred, target, grad):
    """Wrong dJ/dpred for a batch. grad: the correct one (the reference's)."""
    n = pred.shape[0]
    out = {}
    with np.errstate(all="ignore"):
        if name == "BinaryCrossEntropy":
            p = np.clip(pred, 1e-12, 1 - 1e-12)
            t = np.reshape(target, pred.shape)
            out["the sign of the (1 - y*)/(1 - y) term is wrong (the slides' Case 2 misprint)"] = \
                -(t / p + (1 - t) / (1 - p)) / n
            out["the sign of the y*/y term is wrong"] = (t / p + (1 - t) / (1 - p)) / n
        if name == "SoftmaxCrossEntropy":
            onehot = _onehot(target, pred.shape)
            out["the one-hot target is not subtracted (returns softmax / N)"] = np.asarray(grad) + onehot / n
            out["the softmax term is missing (returns -onehot / N)"] = -onehot / n
    return out
