"""Smoke tests of the benchmark (tools/bench*.py) on tiny sizes: the measuring machinery works.

The benchmark itself (`make bench`) is not run here: these tests check its parts on workloads
of a fraction of a second, and skip PyTorch / scikit-learn when they are not installed.
"""

import dataclasses
import json
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import bench, bench_report, bench_stats, bench_train  # noqa: E402
from tools.bench_gradcheck import DIRECTIONS, check_costs  # noqa: E402
from tools.bench_inprocess import InProcessSandbox  # noqa: E402
from tools.bench_proc import run_measured  # noqa: E402
from tools.bench_remote import open_sandbox, round_trips, solution_copy  # noqa: E402

from engine.remote import Call, RemoteError  # noqa: E402  (tools.bench_inprocess puts autograder/ on sys.path)

MB = 1 << 20


# ---------------------------------------------------------------- statistics

def test_percentile_and_median_interpolate_between_ranks():
    samples = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert bench_stats.median(samples) == 3.0
    assert bench_stats.percentile(samples, 0) == 1.0
    assert bench_stats.percentile(samples, 100) == 5.0
    assert bench_stats.percentile(samples, 99) == pytest.approx(4.96)
    assert bench_stats.paired_ratio([2.0, 9.0, 4.0], [1.0, 3.0, 1.0]) == 3.0  # ratios 2, 3, 4


def test_interleaved_rotates_the_order_and_drops_warmup_rounds():
    order = []
    contestants = {name: (lambda name=name: order.append(name) or len(order)) for name in "abc"}
    samples = bench_stats.interleaved(contestants, repeats=2, warmup=1)
    assert order == list("abc" "bca" "cab")
    assert samples == {"a": [6, 8], "b": [4, 9], "c": [5, 7]}  # round 0 (warm-up) dropped


# ---------------------------------------------------------------- process tree

def test_run_measured_sums_memory_over_the_process_tree():
    child = "b = b'x' * (60 << 20); import time; time.sleep(0.3)"
    parent = textwrap.dedent(f"""
        import os, subprocess, sys
        a = b'x' * (40 << 20)
        subprocess.run([sys.executable, '-c', {child!r}], check=True)
        print(sorted(os.sched_getaffinity(0)))
    """)
    run = run_measured([sys.executable, "-c", parent], interval=0.01)
    assert run.returncode == 0
    # The kernel's figure is the largest single process; a forked child counts its launcher's
    # pages until exec, so it can exceed the sampled sum when the launcher (pytest) is large.
    assert run.max_single_rss >= 60 * MB
    assert run.rss_peak >= 100 * MB               # the sampled sum sees parent + child together
    assert run.pss_peak >= 95 * MB
    assert len(run.peak_breakdown) == 2
    pinned = run_measured([sys.executable, "-c", parent.replace("60 << 20", "1")], cpus={0})
    assert pinned.output_tail.strip().endswith("[0]")


# ---------------------------------------------------------------- sandboxes

@pytest.fixture(scope="module")
def sandboxes():
    """The engine's Sandbox and the in-process stand-in, on one copy of the reference."""
    with solution_copy() as root:
        opened = {}
        try:
            for kind in ("sandbox", "inprocess"):
                opened[kind] = open_sandbox(kind, root)
            yield opened
        finally:
            for sb in opened.values():
                sb.close()


def test_inprocess_sandbox_answers_like_the_worker(sandboxes):
    x = np.random.default_rng(3).normal(size=(5, 2))
    outs, errors, printed = {}, {}, {}
    for kind, sb in sandboxes.items():
        lin = sb.call("backprop.modules.Linear", 2, 4, rng=Call("numpy.random.default_rng", 7))
        outs[kind] = sb.method(lin, "forward", x)
        with pytest.raises(RemoteError) as info:
            sb.call("backprop.modules.Linear", 2, 4, init="bogus")
        errors[kind] = (info.value.type_name, info.value.message)
        sb.take_output()
        sb.call("builtins.print", "hello from", kind)
        printed[kind] = sb.take_output()
    assert outs["sandbox"].shape == outs["inprocess"].shape == (5, 4)
    assert outs["sandbox"].dtype == outs["inprocess"].dtype == np.float64
    # Two processes may round one product differently (BLAS kernels, threads): not bit for bit.
    np.testing.assert_allclose(outs["sandbox"], outs["inprocess"], rtol=1e-10, atol=1e-12)
    assert errors["sandbox"] == errors["inprocess"] and errors["sandbox"][0] == "ValueError"
    assert printed == {kind: f"hello from {kind}\n" for kind in sandboxes}


