"""Benchmarks of the autograder and of the reference solution (`make bench`).

    python -m tools.bench [--quick | --profile {full,quick,smoke}] [--only SECTION,...]
                          [--out dist/bench.json]

Sections, in this order (each figure is a median over several runs; each comparison is a
ratio of runs made side by side, interleaved round-robin, in this same run):
  autograde  `python -m engine.autograde --submission solution`: wall time on all cores and
             pinned to one core, peak memory of its whole process tree (tools/bench_proc.py)
  sandbox    the whole suite on the solution with the sandboxed worker vs an in-process
             stand-in that serves the same requests (tools/bench_inprocess.py)
  roundtrip  one remote call with small arrays (median, p99), and a worker's start
  train      reference training throughput on the pocket datasets vs the contract's steps
             inlined in one loop (the floor), a hand-fused NumPy loop (information), PyTorch and
             scikit-learn (tools/bench_train.py; absent comparators are skipped)
  gradcheck  per-coordinate vs random-direction gradient checks of a growing Linear
  grade      `make grade` on the skeleton and on the solution
  intake     reading a folder of 100,000 files (mostly a .venv) and a zip with 65,000-character
             names (tools/bench_intake.py)
  timeouts   autograde of a submission whose every function loops forever, on one core
             (tests/hostile/corpus.py all_loops; once, whatever the profile)
The table goes to stdout, progress to stderr, every figure to --out (JSON), and the floors of
tools/bench_report.py are checked. The profiles: full (5 runs per figure, all epochs), quick
(3 runs, at most 20 epochs, smaller sizes), smoke (1 run, tiny sizes: for tests/test_bench.py).
Exit code 1 if a section failed; a missed floor is reported, not an error. Computed floats
are never compared bit for bit (NumPy's last bits change with the CPU): losses to
bench_train.LOSS_RTOL, scores to POINTS_TOL; counts exactly.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

from tools import bench_report, bench_train
from tools.bench_inprocess import ROOT
from tools.bench_proc import run_measured
from tools.bench_stats import interleaved, median, paired_ratio, summary, timed

SOLUTION = ROOT / "solution"
MB = 1 << 20
BUSY_LOAD = 0.5  # load average per core above which the report warns that timings are inflated
POINTS_TOL = 1e-5  # scores: results.json rounds points to 1e-6; a test's points are far more


@dataclasses.dataclass(frozen=True)
class Profile:
    """How much to measure: runs per figure, warm-up runs, and the sizes of the workloads."""

    name: str
    repeats: int
    warmup: int
    epochs_cap: int | None
    grad_sizes: tuple
    round_trips: int
    restarts: int
    intake_files: int = 100_000


PROFILES = {
    "full": Profile("full", repeats=5, warmup=1, epochs_cap=None, grad_sizes=(2, 4, 8, 16, 32),
                    round_trips=2000, restarts=5),
    "quick": Profile("quick", repeats=3, warmup=1, epochs_cap=20, grad_sizes=(2, 4, 8, 16),
                     round_trips=300, restarts=3, intake_files=20_000),
    "smoke": Profile("smoke", repeats=1, warmup=0, epochs_cap=1, grad_sizes=(2, 3),
                     round_trips=20, restarts=1, intake_files=300),
}


def command_env() -> dict:
    """The environment `make` gives its commands (PYTHONPATH), without an outer make's flags."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "autograder"), str(ROOT)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _spread(samples: list[float], unit: str = "s", scale: float = 1.0) -> str:
    s = summary([x * scale for x in samples])
    if s["n"] == 1:
        return f"{s['median']:.3g} {unit} (1 run)"
    return f"{s['median']:.3g} {unit} (min {s['min']:.3g}, max {s['max']:.3g}; {s['n']} runs)"


def _checked(run, what: str):
    if run.returncode != 0:
        raise RuntimeError(f"{what} exited with {run.returncode}:\n{run.output_tail[-2000:]}")
    return run


# ---------------------------------------------------------------- 1. autograde

