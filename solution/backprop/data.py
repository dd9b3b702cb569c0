"""The lecture's four decision-boundary datasets (provided complete; nothing to write here).

Every dataset is a binary classification problem in the square [-1, 1]^2:

- "diagonal_band":  class 1 inside the band |x1 - x2| < 0.5 around the diagonal.
                    One hidden layer with 2 logistic units carves it (one unit per edge).
- "one_pocket":     class 1 inside a triangle, the intersection of three half-planes
                    (3 hidden units, one per side; 2 units can only cut a wedge).
- "four_gaussians": four Gaussian blobs at (+-0.5, +-0.5); class 1 is the blobs where x1
                    and x2 have the same sign (an XOR), which 2 hidden units solve from most
                    (not all) initialisations: a network can stall at 75%, one blob wrong.
- "two_pockets":    class 1 inside either of two triangles standing side by side. Any shape
                    simple enough for 2 to 4 hidden units that holds both pockets also holds
                    the class-0 wedge between them; 10 hidden units (the slides) carve both.

No single line separates the classes of any of them, so logistic regression fails.

The classes are balanced: n // 2 points of class 1 and n - n // 2 of class 0, in random order.
For the geometric sets (all but "four_gaussians") points closer than GAP to the class
boundary are left out, so the labels are noise-free and the boundary is crisp; the
Gaussian blobs have soft edges instead, with a rare point near the axes.

Usage:
    X, y = generate("one_pocket", 1000, seed=7)        # fresh points, X (1000, 2), y (1000,)
    X_train, y_train, X_test, y_test = load("one_pocket")  # the shipped CSV files
"""

from pathlib import Path
from types import MappingProxyType

import numpy as np

DATASETS = ("diagonal_band", "one_pocket", "four_gaussians", "two_pockets")

# Seeds of the shipped splits: name -> (train_seed, test_seed). Read-only.
SPLIT_SEEDS = MappingProxyType({
    "diagonal_band": (1001, 1002),
    "one_pocket": (2001, 2002),
    "four_gaussians": (3001, 3002),
    "two_pockets": (4001, 4002),
})
N_TRAIN = 500  # points in each shipped train split
N_TEST = 500   # points in each shipped test split

DATA_DIR = Path(__file__).parent / "datasets"  # {name}_train.csv, {name}_test.csv
CSV_HEADER = "x1,x2,y"

GAP = 0.05                 # no point lies closer than this to a geometric class boundary
BAND_HALF_WIDTH = 0.5      # diagonal_band: class 1 where |x1 - x2| < BAND_HALF_WIDTH
BLOB_CENTER = 0.5          # four_gaussians: blob means at (+-BLOB_CENTER, +-BLOB_CENTER)
BLOB_STD = 0.14            # four_gaussians: standard deviation of each coordinate
# Pockets are triangles given by their vertices in counter-clockwise order.
ONE_POCKET = ((0.0, 0.8), (-0.7, -0.45), (0.7, -0.45))
TWO_POCKETS = (((-0.95, -0.7), (-0.05, -0.7), (-0.5, 0.8)),
               ((0.05, -0.7), (0.95, -0.7), (0.5, 0.8)))


