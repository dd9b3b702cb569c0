"""Correct variant "entrywise": vectorised forward passes, backward passes that loop over every entry
with Python floats (the slowest style the cost check must still accept).

Layers ("modules") of a feed-forward network, each with a forward and a backward pass.

The lecture builds a network out of modules (Module 1: linear, Module 2: sigmoid, ...).
Each module computes its output from its input on the forward pass and, on the
backward pass, turns dJ/d(output) into dJ/d(input) by the chain rule

    dJ/dv_j = sum_i (dJ/du_i) (du_i/dv_j),

filling in dJ/d(parameter) for its own parameters along the way.

Conventions (see the handout):
- Arrays are float64 and batched: N examples with D features is an (N, D) array.
- ``backward(grad_out)`` takes dJ/d(output of the most recent forward), shape of that
  output, and returns dJ/d(input of that forward), shape of that input. It uses only
  what that forward stored (cached) on the module.
- No method modifies its input arrays in place.
"""

import numpy as np


def _entrywise(grad_out, cached, rule):
    """rule(dJ/dz, cached value) for every entry, one Python float at a time."""
    g = np.asarray(grad_out, dtype=np.float64)
    flat = [rule(a, b) for a, b in zip(g.ravel().tolist(), np.asarray(cached).ravel().tolist())]
    return np.array(flat, dtype=np.float64).reshape(g.shape)


class Module:
    """Base class of every layer.

    Attributes:
    - params: dict name -> np.ndarray of trainable arrays (empty if the layer has none).
      ``sgd_step`` updates these arrays in place.
    - grads: dict with the same keys and shapes as ``params``; ``backward`` (over)writes
      ``grads[name]`` with dJ/d(params[name]).
    """

    def __init__(self):
        self.params = {}
        self.grads = {}

    def forward(self, x):
        """Compute the output of the layer for a batch x and cache what backward needs."""
        raise NotImplementedError("subclasses implement forward")

    def backward(self, grad_out):
        """Given dJ/d(output), store parameter gradients in self.grads and return dJ/dx."""
        raise NotImplementedError("subclasses implement backward")

    def __call__(self, x):
        return self.forward(x)


class Linear(Module):
    """Fully connected layer: a_j = sum_i alpha_ji x_i + b_j for every output unit j.

    In the lecture the bias is folded into alpha as alpha_j0 with x_0 = 1; here it is
    kept apart as ``params["b"]`` (not to be confused with the lecture's output score b).
    In matrix form, for a batch:  A = X @ W.T + b.

    Parameters:
    - params["W"]: shape (out_features, in_features), W[j, i] = alpha_ji.
    - params["b"]: shape (out_features,), starts at zero.

    Initialisation (exactly ONE call to ``rng.uniform`` per layer, for "xavier" and "uniform"):
    - "xavier" (Glorot & Bengio 2010): W = rng.uniform(-r, r, size=(out, in)), r = sqrt(6 / (in + out)).
    - "uniform": W = rng.uniform(-0.1, 0.1, size=(out, in)).
    - "zero": W = zeros; draws nothing from rng.
    Any other string raises ValueError. ``rng=None`` means ``np.random.default_rng(0)``.
    """

    def __init__(self, in_features, out_features, init="xavier", rng=None):
        """Create the layer's params and zero-filled grads (same keys and shapes)."""
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        if rng is None:
            rng = np.random.default_rng(0)
        self._x = None  # forward caches its input x, shape (N, in_features)
        shape = (out_features, in_features)
        if init == "xavier":
            r = np.sqrt(6.0 / (in_features + out_features))
            W = rng.uniform(-r, r, size=shape)
        elif init == "uniform":
            W = rng.uniform(-0.1, 0.1, size=shape)
        elif init == "zero":
            W = np.zeros(shape)
        else:
            raise ValueError(f"unknown init {init!r}: expected 'xavier', 'uniform' or 'zero'")
        self.params = {"W": np.asarray(W, dtype=np.float64), "b": np.zeros(out_features)}
        self.grads = {"W": np.zeros(shape), "b": np.zeros(out_features)}

    def forward(self, x):
        """Forward pass.

        Input:  x of shape (N, in_features).
        Output: a = x @ W.T + b, shape (N, out_features).
        Caches: x (needed for dJ/dalpha_ji = dJ/da_j * x_i).
        """
        self._x = x
        a = x @ self.params["W"].T
        a += self.params["b"]
        return a

    def backward(self, grad_out):
        """Backward pass.

        Input:  grad_out = dJ/da, shape (N, out_features).
        Sets:   grads["W"] = dJ/dW, shape (out_features, in_features)  (dJ/dalpha_ji = sum_n dJ/da_nj x_ni);
                grads["b"] = dJ/db, shape (out_features,)               (sum over the batch).
        Output: dJ/dx, shape (N, in_features)                           (dJ/dx_i = sum_j dJ/da_j alpha_ji).
        """
        g, x, W = grad_out.tolist(), self._x.tolist(), self.params["W"].tolist()
        n, d_in, d_out = len(x), len(W[0]), len(W)
        dW = [[0.0] * d_in for _ in range(d_out)]
        db = [0.0] * d_out
        dx = [[0.0] * d_in for _ in range(n)]
        for row in range(n):
            for j in range(d_out):
                gj = g[row][j]
                db[j] += gj
                for i in range(d_in):
                    dW[j][i] += gj * x[row][i]
                    dx[row][i] += gj * W[j][i]
        self.grads["W"] = np.array(dW).reshape(d_out, d_in)
        self.grads["b"] = np.array(db)
        return np.array(dx).reshape(n, d_in)


