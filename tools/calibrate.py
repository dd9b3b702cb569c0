"""Calibrate the accuracy thresholds of the four pocket datasets from the reference solution.

For each dataset of solution/backprop/data.py this trains, on the shipped train split, exactly
what the autograder trains (SPEC, "Files students fill besides code"):

    model = build_mlp(2, [h], 1, activation="sigmoid", output="sigmoid", init=init, seed=seed)
    train(model, BinaryCrossEntropy(), X_train, y_train, epochs, learning_rate, batch_size, seed=seed)

- the reference: h from the slides, settings from solution/hyperparams.toml;
- baselines: logistic regression (no hidden layer) and networks with too few hidden units, each
  with the reference's epochs and batch size, the reference's learning rate times 1/4, 1 and 4,
  and seeds 0 and 1;

then measures every model's accuracy on N_TEST fresh points from each calibration seed
(``generate(name, N_TEST, seed)``). The grading seed, the one the autograder uses, is the first.

The rule: threshold = (min over the calibration seeds of the reference's accuracy) - MARGIN,
rounded down to 0.01; it must be at least MIN_GAP above the best accuracy any baseline reaches
on any calibration seed, otherwise calibration fails.

Outputs (``--write``), both pure functions of the seeds and settings (no timings, no dates):
- solution/calibration.toml (hidden): the grading seed and the provenance of each threshold;
- autograder/suite/thresholds.toml (public): threshold, n_test, time budget, hidden units,
  and the bounds the autograder enforces on hyperparams.toml.
``--write`` first regenerates the shipped CSVs from data.SPLIT_SEEDS and rewrites those that
differ beyond POINT_TOL (another CPU or libm may change generate()'s last bits: the committed
files stay the truth then, see ``sync_datasets``).

The time budgets are constants (TIME_BUDGET_SECONDS), chosen once from the measured training
times; every run prints the measured times and warns when a budget is under MIN_BUDGET_RATIO
times the reference's time.

Usage:
    python -m tools.calibrate               # print the figures for all 50 calibration seeds
    python -m tools.calibrate --seeds 5     # only the first 5 calibration seeds (a quick look)
    python -m tools.calibrate --write       # all seeds, then write the two TOML files
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_DIR = ROOT / "solution"
HYPERPARAMS = SOLUTION_DIR / "hyperparams.toml"
CALIBRATION = SOLUTION_DIR / "calibration.toml"
THRESHOLDS = ROOT / "autograder" / "suite" / "thresholds.toml"
REFERENCE_PACKAGE = "solution_backprop"  # the name tests/conftest.py uses too

GRADING_SEED = 52_718_406
CALIBRATION_SEEDS = tuple(range(GRADING_SEED, GRADING_SEED + 50))  # the grading seed first
N_TEST = 1000
MARGIN = 0.03
MIN_GAP = 0.05

HIDDEN_UNITS = {"diagonal_band": 2, "one_pocket": 3, "four_gaussians": 2, "two_pockets": 10}
TOO_FEW_UNITS = {"diagonal_band": (1,), "one_pocket": (1, 2), "four_gaussians": (1,),
                 "two_pockets": (2, 3, 4)}
BASELINE_LR_FACTORS = (0.25, 1.0, 4.0)
BASELINE_SEEDS = (0, 1)

# Measured reference training times on the development machine (2 cores), in seconds:
# diagonal_band 0.15, one_pocket 0.15, four_gaussians 0.16, two_pockets 0.46. Budgets are about
# 40 to 65 times those, so a correct but loop-based solution on a slower grader still fits.
TIME_BUDGET_SECONDS = {"diagonal_band": 10, "one_pocket": 10, "four_gaussians": 10, "two_pockets": 20}
MIN_BUDGET_RATIO = 20

# The shipped CSVs against generate(): labels, shapes exact; points (all in [-1, 1]) within this.
# generate()'s floats may differ in the last bit across CPUs and libm (rng.normal's tails go through
# log/exp), i.e. by ~1e-16; 1e-12 is far below anything training or an accuracy could notice.
POINT_TOL = 1e-12

N_TRAIN = 500
BOUNDS = {
    "learning_rate": (0.0001, 100.0),
    "epochs": (1, 2000),
    "batch_size": (1, N_TRAIN),
    "init": ("xavier", "uniform", "zero"),
    "seed": (0, 2**31 - 1),
    "max_sgd_steps": 50_000,
}


class CalibrationError(RuntimeError):
    """The figures do not support a threshold by the rule (or the inputs are inconsistent)."""


@dataclass(frozen=True)
class DatasetCalibration:
    """Accuracies of one dataset's models on each calibration seed (lists in seed order)."""

    name: str
    seeds: tuple[int, ...]
    reference: tuple[float, ...]   # the tuned reference network
    too_few: tuple[float, ...]     # best of the too-few-units networks, per seed
    logistic: tuple[float, ...]    # best of the logistic regressions, per seed
    train_seconds: float = 0.0     # the reference's training time (printed, never written)


