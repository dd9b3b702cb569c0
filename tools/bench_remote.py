"""The cost of one remote call: the engine's Sandbox against the in-process stand-in.

`solution_copy()` puts the reference package where a worker can read it (a private copy made
readable like intake's, since the worker runs as another user when we are root), and
`open_sandbox(kind, root)` opens either the engine's Sandbox ("sandbox", configured as
`engine.grade` configures it) or `tools.bench_inprocess.InProcessSandbox` ("inprocess").

`round_trips` times, call by call and alternating between the two so that both see the same
machine, two small calls as the grading suite makes them:
- "echo": `sb.run(x)` with x a (4, 3) float64 array: request, evaluation of a constant, answer;
- "forward": `sb.method(linear, "forward", x)` with x (16, 2) on a Linear(2, 10) kept in the worker.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from tools.bench_inprocess import ROOT, InProcessSandbox
from tools.bench_stats import median, percentile

from engine import session  # noqa: E402  (tools.bench_inprocess put autograder/ on sys.path)
from engine.remote import Call, Sandbox  # noqa: E402
from engine.sandbox import WorkerLimits, make_tree_readable  # noqa: E402

PACKAGE = "backprop"


@contextlib.contextmanager
def solution_copy(source: Path = ROOT / "solution" / PACKAGE):
    """A readable temporary folder holding a copy of the reference package; removed after."""
    root = Path(tempfile.mkdtemp(prefix="bench-solution-"))
    try:
        shutil.copytree(source, root / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
        make_tree_readable(root)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def open_sandbox(kind: str, root: Path):
    """A started Sandbox ("sandbox"; "bare": without the kernel layers Landlock and namespaces)
    or InProcessSandbox ("inprocess") on `root`."""
    if kind in ("sandbox", "bare"):
        limits = WorkerLimits(landlock=False, namespaces=False) if kind == "bare" else None
        sb = Sandbox(root, packages=(PACKAGE,), limits=limits)   # as root: leases an account
        sb.python = session.worker_python(user=sb.user)   # an interpreter that account can run
    elif kind == "inprocess":
        sb = InProcessSandbox(root, packages=(PACKAGE,))
    else:
        raise ValueError(f"unknown sandbox kind {kind!r}")
    sb.start()
    return sb


def _calls(sb) -> dict:
    """name -> zero-argument callable making one call of that kind on `sb`."""
    x_small = np.random.default_rng(0).normal(size=(4, 3))
    x_batch = np.random.default_rng(1).normal(size=(16, 2))
    linear = sb.call(f"{PACKAGE}.modules.Linear", 2, 10, rng=Call("numpy.random.default_rng", 0))
    return {"echo": lambda: sb.run(x_small),
            "forward": lambda: sb.method(linear, "forward", x_batch)}


def round_trips(sandboxes: dict, calls: int, warmup: int = 20) -> dict:
    """{kind: {call name: {"median_us", "p99_us", "n"}}} for already started sandboxes."""
    makers = {kind: _calls(sb) for kind, sb in sandboxes.items()}
    samples = {kind: {name: [] for name in fns} for kind, fns in makers.items()}
    for i in range(warmup + calls):
        for kind, fns in makers.items():
            for name, fn in fns.items():
                began = time.perf_counter()
                fn()
                elapsed = time.perf_counter() - began
                if i >= warmup:
                    samples[kind][name].append(elapsed * 1e6)
    return {kind: {name: {"median_us": median(s), "p99_us": percentile(s, 99), "n": len(s)}
                   for name, s in by_name.items()}
            for kind, by_name in samples.items()}
