"""Write the public grading tests' expected values from the reference solution.

    python -m tools.public_fixtures            # (re)write autograder/suite/public/fixtures.npz
    python -m tools.public_fixtures --check    # write nothing; exit 1 if the file is stale

The public tests run on students' machines, where the solution is absent: they compare
with the reference's outputs on the same inputs, stored here. The inputs and the
scenarios are the suite's own (autograder/suite/cases.py), so the same code produces
the expected values here and the values checked in the worker. The file also holds what
classic bugs would return on the public cases (autograder/suite/imitations.py, which is
never shipped: it contains bugged copies of the algorithms students write), so the
public tests' diagnoses need no solution-equivalent code either.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "autograder" / "suite"
OUT = SUITE / "public" / "fixtures.npz"
SOLUTION = ROOT / "solution"


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


def same(a, b):
    """True if two fixture dicts hold the same cases, keys, dtypes and values (bit for bit)."""
    if a.keys() != b.keys():
        return False
    for case in a:
        if a[case].keys() != b[case].keys():
            return False
        for key in a[case]:
            x, y = np.asarray(a[case][key]), np.asarray(b[case][key])
            if x.dtype != y.dtype or x.shape != y.shape or not np.array_equal(x, y):
                return False
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    expected = fresh()
    import cases
    if args.check:
        if not OUT.is_file() or not same(cases.load_fixtures(OUT), expected):
            print(f"{OUT.relative_to(ROOT)} is stale: run python -m tools.public_fixtures")
            return 1
        print(f"{OUT.relative_to(ROOT)} is up to date ({len(expected)} cases)")
        return 0
    cases.save_fixtures(OUT, expected)
    print(f"wrote {OUT.relative_to(ROOT)} ({len(expected)} cases, {OUT.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
