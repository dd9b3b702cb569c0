"""Write the public grading tests' expected values from the reference solution.

    python -m tools.public_fixtures            # (re)write autograder/suite/public/fixtures.npz if stale
    python -m tools.public_fixtures --force    # rewrite it even if it agrees within the tolerance
    python -m tools.public_fixtures --check    # write nothing; exit 1 if the file is stale

The public tests run on students' machines, where the solution is absent: they compare
with the reference's outputs on the same inputs, stored here. The inputs and the
scenarios are the suite's own (autograder/suite/cases.py), so the same code produces
the expected values here and the values checked in the worker. The file also holds what
classic bugs would return on the public cases (autograder/suite/imitations.py, which is
never shipped: it contains bugged copies of the algorithms students write), so the
public tests' diagnoses need no solution-equivalent code either.

"Stale" means different beyond a tolerance, not different in the last bit: NumPy's and
libm's results depend on the CPU (SIMD path, FMA variants), so the file regenerated on
another machine may differ by an ulp or two, and that must neither fail the check nor
rewrite the committed file (see ``same``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "autograder" / "suite"
OUT = SUITE / "public" / "fixtures.npz"
SOLUTION = ROOT / "solution"

# How far a recomputed float may be from the committed one: |new - old| <= rtol * (|old| + max|old|),
# max over the array (the floor keeps near-zero entries, e.g. the saturated gradients of
# sequential/n1 around 1e-9 in an array up to 0.04, from failing on round-off alone).
# Measured (every input and every exp/log/log1p/tanh/sqrt/sum/vdot/dot result of the reference
# nudged by random ulps, 8 seeds): worst 2.0e-14 at 1 ulp, 8.0e-14 at 4, 3.0e-13 at 16 ulps
# (sequential/n1: tanh' = 1 - z^2 cancels where tanh saturates); train/bce, 15 SGD steps, 1.3e-15
# at 1 ulp. The grading compares with these fixtures at rtol 1e-7 (1e-6 for trained weights), so
# 1e-12 is 1e5 times tighter than grading and 50 times looser than a 1-ulp perturbation.
RTOL = 1e-12
# Cases whose grading compares at rtol 1e-12 (netchecks: build_mlp's seeded weights, sgd_step)
# get 1e-14, 100 times tighter than that; measured there: 2.7e-16 at 1 ulp, 1.8e-15 at 16 ulps.
STRICT = {"mlp/": 1e-14, "sgd/": 1e-14}


def tolerance(case):
    """The rtol of ``same`` for the fixture `case`."""
    return next((rtol for prefix, rtol in STRICT.items() if case.startswith(prefix)), RTOL)


def fresh():
    """{case name: {key: array}} computed now from solution/backprop."""
    if str(SUITE) not in sys.path:
        sys.path.insert(0, str(SUITE))
    import backends
    import cases
    import imitations
    from reference import load_reference
    package = load_reference(SOLUTION)
    expected = cases.generate(package)
    backend = backends.Reference(package)
    for name, case in imitations.public_cases().items():
        if name in expected:
            raise ValueError(f"fixture {name!r} is defined twice")
        expected[name] = cases.flatten(case.run(backend))
    return expected


@dataclass(frozen=True)
class Difference:
    """Where two fixture dicts differ: case, key (None for a missing or extra case), what, and for
    floats beyond the tolerance the max relative difference and the tolerance."""

    case: str
    key: str | None
    what: str
    relative: float = float("inf")
    rtol: float = 0.0

    def __str__(self):
        where = self.case if self.key is None else f"{self.case} {self.key}"
        return f"{where}: {self.what}"


def relative_difference(new, old):
    """max |new - old| / (|old| + max|old|) over the finite entries (0.0 if equal, inf if the
    non-finite entries differ, or any entry of an all-zero array does): what ``same`` bounds."""
    new, old = np.asarray(new, dtype=np.float64), np.asarray(old, dtype=np.float64)
    finite = np.isfinite(old)
    same_special = (np.isnan(new) == np.isnan(old)) & (np.isnan(old) | finite | (new == old))
    if not np.all(same_special) or not np.all(np.isfinite(new[finite])):
        return float("inf")
    if not np.any(finite):
        return 0.0
    a, b = new[finite], old[finite]
    diff = np.abs(a - b)
    if not np.any(diff):
        return 0.0
    denominator = np.abs(b) + np.max(np.abs(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(diff == 0, 0.0, diff / denominator)
    return float(np.max(np.where(np.isnan(ratio), np.inf, ratio)))


def differences(a, b):
    """The differences between fixture dicts a (e.g. fresh) and b (e.g. committed) beyond the
    tolerance: case and key names, dtypes, shapes, and the values of non-float arrays (integers,
    bools, strings) must be equal; float values within ``tolerance(case)`` (see RTOL)."""
    out = []
    for case in sorted(a.keys() ^ b.keys()):
        out.append(Difference(case, None, "only in the " + ("first" if case in a else "second")))
    for case in sorted(a.keys() & b.keys()):
        for key in sorted(a[case].keys() ^ b[case].keys()):
            out.append(Difference(case, key, "only in the " + ("first" if key in a[case] else "second")))
        for key in sorted(a[case].keys() & b[case].keys()):
            x, y = np.asarray(a[case][key]), np.asarray(b[case][key])
            if x.dtype != y.dtype:
                out.append(Difference(case, key, f"dtype {x.dtype} != {y.dtype}"))
            elif x.shape != y.shape:
                out.append(Difference(case, key, f"shape {x.shape} != {y.shape}"))
            elif x.dtype.kind not in "fc":
                if not np.array_equal(x, y):
                    out.append(Difference(case, key, f"{int(np.sum(x != y))} of {x.size} {x.dtype} values differ"))
            else:
                rtol = tolerance(case)
                rel = relative_difference(x, y)
                if not rel <= rtol:
                    out.append(Difference(case, key, f"max relative difference {rel:.3g} (tolerance {rtol:g})",
                                          rel, rtol))
    return out


def worst(found):
    """The Difference to report first: a structural one, else the largest relative to its tolerance."""
    return max(found, key=lambda d: d.relative / d.rtol if d.rtol else float("inf"))


def same(a, b):
    """True if two fixture dicts hold the same cases, keys, dtypes, shapes and non-float values,
    and float values within ``tolerance(case)`` of each other (not bit for bit: see RTOL)."""
    return not differences(a, b)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    parser.add_argument("--force", action="store_true", help="write even if the file agrees within the tolerance")
    args = parser.parse_args(argv)
    expected = fresh()
    import cases
    rel = OUT.relative_to(ROOT)
    found = differences(expected, cases.load_fixtures(OUT)) if OUT.is_file() else None
    if args.check:
        if found is None:
            print(f"{rel} is missing: run python -m tools.public_fixtures")
            return 1
        if found:
            print(f"{rel} is stale ({len(found)} difference{'s' if len(found) > 1 else ''}; worst: "
                  f"{worst(found)}): run python -m tools.public_fixtures")
            return 1
        print(f"{rel} is up to date ({len(expected)} cases)")
        return 0
    if found == [] and not args.force:
        print(f"{rel} is up to date within the tolerance ({len(expected)} cases): not rewritten (--force rewrites it)")
        return 0
    cases.save_fixtures(OUT, expected)
    print(f"wrote {rel} ({len(expected)} cases, {OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
