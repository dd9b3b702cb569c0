"""Scalar automatic differentiation, both modes of the lecture.

Reverse mode (``Var``, "backpropagation"): evaluating y = f(x) with Var inputs builds
the computation graph. Each node u_i = g_i(v_1, ..., v_N) stores its value and, for
each input v_j, the local derivative du_i/dv_j (easy to compute when the node is made).
``y.backward()`` then follows the lecture's algorithm:
  1. initialise every dy/du_j to 0 and dy/dy = 1;
  2. visit each node in REVERSE topological order and, for u_i = g_i(v_1, ..., v_N),
     increment dy/dv_j by (dy/du_i)(du_i/dv_j).
One backward pass gives the partials of y with respect to ALL inputs.

Forward mode (``Dual``): a dual number carries a value and its derivative with respect
to ONE chosen input; every operation applies the chain rule immediately.

Example (the lecture's Simple Example, J = cos(sin(x^2) + 3x^2)):
    gradient(lambda x: cos(sin(x ** 2) + 3 * x ** 2), 1.5)      # reverse mode, a 1-tuple
    derivative(lambda x: cos(sin(x ** 2) + 3 * x ** 2), 1.5)    # forward mode, a float
"""

import math
import numbers


class Var:
    """A node of a computation graph (reverse mode).

    Attributes:
    - value: the float u_i computed on the forward pass.
    - grad: dy/du_i, a float; starts at 0 and is filled in by ``y.backward()``.
    - parents: tuple of (v_j, du_i/dv_j) pairs, one per input of this node (empty for inputs
      and constants). Supplied by the operators; ``Var(value)`` makes a leaf.
    Operators: + - * / with a Var or a number on either side, unary -, and ** number.
    """

    __array_ufunc__ = None  # make numpy scalars defer to our reflected operators

    def __init__(self, value, parents=()):
        self.value = float(value)
        self.grad = 0.0
        self.parents = tuple(parents)

    def __repr__(self):
        return f"Var(value={self.value!r}, grad={self.grad!r})"

    # The arithmetic operators: each returns a new node u with its local derivatives.

    def __add__(self, other):
        """u = self + other; du/dself = 1, du/dother = 1."""
        other = _as_var(other)
        if other is NotImplemented:
            return NotImplemented
        # HINT: the new Var stores value self + other and parents ((self, 1), (other, 1))
        raise NotImplementedError("the new Var stores value self + other and parents ((self, 1), (other, 1))")

    def __radd__(self, other):
        return self.__add__(other)

    def __sub__(self, other):
        """u = self - other; du/dself = 1, du/dother = -1."""
        other = _as_var(other)
        if other is NotImplemented:
            return NotImplemented
        # HINT: du/dself = 1, du/dother = -1
        raise NotImplementedError("du/dself = 1, du/dother = -1")

    def __rsub__(self, other):
        other = _as_var(other)
        if other is NotImplemented:
            return NotImplemented
        return other.__sub__(self)

    def __mul__(self, other):
        """u = self * other; du/dself = other, du/dother = self."""
        other = _as_var(other)
        if other is NotImplemented:
            return NotImplemented
        # HINT: du/dself = other.value, du/dother = self.value
        raise NotImplementedError("du/dself = other.value, du/dother = self.value")

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, other):
        """u = self / other; du/dself = 1/other, du/dother = -self/other^2."""
        other = _as_var(other)
        if other is NotImplemented:
            return NotImplemented
        # HINT: du/dself = 1/other, du/dother = -self/other^2
        raise NotImplementedError("du/dself = 1/other, du/dother = -self/other^2")

    def __rtruediv__(self, other):
        other = _as_var(other)
        if other is NotImplemented:
            return NotImplemented
        return other.__truediv__(self)

    def __neg__(self):
        """u = -self; du/dself = -1."""
        # HINT: du/dself = -1
        raise NotImplementedError("du/dself = -1")

    def __pow__(self, power):
        """u = self ** p for a number p; du/dself = p * self^(p - 1)."""
        if not isinstance(power, numbers.Real) or isinstance(power, Var):
            return NotImplemented
        # HINT: du/dself = p * self ** (p - 1)
        raise NotImplementedError("du/dself = p * self ** (p - 1)")

    def backward(self):
        """Compute dself/du for every node u that self depends on, into u.grad.

        Sets self.grad = 1, every other reachable node's grad to 0, then visits the nodes
        in reverse topological order, each once, incrementing each input's grad by
        node.grad * d node / d input (so shared subexpressions accumulate).
        The topological order comes from an iterative depth-first search with an explicit
        stack: a recursive one would exceed Python's recursion limit on deep graphs.
        """
        # HINT: order = topological order (explicit stack); then for u in reversed(order): v.grad += u.grad * du/dv
        raise NotImplementedError("order = topological order (explicit stack); then for u in reversed(order): v.grad += u.grad * du/dv")


def _as_var(x):
    """A Var as is, a number as a constant leaf Var, anything else NotImplemented (provided)."""
    if isinstance(x, Var):
        return x
    if isinstance(x, numbers.Real):
        return Var(x)
    return NotImplemented


def _topological_order(root):
    """Nodes reachable from root, every node after all of its parents (inputs first, root last)."""
    # HINT: depth-first search with a stack of (node, parents_done) pairs; append a node once its parents are done
    raise NotImplementedError("depth-first search with a stack of (node, parents_done) pairs; append a node once its parents are done")


