"""tools/public_fixtures.same: last-bit differences (another CPU's SIMD path or libm) are not
staleness; a difference grading could notice, a wrong integer, dtype, shape or key is.
(tests/test_suite_static.py checks the committed file against fresh fixtures.)"""

import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "autograder" / "suite"
sys.path.insert(0, str(ROOT / "autograder"))
sys.path.insert(0, str(SUITE))
sys.path.insert(0, str(ROOT))

import cases  # noqa: E402
from tools import public_fixtures as pf  # noqa: E402


@pytest.fixture(scope="module")
def fresh():
    return pf.fresh()


def _copy(fixtures):
    return {case: {key: np.array(value, copy=True) for key, value in flat.items()}
            for case, flat in fixtures.items()}


def _floats(fixtures):
    return [(case, key) for case, flat in fixtures.items() for key, value in flat.items()
            if value.dtype.kind == "f" and value.size and np.any(value)]


def _ulps(a, k):
    """a moved k ulps (k: int array of a's shape, any sign) with np.nextafter."""
    out = np.array(a, copy=True)
    for _ in range(int(np.max(np.abs(k), initial=0))):
        step = k != 0
        out = np.where(step, np.nextafter(out, np.where(k > 0, np.inf, -np.inf)), out)
        k = k - np.sign(k)
    return out


def test_every_float_a_few_ulps_off_is_still_the_same(fresh):
    rng = np.random.default_rng(1)
    nudged = _copy(fresh)
    for case, key in _floats(fresh):
        value = nudged[case][key]
        nudged[case][key] = _ulps(value, rng.integers(-8, 9, size=value.shape))
    assert sum(not np.array_equal(nudged[c][k], fresh[c][k]) for c, k in _floats(fresh)) > 50
    assert pf.same(nudged, fresh) and pf.same(fresh, nudged)
    scaled = _copy(fresh)
    for case, key in _floats(fresh):
        scaled[case][key] = scaled[case][key] * (1 + 4 * np.finfo(float).eps)
    assert pf.same(scaled, fresh)


def _nudge(value, rng):
    """One ulp up or down on every nonzero float (exact zeros stay: they are literals, not round-off)."""
    value = np.asarray(value)
    if value.dtype.kind != "f":
        return value
    return np.where(value == 0, value, _ulps(value, rng.choice([-1, 1], size=value.shape)))


def test_regenerated_from_last_bit_perturbed_inputs_and_functions_is_the_same(fresh, monkeypatch):
    """What another CPU does: the public cases' inputs one ulp off and every exp, log, log1p and
    tanh result of the reference one ulp off. The fixtures differ (in the last bits), yet agree."""
    rng = np.random.default_rng(2)
    for case in cases.PUBLIC.values():
        for name, value in case.kwargs.items():
            if isinstance(value, np.ndarray):
                monkeypatch.setitem(case.kwargs, name, _nudge(value, rng))
            elif isinstance(value, dict) and value and all(isinstance(v, np.ndarray) for v in value.values()):
                monkeypatch.setitem(case.kwargs, name, {k: _nudge(v, rng) for k, v in value.items()})
    for name in ("exp", "log", "log1p", "tanh"):
        ufunc = getattr(np, name)

        def perturbed(*args, _ufunc=ufunc, **kwargs):
            result = _ufunc(*args, **kwargs)
            changed = _nudge(result, rng)
            if isinstance(result, np.ndarray):
                result[...] = changed  # also what `out=` holds
                return result
            return type(result)(changed) if np.ndim(changed) == 0 else changed
        monkeypatch.setattr(np, name, perturbed)
    regenerated = pf.fresh()
    monkeypatch.undo()
    changed = [(c, k) for c, k in _floats(fresh) if not np.array_equal(regenerated[c][k], fresh[c][k])]
    assert len(changed) > 50, "the perturbation did not reach the fixtures"
    assert {("gradcheck/2-3-1", "grads/0.W"), ("train/bce", "params/0.W")} <= set(changed)
    found = pf.differences(regenerated, fresh)
    assert not found, f"worst: {pf.worst(found)}"


def _dispatched_simd():
    """NumPy's runtime-dispatched SIMD extensions this CPU has (e.g. AVX2, AVX512_SKX)."""
    try:
        from numpy._core import _multiarray_umath as umath
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as umath
    return [name for name in umath.__cpu_dispatch__ if umath.__cpu_features__.get(name)]


