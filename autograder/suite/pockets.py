"""The pocket datasets: validate hyperparams.toml, train the student's network, score it ourselves.

Everything here except the training itself runs on the trusted side:
- hyperparams.toml is parsed and checked against thresholds.toml's [bounds] before any
  student code runs (types, inclusive ranges, allowed init strings, the cap on SGD steps);
- the training data are read from the provided CSV files and sent to the worker, which
  runs exactly build_mlp(2, [h], 1, "sigmoid", "sigmoid", init, seed) and train(...) with
  the student's settings, under the dataset's time budget;
- the trained weights come back as arrays and the accuracy is computed here with our own
  forward pass (never the student's predict) on test points the worker never sees;
- train sees a mirrored copy of the data (x2 -> -x2, MIRROR) and starts from build_mlp's
  weights mirrored to match. Sign flips are exact in floating point, so a train that learns
  from the data it is given ends at exactly its unmirrored run's weights, mirrored; we mirror
  them back. A train that ignores its data (memorised weights) fits the wrong orientation:
  none of the four datasets is symmetric under the mirror.
"""

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from engine.studentfiles import StudentFileError, read_toml_tables

DATASETS = ("diagonal_band", "one_pocket", "four_gaussians", "two_pockets")
KEYS = ("learning_rate", "epochs", "batch_size", "init", "seed")
MIRROR = np.array([1.0, -1.0])  # x2 -> -x2: flips the band, the pockets and the XOR of every dataset
SUITE = Path(__file__).resolve().parent