class Dual:
    """A dual number value + deriv * eps with eps^2 = 0 (forward mode).

    Attributes: value (a float) and deriv (d value / d x for the one chosen input x).
    Operators: + - * / with a Dual or a number on either side, unary -, and ** number;
    each applies the chain rule, e.g. (u * v).deriv = u.deriv * v.value + u.value * v.deriv.
    """

    __array_ufunc__ = None  # make numpy scalars defer to our reflected operators

    def __init__(self, value, deriv=0.0):
        self.value = float(value)
        self.deriv = float(deriv)

    def __repr__(self):
        return f"Dual(value={self.value!r}, deriv={self.deriv!r})"

    def __add__(self, other):
        other = _as_dual(other)
        if other is NotImplemented:
            return NotImplemented
        # HINT: (u + v)' = u' + v'
        raise NotImplementedError("(u + v)' = u' + v'")

    def __radd__(self, other):
        return self.__add__(other)

    def __sub__(self, other):
        other = _as_dual(other)
        if other is NotImplemented:
            return NotImplemented
        # HINT: (u - v)' = u' - v'
        raise NotImplementedError("(u - v)' = u' - v'")

    def __rsub__(self, other):
        other = _as_dual(other)
        if other is NotImplemented:
            return NotImplemented
        return other.__sub__(self)

    def __mul__(self, other):
        other = _as_dual(other)
        if other is NotImplemented:
            return NotImplemented
        # HINT: (u v)' = u' v + u v'
        raise NotImplementedError("(u v)' = u' v + u v'")

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, other):
        other = _as_dual(other)
        if other is NotImplemented:
            return NotImplemented
        # HINT: (u / v)' = (u' v - u v') / v^2
        raise NotImplementedError("(u / v)' = (u' v - u v') / v^2")

    def __rtruediv__(self, other):
        other = _as_dual(other)
        if other is NotImplemented:
            return NotImplemented
        return other.__truediv__(self)

    def __neg__(self):
        # HINT: (-u)' = -u'
        raise NotImplementedError("(-u)' = -u'")

    def __pow__(self, power):
        if not isinstance(power, numbers.Real) or isinstance(power, Dual):
            return NotImplemented
        # HINT: (u^p)' = p u^(p-1) u'
        raise NotImplementedError("(u^p)' = p u^(p-1) u'")


def _as_dual(x):
    """A Dual as is, a number as a constant Dual (deriv 0), anything else NotImplemented (provided)."""
    if isinstance(x, Dual):
        return x
    if isinstance(x, numbers.Real):
        return Dual(x, 0.0)
    return NotImplemented


def _apply(x, fn, dfn):
    """Apply a scalar function fn with derivative dfn to a float, a Var or a Dual.

    Var:  a new node fn(v) whose one parent is v with local derivative dfn(v).
    Dual: Dual(fn(v), dfn(v) * v.deriv) (the chain rule, forward).
    Otherwise: the float fn(x).
    """
    # HINT: Var: one parent (x, dfn(x.value)); Dual: chain rule deriv = dfn(value) * x.deriv; float: fn(x)
    raise NotImplementedError("Var: one parent (x, dfn(x.value)); Dual: chain rule deriv = dfn(value) * x.deriv; float: fn(x)")


def sin(x):
    """sin of a float, Var or Dual (returns the same kind); d/dv sin(v) = cos(v)."""
    # HINT: _apply(x, math.sin, <its derivative>)
    raise NotImplementedError("_apply(x, math.sin, <its derivative>)")


def cos(x):
    """cos of a float, Var or Dual (returns the same kind); d/dv cos(v) = -sin(v)."""
    # HINT: _apply(x, math.cos, <its derivative>)
    raise NotImplementedError("_apply(x, math.cos, <its derivative>)")


def exp(x):
    """exp of a float, Var or Dual (returns the same kind); d/dv exp(v) = exp(v)."""
    # HINT: _apply(x, math.exp, <its derivative>)
    raise NotImplementedError("_apply(x, math.exp, <its derivative>)")


def log(x):
    """Natural log of a float, Var or Dual (returns the same kind); d/dv log(v) = 1/v."""
    # HINT: _apply(x, math.log, <its derivative>)
    raise NotImplementedError("_apply(x, math.log, <its derivative>)")


def gradient(f, *xs):
    """All partials of a scalar function f at the point xs, by reverse mode.

    Inputs: f, a function of len(xs) scalars built from + - * / ** and sin/cos/exp/log;
    xs, the numbers at which to differentiate.
    Output: tuple of floats (df/dx_1, ..., df/dx_n), from ONE backward pass.
    """
    # HINT: wrap each x in a Var, call f, run backward once, read each input's .grad
    raise NotImplementedError("wrap each x in a Var, call f, run backward once, read each input's .grad")


def derivative(f, *xs, wrt=0):
    """The partial df/dx_wrt of a scalar function f at xs, by forward mode.

    Inputs: f as for ``gradient``; xs the point; wrt, the index of the input to differentiate by.
    Output: a float. Seeds Dual(xs[wrt], 1) and Dual(x, 0) for the other inputs, then reads .deriv.
    Raises ValueError if wrt is not an index into xs.
    """
    # HINT: seed Dual(x, 1.0) for xs[wrt] and Dual(x, 0.0) for the others; read f(...).deriv
    raise NotImplementedError("seed Dual(x, 1.0) for xs[wrt] and Dual(x, 0.0) for the others; read f(...).deriv")
