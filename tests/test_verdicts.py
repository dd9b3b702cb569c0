"""Submissions with known verdicts, graded through the local Gradescope simulation (engine.autograde).

The reference solution and the correct variants of tests/corpus/variants/ must get 100; each
mutant of tests/corpus/mutants.toml (one realistic bug) must lose exactly the expected tests
and be explained: the named tests' messages must name the bug. Everything is graded once per
session, two submissions at a time (about 1.5 minutes on 2 cores); see tests/corpus/corpus.py.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
import corpus  # noqa: E402

MUTANTS = corpus.load_mutants()
VARIANTS = corpus.variants()


@pytest.fixture(scope="module")
def graded():
    names = ["solution", *(f"variant:{v}" for v in VARIANTS), *(m.name for m in MUTANTS)]
    return corpus.grade_all(names, workers=2)


def _full_marks(results, who):
    failed = corpus.failing(results)
    assert not failed, f"{who} lost points in {sorted(failed)}: " + "; ".join(
        f"{num}: {text[:300]}" for num, text in list(failed.items())[:3])
    assert results["score"] == pytest.approx(100.0)
    assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(100.0)


def test_solution_gets_full_marks(graded):
    _full_marks(graded["solution"], "the reference solution")


@pytest.mark.parametrize("variant", VARIANTS)
def test_correct_variant_gets_full_marks(graded, variant):
    _full_marks(graded[f"variant:{variant}"], f"the correct variant {variant!r}")


def test_corpus_is_large_enough():
    assert len(VARIANTS) >= 2
    assert len(MUTANTS) >= 25
    assert len({m.name for m in MUTANTS}) == len(MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_verdict(graded, mutant):
    results = graded[mutant.name]
    failed = corpus.failing(results)
    missed, extra = mutant.unexpected(failed)
    assert not missed and not extra, (
        f"{mutant.name} ({mutant.bug}): expected failures {list(mutant.fails)}; these passed: {missed}; "
        f"these failed unexpectedly: {extra}\n" + "\n".join(f"{n}: {failed[n][:400]}" for n in extra))
    for number, text in mutant.diagnosis.items():
        assert text in failed[number], (f"{mutant.name}: the message of test {number} does not say "
                                        f"{text!r}:\n{failed[number][:1500]}")
    if mutant.score is not None:
        assert results["score"] == pytest.approx(mutant.score), f"{mutant.name}: score {results['score']}"


def test_kill_rate_and_diagnosis_share(graded):
    stats = corpus.summary(MUTANTS, graded)
    print(f"\nmutants {stats['mutants']}, killed {stats['killed']} ({stats['kill_rate']:.0%}), "
          f"correctly diagnosed {stats['diagnosed']} ({stats['diagnosed_share']:.0%})")
    assert stats["kill_rate"] == 1.0
    assert stats["diagnosed_share"] == 1.0


def test_make_grade_sees_every_mutant_but_those_listed_with_a_reason(graded):
    """A mutant loses points in a visible (public) test unless mutants.toml says why not; the
    list can only shrink: a mutant that becomes visible must drop its public_blind reason."""
    table = corpus.visibility_table(MUTANTS, graded)
    seen = {name: public for name, public, _, _ in table}
    reasons = {m.name: m.public_blind for m in MUTANTS}
    assert [n for n, public in seen.items() if public == bool(reasons[n])] == []
    assert all(hidden for _, _, hidden, _ in table)