def bench_autograde(p: Profile) -> dict:
    core = min(os.sched_getaffinity(0))
    out = Path(tempfile.mkdtemp(prefix="bench-autograde-"))

    def contestant(cpus):
        def run():
            results = out / "results.json"
            results.unlink(missing_ok=True)
            r = _checked(run_measured([sys.executable, "-m", "engine.autograde", "--submission",
                                       str(SOLUTION), "--results", str(results)],
                                      cwd=ROOT, env=command_env(), cpus=cpus), "engine.autograde")
            graded = json.loads(results.read_text())
            return r, (graded["score"], sum(t["max_score"] for t in graded["tests"]))
        return run
    try:
        runs = interleaved({"all_cores": contestant(None), "one_core": contestant({core})},
                           p.repeats, p.warmup)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    data, rows = {}, []
    for mode, label in (("all_cores", f"all {len(os.sched_getaffinity(0))} cores"),
                        ("one_core", f"pinned to core {core}")):
        secs = [r.seconds for r, _ in runs[mode]]
        cpu = [r.cpu_seconds for r, _ in runs[mode]]
        data[mode] = {"seconds": median(secs), "seconds_all": secs, "cpu_seconds": median(cpu),
                      "scores": [score for _, score in runs[mode]]}
        rows.append([f"wall time, {label}", _spread(secs)])
        rows.append(["  CPU time of the process tree", _spread(cpu)])
    data["one_core_over_all_cores"] = paired_ratio(data["one_core"]["seconds_all"],
                                                   data["all_cores"]["seconds_all"])
    every = [r for rs in runs.values() for r, _ in rs]
    peak = max(every, key=lambda r: r.tree_peak_bytes)
    data["memory"] = {"tree_peak_mb": peak.tree_peak_bytes / MB,
                      "rss_sum_peak_mb": [r.rss_peak / MB for r in every],
                      "pss_sum_peak_mb": [r.pss_peak / MB for r in every],
                      "largest_process_mb": max(r.max_single_rss for r in every) / MB,
                      "at_peak": [[label, rss / MB] for label, rss in peak.peak_breakdown]}
    scores = sorted({f"{score:g}" for rs in runs.values() for _, (score, _) in rs}, key=float)
    out_of = runs["all_cores"][0][1][1]
    rows += [["one core / all cores", f"{data['one_core_over_all_cores']:.2f}x"],
             ["peak memory, tree RSS sum (max of runs)", f"{peak.tree_peak_bytes / MB:.0f} MB"],
             ["peak memory, tree PSS sum", _spread(data["memory"]["pss_sum_peak_mb"], "MB")],
             ["largest single process (ru_maxrss)", f"{data['memory']['largest_process_mb']:.0f} MB"],
             ["at the peak", "; ".join(f"{label.split(' --')[0]} {mb:.0f} MB"
                                       for label, mb in data["memory"]["at_peak"])],
             ["score of the solution (every run)", " or ".join(scores)
              + f" / {out_of:g}"]]
    return {"rows": rows, "data": data}


# ---------------------------------------------------------------- 2. sandbox

def same_points(a: list[float], b: list[float]) -> bool:
    """Two runs' lists of scores agree, score by score, to POINTS_TOL."""
    return len(a) == len(b) and all(abs(x - y) <= POINTS_TOL for x, y in zip(a, b))