class Sigmoid(Module):
    """Logistic activation, elementwise: z_j = 1 / (1 + exp(-a_j)).

    Must not overflow for |a_j| up to 1000: exp(-a) overflows for a < -709, so for
    negative a use the equal form exp(a) / (1 + exp(a)); writing e = exp(-|a|) covers
    both signs without ever exponentiating a positive number.
    The derivative is dz_j/da_j = exp(-a_j) / (1 + exp(-a_j))^2 = z_j (1 - z_j).
    """

    def __init__(self):
        super().__init__()
        self._z = None  # forward caches its output z, same shape as the input

    def forward(self, x):
        """Input: a of any shape, e.g. (N, D). Output: z = sigmoid(a), same shape. Caches: z."""
        e = np.abs(x, dtype=np.float64)
        np.negative(e, out=e)
        np.exp(e, out=e)                  # e = exp(-|a|), at most 1
        z = np.minimum(x, 0.0)
        np.exp(z, out=z)                  # the numerator exp(min(a, 0)): 1 where a >= 0, e where a < 0
        e += 1.0
        z /= e                            # z = 1/(1+e) or e/(1+e)
        self._z = z
        return z

    def backward(self, grad_out):
        """Input: dJ/dz, shape of z. Output: dJ/da = dJ/dz * z * (1 - z), same shape."""
        return _entrywise(grad_out, self._z, lambda g, z: g * z * (1.0 - z))


class Tanh(Module):
    """Hyperbolic tangent activation, elementwise: z_j = tanh(a_j), range (-1, 1).

    The derivative is dz_j/da_j = 1 - z_j^2. ``np.tanh`` is already stable.
    """

    def __init__(self):
        super().__init__()
        self._z = None  # forward caches its output z

    def forward(self, x):
        """Input: a of any shape. Output: z = tanh(a), same shape. Caches: z."""
        z = np.tanh(np.asarray(x, dtype=np.float64))
        self._z = z
        return z

    def backward(self, grad_out):
        """Input: dJ/dz, shape of z. Output: dJ/da = dJ/dz * (1 - z^2), same shape."""
        return _entrywise(grad_out, self._z, lambda g, z: g * (1.0 - z * z))


class ReLU(Module):
    """Rectified linear unit, elementwise: z_j = max(0, a_j).

    The derivative is 1 where a_j > 0 and 0 where a_j <= 0 (we take 0 at exactly a_j = 0):
    the lecture's "clip the gradient when you pass zero".
    """

    def __init__(self):
        super().__init__()
        self._mask = None  # forward caches the boolean mask a > 0

    def forward(self, x):
        """Input: a of any shape. Output: z = max(0, a), same shape. Caches: the mask a > 0."""
        a = np.asarray(x, dtype=np.float64)
        self._mask = a > 0
        return np.where(self._mask, a, 0.0)

    def backward(self, grad_out):
        """Input: dJ/dz, shape of z. Output: dJ/da = dJ/dz where a > 0, else 0."""
        return _entrywise(grad_out, self._mask, lambda g, positive: g if positive else 0.0)


class Softplus(Module):
    """Softplus activation, elementwise: z_j = log(1 + exp(a_j)), a smooth ReLU.

    Stable form for |a_j| up to 1000: log(1 + exp(a)) = max(a, 0) + log(1 + exp(-|a|)),
    which never exponentiates a positive number (use np.log1p for log(1 + .)).
    The derivative is dz_j/da_j = exp(a_j) / (1 + exp(a_j)) = sigmoid(a_j).
    """

    def __init__(self):
        super().__init__()
        self._s = None  # forward caches sigmoid(a), the local derivative

    def forward(self, x):
        """Input: a of any shape. Output: z = softplus(a), same shape. Caches: sigmoid(a)."""
        a = np.asarray(x, dtype=np.float64)
        e = np.exp(-np.abs(a))
        self._s = np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return np.maximum(a, 0.0) + np.log1p(e)

    def backward(self, grad_out):
        """Input: dJ/dz, shape of z. Output: dJ/da = dJ/dz * sigmoid(a), same shape."""
        return _entrywise(grad_out, self._s, lambda g, s: g * s)


class Sequential(Module):
    """A chain of modules: the output of each is the input of the next.

    ``Sequential(Linear(2, 3), Sigmoid(), Linear(3, 1), Sigmoid())`` is the lecture's
    one-hidden-layer network: a = alpha x, z = sigmoid(a), b = beta z, y = sigmoid(b).

    Attributes:
    - modules: the list of layers, in order.
    - params / grads: read-only dicts rebuilt from the layers on every access, keyed
      "{index}.{name}" (e.g. "0.W", "2.b"). They hold the layers' own array objects, so
      updating ``params`` in place updates the layers.
    """

    def __init__(self, *modules):
        # No super().__init__(): params and grads are properties here, not dicts.
        self.modules = list(modules)

    @property
    def params(self):
        """dict "{index}.{name}" -> the layer's own parameter array."""
        return {f"{i}.{name}": arr
                for i, module in enumerate(self.modules)
                for name, arr in module.params.items()}

    @property
    def grads(self):
        """dict "{index}.{name}" -> the layer's current gradient array (same keys as params)."""
        return {f"{i}.{name}": arr
                for i, module in enumerate(self.modules)
                for name, arr in module.grads.items()}

    def forward(self, x):
        """Input: x, shape (N, D_in). Output: the last module's output. Each module caches its own."""
        for module in self.modules:
            x = module.forward(x)
        return x

    def backward(self, grad_out):
        """Input: dJ/d(output), shape of the output. Output: dJ/dx, shape (N, D_in).

        Visits the modules in reverse order (the lecture's reverse topological order);
        each fills its own grads.
        """
        for module in reversed(self.modules):
            grad_out = module.backward(grad_out)
        return grad_out
