"""Tracing a Python function on the trusted side into a `Func` the worker can run.

    f = Func.trace(lambda x, z: x * z + Func.fn("backprop.autodiff.sin")(x), nparams=2)

`trace` calls the function once with symbolic arguments (`Sym`). Operators on a Sym (+ - * / **
@, unary - + abs(), indexing), including the reflected ones (``2 * x``: the constant stays the
left operand, so the worker computes ``2 * v`` and Python picks ``v.__rmul__``), and calls of
`Func.fn("dotted.name")` each make one new node. The nodes form a DAG: a value used twice is one
node, so shared subexpressions stay shared. Each node knows its level, the length of the longest
path from the inputs to it (known when it is made: one more than its deepest operand). `Func.nodes`
lists the nodes that the result needs sorted by level, so each comes after everything it uses (no
recursion, so a 10,000-step chain is fine); `engine.remote` sends them as the SSA steps of a
``$func`` (see `engine.protocol`). Constants may be numbers, arrays, Refs,
Calls or any value the remote API can send. Python control flow on a Sym is refused.
"""
from __future__ import annotations

from typing import Any, Callable


def _dotted(name: Any) -> str:
    if type(name) is not str or not name or not all(p.isidentifier() for p in name.split(".")):
        raise ValueError(f"not a dotted name: {name!r}")
    return name


class Sym:
    """A symbolic value inside `Func.trace`: records what is done to it.

    kind is "param" (data: its index), "op" (data: (name, operand, ...)) or "call"
    (data: (dotted name, args tuple, kwargs dict)). level: 0 for a param, else one more than
    the highest level among the Syms it computes from (1 if none).
    """

    __slots__ = ("kind", "data", "trace", "level")
    __array_ufunc__ = None  # so that ndarray * Sym defers to Sym.__rmul__

    def __init__(self, kind: str, data: Any, trace: object):
        self.kind, self.data, self.trace = kind, data, trace  # trace: a token per Func.trace
        self.level = 0 if kind == "param" else 1 + max((s.level for s in _syms_in(data[1:])), default=0)

    def _op(self, name, *operands):
        return Sym("op", (name, *operands), self.trace)

    def __add__(self, o): return self._op("add", self, o)
    def __radd__(self, o): return self._op("add", o, self)
    def __sub__(self, o): return self._op("sub", self, o)
    def __rsub__(self, o): return self._op("sub", o, self)
    def __mul__(self, o): return self._op("mul", self, o)
    def __rmul__(self, o): return self._op("mul", o, self)
    def __truediv__(self, o): return self._op("truediv", self, o)
    def __rtruediv__(self, o): return self._op("truediv", o, self)
    def __matmul__(self, o): return self._op("matmul", self, o)
    def __rmatmul__(self, o): return self._op("matmul", o, self)
    def __neg__(self): return self._op("neg", self)
    def __pos__(self): return self._op("pos", self)
    def __abs__(self): return self._op("abs", self)
    def __getitem__(self, key): return self._op("getitem", self, key)

    def __pow__(self, o, modulo=None):
        if modulo is not None:
            raise TypeError("pow() with a modulus is not traced")
        return self._op("pow", self, o)

    def __rpow__(self, o): return self._op("pow", o, self)

    def _refuse(self, *args):
        raise TypeError("a traced value has no concrete value here: Func.trace records "
                        "arithmetic only (no if/while/comparisons/len/iteration on it)")

    __bool__ = __iter__ = __len__ = __float__ = __int__ = __index__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __hash__ = object.__hash__

    def __repr__(self):
        return f"<traced {self.kind} {self.data[0] if self.kind != 'param' else self.data}>"


class TracedFn:
    """`Func.fn("pkg.mod.name")`: calling it inside a trace records a call of that function."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = _dotted(name)

    def __call__(self, *args, **kwargs) -> Sym:
        traces = {id(s.trace): s.trace for s in _syms_in((args, kwargs)) if s.trace is not None}
        if len(traces) > 1:
            raise TypeError("values from different Func.trace calls are mixed")
        return Sym("call", (self.name, args, kwargs), next(iter(traces.values()), None))

    def __repr__(self):
        return f"Func.fn({self.name!r})"


def _syms_in(value: Any, depth: int = 0):
    """The Syms directly inside `value` (looking into lists, tuples, dicts and slices)."""
    if depth > 64:
        raise ValueError("constant nested too deeply")
    if isinstance(value, Sym):
        yield value
    elif type(value) in (list, tuple):
        for v in value:
            yield from _syms_in(v, depth + 1)
    elif type(value) is dict:
        for v in value.values():
            yield from _syms_in(v, depth + 1)
    elif type(value) is slice:
        yield from _syms_in((value.start, value.stop, value.step), depth + 1)


def _children(node: Sym) -> list:
    """The Syms a node computes from: operands of an op, arguments of a call."""
    return [] if node.kind == "param" else list(_syms_in(node.data[1:]))


class Func:
    """A traced function: `nparams` inputs, `nodes` (steps in order), `output` (the result,
    a Sym or a structure holding Syms and constants). Built by `Func.trace`."""

    def __init__(self, params: list, nodes: list, output: Any):
        self.params, self.nodes, self.output = params, nodes, output

    @property
    def nparams(self) -> int:
        return len(self.params)

    @staticmethod
    def fn(name: str) -> TracedFn:
        """A function of the worker, by dotted name, to call inside a traced function."""
        return TracedFn(name)

    @staticmethod
    def trace(pyfunc: Callable, nparams: int) -> "Func":
        """Run `pyfunc` on `nparams` symbolic inputs and record what it computes."""
        if type(nparams) is not int or nparams < 0:
            raise ValueError("nparams must be an int >= 0")
        token = object()  # tells apart the Syms of different traces
        params = [Sym("param", i, token) for i in range(nparams)]
        output = pyfunc(*params)
        # Every step the output needs: a plain reachability sweep (visiting order is irrelevant),
        # then sorted by level. A step's operands all have lower levels, so they come first.
        needed: dict = {}
        pending = list(_syms_in(output))
        while pending:
            sym = pending.pop()
            if sym.trace is not token and sym.trace is not None:
                raise TypeError("a traced value from another Func.trace was used")
            if sym.kind != "param" and id(sym) not in needed:
                needed[id(sym)] = sym
                pending.extend(_children(sym))
        steps = sorted(needed.values(), key=lambda sym: sym.level)
        return Func(params, steps, output)

    def __repr__(self):
        return f"<Func of {self.nparams} argument(s), {len(self.nodes)} steps>"
