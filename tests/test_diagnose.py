"""Unit tests of the grading suite's diagnosis module (pure NumPy, no sandbox)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "autograder" / "suite"))
import diagnose  # noqa: E402
from diagnose import compare, mutation, scalar_diagnosis  # noqa: E402

RNG = np.random.default_rng(1)
E = RNG.normal(size=(4, 3))  # an "expected" array, non-square


def test_equal_arrays_pass():
    c = compare(E.copy(), E)
    assert c.ok and c.diagnosis is None
    assert c.explain("f(x)") == "f(x): correct"


def test_small_noise_within_tolerance_passes():
    assert compare(E * (1 + 1e-9), E, rtol=1e-7).ok
    assert not compare(E * (1 + 1e-5), E, rtol=1e-7).ok


def test_none_means_not_implemented():
    c = compare(None, E)
    assert not c.ok
    assert "None" in c.detail and "return" in c.detail
    assert "not implemented" in c.diagnosis


def test_non_numeric_is_reported():
    c = compare("hello", E)
    assert not c.ok and "str" in c.detail


def test_transposed_shape_with_matching_values():
    c = compare(E.T.copy(), E)
    assert not c.ok
    assert c.diagnosis.startswith("transposed")
    assert "(3, 4)" in c.diagnosis and "(4, 3)" in c.diagnosis


def test_transposed_shape_with_other_values():
    c = compare(RNG.normal(size=(3, 4)), E)
    assert "transpose of the expected" in c.diagnosis


def test_square_transposed_values():
    s = RNG.normal(size=(3, 3))
    assert compare(s.T.copy(), s).diagnosis.startswith("transposed")


def test_extra_axis_of_length_one():
    b = RNG.normal(size=5)
    c = compare(b.reshape(1, 5), b)
    assert "extra or missing axis of length 1" in c.diagnosis
    assert "(1, 5)" in c.detail


def test_not_summed_over_batch():
    per_example = RNG.normal(size=(4, 5))
    c = compare(per_example, per_example.sum(axis=0), batch=4)
    assert c.diagnosis.startswith("not summed over the batch")


def test_averaged_over_batch_in_shape():
    per_example = RNG.normal(size=(4, 5))
    c = compare(per_example, per_example.mean(axis=0), batch=4)
    assert c.diagnosis.startswith("not averaged over the batch")


def test_other_shape():
    c = compare(np.zeros((2, 7)), E)
    assert c.diagnosis == "wrong shape (2, 7), expected (4, 3)"


def test_wrong_dtype_right_values():
    ints = np.arange(6).reshape(2, 3)
    c = compare(ints, ints.astype(np.float64))
    assert not c.ok and "dtype int64" in c.diagnosis
    assert compare(ints, ints.astype(np.float64), check_dtype=False).ok


def test_not_finite():
    got = E.copy()
    got[2, 1] = np.inf
    c = compare(got, E, inputs={"x": np.full((4, 3), 1000.0)})
    assert not c.ok and "not finite" in c.diagnosis
    assert "[2, 1]" in c.detail and "x = 1000" in c.detail


def test_zeros():
    c = compare(np.zeros_like(E), E)
    assert c.diagnosis.startswith("all zeros")


def test_sign_flipped():
    assert compare(-E, E).diagnosis.startswith("sign flipped")


@pytest.mark.parametrize("factor, name", [(2.0, "2"), (0.5, "1/2"), (4.0, "N = 4"), (0.25, "1/N = 1/4")])
def test_named_factors(factor, name):
    c = compare(factor * E, E, batch=4)
    assert c.diagnosis.startswith(f"off by a constant factor of {name} ")


def test_factor_n_not_named_without_batch():
    c = compare(4.0 * E, E)
    assert c.diagnosis.startswith("off by a constant factor of 4 ")


def test_unnamed_factor():
    assert "factor of 3.7" in compare(3.7 * E, E, batch=4).diagnosis


def test_constant_offset():
    c = compare(E + 0.3, E)
    assert c.diagnosis.startswith("off by a constant: every value is 0.3")


def test_largest_error_and_location_reported():
    got = E.copy()
    got[3, 2] += 0.5
    got[0, 0] += 0.1
    c = compare(got, E)
    assert "2 of 12 values differ" in c.detail
    assert "largest error 0.5 at [3, 2]" in c.detail
    assert f"expected {E[3, 2]:.6g}" in c.detail


def test_suspects_are_named():
    previous = RNG.normal(size=E.shape)
    suspects = {"stale: uses the previous forward's cache": previous,
                "accumulated: adds to the previous gradient": previous + E}
    assert compare(previous.copy(), E, suspects=suspects).diagnosis.startswith("stale")
    assert compare(previous + E, E, suspects=suspects).diagnosis.startswith("accumulated")


def test_suspects_tolerate_noise():
    fd = E + 1e-7  # a finite-difference-like perturbation
    assert compare(fd, 2 * E, suspects={"forward differences": E}).diagnosis == "forward differences"


def test_region_confinement():
    x = np.array([[0.0, 1.0, -2.0], [3.0, 0.0, -1.0]])
    expected = (x > 0).astype(float)
    got = (x >= 0).astype(float)
    c = compare(got, expected, regions={"x == 0": x == 0}, inputs={"x": x})
    assert c.diagnosis == "wrong only where x == 0"
    assert "x = 0" in c.detail


def test_row_confinement():
    got = E.copy()
    got[1:] *= 1.5
    got[1:, 0] += 1.0  # not a constant factor overall
    assert compare(got, E).diagnosis.startswith("right only in the first row")
    first = E.copy()
    first[0] += np.array([1.0, -2.0, 0.5])
    assert compare(first, E).diagnosis.startswith("wrong only in the first row")
    middle = E.copy()
    middle[2] += np.array([1.0, -2.0, 0.5])
    assert compare(middle, E).diagnosis is None  # no pattern worth naming


def test_fallback_and_override():
    noise = RNG.normal(size=E.shape)
    assert compare(noise, E, fallback="generic").diagnosis == "generic"
    assert compare(-E, E, fallback="generic").diagnosis.startswith("sign flipped")
    assert compare(-E, E, override="the forward is wrong").diagnosis == "the forward is wrong"
    assert compare(E, E, override="unused").ok


def test_factor_one_is_not_a_diagnosis():
    assert compare(E * (1 + 2e-5), E, rtol=1e-7).diagnosis is None


def test_no_diagnosis_for_random_error():
    c = compare(RNG.normal(size=E.shape), E)
    assert not c.ok and c.diagnosis is None
    assert "Likely cause" not in c.explain("f")


def test_explain_includes_call_and_diagnosis():
    text = compare(-E, E).explain("Tanh().backward(grad_out (4, 3))")
    assert text.startswith("Tanh().backward(grad_out (4, 3)): ")
    assert "Likely cause: sign flipped" in text


def test_mutation():
    before = E.copy()
    assert mutation(before, E.copy()) is None
    after = E.copy()
    after[1, 2] = 9.0
    msg = mutation(before, after, "x")
    assert "modified its input x in place" in msg and "[1, 2]" in msg and "to 9" in msg
    assert "shape changed" in mutation(before, before.ravel())


def test_mutation_nan_is_not_a_change():
    a = np.array([np.nan, 1.0])
    assert mutation(a, a.copy()) is None


def test_scalar_diagnosis():
    assert scalar_diagnosis(0.75, 0.75).ok
    assert scalar_diagnosis(0.5, 0.75).detail == "got 0.5, expected 0.75 (error 0.25)"
    assert scalar_diagnosis(1.5, 0.75).diagnosis.startswith("off by a constant factor of 2 ")
    assert scalar_diagnosis(3.0, 0.75, batch=4).diagnosis.startswith("off by a constant factor of N = 4")
    assert scalar_diagnosis(-0.75, 0.75).diagnosis.startswith("sign flipped")
    # an unnamed ratio between two numbers is no diagnosis, nor is 0 for one number
    assert scalar_diagnosis(0.9, 0.75).diagnosis is None
    assert scalar_diagnosis(0.0, 0.75).diagnosis is None
    assert "single number" in scalar_diagnosis([1.0, 2.0], 1.0).detail


def test_named_factors_include_batch_only_when_known():
    assert 4.0 not in diagnose.named_factors()
    assert diagnose.named_factors(4)[4.0] == "N = 4"
    assert 1.0 not in diagnose.named_factors(1)


def test_suspects_come_before_zeros():
    named = compare(np.zeros_like(E), E, suspects={"copied before perturbing": np.zeros_like(E)})
    assert named.diagnosis == "copied before perturbing"


def test_a_list_is_not_an_array():
    c = compare(E.tolist(), E)
    assert not c.ok and "list" in c.detail and "numpy array" in c.diagnosis
