"""Arithmetic the toy suite grades."""
import numpy as np


def add(a, b):
    """a + b for two numbers."""
    raise NotImplementedError("add the two numbers")


def mean(x):
    """The mean of a 1-D array x of shape (N,), as a float."""
    raise NotImplementedError("average the entries")