def _check_name(name):
    """Raise ValueError unless name is one of DATASETS."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")


def _band_margin(X):
    """Signed distance of each point of X, shape (M, 2), to the band's edges, shape (M,).

    Positive inside the band |x1 - x2| < BAND_HALF_WIDTH (class 1), negative outside.
    """
    return (BAND_HALF_WIDTH - np.abs(X[:, 0] - X[:, 1])) / np.sqrt(2.0)


def _triangle_margin(X, vertices):
    """Signed distance of each point of X, shape (M, 2), to a triangle's sides, shape (M,).

    vertices: three (x1, x2) corners in counter-clockwise order.
    The minimum over the three sides of the distance to the side's line, positive on the
    inner side. Inside the triangle it is the exact distance to the boundary; outside it
    is negative and no larger in magnitude than the distance to the triangle.
    """
    corners = np.asarray(vertices, dtype=np.float64)
    distances = []
    for a, b in zip(corners, np.roll(corners, -1, axis=0)):
        edge = b - a
        inward = np.array([-edge[1], edge[0]]) / np.hypot(edge[0], edge[1])  # left normal
        distances.append((X - a) @ inward)
    return np.min(distances, axis=0)


def _one_pocket_margin(X):
    """Signed distance of X, shape (M, 2), to the pocket ONE_POCKET, shape (M,); positive inside."""
    return _triangle_margin(X, ONE_POCKET)


def _two_pockets_margin(X):
    """Signed distance of X, shape (M, 2), to the nearer of TWO_POCKETS, shape (M,).

    Positive inside either pocket (class 1), negative outside both.
    """
    return np.max([_triangle_margin(X, pocket) for pocket in TWO_POCKETS], axis=0)


def _balanced_by_margin(rng, n, margin):
    """Draw n points uniformly in [-1, 1]^2 with labels from a signed margin function.

    Inputs:
    - rng: a numpy Generator, the only source of randomness.
    - n: the number of points.
    - margin: function mapping X (M, 2) to (M,): positive for class 1, negative for class 0.
    Candidates with |margin| < GAP are rejected; the first n // 2 accepted points of class 1
    and n - n // 2 of class 0 are kept, then shuffled together.
    Returns: X (n, 2) float64, y (n,) int64.
    """
    n1, n0 = n // 2, n - n // 2
    pos, neg = [np.empty((0, 2))], [np.empty((0, 2))]
    while sum(len(p) for p in pos) < n1 or sum(len(q) for q in neg) < n0:
        cand = rng.uniform(-1.0, 1.0, size=(2 * n + 64, 2))
        m = margin(cand)
        pos.append(cand[m >= GAP])
        neg.append(cand[m <= -GAP])
    X = np.concatenate([np.concatenate(pos)[:n1], np.concatenate(neg)[:n0]])
    y = np.concatenate([np.ones(n1, dtype=np.int64), np.zeros(n0, dtype=np.int64)])
    order = rng.permutation(n)
    return X[order], y[order]


def _four_gaussians(rng, n):
    """XOR of four Gaussian blobs, n // 2 points of class 1 and n - n // 2 of class 0.

    Class 1 points come from the blobs at (c, c) and (-c, -c), class 0 points from (c, -c)
    and (-c, c), with c = BLOB_CENTER, each blob picked with probability 1/2. Each coordinate
    has standard deviation BLOB_STD; points falling outside [-1, 1]^2 are redrawn.
    Returns: X (n, 2) float64, y (n,) int64.
    """
    n1 = n // 2
    y = np.concatenate([np.ones(n1, dtype=np.int64), np.zeros(n - n1, dtype=np.int64)])
    sign1 = rng.choice([-1.0, 1.0], size=n)            # which blob of its class
    sign2 = np.where(y == 1, sign1, -sign1)            # same sign for class 1, opposite for 0
    means = BLOB_CENTER * np.stack([sign1, sign2], axis=1)
    X = means + rng.normal(0.0, BLOB_STD, size=(n, 2))
    outside = np.any(np.abs(X) > 1.0, axis=1)
    while np.any(outside):
        X[outside] = means[outside] + rng.normal(0.0, BLOB_STD, size=(int(outside.sum()), 2))
        outside = np.any(np.abs(X) > 1.0, axis=1)
    order = rng.permutation(n)
    return X[order], y[order]


def generate(name, n, seed):
    """Draw n fresh points of a dataset.

    Inputs:
    - name: one of DATASETS.
    - n: the number of points (a non-negative integer).
    - seed: an integer; the same (name, n, seed) always gives the same points.
    Returns:
    - X: shape (n, 2), float64, every entry in [-1, 1].
    - y: shape (n,), int64 labels in {0, 1} (n // 2 ones).
    Raises ValueError for an unknown name or a negative n.
    """
    _check_name(name)
    if int(n) != n or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    n = int(n)
    rng = np.random.default_rng(seed)
    if name == "four_gaussians":
        return _four_gaussians(rng, n)
    margins = {"diagonal_band": _band_margin, "one_pocket": _one_pocket_margin,
               "two_pockets": _two_pockets_margin}
    return _balanced_by_margin(rng, n, margins[name])


def read_csv(path):
    """Read a dataset CSV file (header x1,x2,y).

    Returns: X of shape (N, 2), float64, and y of shape (N,), int64.
    Raises ValueError if the header is not exactly x1,x2,y.
    """
    path = Path(path)
    with path.open() as f:
        header = f.readline().strip()
    if header != CSV_HEADER:
        raise ValueError(f"{path}: expected header {CSV_HEADER!r}, found {header!r}")
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    return table[:, :2].copy(), table[:, 2].astype(np.int64)


def write_csv(path, X, y):
    """Write X (N, 2) and y (N,) to a CSV file with header x1,x2,y.

    Floats are written with repr, which round-trips float64 exactly.
    """
    lines = [CSV_HEADER]
    lines += [f"{float(a)!r},{float(b)!r},{int(t)}" for (a, b), t in zip(X, y)]
    Path(path).write_text("\n".join(lines) + "\n")


def load(name):
    """Load the shipped split of a dataset from DATA_DIR.

    Input: name, one of DATASETS.
    Returns: X_train (500, 2), y_train (500,), X_test (500, 2), y_test (500,);
    X float64 in [-1, 1]^2, y int64 in {0, 1}.
    Raises ValueError for an unknown name.
    """
    _check_name(name)
    X_train, y_train = read_csv(DATA_DIR / f"{name}_train.csv")
    X_test, y_test = read_csv(DATA_DIR / f"{name}_test.csv")
    return X_train, y_train, X_test, y_test


def write_datasets(folder=DATA_DIR):
    """Regenerate every shipped CSV file from SPLIT_SEEDS, N_TRAIN and N_TEST into folder.

    Returns: the list of paths written, two per dataset ({name}_train.csv, {name}_test.csv).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in DATASETS:
        train_seed, test_seed = SPLIT_SEEDS[name]
        for split, n, seed in (("train", N_TRAIN, train_seed), ("test", N_TEST, test_seed)):
            path = folder / f"{name}_{split}.csv"
            write_csv(path, *generate(name, n, seed))
            written.append(path)
    return written
