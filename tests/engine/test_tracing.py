"""Func.trace's step list (trusted side only, no worker): what it holds and in which order."""
import pytest

from engine.tracing import Func, Sym


def _operands(step):
    """The Syms a step computes from."""
    data = step.data[1:]
    found = []

    def walk(value):
        if isinstance(value, Sym):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
    walk(data)
    return found


def _assert_topological(func):
    position = {id(step): i for i, step in enumerate(func.nodes)}
    params = {id(p) for p in func.params}
    for i, step in enumerate(func.nodes):
        for operand in _operands(step):
            assert id(operand) in params or position[id(operand)] < i, (step, operand)


def test_steps_come_after_their_operands_and_unused_work_is_dropped():
    wrap = Func.fn("pkg.wrap")

    def f(x, y):
        unused = x * 100          # never reaches the output
        t = x * y
        c = wrap(wrap("c"))       # constant calls (no traced argument) are steps too
        out = (t + c) * t - wrap(t, k=[y, 2])
        del unused
        return out
    func = Func.trace(f, 2)
    _assert_topological(func)
    names = [s.data[0] for s in func.nodes]
    assert sorted(names) == sorted(["mul", "pkg.wrap", "pkg.wrap", "add", "mul", "pkg.wrap", "sub"])
    assert len({id(s) for s in func.nodes}) == len(func.nodes)  # each step once


def test_shared_steps_are_listed_once_and_levels_grow_along_a_chain():
    def f(x):
        t = x * x
        for _ in range(3):
            t = t * t + t
        return t
    func = Func.trace(f, 1)
    assert len(func.nodes) == 1 + 3 * 2
    _assert_topological(func)
    assert [s.level for s in func.nodes] == sorted(s.level for s in func.nodes)
    assert func.nodes[-1].level == 7


def test_structured_output_and_deep_chain():
    def chain(x):
        y = x
        for _ in range(20_000):
            y = y + 1
        return [y, {"first": x * 2}]
    func = Func.trace(chain, 1)
    assert len(func.nodes) == 20_001
    _assert_topological(func)


def test_a_value_of_another_trace_is_refused():
    leaked = []
    Func.trace(lambda x: leaked.append(x * 2) or x, 1)
    with pytest.raises(TypeError, match="another Func.trace"):
        Func.trace(lambda y: y - leaked[0], 1)
