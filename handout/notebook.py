# Source of the handout notebook backprop.ipynb, in "percent" format.
# Edit this file, then run `python -m tools.notebook` to rebuild the .ipynb
# (tests/test_notebook.py fails when the committed notebook is stale).
# Students get the built notebook without outputs; it runs against THEIR package.

# %% [markdown]
# # Backpropagation: a companion notebook
#
# This notebook runs against **your** `backprop` package, the one in the folder this notebook sits in.
# Nothing in it is graded; it is here so that you can *see* what your code does:
#
# 1. a finite-difference check of one module (`Linear`), and how to read a relative error;
# 2. the lecture's four decision-boundary examples, reproduced with your `build_mlp` and `train`:
#    logistic regression, then networks with more and more hidden units;
# 3. for the tuned network of each dataset, the linear boundary of each hidden unit
#    (the slides' "LR1, LR2, LR3 for the tuned network");
# 4. the training-loss curves.
#
# Run it top to bottom (*Kernel > Restart & Run All*) once your `modules.py`, `losses.py`, `mlp.py` and
# `gradcheck.py` pass their public tests. A cell that needs a function you have not written yet stops
# with `NotImplementedError`. The networks use the settings of your `hyperparams.toml`, so this is also
# the place to watch the effect of tuning them.

# %%
import pathlib
import sys
import time

import matplotlib.pyplot as plt
import numpy as np

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

HERE = pathlib.Path.cwd()  # Jupyter starts the kernel in the notebook's folder
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import backprop

print("using the backprop package in", pathlib.Path(backprop.__file__).parent)

# %% [markdown]
# ## 1. Checking one module with finite differences
#
# A module's `backward` turns $\partial J/\partial(\text{output})$ into $\partial J/\partial(\text{input})$
# and fills in $\partial J/\partial(\text{parameters})$. To test it without knowing the answer, pick any
# scalar $J$ of the module's output and compare `backward` with centered differences
#
# $$\frac{\partial J}{\partial \theta_i} \approx \frac{J(\theta + \epsilon\, d_i) - J(\theta - \epsilon\, d_i)}{2\epsilon}.$$
#
# A convenient choice is $J = \sum_{n,j} G_{nj}\, a_{nj}$ for a fixed random array $G$ of the output's
# shape: then $\partial J / \partial a = G$ exactly, so `backward(G)` must return $\partial J/\partial x$.

# %%
from backprop.gradcheck import numerical_gradient, relative_error
from backprop.modules import Linear

rng = np.random.default_rng(0)
layer = Linear(3, 2, init="xavier", rng=rng)  # alpha is W, shape (2, 3); the bias b has shape (2,)
x = rng.normal(size=(5, 3))  # a batch of N = 5 examples with 3 features
G = rng.normal(size=(5, 2))  # plays dJ/da, the gradient arriving from above


def J(_):
    """J = sum(G * a): reads the layer's parameters and x through the closure."""
    return float(np.sum(G * layer.forward(x)))


layer.forward(x)
analytic = {"x": layer.backward(G), "W": layer.grads["W"].copy(), "b": layer.grads["b"].copy()}
numeric = {
    "x": numerical_gradient(J, x),  # each call nudges one entry in place, then restores it
    "W": numerical_gradient(J, layer.params["W"]),
    "b": numerical_gradient(J, layer.params["b"]),
}
for name in analytic:
    print(f"dJ/d{name}: relative error {relative_error(analytic[name], numeric[name]):.1e}")

# %% [markdown]
# **Reading a relative error.** `relative_error(a, b)` is $\max_i |a_i - b_i| / \max(10^{-8}, |a_i| + |b_i|)$.
#
# * around $10^{-9}$ or smaller: the two agree to the precision finite differences can reach: correct;
# * around $10^{-5}$: suspicious for a smooth function like this one, fine near a kink
#   (ReLU at 0) or with a saturated sigmoid; shrink the example and look again;
# * $10^{-2}$ and above: a bug. Here is what a few classic bugs look like:

# %%
bugs = {
    "sign flipped": -analytic["W"],
    "mean instead of sum over the batch (divided by N)": analytic["W"] / x.shape[0],
    "one hidden unit's row wrong": analytic["W"] * np.array([[1.0], [1.5]]),
}
for bug, grad in bugs.items():
    print(f"{bug:50s} relative error {relative_error(grad, numeric['W']):.1e}")

# %% [markdown]
# The step $\epsilon$ matters: too large and the Taylor remainder (of order $\epsilon^2$) dominates, too
# small and floating-point round-off (of order $10^{-16}/\epsilon$) does. On a smooth function the sweet
# spot is near $\epsilon = 10^{-5}$, the default of `numerical_gradient`.

# %%
from backprop.modules import Sigmoid