def test_inprocess_sandbox_sets_other_modules_aside_and_restores_them(monkeypatch):
    for name in [m for m in sys.modules if m.partition(".")[0] == "backprop"]:
        monkeypatch.delitem(sys.modules, name)         # restored after the test
    impostor = types.ModuleType("backprop")            # e.g. a skeleton imported by another test
    monkeypatch.setitem(sys.modules, "backprop", impostor)
    finders = list(sys.meta_path)
    with solution_copy() as root:
        sb = InProcessSandbox(root)
        assert sb.call("backprop.modules.Sigmoid").type_name == "backprop.modules.Sigmoid"
        assert sys.modules["backprop"] is not impostor and len(sys.meta_path) == len(finders) + 1
        sb.close()
    assert sys.modules["backprop"] is impostor and "backprop.modules" not in sys.modules
    assert sys.meta_path == finders


def test_round_trips_and_gradient_checks_report_consistent_figures(sandboxes):
    trips = round_trips(sandboxes, calls=5, warmup=1)
    for kind in sandboxes:
        for name in ("echo", "forward"):
            figure = trips[kind][name]
            assert figure["n"] == 5 and 0 < figure["median_us"] <= figure["p99_us"]
    rows = check_costs(sandboxes["sandbox"], sizes=(2, 3), repeats=1)
    assert [r["params"] for r in rows] == [4, 9]
    for row in rows:
        assert row["per_coordinate"]["evaluations"] == 2 * row["params"]
        assert row["directional"]["evaluations"] == 2 * DIRECTIONS
        assert row["per_coordinate"]["rel_error"] < 1e-6
        assert row["directional"]["rel_error"] < 1e-6