def load_toml(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def thresholds():
    """thresholds.toml beside this file: {"bounds": {...}, "datasets": {name: {...}}}."""
    return load_toml(SUITE / "thresholds.toml")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def validate_table(name, table, bounds, n_train):
    """Check one dataset's table of hyperparams.toml. Returns (settings dict, [problems])."""
    where = f"hyperparams.toml [{name}]"
    if not isinstance(table, dict):
        return None, [f"{where} is missing: add a [{name}] table with {', '.join(KEYS)}"]
    problems = []
    for key in KEYS:
        if key not in table:
            problems.append(f"{where}: `{key}` is missing")
    for key in table:
        if key not in KEYS:
            problems.append(f"{where}: unknown key `{key}` (expected only {', '.join(KEYS)})")
    checks = {"learning_rate": (_is_number, "a number"), "epochs": (_is_int, "an integer"),
              "batch_size": (_is_int, "an integer"), "seed": (_is_int, "an integer")}
    for key, (ok, kind) in checks.items():
        if key not in table:
            continue
        value, (low, high) = table[key], bounds[key]
        if not ok(value):
            problems.append(f"{where}: `{key} = {value!r}` must be {kind}")
        elif not low <= value <= high:
            problems.append(f"{where}: `{key} = {value!r}` is outside the allowed range [{low}, {high}]")
    if "init" in table and table["init"] not in bounds["init"]:
        problems.append(f"{where}: `init = {table['init']!r}` must be one of {bounds['init']}")
    if not problems:
        steps = table["epochs"] * math.ceil(n_train / table["batch_size"])
        if steps > bounds["max_sgd_steps"]:
            problems.append(f"{where}: epochs * ceil({n_train} / batch_size) = {steps} SGD steps, more than "
                            f"the cap of {bounds['max_sgd_steps']}: use fewer epochs or larger batches")
    return (None if problems else {k: table[k] for k in KEYS}), problems


def read_hyperparams(path):
    """(the tables that could be read, {table: why it could not}) of the student's file, read
    table by table (engine.studentfiles: a byte-order mark and CRLF or CR line ends are fine;
    a bad table costs its own dataset only). Raises AssertionError with a message when the file
    cannot be read at all."""
    try:
        return read_toml_tables(path, "hyperparams.toml")
    except StudentFileError as exc:
        raise AssertionError(str(exc)) from None


def read_csv(path):
    """X (N, 2) float64 and y (N,) int64 from a dataset CSV (header x1,x2,y)."""
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    return table[:, :2].copy(), table[:, 2].astype(np.int64)


def _sigmoid(a):
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def trusted_predict(layers, X):
    """Labels from our own forward pass. layers: [("Linear", W, b) | ("Sigmoid",)...]."""
    h = np.asarray(X, dtype=np.float64)
    for layer in layers:
        if layer[0] == "Linear":
            h = h @ layer[1].T + layer[2]
        else:
            h = _sigmoid(h)
    return (h[:, 0] >= 0.5).astype(np.int64)


@dataclass
class Trained:
    """The outcome of training one dataset: layers (for trusted_predict) or an error message."""

    name: str
    layers: list = None
    error: str = None
    seconds: float = 0.0
    settings: dict = None
    as_trained: list = None   # the layers as train left them (fitted to the mirrored data)


def check_architecture(student, model, hidden):
    names = student.type_names(model, "modules")
    want = ["Linear", "Sigmoid", "Linear", "Sigmoid"]
    if names != want:
        raise AssertionError(f"build_mlp(2, [{hidden}], 1, activation='sigmoid', output='sigmoid') gave the "
                             f"layers {names}, expected {want}")


def mirrored(layers):
    """The layers with the first Linear's input columns multiplied by MIRROR (+ 0.0: no -0.0)."""
    (_, W, b), rest = layers[0], layers[1:]
    return [("Linear", W * MIRROR + 0.0, b), *rest]


def fetch_layers(student, model, hidden):
    """The trained model's layers as arrays, checking the architecture build_mlp must give."""
    check_architecture(student, model, hidden)
    layers = []
    modules = student.attr(model, "modules")
    shapes = [((hidden, 2), (hidden,)), ((1, hidden), (1,))]
    for i, ref in enumerate(modules):
        if i % 2:
            layers.append(("Sigmoid",))
            continue
        params = student.attr(ref, "params")
        W, b = (params.get("W"), params.get("b")) if isinstance(params, dict) else (None, None)
        w_shape, b_shape = shapes[i // 2]
        for key, value, shape in (("W", W, w_shape), ("b", b, b_shape)):
            if not isinstance(value, np.ndarray) or value.shape != shape or value.dtype.kind != "f":
                raise AssertionError(f"after training, layer {i} (Linear) params[{key!r}] should be a float "
                                     f"array of shape {shape}, found {getattr(value, 'shape', type(value).__name__)}")
        layers.append(("Linear", W.astype(np.float64), b.astype(np.float64)))
    return layers


def train(student, name, settings, hidden, X, y, budget):
    """Run build_mlp, mirror its first layer, and train on the mirrored data in the worker with the
    student's settings; returns Trained with the layers mirrored back."""
    model = student.call("mlp.build_mlp", 2, [hidden], 1, activation="sigmoid", output="sigmoid",
                         init=settings["init"], seed=settings["seed"])
    built = fetch_layers(student, model, hidden)
    student.param_setter(model, "0.W")(mirrored(built)[0][1])  # modules[0].params["W"], in place
    loss = student.make("losses.BinaryCrossEntropy")
    started = time.monotonic()
    student.call("mlp.train", model, loss, X * MIRROR, y, settings["epochs"], settings["learning_rate"],
                 settings["batch_size"], seed=settings["seed"], budget=budget)
    seconds = time.monotonic() - started
    as_trained = fetch_layers(student, model, hidden)
    return Trained(name, mirrored(as_trained), seconds=seconds, settings=settings, as_trained=as_trained)


def accuracy(layers, X, y):
    return float(np.mean(trusted_predict(layers, X) == y))


@dataclass(frozen=True)
class ScoredPoints:
    """Where a dataset's accuracy is measured: X (n, 2), y (n,) and `where`, for messages."""

    X: np.ndarray
    y: np.ndarray
    where: str


def fresh_points(data_module, name, seed):
    """n_test fresh points from data.generate(name, n_test, seed) (the seed is never shown)."""
    n = int(thresholds()["datasets"][name]["n_test"])
    X, y = data_module.generate(name, n, seed)
    return ScoredPoints(np.asarray(X, dtype=np.float64), np.asarray(y), f"{n} fresh test points drawn with the "
                      "grader's hidden seed (the shipped test split is only used by `make grade`)")


def shipped_points(submission_root, name):
    """The shipped test split backprop/datasets/<name>_test.csv."""
    X, y = read_csv(Path(submission_root) / "backprop" / "datasets" / f"{name}_test.csv")
    return ScoredPoints(X, y, f"the shipped test split ({len(y)} points; on Gradescope this test uses fresh "
                            "test points drawn with a hidden seed instead)")


def run_dataset(student, submission_root, hyperparams_path, name):
    """Validate the student's settings for one dataset, then train; returns Trained (never raises
    for the student's mistakes: they become Trained.error)."""
    config = thresholds()
    info, bounds = config["datasets"][name], config["bounds"]
    data_dir = Path(submission_root) / "backprop" / "datasets"
    X, y = read_csv(data_dir / f"{name}_train.csv")
    try:
        doc, broken = read_hyperparams(hyperparams_path)
    except AssertionError as exc:
        return Trained(name, error=str(exc))
    if name in broken or "" in broken:   # its table, or what comes before any table
        return Trained(name, error=f"- {broken.get(name) or broken['']}\n\nThe autograder did "
                                   "not train this dataset; fix hyperparams.toml first.")
    settings, problems = validate_table(name, doc.get(name), bounds, len(y))
    if problems:
        return Trained(name, error="\n".join(f"- {p}" for p in problems)
                       + "\n\nThe autograder did not train this dataset; fix hyperparams.toml first.")
    budget = float(info["time_budget_seconds"])
    try:
        return train(student, name, settings, int(info["hidden_units"]), X, y, budget)
    except AssertionError as exc:  # StudentError included
        text = str(exc)
        if getattr(exc, "type_name", "") == "CallTimeout":
            text = (f"Training {name} with your hyperparams.toml ({_settings_text(settings)}) did not finish "
                    f"within its time budget of {budget:g} s. Use fewer epochs or larger batches, or make "
                    "train faster (vectorised forward and backward passes).")
        return Trained(name, error=text, settings=settings)


def _settings_text(settings):
    return ", ".join(f"{k} = {settings[k]!r}" for k in KEYS)


def check_accuracy(trained, points, threshold):
    """The accuracy of a trained network on `points` (ScoredPoints); AssertionError below threshold."""
    if trained.error:
        raise AssertionError(trained.error)
    acc = accuracy(trained.layers, points.X, points.y)
    if acc >= threshold:
        return acc
    message = (f"{trained.name}: after build_mlp + train with your hyperparams.toml "
               f"({_settings_text(trained.settings)}), took {trained.seconds:.2f} s, the accuracy on "
               f"{points.where} is {acc:.3f}, below the threshold {threshold:.2f}.")
    if accuracy(trained.as_trained, points.X, points.y) >= threshold:
        raise AssertionError(
            message + " The grader trains on a mirrored copy of the training set (x2 -> -x2) from build_mlp's "
            "weights mirrored to match, which gives a train that learns from its data exactly the same network, "
            "mirrored. Yours fits the data as shipped, not the copy it was given: train must learn from the X "
            "and y it is passed (does it read the dataset files, or set weights that do not come from them?).")
    raise AssertionError(message + " Try another learning rate, more epochs or another seed (some "
                         "initialisations stall in a local minimum), and check your train against the public "
                         "network tests.")