sig = Sigmoid()
u = rng.normal(size=(4, 3))
sig.forward(u)
exact = sig.backward(np.ones_like(u))  # dJ/du for J = sum(sigmoid(u))
steps = [10.0 ** -k for k in range(1, 13)]
errors = [relative_error(exact, numerical_gradient(lambda v: float(np.sum(sig.forward(v))), u, eps)) for eps in steps]

fig, ax = plt.subplots(figsize=(5, 3))
ax.loglog(steps, errors, "o-")
ax.set_xlabel("step $\\epsilon$")
ax.set_ylabel("relative error")
ax.set_title("finite differences of the sigmoid")
ax.grid(True, which="both", alpha=0.3)
plt.show()

# %% [markdown]
# ## 2. The lecture's decision-boundary examples
#
# The four datasets of the slides ship with the package (`backprop/data.py`): 2-D points $x = (x_1, x_2)$
# with labels $y^* \in \{0, 1\}$, a training and a test split.

# %%
from backprop.data import DATASETS, load

data = {name: load(name) for name in DATASETS}
COLORS = np.array(["tab:blue", "tab:red"])

fig, axes = plt.subplots(1, len(DATASETS), figsize=(4 * len(DATASETS), 3.8))
for ax, name in zip(axes, DATASETS):
    X_train, y_train, X_test, y_test = data[name]
    ax.scatter(X_train[:, 0], X_train[:, 1], c=COLORS[y_train], s=10)
    ax.set_title(f"{name}\n{len(y_train)} train / {len(y_test)} test points")
    ax.set_aspect("equal")
plt.show()

# %% [markdown]
# The settings come from your `hyperparams.toml` (one table per dataset). The slides' tuned networks have one
# hidden layer of logistic units; their "layers=$k$" means $k$ **hidden units** (an error in the slides).
# Every model below is `build_mlp(2, hidden, 1, activation="sigmoid", output="sigmoid", ...)` trained with
# `BinaryCrossEntropy`, exactly as the autograder does; `hidden=[]` is logistic regression.

# %%
from backprop.losses import BinaryCrossEntropy
from backprop.mlp import build_mlp, predict, train

TUNED_HIDDEN = {"diagonal_band": 2, "one_pocket": 3, "four_gaussians": 2, "two_pockets": 10}
WIDTHS = [0, 2, 3, 4, 10]  # 0 hidden units is logistic regression
DEFAULTS = {"learning_rate": 1.0, "epochs": 200, "batch_size": 16, "init": "xavier", "seed": 0}

settings_file = HERE / "hyperparams.toml"
tables = tomllib.loads(settings_file.read_text()) if settings_file.exists() else {}
settings = {name: {**DEFAULTS, **tables.get(name, {})} for name in DATASETS}
for name in DATASETS:
    print(f"{name:15s}", settings[name])


def fit(name, width):
    """Train one model on a dataset; returns (model, epoch losses, test accuracy)."""
    X_train, y_train, X_test, y_test = data[name]
    s = settings[name]
    hidden = [width] if width else []
    model = build_mlp(2, hidden, 1, activation="sigmoid", output="sigmoid", init=s["init"], seed=s["seed"])
    losses = train(model, BinaryCrossEntropy(), X_train, y_train,
                   s["epochs"], s["learning_rate"], s["batch_size"], seed=s["seed"])
    accuracy = float(np.mean(predict(model, X_test) == y_test))
    return model, losses, accuracy


results = {}
start = time.perf_counter()
for name in DATASETS:
    for width in WIDTHS:
        results[name, width] = fit(name, width)
    row = "  ".join(f"{'LR' if w == 0 else f'h={w}'}: {results[name, w][2]:.2f}" for w in WIDTHS)
    print(f"{name:15s} test accuracy  {row}")
print(f"trained {len(results)} models in {time.perf_counter() - start:.1f} s")

# %% [markdown]
# Each panel shades the predicted probability $y = P(y^* = 1 \mid x)$ on a grid and draws the decision
# boundary $y = 0.5$ in black. Logistic regression can only draw a line; with more hidden units the
# boundary bends.


# %%
def grid_around(X, steps=150, margin=0.5):
    """A (steps, steps) mesh covering the points X, shape (N, 2), with a margin."""
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    return np.meshgrid(np.linspace(lo[0], hi[0], steps), np.linspace(lo[1], hi[1], steps))