def load_reference(solution_dir=SOLUTION_DIR):
    """The reference package, imported as ``solution_backprop``; returns its data, losses, mlp."""
    if REFERENCE_PACKAGE not in sys.modules:
        init = Path(solution_dir) / "backprop" / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            REFERENCE_PACKAGE, init, submodule_search_locations=[str(init.parent)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[REFERENCE_PACKAGE] = package
        spec.loader.exec_module(package)
    return SimpleNamespace(**{name: importlib.import_module(f"{REFERENCE_PACKAGE}.{name}")
                              for name in ("data", "losses", "mlp")})


def dataset_difference(X, y, X_ref, y_ref, tol=POINT_TOL):
    """None if (X, y) is the dataset (X_ref, y_ref): float64 points of the same shape within tol,
    labels equal; else what differs (a sentence)."""
    X, y, X_ref, y_ref = (np.asarray(v) for v in (X, y, X_ref, y_ref))
    if X.shape != X_ref.shape or y.shape != y_ref.shape or X.dtype != np.float64:
        return f"shapes {X.shape} {y.shape} ({X.dtype}) instead of {X_ref.shape} {y_ref.shape}"
    if not np.array_equal(y, y_ref):
        return f"{int(np.sum(y != y_ref))} labels differ"
    error = float(np.max(np.abs(X - X_ref), initial=0.0))
    if not error <= tol:
        return f"points differ by up to {error:.3g} (tolerance {tol:g})"
    return None


def sync_datasets(data, folder=None):
    """Regenerate every shipped CSV (data.write_datasets) and replace, in folder (default
    data.DATA_DIR), only the files that are missing or differ by ``dataset_difference``.
    Returns the names of the files replaced."""
    folder = Path(folder or data.DATA_DIR)
    replaced = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in data.write_datasets(tmp):
            shipped = folder / path.name
            try:
                problem = dataset_difference(*data.read_csv(path), *data.read_csv(shipped))
            except (OSError, ValueError) as exc:
                problem = str(exc)
            if problem is not None:
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, shipped)
                replaced.append(path.name)
    return replaced


def read_toml(path):
    """Parse a TOML file into a dict."""
    with open(path, "rb") as f:
        return tomllib.load(f)


def sgd_steps(settings, n_train=N_TRAIN):
    """The number of SGD updates of train(): epochs * ceil(n_train / batch_size)."""
    return settings["epochs"] * math.ceil(n_train / settings["batch_size"])


def check_settings(name, settings, bounds=BOUNDS):
    """Raise CalibrationError unless a hyperparams table respects the public bounds."""
    for key in ("learning_rate", "epochs", "batch_size", "seed"):
        low, high = bounds[key]
        if not low <= settings[key] <= high:
            raise CalibrationError(f"[{name}] {key} = {settings[key]} is outside [{low}, {high}]")
    if settings["init"] not in bounds["init"]:
        raise CalibrationError(f"[{name}] init = {settings['init']!r} is not one of {bounds['init']}")
    if sgd_steps(settings) > bounds["max_sgd_steps"]:
        raise CalibrationError(f"[{name}] {sgd_steps(settings)} SGD steps exceed {bounds['max_sgd_steps']}")


def train_model(ref, X, y, hidden, settings):
    """Train as the autograder does; hidden is a list of widths ([] = logistic regression)."""
    model = ref.mlp.build_mlp(2, list(hidden), 1, activation="sigmoid", output="sigmoid",
                              init=settings["init"], seed=settings["seed"])
    ref.mlp.train(model, ref.losses.BinaryCrossEntropy(), X, y, settings["epochs"],
                  settings["learning_rate"], settings["batch_size"], seed=settings["seed"])
    return model


def baseline_settings(settings):
    """The settings each baseline is trained with: the reference's epochs and batch size,
    its learning rate times each of BASELINE_LR_FACTORS, and each of BASELINE_SEEDS."""
    return [dict(settings, learning_rate=settings["learning_rate"] * factor, seed=seed)
            for factor in BASELINE_LR_FACTORS for seed in BASELINE_SEEDS]