def bench_sandbox(p: Profile) -> dict:
    def contestant(mode, layers_off=""):
        def run():
            env = {**command_env(), "AUTOGRADER_ISOLATION_OFF": layers_off}
            r = _checked(run_measured([sys.executable, "-m", "tools.bench_inprocess", "--mode", mode],
                                      cwd=ROOT, env=env), f"tools.bench_inprocess {mode}")
            line = [ln for ln in r.output_tail.splitlines() if ln.startswith("{")][-1]
            return r, json.loads(line)
        return run
    runs = interleaved({"sandbox": contestant("sandbox"), "inprocess": contestant("inprocess"),
                        "bare": contestant("sandbox", "landlock,namespaces")},
                       p.repeats, p.warmup)
    data, rows = {}, []
    for mode, label in (("sandbox", "sandboxed worker"), ("inprocess", "in-process (unsandboxed)"),
                        ("bare", "sandboxed worker without Landlock and namespaces")):
        session = [info["seconds"] for _, info in runs[mode]]
        data[mode] = {"session_seconds": median(session), "session_seconds_all": session,
                      "process_seconds_all": [r.seconds for r, _ in runs[mode]],
                      "cpu_seconds_all": [r.cpu_seconds for r, _ in runs[mode]],
                      "rss_peak_mb": median([r.rss_peak / MB for r, _ in runs[mode]]),
                      "scores": [info["score"] for _, info in runs[mode]],
                      "passed": [info["passed"] for _, info in runs[mode]],
                      "tests": runs[mode][0][1]["tests"]}
        rows.append([f"suite session, {label}", _spread(session)])
    data["ratio"] = paired_ratio(data["sandbox"]["session_seconds_all"],
                                 data["inprocess"]["session_seconds_all"])
    data["ratio_whole_process"] = paired_ratio(data["sandbox"]["process_seconds_all"],
                                               data["inprocess"]["process_seconds_all"])
    data["ratio_cpu"] = paired_ratio(data["sandbox"]["cpu_seconds_all"],
                                     data["inprocess"]["cpu_seconds_all"])
    data["same_scores"] = (data["sandbox"]["passed"] == data["inprocess"]["passed"]
                           and same_points(data["sandbox"]["scores"], data["inprocess"]["scores"]))
    data["requests"] = runs["inprocess"][0][1]["requests"]
    data["layers_ratio"] = paired_ratio(data["sandbox"]["session_seconds_all"],
                                        data["bare"]["session_seconds_all"])
    data["same_scores"] = data["same_scores"] and same_points(data["sandbox"]["scores"],
                                                              data["bare"]["scores"])
    rows += [["sandboxed / in-process (session)", f"{data['ratio']:.2f}x"],
             ["with Landlock and namespaces / without them (session)",
              f"{data['layers_ratio']:.2f}x (information)"],
             ["sandboxed / in-process (whole process)", f"{data['ratio_whole_process']:.2f}x"],
             ["sandboxed / in-process (CPU time of the tree)", f"{data['ratio_cpu']:.2f}x"],
             ["memory (RSS sum): sandboxed, in-process",
              f"{data['sandbox']['rss_peak_mb']:.0f} MB, {data['inprocess']['rss_peak_mb']:.0f} MB"],
             ["remote calls in one session", f"{data['requests']}"],
             ["scores", f"{data['sandbox']['scores']} vs {data['inprocess']['scores']} "
              f"({data['sandbox']['tests']} tests)" + ("" if data["same_scores"] else " DIFFER")]]
    return {"rows": rows, "data": data}


# ---------------------------------------------------------------- 3. round trip

def bench_roundtrip(p: Profile) -> dict:
    from tools.bench_remote import open_sandbox, round_trips, solution_copy
    with solution_copy() as root:
        sandboxes = {}
        try:
            for kind in ("sandbox", "inprocess", "bare"):
                sandboxes[kind] = open_sandbox(kind, root)
            layers = sandboxes["sandbox"].confinement
            data = round_trips({k: sandboxes[k] for k in ("sandbox", "inprocess")}, p.round_trips)
            starts = {"sandbox": [], "bare": []}
            for _ in range(p.restarts):   # side by side, alternating
                for kind, times in starts.items():
                    sandboxes[kind].restart()
                    times.append(sandboxes[kind].last_start_seconds)
        finally:
            for sb in sandboxes.values():
                sb.close()
    data["worker_start_seconds"] = median(starts["sandbox"])
    data["worker_start_seconds_bare"] = median(starts["bare"])
    data["layers"] = layers
    rows = []
    for name, what in (("echo", "echo of a (4, 3) array"), ("forward", "Linear.forward of (16, 2)")):
        for kind in ("sandbox", "inprocess"):
            f = data[kind][name]
            rows.append([f"{what}, {kind}", f"median {f['median_us']:.0f} us, p99 {f['p99_us']:.0f} us "
                         f"({f['n']} calls)"])
    rows.append(["worker start (Sandbox.restart)", _spread(starts["sandbox"], "ms", 1e3)])
    rows.append(["worker start without Landlock and namespaces", _spread(starts["bare"], "ms", 1e3)])
    rows.append(["kernel layers of the worker", "; ".join(f"{k}: {v}" for k, v in layers.items())])
    return {"rows": rows, "data": data}


# ---------------------------------------------------------------- 4. training

