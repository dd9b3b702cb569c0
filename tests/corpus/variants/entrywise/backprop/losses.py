"""Correct variant "entrywise": backward passes loop over every entry with Python floats.

Objective functions J (the last module of the lecture's network).

Every loss is the MEAN over the batch of N examples, and backward returns the
gradient of that mean: dJ/dpred, an array of the shape of pred.

    loss = BinaryCrossEntropy()
    J = loss.forward(y, y_star)      # a Python float; caches what backward needs
    dJ_dy = loss.backward()          # same shape as y

Shapes: a target of shape (N,) with a pred of shape (N, 1) is reshaped to (N, 1);
any other shape mismatch raises ValueError.
"""

import numpy as np


def _match_shapes(pred, target):
    """Return (pred, target) as float64 arrays of the same shape (provided helper).

    A target of shape (N,) next to a pred of shape (N, 1) is reshaped to (N, 1);
    any other mismatch raises ValueError. Never modifies its inputs.
    """
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.ndim == 2 and pred.shape[1] == 1 and target.shape == (pred.shape[0],):
        target = target.reshape(pred.shape)
    if pred.shape != target.shape:
        raise ValueError(f"pred has shape {pred.shape} but target has shape {target.shape}")
    if pred.ndim == 0:
        raise ValueError("pred must have a batch axis, shape (N,) or (N, K)")
    return pred, target


class Loss:
    """Base class of the objective functions."""

    def forward(self, pred, target):
        """Return J (a float) for a batch and cache what backward needs."""
        raise NotImplementedError("subclasses implement forward")

    def backward(self):
        """Return dJ/dpred for the most recent forward, shape of pred."""
        raise NotImplementedError("subclasses implement backward")

    def __call__(self, pred, target):
        return self.forward(pred, target)


class SquaredError(Loss):
    """Quadratic loss, the lecture's J = 1/2 (y - y*)^2, averaged over the batch.

    J = (1/N) * sum_n 1/2 * ||pred_n - target_n||^2, with pred and target of the same
    shape, (N,) or (N, K).  dJ/dpred_n = (pred_n - target_n) / N.
    """

    def __init__(self):
        self._diff = None  # forward caches pred - target (target reshaped to pred's shape)

    def forward(self, pred, target):
        """Input: pred (N,) or (N, K), target of the same shape (or (N,) for pred (N, 1)).
        Output: J, a float. Caches: pred - target."""
        pred, target = _match_shapes(pred, target)
        self._diff = pred - target
        return float(0.5 * np.sum(self._diff ** 2) / pred.shape[0])

    def backward(self):
        """Output: dJ/dpred = (pred - target) / N, shape of pred."""
        n = self._diff.shape[0]
        flat = [d / n for d in self._diff.ravel().tolist()]
        return np.array(flat).reshape(self._diff.shape)


class BinaryCrossEntropy(Loss):
    """Cross-entropy for probabilities y in (0, 1) and labels y* in {0, 1}.

    The lecture's log-likelihood y* log y + (1 - y*) log(1 - y), negated so that it is
    minimised and averaged over the batch:

        J = -(1/N) * sum_n [ y*_n log p_n + (1 - y*_n) log(1 - p_n) ],
        p = clip(pred, 1e-12, 1 - 1e-12)   (so a saturated sigmoid gives a finite loss),
        dJ/dpred_n = -(1/N) * [ y*_n / p_n - (1 - y*_n) / (1 - p_n) ]   (same clipped p).

    pred and target have shape (N, 1) or (N,) (target (N,) is accepted with pred (N, 1)).
    """

    def __init__(self):
        self._p = None       # forward caches the clipped probabilities p
        self._target = None  # and the target, reshaped to pred's shape

    def forward(self, pred, target):
        """Input: pred (N, 1) or (N,) in (0, 1), target of the same shape in {0, 1}.
        Output: J, a float. Caches: clipped p and the target."""
        pred, target = _match_shapes(pred, target)
        p = np.maximum(pred, 1e-12)
        np.minimum(p, 1.0 - 1e-12, out=p)  # p = np.clip(pred, 1e-12, 1 - 1e-12), without its overhead
        q, not_target = 1.0 - p, 1.0 - target  # kept for backward too
        self._p, self._q, self._target, self._not_target = p, q, target, not_target
        total = np.vdot(target, np.log(p)) + np.vdot(not_target, np.log(q))  # sums of products
        return float(-total / pred.shape[0])

    def backward(self):
        """Output: dJ/dpred, shape of pred."""
        n = self._p.shape[0]
        flat = [-(t / p - (1.0 - t) / (1.0 - p)) / n
                for t, p in zip(self._target.ravel().tolist(), self._p.ravel().tolist())]
        return np.array(flat).reshape(self._p.shape)


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross-entropy, for K classes (the lecture's "softmax layer").

    With logits b of shape (N, K) and integer labels y* of shape (N,) in [0, K):

        softmax(b_n)_k = exp(b_nk) / sum_k' exp(b_nk'),
        J = -(1/N) * sum_n log softmax(b_n)[y*_n],
        dJ/db_nk = (softmax(b_n)_k - [k == y*_n]) / N.

    Stable for logits up to +-1000: subtract each row's max before exponentiating
    (log-sum-exp), which changes nothing mathematically.
    """

    def __init__(self):
        self._probs = None   # forward caches softmax(b), shape (N, K)
        self._labels = None  # and the integer labels, shape (N,)

    def forward(self, pred, target):
        """Input: pred (N, K) logits, target (N,) integer labels in [0, K).
        Output: J, a float. Caches: softmax probabilities and labels.
        Raises ValueError for other shapes or labels outside [0, K)."""
        pred = np.asarray(pred, dtype=np.float64)
        target = np.asarray(target)
        if pred.ndim != 2 or target.shape != (pred.shape[0],):
            raise ValueError(f"expected pred (N, K) and target (N,), got {pred.shape} and {target.shape}")
        labels = target.astype(np.int64)
        if np.any(labels != target) or np.any(labels < 0) or np.any(labels >= pred.shape[1]):
            raise ValueError(f"target must hold integer labels in [0, {pred.shape[1]})")
        shifted = pred - pred.max(axis=1, keepdims=True)
        log_norm = np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        log_probs = shifted - log_norm
        self._probs = np.exp(log_probs)
        self._labels = labels
        n = pred.shape[0]
        return float(-np.sum(log_probs[np.arange(n), labels]) / n)

    def backward(self):
        """Output: dJ/dpred = (softmax(pred) - onehot(target)) / N, shape (N, K)."""
        probs, labels = self._probs.tolist(), self._labels.tolist()
        n = len(probs)
        rows = [[(p - (1.0 if k == label else 0.0)) / n for k, p in enumerate(row)]
                for row, label in zip(probs, labels)]
        return np.array(rows).reshape(self._probs.shape)
