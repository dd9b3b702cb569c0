"""What backpropagation costs: a backward pass costs about one forward pass, whatever the size.

The lecture's point is that backpropagation gets every partial derivative for about the cost
of one forward pass. A backward that differentiates numerically instead (finite differences or
the complex step: one forward per input entry and per parameter) gives the same numbers, so
value checks cannot tell; its cost can. Each module kind is run once per grading on a large
input, chosen so that:

- a correct backward in any style finishes in well under a second (vectorised: milliseconds;
  a Python loop over every entry: at most about 0.3 s at 5 microseconds per entry), and
- one forward per input entry means at least 65,536 forward passes (tens of seconds).

The backward call gets the budget BUDGET_FLOOR seconds, or BUDGET_RATIO times the student's
own forward on the same input if that is more (a loop-based forward is slow, and its backward
may be too). Past the budget the call is stopped and the check fails; a stopped call does not
block later calls (engine.remote.Budget). This runs on the trusted side; the timings are wall
clock seen from here, which includes the transfer of the call, never the arrays (kept in the
worker).
"""

import time

import numpy as np

import scenarios as S
from backends import StudentError

BUDGET_FLOOR = 3.0   # seconds: more than 10 times the slowest loop-based backward measured
BUDGET_RATIO = 50    # times the student's own forward on the same input
FORWARD_BUDGET = 20  # seconds for one forward on the large input (a loop-based one takes under 0.5 s)
ROWS = 16384

# kind -> (the module or loss spec, input shape); 65,536 input entries each.
SHAPES = {
    "Linear": (("Linear", 16, 2), (2 * ROWS // 4, 16)),   # 131,072 entries of x, 2 outputs
    "Sigmoid": (("Sigmoid",), (ROWS, 4)),
    "Tanh": (("Tanh",), (ROWS, 4)),
    "ReLU": (("ReLU",), (ROWS, 4)),
    "Softplus": (("Softplus",), (ROWS, 4)),
    "Sequential": (("Sequential", [("Linear", 4, 3), ("Sigmoid",), ("Linear", 3, 2)]), (ROWS, 4)),
    "SquaredError": (None, (ROWS, 4)),
    "BinaryCrossEntropy": (None, (4 * ROWS, 1)),
    "SoftmaxCrossEntropy": (None, (ROWS, 4)),
}
LOSSES = ("SquaredError", "BinaryCrossEntropy", "SoftmaxCrossEntropy")


def _inputs(kind):
    spec, shape = SHAPES[kind]
    rng = np.random.default_rng(1402)
    if kind in LOSSES:
        if kind == "SquaredError":
            return rng.normal(size=shape), rng.normal(size=shape)
        if kind == "BinaryCrossEntropy":
            return rng.uniform(0.05, 0.95, size=shape), (rng.random(size=shape) < 0.5).astype(np.float64)
        return rng.normal(size=shape), rng.integers(0, shape[1], size=shape[0])
    x = rng.normal(size=shape)
    out = S.spec_shapes(spec)
    g = rng.normal(size=(shape[0], out[1] if out else shape[1]))
    return x, g


def _timed(student, obj, name, *args, budget):
    """Seconds of obj.name(*args) in the worker, its result kept there, under a budget (a call
    past it is stopped but does not block later calls)."""
    started = time.perf_counter()
    student.method(obj, name, *args, budget=budget, keep=True)
    return time.perf_counter() - started


def problem(student, kind):
    """None if `kind`'s backward costs about a forward on SHAPES[kind]; else the failure message.

    A forward or backward that raises (other than by running out of time or memory) is not
    judged here: the value checks report it.
    """
    spec, shape = SHAPES[kind]
    a, b = _inputs(kind)
    entries = int(np.prod(shape))
    budget = forward = None
    try:
        ah, bh = student.put(a), student.put(b)
        if kind in LOSSES:
            obj = student.make(f"losses.{kind}")
            forward_args, backward_args = (ah, bh), ()
            call = f"{kind}().backward() after forward(pred {shape}, target {np.shape(b)})"
        else:
            obj = S.build(student, spec, S.linear_params(spec, 1402))
            forward_args, backward_args = (ah,), (bh,)
            call = f"{S.describe_spec(spec)}.backward(grad_out {np.shape(b)}) after forward(x {shape})"
        # the faster of two forwards: the first may pay for imports and caches
        forward = min(_timed(student, obj, "forward", *forward_args, budget=FORWARD_BUDGET) for _ in range(2))
        budget = max(BUDGET_FLOOR, BUDGET_RATIO * forward)
        _timed(student, obj, "backward", *backward_args, budget=budget)
    except StudentError as exc:
        if exc.type_name == "CallTimeout" and budget is not None:
            return (f"{call} did not finish within {budget:.1f} s, while the forward pass on the same input takes "
                    f"{forward * 1000:.1f} ms. Backpropagation gets the gradient from the derivative's formula "
                    f"for about the cost of one forward pass; a backward that runs forward once per input entry "
                    f"(finite differences or the complex step) would need at least {entries:,} forward passes here. "
                    "Write the gradient out (see the lecture's backward pass for this module).")
        if exc.type_name == "MemoryError":
            return (f"{exc}\n\nLikely cause: on this input ({entries:,} entries) the backward builds something "
                    "whose size grows with the square of the input (a full Jacobian, one row per entry?); "
                    "backpropagation only needs elementwise products and matrix products of the size of the "
                    "arrays themselves.")
    return None
