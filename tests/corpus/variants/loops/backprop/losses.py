"""Correct variant "loops": losses summed example by example."""

import math

import numpy as np


def _match_shapes(pred, target):
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.ndim == 2 and pred.shape[1] == 1 and target.shape == (pred.shape[0],):
        target = target.reshape(pred.shape)
    if pred.shape != target.shape:
        raise ValueError(f"pred has shape {pred.shape} but target has shape {target.shape}")
    if pred.ndim == 0:
        raise ValueError("pred must have a batch axis")
    return pred, target


class Loss:
    def forward(self, pred, target):
        raise NotImplementedError

    def backward(self):
        raise NotImplementedError

    def __call__(self, pred, target):
        return self.forward(pred, target)


class SquaredError(Loss):
    def forward(self, pred, target):
        pred, target = _match_shapes(pred, target)
        self.pred, self.target = pred, target
        total = 0.0
        for p, t in zip(pred, target):
            total += 0.5 * float(np.sum((p - t) ** 2))
        return total / len(pred)

    def backward(self):
        return (self.pred - self.target) / len(self.pred)


class BinaryCrossEntropy(Loss):
    def forward(self, pred, target):
        pred, target = _match_shapes(pred, target)
        self.p = np.minimum(np.maximum(pred, 1e-12), 1 - 1e-12)
        self.t = target
        total = 0.0
        for p, t in zip(self.p.ravel(), self.t.ravel()):
            total += t * math.log(p) + (1 - t) * math.log(1 - p)
        return -total / len(pred)

    def backward(self):
        n = len(self.p)
        return (-self.t / self.p + (1 - self.t) / (1 - self.p)) / n


class SoftmaxCrossEntropy(Loss):
    def forward(self, pred, target):
        pred = np.asarray(pred, dtype=np.float64)
        target = np.asarray(target)
        if pred.ndim != 2 or target.shape != (pred.shape[0],):
            raise ValueError("expected pred (N, K) and target (N,)")
        labels = target.astype(np.int64)
        if np.any(labels != target) or np.any(labels < 0) or np.any(labels >= pred.shape[1]):
            raise ValueError("labels out of range")
        self.probs = np.empty_like(pred)
        self.labels = labels
        total = 0.0
        for i, row in enumerate(pred):
            m = row.max()
            log_z = m + math.log(float(np.sum(np.exp(row - m))))
            self.probs[i] = np.exp(row - log_z)
            total += log_z - row[labels[i]]
        return total / len(pred)

    def backward(self):
        grad = self.probs.copy()
        for i, label in enumerate(self.labels):
            grad[i, label] -= 1.0
        return grad / len(grad)