def draw_probability(ax, model, X, y, title):
    """Shade the model's output on a grid over X, draw its 0.5 contour and the points."""
    xx, yy = grid_around(X)
    prob = model.forward(np.c_[xx.ravel(), yy.ravel()])[:, 0].reshape(xx.shape)
    ax.contourf(xx, yy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
    ax.contour(xx, yy, prob, levels=[0.5], colors="k", linewidths=1.5)
    ax.scatter(X[:, 0], X[:, 1], c=COLORS[y], s=8, edgecolors="w", linewidths=0.3)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


fig, axes = plt.subplots(len(DATASETS), len(WIDTHS), figsize=(3 * len(WIDTHS), 3 * len(DATASETS)))
for row, name in zip(axes, DATASETS):
    X_train, y_train = data[name][:2]
    for ax, width in zip(row, WIDTHS):
        model, _, accuracy = results[name, width]
        label = "logistic regression" if width == 0 else f"{width} hidden units"
        star = " (tuned size)" if width == TUNED_HIDDEN[name] else ""
        draw_probability(ax, model, X_train, y_train, f"{name}: {label}{star}\ntest accuracy {accuracy:.2f}")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3. What the hidden units learn
#
# Hidden unit $j$ computes $z_j = \sigma(a_j)$ with $a_j = \alpha_{j1} x_1 + \alpha_{j2} x_2 + \alpha_{j0}$:
# on its own it is a logistic regression, whose boundary is the line $a_j = 0$. In your `Linear`,
# $\alpha_{ji}$ is `params["W"][j, i]` and $\alpha_{j0}$ is `params["b"][j]`. The network's output
# $y = \sigma(\sum_j \beta_j z_j + \beta_0)$ combines these lines into a curved boundary. Below, for the tuned
# network of each dataset: the network's boundary with every hidden unit's line on top, then each hidden
# unit alone ("LR$j$"), shaded by $z_j$.


# %%
def hidden_unit_lines(model):
    """(W, b) of the first Linear layer: W has shape (hidden, 2), b shape (hidden,)."""
    first = model.modules[0]
    return first.params["W"], first.params["b"]


def draw_line(ax, w, b0, X, **style):
    """Draw w[0] x1 + w[1] x2 + b0 = 0 across the box around the points X."""
    (x1_lo, x2_lo), (x1_hi, x2_hi) = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
    if w[0] == 0 and w[1] == 0:  # no line at all (e.g. after init="zero")
        return
    if abs(w[1]) >= abs(w[0]):  # solve for x2 unless the line is closer to vertical
        x1 = np.array([x1_lo, x1_hi])
        ax.plot(x1, -(w[0] * x1 + b0) / w[1], **style)
    else:
        x2 = np.array([x2_lo, x2_hi])
        ax.plot(-(w[1] * x2 + b0) / w[0], x2, **style)
    ax.set_xlim(x1_lo, x1_hi)
    ax.set_ylim(x2_lo, x2_hi)


def draw_hidden_units(name):
    """One figure: the tuned network's boundary with its hidden lines, then each hidden unit alone."""
    X_train, y_train = data[name][:2]
    model, _, accuracy = results[name, TUNED_HIDDEN[name]]
    W, b = hidden_unit_lines(model)
    ncols = min(6, len(b) + 1)
    nrows = -(-(len(b) + 1) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3 * ncols, 3 * nrows), squeeze=False)
    axes = axes.ravel()
    draw_probability(axes[0], model, X_train, y_train, f"{name}: tuned network\ntest accuracy {accuracy:.2f}")
    xx, yy = grid_around(X_train)
    grid = np.c_[xx.ravel(), yy.ravel()]
    for j in range(len(b)):
        draw_line(axes[0], W[j], b[j], X_train, color="k", linestyle="--", linewidth=1)
        ax = axes[j + 1]
        z_j = 1.0 / (1.0 + np.exp(-np.clip(grid @ W[j] + b[j], -500, 500)))
        ax.contourf(xx, yy, z_j.reshape(xx.shape), levels=np.linspace(0, 1, 11), cmap="PuOr_r", alpha=0.6)
        ax.scatter(X_train[:, 0], X_train[:, 1], c=COLORS[y_train], s=8, edgecolors="w", linewidths=0.3)
        draw_line(ax, W[j], b[j], X_train, color="k", linewidth=1.5)
        ax.set_title(f"LR{j + 1}: hidden unit {j + 1}, $\\beta_{{{j + 1}}}$ = {model.modules[2].params['W'][0, j]:+.1f}",
                     fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(b) + 1:]:
        ax.axis("off")
    plt.tight_layout()
    plt.show()


for name in DATASETS:
    draw_hidden_units(name)

# %% [markdown]
# ## 4. Training-loss curves
#
# `train` returns the mean cross-entropy $J$ over the training set after each epoch. A curve that goes up
# or oscillates wildly means a learning rate that is too large; one that is still falling steeply at the
# end wants more epochs.

# %%
fig, axes = plt.subplots(1, len(DATASETS), figsize=(4 * len(DATASETS), 3.2), sharey=True)
for ax, name in zip(axes, DATASETS):
    for width in WIDTHS:
        ax.plot(results[name, width][1], label="LR" if width == 0 else f"h={width}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_title(name)
axes[0].set_ylabel("training loss J")
axes[-1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# Things to try: change `learning_rate`, `epochs` or `seed` in `hyperparams.toml` and rerun; train with
# `init="zero"` and look at the hidden units' lines (why are they all the same?); replace the sigmoid
# hidden units by `activation="relu"` in `fit`.