def test_fixtures_regenerated_without_this_cpus_simd_paths_are_the_same(fresh, tmp_path):
    """The fixtures problem itself: regenerated with NumPy's baseline code instead of the SIMD
    kernels this CPU picks (and OpenBLAS's oldest x86 kernels), as on a CPU without them. On an
    AVX-512 machine that changes 29 float arrays in the last bits (worst 1.6e-14 of the
    array's scale, sequential/n1), just as an AVX2-only EPYC changed gradcheck/2-3-1 and train/bce."""
    simd = _dispatched_simd()
    if not simd:
        pytest.skip("NumPy dispatches no SIMD extension on this CPU: nothing to switch off")
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=" ".join(simd),
               PYTHONPATH=os.pathsep.join([str(ROOT / "autograder"), str(ROOT)]))
    if platform.machine().lower() in ("x86_64", "amd64"):
        env["OPENBLAS_CORETYPE"] = "Prescott"
    out = tmp_path / "fixtures.npz"
    code = ("import sys; from pathlib import Path; from tools import public_fixtures as pf; "
            "expected = pf.fresh(); import cases; cases.save_fixtures(Path(sys.argv[1]), expected)")
    run = subprocess.run([sys.executable, "-c", code, str(out)], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    regenerated = cases.load_fixtures(out)
    for other in (fresh, cases.load_fixtures(pf.OUT)):
        found = pf.differences(regenerated, other)
        assert not found, f"worst: {pf.worst(found)}"


def test_a_change_grading_could_notice_is_not_the_same(fresh):
    """1e-9 relative (100 times below grading's rtol 1e-7) on any one value of any float array is
    stale; 1e-13 relative is too for the cases graded at rtol 1e-12 (build_mlp's weights, sgd_step)."""
    for case, key in _floats(fresh):
        changed = _copy(fresh)
        value = changed[case][key]
        i = np.unravel_index(np.argmax(np.abs(value)), value.shape)
        rel = 1e-13 if case.startswith(("mlp/", "sgd/")) else 1e-9
        value[i] *= 1 + rel
        assert not pf.same(changed, fresh), (case, key)
        (found,) = pf.differences(changed, fresh)
        assert (found.case, found.key) == (case, key) and found.relative == pytest.approx(rel / 2, rel=1e-2)


def test_integers_strings_dtypes_shapes_and_names_stay_exact(fresh):
    def broken(change):
        copy = _copy(fresh)
        change(copy)
        return copy

    def off_by_one(f):
        f["predict/one-column"]["labels"][3] += 1

    def bool_array(f):
        f["mlp/2-3-1"]["flags"] = np.array([True, False])
        return f

    def renamed_layer(f):
        f["mlp/2-3-1"]["layers"] = np.array(["Linear", "Tanh", "Linear", "Sigmoid"])

    def float32(f):
        f["linear/n1"]["out"] = f["linear/n1"]["out"].astype(np.float32)

    def reshaped(f):
        f["linear/n4"]["out"] = f["linear/n4"]["out"].T

    def missing_key(f):
        del f["train/bce"]["losses"]

    def missing_case(f):
        del f["sgd/0.1"]

    def zero_made_tiny(f):  # an all-zero array has no scale: it must stay zero
        f["mlp/2-3-1"]["params/0.b"][0] = 1e-300

    def nan(f):
        f["train/bce"]["losses"][0] = np.nan

    assert fresh["predict/one-column"]["labels"].dtype.kind == "i"
    for change in (off_by_one, renamed_layer, float32, reshaped, missing_key, missing_case, zero_made_tiny, nan):
        assert not pf.same(broken(change), fresh), change.__name__
        assert not pf.same(fresh, broken(change)), change.__name__
    with_bools = broken(bool_array)
    flipped = _copy(with_bools)
    flipped["mlp/2-3-1"]["flags"] = ~flipped["mlp/2-3-1"]["flags"]
    assert pf.same(with_bools, _copy(with_bools)) and not pf.same(flipped, with_bools)


def test_check_reports_the_worst_difference_and_writing_keeps_an_agreeing_file(fresh, monkeypatch, tmp_path,
                                                                                capsys):
    out = tmp_path / "fixtures.npz"
    monkeypatch.setattr(pf, "OUT", out)
    monkeypatch.setattr(pf, "ROOT", tmp_path)
    monkeypatch.setattr(pf, "fresh", lambda: _copy(fresh))
    stale = _copy(fresh)
    stale["train/bce"]["params/0.W"][1, 0] *= 1 + 1e-9
    stale["linear/n1"]["out"][0, 0] *= 1 + 3e-11
    cases.save_fixtures(out, stale)
    assert pf.main(["--check"]) == 1
    text = capsys.readouterr().out
    assert "fixtures.npz is stale (2 differences; worst: train/bce params/0.W: max relative difference" in text
    assert "(tolerance 1e-12)" in text

    nudged = _copy(fresh)
    nudged["gradcheck/2-3-1"]["grads/0.W"] = _ulps(nudged["gradcheck/2-3-1"]["grads/0.W"],
                                                   np.ones((3, 2), dtype=int))
    cases.save_fixtures(out, nudged)
    before = out.read_bytes()
    assert pf.main(["--check"]) == 0
    assert pf.main([]) == 0 and out.read_bytes() == before, "a last-bit difference must not rewrite the file"
    assert "not rewritten" in capsys.readouterr().out
    assert pf.main(["--force"]) == 0 and out.read_bytes() != before
    cases.save_fixtures(out, stale)
    assert pf.main([]) == 0 and pf.same(cases.load_fixtures(out), fresh) and out.read_bytes() != before
