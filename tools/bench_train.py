"""Training throughput on the pocket datasets: the reference against three other implementations.

The job (per dataset, SPEC "Files students fill besides code"): the network 2 -> h sigmoid -> 1
sigmoid, binary cross-entropy, minibatch SGD with the learning rate, batch size, epochs, init
and seed of solution/hyperparams.toml, h from autograder/suite/thresholds.toml, on the shipped
train split (500 points). Every implementation does the same work per epoch: draw
perm = default_rng(seed).permutation(N) (one generator per run), take its consecutive
minibatches (forward, loss, backward, update), then one forward over all of X for the epoch's
loss. A "step" is one minibatch update.

- "reference": solution/backprop's build_mlp + train, exactly as the autograder runs them.
- "fused":     the same network written as one hand-fused NumPy loop (the practical limit of
               NumPy code): the bias of the first layer folded into X, sigmoid as one tanh,
               and sigmoid + cross-entropy differentiated together, dJ/d(logit) = (p - t) / n.
- "inlined":   the reference's own per-module operations, as SPEC fixes them, inlined into one
               loop with no classes, dicts or method calls: every step still computes J, the
               clipped BCE gradient, each sigmoid's backward, both biases apart and dJ/dx of the
               first layer, and updates the four arrays one by one. It is the fastest the contract
               allows in NumPy, so reference/inlined is what the modules' Python structure costs
               and inlined/fused what the contract's separate steps cost.
- "torch":     PyTorch on the CPU, nn.Sequential of the same layers in float64, nn.BCELoss,
               torch.optim.SGD without momentum, torch.set_num_threads(1).
- "sklearn":   scikit-learn's MLPClassifier(solver="sgd", activation="logistic", same hidden
               size, batch size and learning rate, momentum 0, alpha 0), fit for `epochs`
               epochs with its own initialisation and shuffling (it cannot take ours).

"fused", "inlined" and "torch" start from the reference's initial weights and draw the same permutations,
so their epoch losses must match the reference's to LOSS_RTOL (`max_rel_diff`): a check that they
all train the same network on the same data. Not bit for bit: the implementations round
differently (and NumPy's last bits change with the CPU), and thousands of SGD steps amplify a
last-bit difference. A comparator whose package is missing is skipped.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import math
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_DIR = ROOT / "solution"
THRESHOLDS = ROOT / "autograder" / "suite" / "thresholds.toml"
REFERENCE_PACKAGE = "solution_backprop"  # the name tests/conftest.py and tools/calibrate.py use
IMPLEMENTATIONS = ("reference", "fused", "inlined", "torch", "sklearn")
# Largest relative difference allowed between the reference's epoch losses and a comparator's.
# Measured over the full runs (numpy 2.2.6, torch 2.13, x86-64): inlined <= 6e-16, torch <= 9e-13,
# fused <= 3.1e-12 (two_pockets, 9600 steps; the largest gap is mid-training, not at the end);
# a 1-ulp change of the initial weights alone drifts by up to 7e-13. So last-bit differences
# grow about 1e4-fold over a run: 1e-10 leaves 30x of room above that, and stays 1000x tighter
# than grading's rtol 1e-7. A wrong learning rate or seed differs by more than 1e-6.
LOSS_RTOL = 1e-10


@dataclasses.dataclass(frozen=True)
class Task:
    """One dataset's training job. X: (N, 2) float64, y: (N,) integer labels in {0, 1}."""

    name: str
    hidden: int
    learning_rate: float
    batch_size: int
    epochs: int
    init: str
    seed: int
    X: np.ndarray
    y: np.ndarray
    full_epochs: int  # the epochs of hyperparams.toml (`epochs` may be capped below it)

    @property
    def steps(self) -> int:
        """Minibatch updates in the whole run: epochs * ceil(N / batch_size)."""
        return self.epochs * math.ceil(len(self.X) / self.batch_size)

    @property
    def full_steps(self) -> int:
        """Minibatch updates with the uncapped epochs of hyperparams.toml."""
        return self.full_epochs * math.ceil(len(self.X) / self.batch_size)


