"""Correct variant "loops": Kahn's algorithm (counting each node's uses) for reverse mode."""

import math
import numbers


class Var:
    def __init__(self, value, parents=()):
        self.value = float(value)
        self.grad = 0.0
        self.parents = tuple(parents)

    @staticmethod
    def _lift(x):
        if isinstance(x, Var):
            return x
        if isinstance(x, numbers.Real):
            return Var(x)
        return NotImplemented

    def __add__(self, other):
        other = Var._lift(other)
        if other is NotImplemented:
            return other
        return Var(self.value + other.value, [(self, 1.0), (other, 1.0)])

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        other = Var._lift(other)
        if other is NotImplemented:
            return other
        return Var(self.value - other.value, [(self, 1.0), (other, -1.0)])

    def __rsub__(self, other):
        other = Var._lift(other)
        if other is NotImplemented:
            return other
        return other - self

    def __mul__(self, other):
        other = Var._lift(other)
        if other is NotImplemented:
            return other
        return Var(self.value * other.value, [(self, other.value), (other, self.value)])

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        other = Var._lift(other)
        if other is NotImplemented:
            return other
        q = self.value / other.value
        return Var(q, [(self, 1.0 / other.value), (other, -q / other.value)])

    def __rtruediv__(self, other):
        other = Var._lift(other)
        if other is NotImplemented:
            return other
        return other / self

    def __neg__(self):
        return Var(-self.value, [(self, -1.0)])

    def __pow__(self, p):
        if isinstance(p, Var) or not isinstance(p, numbers.Real):
            return NotImplemented
        return Var(self.value ** p, [(self, p * self.value ** (p - 1))])

    def backward(self):
        uses = {}
        stack, seen = [self], {id(self)}
        nodes = []
        while stack:
            node = stack.pop()
            nodes.append(node)
            for parent, _ in node.parents:
                uses[id(parent)] = uses.get(id(parent), 0) + 1
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append(parent)
        for node in nodes:
            node.grad = 0.0
        self.grad = 1.0
        ready = [self]
        while ready:
            node = ready.pop()
            for parent, local in node.parents:
                parent.grad += node.grad * local
                uses[id(parent)] -= 1
                if uses[id(parent)] == 0:
                    ready.append(parent)


class Dual:
    def __init__(self, value, deriv=0.0):
        self.value = float(value)
        self.deriv = float(deriv)

    @staticmethod
    def _lift(x):
        if isinstance(x, Dual):
            return x
        if isinstance(x, numbers.Real):
            return Dual(x)
        return NotImplemented

    def __add__(self, o):
        o = Dual._lift(o)
        return o if o is NotImplemented else Dual(self.value + o.value, self.deriv + o.deriv)

    __radd__ = __add__

    def __sub__(self, o):
        o = Dual._lift(o)
        return o if o is NotImplemented else Dual(self.value - o.value, self.deriv - o.deriv)

    def __rsub__(self, o):
        o = Dual._lift(o)
        return o if o is NotImplemented else o - self

    def __mul__(self, o):
        o = Dual._lift(o)
        if o is NotImplemented:
            return o
        return Dual(self.value * o.value, self.value * o.deriv + self.deriv * o.value)

    __rmul__ = __mul__

    def __truediv__(self, o):
        o = Dual._lift(o)
        if o is NotImplemented:
            return o
        return Dual(self.value / o.value, (self.deriv * o.value - self.value * o.deriv) / o.value ** 2)

    def __rtruediv__(self, o):
        o = Dual._lift(o)
        return o if o is NotImplemented else o / self

    def __neg__(self):
        return Dual(-self.value, -self.deriv)

    def __pow__(self, p):
        if isinstance(p, Dual) or not isinstance(p, numbers.Real):
            return NotImplemented
        return Dual(self.value ** p, p * self.value ** (p - 1) * self.deriv)


def _elementary(fn, dfn):
    def apply(x):
        if isinstance(x, Var):
            return Var(fn(x.value), [(x, dfn(x.value))])
        if isinstance(x, Dual):
            return Dual(fn(x.value), dfn(x.value) * x.deriv)
        return fn(float(x))
    return apply


sin = _elementary(math.sin, math.cos)
cos = _elementary(math.cos, lambda v: -math.sin(v))
exp = _elementary(math.exp, math.exp)
log = _elementary(math.log, lambda v: 1.0 / v)


def gradient(f, *xs):
    leaves = [Var(x) for x in xs]
    out = f(*leaves)
    if isinstance(out, Var):
        out.backward()
    return tuple(float(leaf.grad) for leaf in leaves)


def derivative(f, *xs, wrt=0):
    if not 0 <= wrt < len(xs):
        raise ValueError("wrt out of range")
    out = f(*[Dual(x, 1.0 if i == wrt else 0.0) for i, x in enumerate(xs)])
    return float(out.deriv) if isinstance(out, Dual) else 0.0
