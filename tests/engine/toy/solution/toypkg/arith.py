"""Arithmetic the toy suite grades."""
import numpy as np


def add(a, b):
    """a + b for two numbers."""
    return a + b


def mean(x):
    """The mean of a 1-D array x of shape (N,), as a float."""
    return float(np.mean(x))