def bench_train_section(p: Profile) -> dict:
    ref = bench_train.load_reference()
    tasks = bench_train.load_tasks(ref, p.epochs_cap)
    available, skipped = bench_train.runners(ref)
    names = list(available)
    totals = {name: [0.0] * p.repeats for name in names}
    per_task, rows = {}, []
    for task in tasks:
        histories = {}

        def contestant(name, task=task, histories=histories):
            return timed(lambda: histories.__setitem__(name, available[name](task)))
        samples = interleaved({name: contestant(name) for name in names}, p.repeats, p.warmup)
        for name in names:
            for i, seconds in enumerate(samples[name]):
                totals[name][i] += seconds
        rates = {name: task.steps / median(samples[name]) for name in names}
        match = {name: bench_train.max_rel_diff(histories["reference"], histories[name])
                 for name in ("fused", "inlined", "torch") if name in histories}
        per_task[task.name] = {"hidden": task.hidden, "batch_size": task.batch_size,
                               "epochs": task.epochs, "steps": task.steps,
                               "steps_per_second": rates, "loss_max_rel_diff": match,
                               "reference_full_run_seconds": task.full_steps / rates["reference"]}
        rows.append([f"{task.name} (h={task.hidden}, batch {task.batch_size}), steps/s",
                     ", ".join(f"{n} {r:,.0f}" for n, r in rates.items())])
    steps = sum(t.steps for t in tasks)
    agg = {"steps_per_second": {n: steps / median(totals[n]) for n in names},
           "reference_over_fused_time": paired_ratio(totals["reference"], totals["fused"]),
           "reference_over_inlined_time": paired_ratio(totals["reference"], totals["inlined"]),
           "inlined_over_fused_time": paired_ratio(totals["inlined"], totals["fused"])}
    for other in ("torch", "sklearn"):
        if other in totals:
            agg[f"{other}_over_reference_time"] = paired_ratio(totals[other], totals["reference"])
    budgets = bench_train.time_budgets()
    worst = min(budgets[n] / t["reference_full_run_seconds"] for n, t in per_task.items())
    same = all(d <= bench_train.LOSS_RTOL
               for t in per_task.values() for d in t["loss_max_rel_diff"].values())
    drift = max((d for t in per_task.values() for d in t["loss_max_rel_diff"].values()), default=0.0)
    rows += [["all four, steps/s", ", ".join(f"{n} {r:,.0f}" for n, r in agg["steps_per_second"].items())],
             ["reference time / inlined contract loop time",
              f"{agg['reference_over_inlined_time']:.2f}x (the modules' Python structure)"],
             ["reference time / hand-fused NumPy time",
              f"{agg['reference_over_fused_time']:.2f}x (information, no floor)"],
             ["  inlined / fused: the contract's separate steps",
              f"{agg['inlined_over_fused_time']:.2f}x"]]
    rows += [[f"{o} time / reference time", f"{agg[f'{o}_over_reference_time']:.2f}x"]
             for o in ("torch", "sklearn") if f"{o}_over_reference_time" in agg]
    rows += [[f"{name}: skipped", why] for name, why in skipped.items()]
    compared = ", ".join(n for n in names if n not in ("reference", "sklearn"))
    rows += [["same epoch losses as the reference",
              f"{compared}: yes (largest rel. diff {drift:.1e} <= {bench_train.LOSS_RTOL:g})" if same
              else "NO: " + json.dumps({n: t["loss_max_rel_diff"] for n, t in per_task.items()})],
             ["time budget / reference's full training", f"at least {worst:.0f}x (SPEC: >= 20x)"]]
    return {"rows": rows, "data": {"epochs_cap": p.epochs_cap, "tasks": per_task, "aggregate": agg,
                                   "skipped": skipped, "same_losses": same,
                                   "loss_rtol": bench_train.LOSS_RTOL, "loss_max_rel_diff": drift,
                                   "min_budget_over_reference": worst,
                                   "versions": _versions(names)}}


def _versions(names: list[str]) -> dict:
    found = {"numpy": np.__version__}
    for name, module in (("torch", "torch"), ("sklearn", "sklearn")):
        if name in names:
            found[name] = sys.modules[module].__version__
    return found


# ---------------------------------------------------------------- 5. gradient checks