def calibrate_dataset(ref, name, settings, seeds=CALIBRATION_SEEDS, n_test=N_TEST):
    """Train the reference and the baselines of one dataset; accuracies on each seed's fresh points."""
    X_train, y_train, _, _ = ref.data.load(name)
    start = time.perf_counter()
    reference = train_model(ref, X_train, y_train, [HIDDEN_UNITS[name]], settings)
    seconds = time.perf_counter() - start
    too_few = [train_model(ref, X_train, y_train, [h], s)
               for h in TOO_FEW_UNITS[name] for s in baseline_settings(settings)]
    logistic = [train_model(ref, X_train, y_train, [], s) for s in baseline_settings(settings)]
    rows = {"reference": [], "too_few": [], "logistic": []}
    for seed in seeds:
        X, y = ref.data.generate(name, n_test, seed)
        acc = [float((ref.mlp.predict(m, X) == y).mean()) for m in [reference, *too_few, *logistic]]
        rows["reference"].append(acc[0])
        rows["too_few"].append(max(acc[1:1 + len(too_few)]))
        rows["logistic"].append(max(acc[1 + len(too_few):]))
    return DatasetCalibration(name, tuple(seeds), *(tuple(rows[k]) for k in rows), seconds)


def threshold_for(cal, margin=MARGIN, min_gap=MIN_GAP):
    """The rule: floor to 0.01 of (min reference accuracy - margin), checked against the baselines."""
    threshold = math.floor(round((min(cal.reference) - margin) * 100, 6)) / 100
    best_baseline = max(max(cal.too_few), max(cal.logistic))
    if threshold < best_baseline + min_gap - 1e-9:
        raise CalibrationError(
            f"{cal.name}: threshold {threshold:.2f} is not {min_gap} above the best baseline "
            f"{best_baseline:.3f}; the dataset or the reference's settings need work")
    return threshold


def _toml_list(values, per_line=10, indent="    "):
    """A TOML array of numbers or strings, wrapped per_line items to a line."""
    items = [f'"{v}"' if isinstance(v, str) else repr(v) for v in values]
    if len(items) <= per_line:
        return "[" + ", ".join(items) + "]"
    lines = [indent + ", ".join(items[i:i + per_line]) + "," for i in range(0, len(items), per_line)]
    return "[\n" + "\n".join(lines) + "\n]"


def render_calibration(cals):
    """The text of solution/calibration.toml for a list of DatasetCalibration (all seeds)."""
    seeds = cals[0].seeds
    out = [
        "# HIDDEN (never shipped): the grading seed of the pocket datasets and the provenance",
        "# of their thresholds. Written by `python -m tools.calibrate --write`; do not edit.",
        "",
        "[grading]",
        "# The autograder draws its fresh test points with backprop.data.generate(name, n_test, seed).",
        f"seed = {seeds[0]}",
        f"n_test = {N_TEST}",
        "",
        "[rule]",
        'text = "threshold = floor to 0.01 of (min reference accuracy - margin), '
        'at least min_gap above the best baseline"',
        f"margin = {MARGIN!r}",
        f"min_gap = {MIN_GAP!r}",
        "",
        "[calibration]",
        "# Fresh test points from each seed (the grading seed first); baselines trained with the",
        "# reference's epochs and batch size, its learning rate times each factor, each seed.",
        f"seeds = {_toml_list(seeds)}",
        f"baseline_lr_factors = {_toml_list(BASELINE_LR_FACTORS)}",
        f"baseline_seeds = {_toml_list(BASELINE_SEEDS)}",
    ]
    for cal in cals:
        if cal.seeds != seeds:
            raise CalibrationError(f"{cal.name}: calibrated on other seeds than {cals[0].name}")
        out += [
            "",
            f"[datasets.{cal.name}]",
            f"hidden_units = {HIDDEN_UNITS[cal.name]}",
            f"threshold = {threshold_for(cal)!r}",
            f"reference_min = {min(cal.reference)!r}",
            f"reference_median = {statistics.median(cal.reference)!r}",
            f"reference_max = {max(cal.reference)!r}",
            f"reference_on_grading_seed = {cal.reference[0]!r}",
            f"too_few_units = {_toml_list(TOO_FEW_UNITS[cal.name])}",
            f"too_few_best = {max(cal.too_few)!r}",
            f"logistic_best = {max(cal.logistic)!r}",
            "# Accuracy per calibration seed: the reference, the best too-few-units network, the",
            "# best logistic regression.",
            f"reference = {_toml_list(cal.reference)}",
            f"too_few = {_toml_list(cal.too_few)}",
            f"logistic = {_toml_list(cal.logistic)}",
        ]
    return "\n".join(out) + "\n"


