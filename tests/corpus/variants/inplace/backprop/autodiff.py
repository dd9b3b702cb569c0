"""Correct variant "inplace": nodes store closures that push gradients; an iterative DFS orders them."""

import math
import numbers


def _is_number(x):
    return isinstance(x, numbers.Real) and not isinstance(x, (Var, Dual))


class Var:
    def __init__(self, value, parents=()):
        self.value = float(value)
        self.grad = 0.0
        self.parents = list(parents)

    def _binary(self, other, fn, d_self, d_other, reflected=False):
        if _is_number(other):
            other = Var(other)
        if not isinstance(other, Var):
            return NotImplemented
        a, b = (other, self) if reflected else (self, other)
        return Var(fn(a.value, b.value), [(a, d_self(a.value, b.value)), (b, d_other(a.value, b.value))])

    def __add__(self, o): return self._binary(o, lambda a, b: a + b, lambda a, b: 1.0, lambda a, b: 1.0)
    def __radd__(self, o): return self._binary(o, lambda a, b: a + b, lambda a, b: 1.0, lambda a, b: 1.0, True)
    def __sub__(self, o): return self._binary(o, lambda a, b: a - b, lambda a, b: 1.0, lambda a, b: -1.0)
    def __rsub__(self, o): return self._binary(o, lambda a, b: a - b, lambda a, b: 1.0, lambda a, b: -1.0, True)
    def __mul__(self, o): return self._binary(o, lambda a, b: a * b, lambda a, b: b, lambda a, b: a)
    def __rmul__(self, o): return self._binary(o, lambda a, b: a * b, lambda a, b: b, lambda a, b: a, True)
    def __truediv__(self, o): return self._binary(o, lambda a, b: a / b, lambda a, b: 1 / b, lambda a, b: -a / b / b)
    def __rtruediv__(self, o):
        return self._binary(o, lambda a, b: a / b, lambda a, b: 1 / b, lambda a, b: -a / b / b, True)

    def __neg__(self):
        return Var(-self.value, [(self, -1.0)])

    def __pow__(self, p):
        if not _is_number(p):
            return NotImplemented
        return Var(self.value ** p, [(self, p * self.value ** (p - 1))])

    def backward(self):
        order, visited = [], set()
        stack = [(self, iter(self.parents))]
        visited.add(id(self))
        while stack:
            node, parents = stack[-1]
            for parent, _ in parents:
                if id(parent) not in visited:
                    visited.add(id(parent))
                    stack.append((parent, iter(parent.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            for parent, local in node.parents:
                parent.grad += local * node.grad


class Dual:
    def __init__(self, value, deriv=0.0):
        self.value = float(value)
        self.deriv = float(deriv)

    def _other(self, o):
        return Dual(o) if _is_number(o) else (o if isinstance(o, Dual) else None)

    def __add__(self, o):
        o = self._other(o)
        return NotImplemented if o is None else Dual(self.value + o.value, self.deriv + o.deriv)

    def __radd__(self, o):
        return self.__add__(o)

    def __sub__(self, o):
        o = self._other(o)
        return NotImplemented if o is None else Dual(self.value - o.value, self.deriv - o.deriv)

    def __rsub__(self, o):
        o = self._other(o)
        return NotImplemented if o is None else o.__sub__(self)

    def __mul__(self, o):
        o = self._other(o)
        return NotImplemented if o is None else Dual(self.value * o.value, self.deriv * o.value + o.deriv * self.value)

    def __rmul__(self, o):
        return self.__mul__(o)

    def __truediv__(self, o):
        o = self._other(o)
        if o is None:
            return NotImplemented
        inv = 1.0 / o.value
        return Dual(self.value * inv, (self.deriv - self.value * inv * o.deriv) * inv)

    def __rtruediv__(self, o):
        o = self._other(o)
        return NotImplemented if o is None else o.__truediv__(self)

    def __neg__(self):
        return Dual(-self.value, -self.deriv)

    def __pow__(self, p):
        if not _is_number(p):
            return NotImplemented
        return Dual(self.value ** p, p * self.value ** (p - 1) * self.deriv)


def sin(x):
    if isinstance(x, Var):
        return Var(math.sin(x.value), [(x, math.cos(x.value))])
    if isinstance(x, Dual):
        return Dual(math.sin(x.value), math.cos(x.value) * x.deriv)
    return math.sin(x)


def cos(x):
    if isinstance(x, Var):
        return Var(math.cos(x.value), [(x, -math.sin(x.value))])
    if isinstance(x, Dual):
        return Dual(math.cos(x.value), -math.sin(x.value) * x.deriv)
    return math.cos(x)


def exp(x):
    if isinstance(x, Var):
        e = math.exp(x.value)
        return Var(e, [(x, e)])
    if isinstance(x, Dual):
        e = math.exp(x.value)
        return Dual(e, e * x.deriv)
    return math.exp(x)


def log(x):
    if isinstance(x, Var):
        return Var(math.log(x.value), [(x, 1.0 / x.value)])
    if isinstance(x, Dual):
        return Dual(math.log(x.value), x.deriv / x.value)
    return math.log(x)


def gradient(f, *xs):
    leaves = tuple(Var(x) for x in xs)
    y = f(*leaves)
    if isinstance(y, Var):
        y.backward()
    return tuple(v.grad for v in leaves)


def derivative(f, *xs, wrt=0):
    if wrt not in range(len(xs)):
        raise ValueError("wrt out of range")
    args = [Dual(x, float(i == wrt)) for i, x in enumerate(xs)]
    y = f(*args)
    return y.deriv if isinstance(y, Dual) else 0.0