def test_inprocess_grading_of_the_solution_gets_every_public_point():
    proc = subprocess.run([sys.executable, "-m", "tools.bench_inprocess", "--mode", "inprocess",
                           "--public-only"], cwd=ROOT, env=bench.command_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["mode"] == "inprocess" and info["tests"] > 10
    assert info["passed"] == info["tests"]                           # counts: exactly
    assert info["max_score"] > 0
    assert info["score"] == pytest.approx(info["max_score"], rel=0, abs=bench.POINTS_TOL)


# ---------------------------------------------------------------- training comparators

@pytest.fixture(scope="module")
def tiny_task():
    ref = bench_train.load_reference()
    task = bench_train.load_tasks(ref, epochs_cap=2)[3]  # two_pockets, h = 10
    return ref, dataclasses.replace(task, X=task.X[:70], y=task.y[:70])


def test_fused_loop_trains_the_same_network_as_the_reference(tiny_task):
    ref, task = tiny_task
    expected = bench_train.run_reference(ref, task)
    fused = bench_train.run_fused(task, bench_train.initial_weights(ref, task))
    assert len(expected) == task.epochs == 2
    assert bench_train.max_rel_diff(expected, fused) <= bench_train.LOSS_RTOL
    wrong = dataclasses.replace(task, learning_rate=task.learning_rate / 2)
    assert bench_train.max_rel_diff(expected, bench_train.run_fused(
        wrong, bench_train.initial_weights(ref, task))) > 1e-6


def test_inlined_loop_trains_the_same_network_as_the_reference(tiny_task):
    ref, task = tiny_task
    expected = bench_train.run_reference(ref, task)
    inlined = bench_train.run_inlined(task, bench_train.initial_weights(ref, task))
    assert bench_train.max_rel_diff(expected, inlined) <= bench_train.LOSS_RTOL
    other_seed = dataclasses.replace(task, seed=task.seed + 1)
    assert bench_train.max_rel_diff(expected, bench_train.run_inlined(
        other_seed, bench_train.initial_weights(ref, task))) > 1e-6


def test_torch_trains_the_same_network_as_the_reference(tiny_task):
    torch = pytest.importorskip("torch")
    ref, task = tiny_task
    losses = bench_train.run_torch(torch, task, bench_train.initial_weights(ref, task))
    assert bench_train.max_rel_diff(bench_train.run_reference(ref, task), losses) <= bench_train.LOSS_RTOL


def test_sklearn_runs_the_requested_epochs(tiny_task):
    pytest.importorskip("sklearn")
    from sklearn import exceptions, neural_network
    _, task = tiny_task
    losses = bench_train.run_sklearn(neural_network, exceptions, task)
    assert len(losses) == task.epochs and all(np.isfinite(losses))


# ---------------------------------------------------------------- the whole command

def test_smoke_run_skips_absent_comparators_and_writes_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)    # `import torch` now raises ImportError
    monkeypatch.setitem(sys.modules, "sklearn", None)
    out = tmp_path / "bench.json"
    code = bench.main(["--profile", "smoke", "--only", "train,gradcheck,roundtrip", "--out", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    sections = report["sections"]
    assert {name: s["status"] for name, s in sections.items()} == {
        "train": "ok", "gradcheck": "ok", "roundtrip": "ok"}
    train = sections["train"]["data"]
    assert set(train["skipped"]) == {"torch", "sklearn"}
    assert set(train["aggregate"]["steps_per_second"]) == {"reference", "fused", "inlined"}
    assert train["aggregate"]["reference_over_inlined_time"] > 0
    assert train["same_losses"] is True and len(train["tasks"]) == 4
    assert train["loss_max_rel_diff"] <= train["loss_rtol"] == bench_train.LOSS_RTOL
    floors = {(f["section"], f["path"]): f["met"] for f in report["floors"]}
    assert floors[("train", "aggregate.torch_over_reference_time")] is None   # not measured
    assert floors[("train", "aggregate.reference_over_inlined_time")] in (True, False)
    assert ("train", "aggregate.reference_over_fused_time") not in floors     # information only
    assert train["aggregate"]["reference_over_fused_time"] > 0
    assert floors[("autograde", "one_core.seconds")] is None                 # section not run
    assert "torch: skipped" in capsys.readouterr().out


def test_floors_are_met_missed_or_not_measured():
    sections = {"grade": {"status": "ok", "rows": [["make grade", "1 s"]],
                          "data": {"assignment": {"seconds": 1.0}, "solution": {"seconds": 7.5}}},
                "sandbox": {"status": "failed", "reason": "boom", "data": {"ratio": 1.0}}}
    floors = {f["text"]: f["met"] for f in bench_report.evaluate(sections)}
    assert floors["make grade on the skeleton"] is True
    assert floors["make grade on the solution"] is False
    assert floors["grading session with the sandboxed worker / in-process"] is None  # failed section
    table = bench_report.format_table(sections, bench_report.evaluate(sections))
    assert "MISSED       make grade on the solution: 7.5 s (floor < 5 s)" in table
    assert "FAILED: boom" in table


def test_train_section_compares_losses_to_a_tolerance_not_bit_for_bit(monkeypatch):
    losses = [0.6931471805599453, 0.25, 0.0021460171126625144]

    def runner(scale):
        def run(task):
            time.sleep(1e-4)                           # a measurable time for the ratios
            return [x * (1.0 + scale) for x in losses]
        return run

    for drift, same in ((0.0, True), (1e-12, True), (bench_train.LOSS_RTOL / 2, True),
                        (bench_train.LOSS_RTOL * 2, False), (1e-6, False)):
        fakes = {"reference": runner(0.0), "fused": runner(drift), "inlined": runner(0.0)}
        monkeypatch.setattr(bench_train, "runners", lambda ref, fakes=fakes: (fakes, {}))
        data = bench.bench_train_section(bench.PROFILES["smoke"])["data"]
        assert data["same_losses"] is same, drift
        assert data["loss_max_rel_diff"] == pytest.approx(drift, rel=1e-3, abs=1e-15)


def test_sandbox_scores_agree_to_a_tolerance():
    assert bench.same_points([46.5, 46.5], [46.5, 46.5 + 1e-9])    # a last-bit difference
    assert not bench.same_points([46.5, 46.5], [46.5, 45.5])       # a test's points lost
    assert not bench.same_points([46.5], [46.5, 46.5])             # a run missing


def test_training_floor_is_reference_over_inlined_and_fused_is_information():
    def train(inlined, fused):
        return {"train": {"status": "ok", "rows": [], "data": {"aggregate": {
            "reference_over_inlined_time": inlined, "reference_over_fused_time": fused,
            "inlined_over_fused_time": fused / inlined}}}}

    def met(sections):
        return {f["path"]: f["met"] for f in bench_report.evaluate(sections)
                if f["section"] == "train" and f["path"] != "aggregate.torch_over_reference_time"}

    assert met(train(1.13, 1.9)) == {"aggregate.reference_over_inlined_time": True}
    assert met(train(1.2, 1.9)) == {"aggregate.reference_over_inlined_time": True}   # <= 1.2
    assert met(train(1.25, 1.3)) == {"aggregate.reference_over_inlined_time": False}
    sections = train(1.13, 1.9)
    floors, info = bench_report.evaluate(sections), bench_report.information(sections)
    assert [i["value"] for i in info if i["section"] == "train"] == [1.9, pytest.approx(1.9 / 1.13)]
    assert {i["value"] for i in info if i["section"] != "train"} == {None}   # not measured
    table = bench_report.format_table(sections, floors)
    assert "met          reference training time / inlined contract loop's: 1.13 x (floor <= 1.2 x)" in table
    assert "(no floor)   reference training time / hand-fused NumPy loop's: 1.9 x" in table
    markdown = bench_report.format_markdown(floors, info).splitlines()
    assert markdown[:2] == ["| measure | value | floor | |", "| --- | --- | --- | --- |"]
    assert "| reference training time / inlined contract loop's | 1.13 x | <= 1.2 x | met |" in markdown
    assert "| reference training time / hand-fused NumPy loop's | 1.9 x | none | information |" in markdown
    assert "| make grade on the solution | - | < 5 s | not measured |" in markdown


def test_intake_section_finds_the_homework_in_uploads_that_are_mostly_litter():
    result = bench.bench_intake(bench.PROFILES["smoke"])
    data = result["data"]
    assert data["files"] == 300 and len(result["rows"]) == 2
    for key in ("folder", "long_names"):
        assert data[key]["all_found"] and data[key]["seconds"] > 0, data[key]
    assert data["folder"]["notes"] == ["Skipped as not part of the homework: `.venv`"]