def render_thresholds(cals):
    """The text of autograder/suite/thresholds.toml (public) for a list of DatasetCalibration."""
    lr, ep, bs, seed = (BOUNDS[k] for k in ("learning_rate", "epochs", "batch_size", "seed"))
    out = [
        "# PUBLIC grading parameters of the pocket datasets (the handout restates them).",
        "# Written by `python -m tools.calibrate --write` from the reference's calibration; do not edit.",
        "#",
        "# For each dataset the autograder runs the student's code with the student's hyperparams.toml:",
        '#   model = build_mlp(2, [hidden_units], 1, activation="sigmoid", output="sigmoid", init=init, seed=seed)',
        "#   train(model, BinaryCrossEntropy(), X_train, y_train, epochs, learning_rate, batch_size, seed=seed)",
        "# on the shipped train split; train must finish within time_budget_seconds (wall clock), and",
        "# the accuracy on n_test fresh points from backprop.data.generate(name, n_test, <hidden seed>)",
        "# must be at least threshold.",
        "",
        "[bounds]",
        "# Inclusive ranges of the values of every hyperparams.toml table.",
        f"learning_rate = [{lr[0]!r}, {lr[1]!r}]  # a number (integer or float)",
        f"epochs = [{ep[0]}, {ep[1]}]  # an integer",
        f"batch_size = [{bs[0]}, {bs[1]}]  # an integer",
        f"init = {_toml_list(BOUNDS['init'])}  # one of these strings",
        f"seed = [{seed[0]}, {seed[1]}]  # an integer",
        "# The number of SGD updates, epochs * ceil(500 / batch_size), must not exceed this.",
        f"max_sgd_steps = {BOUNDS['max_sgd_steps']}",
    ]
    for cal in cals:
        out += [
            "",
            f"[datasets.{cal.name}]",
            f"hidden_units = {HIDDEN_UNITS[cal.name]}",
            f"threshold = {threshold_for(cal)!r}",
            f"n_test = {N_TEST}",
            f"time_budget_seconds = {TIME_BUDGET_SECONDS[cal.name]}",
        ]
    return "\n".join(out) + "\n"


def calibrate_all(ref, hyperparams, seeds=CALIBRATION_SEEDS):
    """DatasetCalibration for every dataset, in data.DATASETS order."""
    cals = []
    for name in ref.data.DATASETS:
        if name not in hyperparams:
            raise CalibrationError(f"{HYPERPARAMS} has no [{name}] table")
        check_settings(name, hyperparams[name])
        cals.append(calibrate_dataset(ref, name, hyperparams[name], seeds))
    return cals


def report(cals):
    """A human-readable table of the figures and the training times."""
    lines = [f"{'dataset':15s} {'h':>2s} {'ref min':>7s} {'median':>7s} {'too few':>7s} "
             f"{'logreg':>7s} {'thresh':>6s} {'train s':>7s} {'budget':>6s}"]
    for c in cals:
        budget = TIME_BUDGET_SECONDS[c.name]
        lines.append(f"{c.name:15s} {HIDDEN_UNITS[c.name]:2d} {min(c.reference):7.3f} "
                     f"{statistics.median(c.reference):7.3f} {max(c.too_few):7.3f} {max(c.logistic):7.3f} "
                     f"{threshold_for(c):6.2f} {c.train_seconds:7.2f} {budget:6d}")
        if budget < MIN_BUDGET_RATIO * c.train_seconds:
            lines.append(f"WARNING: {c.name}: budget {budget} s is under {MIN_BUDGET_RATIO} x "
                         f"{c.train_seconds:.2f} s; raise TIME_BUDGET_SECONDS (or rerun on an idle machine)")
    return "\n".join(lines)


def main(argv=None):
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tools.calibrate", description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=len(CALIBRATION_SEEDS),
                        help="use the first N calibration seeds (default: all)")
    parser.add_argument("--write", action="store_true",
                        help="rewrite the CSVs, then write calibration.toml and thresholds.toml")
    args = parser.parse_args(argv)
    if not 1 <= args.seeds <= len(CALIBRATION_SEEDS):
        parser.error(f"--seeds must be between 1 and {len(CALIBRATION_SEEDS)}")
    if args.write and args.seeds != len(CALIBRATION_SEEDS):
        parser.error("--write needs every calibration seed (leave out --seeds)")
    ref = load_reference()
    if args.write:
        replaced = sync_datasets(ref.data)
        print(f"rewrote {', '.join(replaced)}" if replaced else "the shipped CSVs agree with generate()")
    try:
        cals = calibrate_all(ref, read_toml(HYPERPARAMS), CALIBRATION_SEEDS[:args.seeds])
        print(report(cals))
        if args.write:
            calibration, thresholds = render_calibration(cals), render_thresholds(cals)
            CALIBRATION.write_text(calibration)
            THRESHOLDS.write_text(thresholds)
            print(f"wrote {CALIBRATION.relative_to(ROOT)} and {THRESHOLDS.relative_to(ROOT)}")
    except CalibrationError as e:
        print(f"calibration failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