def bench_gradcheck(p: Profile) -> dict:
    from tools.bench_gradcheck import check_costs
    from tools.bench_remote import open_sandbox, solution_copy
    with solution_copy() as root:
        sb = open_sandbox("sandbox", root)
        try:
            sizes = check_costs(sb, p.grad_sizes, p.repeats)
        finally:
            sb.close()
    rows = []
    for row in sizes:
        pc, dr = row["per_coordinate"], row["directional"]
        rows.append([f"Linear({row['n']}, {row['n']}): {row['params']} weights",
                     f"per-coordinate {pc['seconds'] * 1e3:.1f} ms ({pc['evaluations']} evals), "
                     f"directional {dr['seconds'] * 1e3:.1f} ms ({dr['evaluations']} evals)"])
    growth = {m: sizes[-1][m]["seconds"] / sizes[0][m]["seconds"]
              for m in ("per_coordinate", "directional")}
    rows.append([f"cost at {sizes[-1]['params']} / at {sizes[0]['params']} weights",
                 f"per-coordinate {growth['per_coordinate']:.1f}x, directional "
                 f"{growth['directional']:.2f}x"])
    worst = max(row[m]["rel_error"] for row in sizes for m in growth)
    rows.append(["largest relative error vs backward", f"{worst:.1e}"])
    return {"rows": rows, "data": {"sizes": sizes, "growth": growth, "max_rel_error": worst}}


# ---------------------------------------------------------------- 6. make grade

def grade_command(submission: str) -> list[str]:
    if shutil.which("make"):
        return ["make", "-s", "--no-print-directory", "grade", f"SUBMISSION={submission}"]
    return [sys.executable, "-m", "engine.grade", "--submission", submission, "--suite",
            "autograder/suite", "--public-only"]


def bench_grade(p: Profile) -> dict:
    def contestant(submission):
        return lambda: _checked(run_measured(grade_command(submission), cwd=ROOT, env=command_env()),
                                " ".join(grade_command(submission)))
    runs = interleaved({s: contestant(s) for s in ("assignment", "solution")}, p.repeats, p.warmup)
    data, rows = {"command": grade_command("DIR")}, []
    for submission, rs in runs.items():
        secs = [r.seconds for r in rs]
        total = re.search(r"Total[^:]*: ([\d.]+) / ([\d.]+) points", rs[-1].output_tail)
        data[submission] = {"seconds": median(secs), "seconds_all": secs,
                            "cpu_seconds": median([r.cpu_seconds for r in rs]),
                            "rss_peak_mb": median([r.rss_peak / MB for r in rs]),
                            "points": total.group(0) if total else None}
        rows.append([f"make grade SUBMISSION={submission}", _spread(secs)
                     + (f"; {total.group(1)} / {total.group(2)} points" if total else "")])
        rows.append(["  CPU time of its process tree", _spread([r.cpu_seconds for r in rs])])
    return {"rows": rows, "data": data}


# ---------------------------------------------------------------- 7. intake

