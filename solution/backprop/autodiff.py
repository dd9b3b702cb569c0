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
        # BEGIN SOLUTION
        return Var(self.value + other.value, ((self, 1.0), (other, 1.0)))
        # END SOLUTION

    def __radd__(self, other):
        return self.__add__(other)

    def __sub__(self, other):
        """u = self - other; du/dself = 1, du/dother = -1."""
        other = _as_var(other)
        if other is NotImplemented:
            return NotImplemented
        # HINT: du/dself = 1, du/dother = -1
        # BEGIN SOLUTION
        return Var(self.value - other.value, ((self, 1.0), (other, -1.0)))
        # END SOLUTION

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
        # BEGIN SOLUTION
        return Var(self.value * other.value, ((self, other.value), (other, self.value)))
        # END SOLUTION

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, other):
        """u = self / other; du/dself = 1/other, du/dother = -self/other^2."""
        other = _as_var(other)
        if other is NotImplemented:
            return NotImplemented
        # HINT: du/dself = 1/other, du/dother = -self/other^2
        # BEGIN SOLUTION
        v, w = self.value, other.value
        return Var(v / w, ((self, 1.0 / w), (other, -v / (w * w))))
        # END SOLUTION

    def __rtruediv__(self, other):
        other = _as_var(other)
        if other is NotImplemented:
            return NotImplemented
        return other.__truediv__(self)

    def __neg__(self):
        """u = -self; du/dself = -1."""
        # HINT: du/dself = -1
        # BEGIN SOLUTION
        return Var(-self.value, ((self, -1.0),))
        # END SOLUTION

    def __pow__(self, power):
        """u = self ** p for a number p; du/dself = p * self^(p - 1)."""
        if not isinstance(power, numbers.Real) or isinstance(power, Var):
            return NotImplemented
        # HINT: du/dself = p * self ** (p - 1)
        # BEGIN SOLUTION
        p = float(power)
        return Var(self.value ** p, ((self, p * self.value ** (p - 1.0)),))
        # END SOLUTION

    def backward(self):
        """Compute dself/du for every node u that self depends on, into u.grad.

        Sets self.grad = 1, every other reachable node's grad to 0, then visits the nodes
        in reverse topological order, each once, incrementing each input's grad by
        node.grad * d node / d input (so shared subexpressions accumulate).
        The topological order comes from an iterative depth-first search with an explicit
        stack: a recursive one would exceed Python's recursion limit on deep graphs.
        """
        # HINT: order = topological order (explicit stack); then for u in reversed(order): v.grad += u.grad * du/dv
        # BEGIN SOLUTION
        order = _topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            for parent, local in node.parents:
                parent.grad += node.grad * local
        # END SOLUTION


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
    # BEGIN SOLUTION
    order = []
    seen = set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent, _ in node.parents:
            if id(parent) not in seen:
                stack.append((parent, False))
    return order
    # END SOLUTION


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
        # BEGIN SOLUTION
        return Dual(self.value + other.value, self.deriv + other.deriv)
        # END SOLUTION

    def __radd__(self, other):
        return self.__add__(other)

    def __sub__(self, other):
        other = _as_dual(other)
        if other is NotImplemented:
            return NotImplemented
        # HINT: (u - v)' = u' - v'
        # BEGIN SOLUTION
        return Dual(self.value - other.value, self.deriv - other.deriv)
        # END SOLUTION

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
        # BEGIN SOLUTION
        return Dual(self.value * other.value,
                    self.deriv * other.value + self.value * other.deriv)
        # END SOLUTION

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, other):
        other = _as_dual(other)
        if other is NotImplemented:
            return NotImplemented
        # HINT: (u / v)' = (u' v - u v') / v^2
        # BEGIN SOLUTION
        v, w = self.value, other.value
        return Dual(v / w, (self.deriv * w - v * other.deriv) / (w * w))
        # END SOLUTION

    def __rtruediv__(self, other):
        other = _as_dual(other)
        if other is NotImplemented:
            return NotImplemented
        return other.__truediv__(self)

    def __neg__(self):
        # HINT: (-u)' = -u'
        # BEGIN SOLUTION
        return Dual(-self.value, -self.deriv)
        # END SOLUTION

    def __pow__(self, power):
        if not isinstance(power, numbers.Real) or isinstance(power, Dual):
            return NotImplemented
        # HINT: (u^p)' = p u^(p-1) u'
        # BEGIN SOLUTION
        p = float(power)
        return Dual(self.value ** p, p * self.value ** (p - 1.0) * self.deriv)
        # END SOLUTION


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
    # BEGIN SOLUTION
    if isinstance(x, Var):
        return Var(fn(x.value), ((x, dfn(x.value)),))
    if isinstance(x, Dual):
        return Dual(fn(x.value), dfn(x.value) * x.deriv)
    return fn(float(x))
    # END SOLUTION