def load_reference() -> SimpleNamespace:
    """solution/backprop imported as `solution_backprop`: .modules, .losses, .mlp, .data."""
    if REFERENCE_PACKAGE not in sys.modules:
        package_dir = SOLUTION_DIR / "backprop"
        spec = importlib.util.spec_from_file_location(
            REFERENCE_PACKAGE, package_dir / "__init__.py",
            submodule_search_locations=[str(package_dir)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[REFERENCE_PACKAGE] = package
        spec.loader.exec_module(package)
    return SimpleNamespace(**{name: importlib.import_module(f"{REFERENCE_PACKAGE}.{name}")
                              for name in ("modules", "losses", "mlp", "data")})


def load_tasks(ref: SimpleNamespace, epochs_cap: int | None = None) -> list[Task]:
    """The four datasets' jobs, with at most `epochs_cap` epochs each (None: all of them)."""
    with open(SOLUTION_DIR / "hyperparams.toml", "rb") as f:
        settings = tomllib.load(f)
    with open(THRESHOLDS, "rb") as f:
        hidden = {name: t["hidden_units"] for name, t in tomllib.load(f)["datasets"].items()}
    tasks = []
    for name in ref.data.DATASETS:
        s = settings[name]
        X, y, _, _ = ref.data.load(name)
        epochs = s["epochs"] if epochs_cap is None else min(s["epochs"], epochs_cap)
        tasks.append(Task(name, hidden[name], float(s["learning_rate"]), s["batch_size"], epochs,
                          s["init"], s["seed"], X, y, s["epochs"]))
    return tasks


def time_budgets() -> dict:
    """dataset -> the autograder's training time budget in seconds (thresholds.toml)."""
    with open(THRESHOLDS, "rb") as f:
        return {name: float(t["time_budget_seconds"])
                for name, t in tomllib.load(f)["datasets"].items()}


def initial_weights(ref: SimpleNamespace, task: Task) -> dict:
    """The reference's initial parameters for `task`: {"0.W": (h, 2), "0.b", "2.W": (1, h), "2.b"}."""
    model = ref.mlp.build_mlp(2, [task.hidden], 1, activation="sigmoid", output="sigmoid",
                              init=task.init, seed=task.seed)
    return {key: value.copy() for key, value in model.params.items()}


def run_reference(ref: SimpleNamespace, task: Task) -> list[float]:
    model = ref.mlp.build_mlp(2, [task.hidden], 1, activation="sigmoid", output="sigmoid",
                              init=task.init, seed=task.seed)
    return ref.mlp.train(model, ref.losses.BinaryCrossEntropy(), task.X, task.y, task.epochs,
                         task.learning_rate, task.batch_size, seed=task.seed)


def run_fused(task: Task, w: dict) -> list[float]:
    """The hand-fused NumPy loop; w from initial_weights."""
    n, bs, lr = len(task.X), task.batch_size, task.learning_rate
    X1 = np.hstack([task.X, np.ones((n, 1))])          # (N, 3): the first bias folded in
    T = task.y.astype(np.float64)[:, None]             # (N, 1)
    W1 = np.hstack([w["0.W"], w["0.b"][:, None]])      # (h, 3)
    W2, b2 = w["2.W"].copy(), w["2.b"].copy()           # (1, h), (1,)
    rng = np.random.default_rng(task.seed)
    losses = []
    for _ in range(task.epochs):
        perm = rng.permutation(n)
        for start in range(0, n, bs):
            idx = perm[start:start + bs]
            xb = X1[idx]
            z = np.tanh(xb @ W1.T * 0.5)                # sigmoid(a) = (1 + tanh(a / 2)) / 2
            z += 1.0
            z *= 0.5
            p = np.tanh((z @ W2.T + b2) * 0.5)
            p += 1.0
            p *= 0.5
            p -= T[idx]                                  # dJ/d(logit) * n = p - t
            p *= lr / len(idx)                           # learning rate folded in once
            dz = p @ W2
            dz *= z
            dz *= 1.0 - z
            W2 -= p.T @ z
            b2 -= p.sum()
            W1 -= dz.T @ xb
        z = 0.5 + 0.5 * np.tanh(X1 @ W1.T * 0.5)
        q = np.clip(0.5 + 0.5 * np.tanh((z @ W2.T + b2) * 0.5), 1e-12, 1.0 - 1e-12)
        losses.append(float(-np.mean(T * np.log(q) + (1.0 - T) * np.log(1.0 - q))))
    return losses


def _stable_sigmoid(a: np.ndarray) -> np.ndarray:
    """sigmoid(a) as the reference computes it: exp(min(a, 0)) / (1 + exp(-|a|))."""
    e = np.abs(a)
    np.negative(e, out=e)
    np.exp(e, out=e)
    z = np.minimum(a, 0.0)
    np.exp(z, out=z)
    e += 1.0
    z /= e
    return z


def run_inlined(task: Task, w: dict) -> list[float]:
    """The contract's per-module steps in one loop; w from initial_weights."""
    n, bs, lr = len(task.X), task.batch_size, task.learning_rate
    W1, b1, W2, b2 = (w[key].copy() for key in ("0.W", "0.b", "2.W", "2.b"))
    rng = np.random.default_rng(task.seed)
    losses = []
    for _ in range(task.epochs):
        perm = rng.permutation(n)
        X_perm, y_perm = task.X[perm], task.y[perm]
        for start in range(0, n, bs):
            x = X_perm[start:start + bs]
            t = np.asarray(y_perm[start:start + bs], dtype=np.float64).reshape(-1, 1)
            a1 = x @ W1.T                                # Linear 1
            a1 += b1
            z1 = _stable_sigmoid(a1)                     # Sigmoid 1
            a2 = z1 @ W2.T                               # Linear 2
            a2 += b2
            y_out = _stable_sigmoid(a2)                  # Sigmoid 2
            p = np.maximum(y_out, 1e-12)                 # BCE forward: J, every step
            np.minimum(p, 1.0 - 1e-12, out=p)
            q, not_t = 1.0 - p, 1.0 - t
            _J = float(-(np.vdot(t, np.log(p)) + np.vdot(not_t, np.log(q))) / len(p))
            g = not_t / q                                # BCE backward
            g -= t / p
            g /= len(g)
            g *= y_out                                   # Sigmoid 2 backward
            g *= 1.0 - y_out
            gW2, gb2, g = g.T @ z1, g.sum(axis=0), g @ W2  # Linear 2 backward
            g *= z1                                      # Sigmoid 1 backward
            g *= 1.0 - z1
            gW1, gb1, _dx = g.T @ x, g.sum(axis=0), g @ W1  # Linear 1 backward, dJ/dx too
            W1 -= lr * gW1                               # sgd_step
            b1 -= lr * gb1
            W2 -= lr * gW2
            b2 -= lr * gb2
        p = np.clip(_stable_sigmoid(_stable_sigmoid(task.X @ W1.T + b1) @ W2.T + b2), 1e-12, 1.0 - 1e-12)
        t = task.y.astype(np.float64)[:, None]
        losses.append(float(-np.mean(t * np.log(p) + (1.0 - t) * np.log(1.0 - p))))
    return losses


def run_torch(torch, task: Task, w: dict) -> list[float]:
    """Idiomatic PyTorch, float64, one thread; w from initial_weights."""
    torch.set_num_threads(1)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(2, task.hidden), nn.Sigmoid(), nn.Linear(task.hidden, 1),
                          nn.Sigmoid()).double()
    with torch.no_grad():
        for layer, key in ((model[0], "0"), (model[2], "2")):
            layer.weight.copy_(torch.from_numpy(w[f"{key}.W"]))
            layer.bias.copy_(torch.from_numpy(w[f"{key}.b"]))
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=task.learning_rate, momentum=0.0)
    X = torch.from_numpy(task.X)
    T = torch.from_numpy(task.y.astype(np.float64)[:, None])
    n, bs = len(task.X), task.batch_size
    rng = np.random.default_rng(task.seed)
    losses = []
    for _ in range(task.epochs):
        perm = torch.from_numpy(rng.permutation(n))
        for start in range(0, n, bs):
            idx = perm[start:start + bs]
            optimizer.zero_grad()
            loss_fn(model(X[idx]), T[idx]).backward()
            optimizer.step()
        with torch.no_grad():
            losses.append(float(loss_fn(model(X), T)))
    return losses


