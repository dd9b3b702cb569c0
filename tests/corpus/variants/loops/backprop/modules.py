"""Correct variant "loops": layers written example by example (a slow but valid style)."""

import numpy as np


class Module:
    def __init__(self):
        self.params = {}
        self.grads = {}

    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)


class Linear(Module):
    def __init__(self, in_features, out_features, init="xavier", rng=None):
        super().__init__()
        if rng is None:
            rng = np.random.default_rng(0)
        if init == "xavier":
            bound = (6.0 / (in_features + out_features)) ** 0.5
            W = rng.uniform(-bound, bound, size=(out_features, in_features))
        elif init == "uniform":
            W = rng.uniform(-0.1, 0.1, size=(out_features, in_features))
        elif init == "zero":
            W = np.zeros((out_features, in_features))
        else:
            raise ValueError("init must be 'xavier', 'uniform' or 'zero'")
        self.params = {"W": W, "b": np.zeros(out_features)}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros(out_features)}
        self.inputs = None

    def forward(self, x):
        self.inputs = np.array(x, dtype=float)  # a private copy
        W, b = self.params["W"], self.params["b"]
        rows = [W @ example + b for example in self.inputs]
        return np.array(rows).reshape(len(rows), W.shape[0])

    def backward(self, grad_out):
        W = self.params["W"]
        dW = np.zeros(W.shape)
        db = np.zeros(W.shape[0])
        dx = []
        for example, g in zip(self.inputs, np.asarray(grad_out, dtype=float)):
            dW += np.outer(g, example)
            db += g
            dx.append(W.T @ g)
        self.grads = {"W": dW, "b": db}
        return np.array(dx).reshape(self.inputs.shape)


def _logistic(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


class Sigmoid(Module):
    def forward(self, x):
        self.out = _logistic(np.asarray(x, dtype=float))
        return self.out

    def backward(self, grad_out):
        return np.asarray(grad_out, dtype=float) * (self.out - self.out * self.out)


class Tanh(Module):
    def forward(self, x):
        self.out = np.tanh(np.asarray(x, dtype=float))
        return self.out

    def backward(self, grad_out):
        return np.asarray(grad_out, dtype=float) * (1.0 - self.out * self.out)


class ReLU(Module):
    def forward(self, x):
        x = np.asarray(x, dtype=float)
        self.positive = x > 0
        return x * self.positive

    def backward(self, grad_out):
        return np.asarray(grad_out, dtype=float) * self.positive


class Softplus(Module):
    def forward(self, x):
        x = np.asarray(x, dtype=float)
        self.slope = _logistic(x)
        return np.logaddexp(0.0, x)

    def backward(self, grad_out):
        return np.asarray(grad_out, dtype=float) * self.slope


class Sequential(Module):
    def __init__(self, *modules):
        self.modules = list(modules)

    @property
    def params(self):
        return {f"{i}.{name}": arr
                for i, module in enumerate(self.modules)
                for name, arr in module.params.items()}

    @property
    def grads(self):
        return {f"{i}.{name}": arr
                for i, module in enumerate(self.modules)
                for name, arr in module.grads.items()}

    def forward(self, x):
        out = x
        for i in range(len(self.modules)):
            out = self.modules[i].forward(out)
        return out

    def backward(self, grad_out):
        grad = grad_out
        for i in range(len(self.modules) - 1, -1, -1):
            grad = self.modules[i].backward(grad)
        return grad