def bench_intake(p: Profile) -> dict:
    from tools.bench_intake import LONG_NAME, measure
    runs = [measure(p.intake_files) for _ in range(max(p.repeats // 2, 1))]
    data = {"files": p.intake_files}
    rows = []
    for key, label in (("folder", f"folder of {p.intake_files:,} files (90% a .venv)"),
                       ("long_names", f"zip with five names of {LONG_NAME:,} characters")):
        secs = [r[key]["seconds"] for r in runs]
        found = all(r[key]["all_found"] for r in runs)
        data[key] = {"seconds": median(secs), "seconds_all": secs, "all_found": found,
                     "cpu_seconds": median([r[key]["cpu_seconds"] for r in runs]),
                     "notes": runs[-1][key]["notes"]}
        rows.append([f"intake of a {label}", _spread(secs)
                     + ("; all files found" if found else "; FILES MISSED")])
    return {"rows": rows, "data": data}


# ---------------------------------------------------------------- 8. timeouts

def bench_timeouts(p: Profile) -> dict:
    """`engine.autograde` of the submission whose every function loops forever, pinned to one
    core, once (each call times out; what timed out is not called again)."""
    from tests.hostile.corpus import all_loops
    core = min(os.sched_getaffinity(0))
    out = Path(tempfile.mkdtemp(prefix="bench-timeouts-"))
    try:
        upload = all_loops(out / "upload", "bench")
        for path in [out, *out.rglob("*")]:     # readable by the worker's account, as root
            path.chmod(0o755 if path.is_dir() else 0o644)
        results = out / "results.json"
        r = _checked(run_measured([sys.executable, "-m", "engine.autograde", "--submission",
                                   str(upload), "--results", str(results)],
                                  cwd=ROOT, env=command_env(), cpus={core}), "engine.autograde")
        tests = json.loads(results.read_text())["tests"]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    timed_out = sum("the call did not finish within" in t["output"] for t in tests)
    refused = sum("is not called again in this grading" in t["output"] for t in tests)
    not_run = sum("time budget ran out" in t["output"] or "grading stopped" in t["output"]
                  for t in tests)
    data = {"seconds": r.seconds, "cpu_seconds": r.cpu_seconds, "tests": len(tests),
            "timed_out": timed_out, "refused": refused, "not_run": not_run}
    rows = [[f"autograde of a submission whose every function loops, core {core}",
             f"{r.seconds:.1f} s; {len(tests)} tests listed, {not_run} not run"],
            ["  calls that ran into their timeout / tests refused at once",
             f"{timed_out} / {refused}"]]
    return {"rows": rows, "data": data}


SECTIONS = {
    "autograde": ("1. Full autograde of the solution", bench_autograde),
    "sandbox": ("2. Sandbox cost: the whole suite, sandboxed vs in-process", bench_sandbox),
    "roundtrip": ("3. One remote call round trip", bench_roundtrip),
    "train": ("4. Training throughput on the pocket datasets", bench_train_section),
    "gradcheck": ("5. Gradient-check cost for a growing Linear layer", bench_gradcheck),
    "grade": ("6. make grade", bench_grade),
    "intake": ("7. Intake of uploads that are mostly not homework", bench_intake),
    "timeouts": ("8. A submission whose every function loops forever", bench_timeouts),
}


def run_section(name: str, profile: Profile) -> dict:
    title, fn = SECTIONS[name]
    began = time.perf_counter()
    try:
        result = {"title": title, "status": "ok", **fn(profile)}
    except Exception as exc:  # one broken section must not hide the others' figures
        result = {"title": title, "status": "failed", "reason": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()}
    result["bench_seconds"] = time.perf_counter() - began
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="same as --profile quick")
    parser.add_argument("--profile", choices=sorted(PROFILES), default=None)
    parser.add_argument("--only", help=f"comma-separated sections among {', '.join(SECTIONS)}")
    parser.add_argument("--out", default=str(ROOT / "dist" / "bench.json"))
    args = parser.parse_args(argv)
    if args.quick and args.profile not in (None, "quick"):
        parser.error("--quick contradicts --profile " + args.profile)
    profile = PROFILES[args.profile or ("quick" if args.quick else "full")]
    names = args.only.split(",") if args.only else list(SECTIONS)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose among {', '.join(SECTIONS)}")
    meta = {"profile": dataclasses.asdict(profile), "python": platform.python_version(),
            "platform": platform.platform(), "cpus": os.cpu_count(),
            "affinity": sorted(os.sched_getaffinity(0)), "load_average_start": os.getloadavg(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    sections = {}
    for name in names:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        sections[name] = run_section(name, profile)
        print(f"[bench] {name}: {sections[name]['status']} in "
              f"{sections[name]['bench_seconds']:.1f} s", file=sys.stderr, flush=True)
    meta["load_average_end"] = os.getloadavg()
    floors = bench_report.evaluate(sections)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "sections": sections, "floors": floors}, indent=1))
    print(bench_report.format_table(sections, floors))
    print(f"\n(load average {meta['load_average_start'][0]:.2f} at the start, "
          f"{meta['load_average_end'][0]:.2f} at the end; figures in {out})")
    busy = max(meta["load_average_start"][0], meta["load_average_end"][0])
    if busy > BUSY_LOAD * len(meta["affinity"]):
        print(f"WARNING: the machine was busy (load {busy:.1f} on {len(meta['affinity'])} cores): "
              "wall times are inflated by other jobs; the CPU times are the steadier figures.")
    return 1 if any(s["status"] == "failed" for s in sections.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