def run_sklearn(neural_network, exceptions, task: Task) -> list[float]:
    """MLPClassifier with plain SGD; returns its loss_curve_ (mean minibatch loss per epoch)."""
    clf = neural_network.MLPClassifier(
        hidden_layer_sizes=(task.hidden,), activation="logistic", solver="sgd", alpha=0.0,
        batch_size=task.batch_size, learning_rate="constant",
        learning_rate_init=task.learning_rate, momentum=0.0, nesterovs_momentum=False,
        max_iter=task.epochs, shuffle=True, random_state=task.seed, tol=0.0,
        n_iter_no_change=task.epochs + 1, early_stopping=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", exceptions.ConvergenceWarning)
        clf.fit(task.X, task.y)
    if clf.n_iter_ != task.epochs:
        raise RuntimeError(f"MLPClassifier ran {clf.n_iter_} epochs, expected {task.epochs}")
    return list(clf.loss_curve_)


def runners(ref: SimpleNamespace) -> tuple[dict[str, Callable[[Task], list[float]]], dict]:
    """({name: task -> epoch losses} for the available implementations, {name: why skipped})."""
    available = {"reference": lambda task: run_reference(ref, task),
                 "fused": lambda task: run_fused(task, initial_weights(ref, task)),
                 "inlined": lambda task: run_inlined(task, initial_weights(ref, task))}
    skipped = {}
    try:
        import torch
        available["torch"] = lambda task: run_torch(torch, task, initial_weights(ref, task))
    except ImportError as exc:
        skipped["torch"] = f"not installed ({exc}); see requirements-bench.txt"
    try:
        from sklearn import exceptions, neural_network
        available["sklearn"] = lambda task: run_sklearn(neural_network, exceptions, task)
    except ImportError as exc:
        skipped["sklearn"] = f"not installed ({exc}); see requirements-bench.txt"
    return available, skipped


def max_rel_diff(a: list[float], b: list[float]) -> float:
    """max |a - b| / max(1e-12, |a|) over two equally long loss histories."""
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.shape != b_arr.shape:
        return math.inf
    return float(np.max(np.abs(a_arr - b_arr) / np.maximum(1e-12, np.abs(a_arr))))
