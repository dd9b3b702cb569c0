"""backprop: a small NumPy neural-network library built by hand.

The package is a set of independent files; this ``__init__`` deliberately
imports none of them (the autograder loads each file on its own):

- ``modules.py``   layers: Linear, Sigmoid, Tanh, ReLU, Softplus, Sequential
- ``losses.py``    objective functions J: SquaredError, BinaryCrossEntropy, SoftmaxCrossEntropy
- ``mlp.py``       build_mlp, sgd_step, train, predict
- ``gradcheck.py`` centered finite differences and the relative error
- ``autodiff.py``  scalar automatic differentiation: Var (reverse mode), Dual (forward mode)
- ``data.py``      the lecture's four decision-boundary datasets (provided)

Import what you need explicitly, e.g. ``from backprop.modules import Linear``.
"""
