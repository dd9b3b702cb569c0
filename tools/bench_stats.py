"""Repeated measurements for the benchmark: side-by-side runs, medians, percentiles, ratios.

A comparison is only fair if both sides see the same machine state, so `interleaved` runs
its contestants round-robin (A B C, B C A, C A B, ...) instead of all runs of A and then
all of B: a background job or a frequency change then hits every side alike. A ratio is
the median of the per-round ratios (`paired_ratio`), not a ratio of two medians.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def median(samples: list[float]) -> float:
    """The median of a non-empty list of numbers."""
    if not samples:
        raise ValueError("no samples")
    return float(statistics.median(samples))


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0 <= q <= 100), linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (pos - low))


def summary(samples: list[float]) -> dict:
    """{"median", "min", "max", "n"} of a list of samples."""
    return {"median": median(samples), "min": float(min(samples)), "max": float(max(samples)),
            "n": len(samples)}


def paired_ratio(numerators: list[float], denominators: list[float]) -> float:
    """Median over rounds of numerators[i] / denominators[i] (the lists are paired by round)."""
    if len(numerators) != len(denominators) or not numerators:
        raise ValueError("paired samples must be non-empty lists of the same length")
    return median([a / b for a, b in zip(numerators, denominators)])


def interleaved(contestants: dict[str, Callable[[], T]], repeats: int,
                warmup: int = 0) -> dict[str, list[T]]:
    """Run every contestant `warmup` + `repeats` times, round-robin with a rotating start.

    Each contestant is a callable returning one measurement (seconds, or a record holding
    them). Warm-up rounds are run the same way and discarded. Returns name -> list of
    `repeats` measurements, where index i of every list comes from the same round.
    """
    names = list(contestants)
    samples: dict[str, list[T]] = {name: [] for name in names}
    for r in range(warmup + repeats):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            value = contestants[name]()
            if r >= warmup:
                samples[name].append(value)
    return samples


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    """A contestant for `interleaved`: the wall-clock seconds one call of fn takes."""
    def run() -> float:
        began = time.perf_counter()
        fn()
        return time.perf_counter() - began
    return run
