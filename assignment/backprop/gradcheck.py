"""Finite differences: the lecture's first approach to differentiation.

"Pro: great for testing implementations of backpropagation. Con: slow for high
dimensional inputs." We use it to check every backward pass:

    dJ/dtheta_i ~= (J(theta + eps d_i) - J(theta - eps d_i)) / (2 eps),

where d_i is the one-hot vector of entry i.
"""

import numpy as np


def numerical_gradient(f, x, eps=1e-5):
    """Centered finite-difference gradient of a scalar function f at x.

    Inputs:
    - f: callable taking x and returning a scalar J (f may also read x through a closure).
    - x: float64 np.ndarray of any shape; perturbed IN PLACE one entry at a time
      (x[i] = old + eps, then old - eps) and restored exactly (x[i] = old) afterwards.
    - eps: the step.
    Output: an array of x's shape (float64), entry i = (f(x + eps d_i) - f(x - eps d_i)) / (2 eps).
    Raises TypeError if x is not a floating-point array (an in-place step would be lost).
    """
    # HINT: for each index i: x[i] = old + eps, f(x); x[i] = old - eps, f(x); x[i] = old
    raise NotImplementedError("for each index i: x[i] = old + eps, f(x); x[i] = old - eps, f(x); x[i] = old")


def relative_error(a, b):
    """Largest elementwise relative error between two arrays (or scalars) of the same shape.

    Output: max over entries of |a - b| / max(1e-8, |a| + |b|), a Python float
    (0.0 for empty arrays). The 1e-8 floor keeps entries where both are 0 from dividing by 0.
    Raises ValueError if the shapes differ (broadcasting could hide a transposed gradient).
    """
    # HINT: elementwise |a - b| / max(1e-8, |a| + |b|), then the max
    raise NotImplementedError("elementwise |a - b| / max(1e-8, |a| + |b|), then the max")