def sin(x):
    """sin of a float, Var or Dual (returns the same kind); d/dv sin(v) = cos(v)."""
    # HINT: _apply(x, math.sin, <its derivative>)
    # BEGIN SOLUTION
    return _apply(x, math.sin, math.cos)
    # END SOLUTION


def cos(x):
    """cos of a float, Var or Dual (returns the same kind); d/dv cos(v) = -sin(v)."""
    # HINT: _apply(x, math.cos, <its derivative>)
    # BEGIN SOLUTION
    return _apply(x, math.cos, lambda v: -math.sin(v))
    # END SOLUTION


def exp(x):
    """exp of a float, Var or Dual (returns the same kind); d/dv exp(v) = exp(v)."""
    # HINT: _apply(x, math.exp, <its derivative>)
    # BEGIN SOLUTION
    return _apply(x, math.exp, math.exp)
    # END SOLUTION


def log(x):
    """Natural log of a float, Var or Dual (returns the same kind); d/dv log(v) = 1/v."""
    # HINT: _apply(x, math.log, <its derivative>)
    # BEGIN SOLUTION
    return _apply(x, math.log, lambda v: 1.0 / v)
    # END SOLUTION


def gradient(f, *xs):
    """All partials of a scalar function f at the point xs, by reverse mode.

    Inputs: f, a function of len(xs) scalars built from + - * / ** and sin/cos/exp/log;
    xs, the numbers at which to differentiate.
    Output: tuple of floats (df/dx_1, ..., df/dx_n), from ONE backward pass.
    """
    # HINT: wrap each x in a Var, call f, run backward once, read each input's .grad
    # BEGIN SOLUTION
    inputs = [Var(x) for x in xs]
    y = f(*inputs)
    if not isinstance(y, Var):  # f did not depend on its inputs
        return tuple(0.0 for _ in inputs)
    y.backward()
    return tuple(float(v.grad) for v in inputs)
    # END SOLUTION


def derivative(f, *xs, wrt=0):
    """The partial df/dx_wrt of a scalar function f at xs, by forward mode.

    Inputs: f as for ``gradient``; xs the point; wrt, the index of the input to differentiate by.
    Output: a float. Seeds Dual(xs[wrt], 1) and Dual(x, 0) for the other inputs, then reads .deriv.
    Raises ValueError if wrt is not an index into xs.
    """
    # HINT: seed Dual(x, 1.0) for xs[wrt] and Dual(x, 0.0) for the others; read f(...).deriv
    # BEGIN SOLUTION
    if not 0 <= wrt < len(xs):
        raise ValueError(f"wrt={wrt} is not an index into {len(xs)} inputs")
    inputs = [Dual(x, 1.0 if i == wrt else 0.0) for i, x in enumerate(xs)]
    y = f(*inputs)
    if not isinstance(y, Dual):  # f did not depend on its inputs
        return 0.0
    return float(y.deriv)
    # END SOLUTION
