"""The grading suite's trusted-side handling of the pocket datasets (no sandbox needed)."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "autograder" / "suite"))
import pockets  # noqa: E402

BOUNDS = {"learning_rate": [0.0001, 100.0], "epochs": [1, 2000], "batch_size": [1, 500],
          "init": ["xavier", "uniform", "zero"], "seed": [0, 2147483647], "max_sgd_steps": 50000}
GOOD = {"learning_rate": 2, "epochs": 300, "batch_size": 16, "init": "xavier", "seed": 0}


def test_valid_table_passes_and_keeps_the_values():
    settings, problems = pockets.validate_table("one_pocket", GOOD, BOUNDS, 500)
    assert problems == [] and settings == GOOD


@pytest.mark.parametrize("change, words", [
    ({"learning_rate": "2.0"}, "`learning_rate = '2.0'` must be a number"),
    ({"learning_rate": True}, "must be a number"),
    ({"epochs": 2.5}, "`epochs = 2.5` must be an integer"),
    ({"batch_size": 0}, "outside the allowed range [1, 500]"),
    ({"seed": -1}, "outside the allowed range"),
    ({"init": "he"}, "must be one of ['xavier', 'uniform', 'zero']"),
    ({"momentum": 0.9}, "unknown key `momentum`"),
    ({"epochs": 2000, "batch_size": 1}, "SGD steps, more than the cap of 50000"),
])
def test_each_problem_is_named(change, words):
    settings, problems = pockets.validate_table("two_pockets", {**GOOD, **change}, BOUNDS, 500)
    assert settings is None
    assert any(words in p for p in problems), problems
    assert all(p.startswith("hyperparams.toml [two_pockets]") for p in problems)


def test_missing_key_and_missing_table():
    table = dict(GOOD)
    del table["seed"]
    assert "`seed` is missing" in pockets.validate_table("one_pocket", table, BOUNDS, 500)[1][0]
    assert "is missing: add a [one_pocket] table" in pockets.validate_table("one_pocket", None, BOUNDS, 500)[1][0]


HYPERPARAMS = ("# my settings\n[one_pocket]\nlearning_rate = 0.5\nepochs = 3\n\n"
               "[two_pockets]\nseed = 7\n")


def test_hyperparams_in_any_editors_line_ends_and_byte_order_mark(tmp_path):
    plain = tmp_path / "plain.toml"
    plain.write_bytes(HYPERPARAMS.encode())
    expected = pockets.read_hyperparams(plain)
    assert expected == ({"one_pocket": {"learning_rate": 0.5, "epochs": 3},
                         "two_pockets": {"seed": 7}}, {})
    for variant in (b"\xef\xbb\xbf" + HYPERPARAMS.replace("\n", "\r\n").encode(),
                    HYPERPARAMS.replace("\n", "\r").encode()):
        saved = tmp_path / "saved.toml"
        saved.write_bytes(variant)
        assert pockets.read_hyperparams(saved) == expected


def test_a_bad_table_costs_that_table_only(tmp_path):
    path = tmp_path / "hyperparams.toml"
    path.write_text(HYPERPARAMS.replace("seed = 7", "seed = " + "9" * 5000))
    doc, broken = pockets.read_hyperparams(path)
    assert doc == {"one_pocket": {"learning_rate": 0.5, "epochs": 3}}
    assert list(broken) == ["two_pockets"]
    assert broken["two_pockets"].startswith("hyperparams.toml [two_pockets] (from line 6) cannot "
                                            "be read: ")
    path.write_text(HYPERPARAMS.replace("[one_pocket]", "[one_pocket"))
    doc, broken = pockets.read_hyperparams(path)
    assert doc == {"two_pockets": {"seed": 7}} and list(broken) == ["one_pocket"]


def test_unreadable_hyperparams(tmp_path):
    bad = tmp_path / "hyperparams.toml"
    bad.write_bytes(b"[one_pocket]\n# caf\xe9\nepochs = 3\n")   # Latin-1, not UTF-8
    with pytest.raises(AssertionError, match=r"hyperparams.toml is not UTF-8 text \(at byte 18\)"):
        pockets.read_hyperparams(bad)
    with pytest.raises(AssertionError, match="cannot be read"):
        pockets.read_hyperparams(tmp_path / "absent.toml")


def test_trusted_predict_is_our_own_forward_with_threshold_at_half():
    layers = [("Linear", np.array([[1.0, 0.0]]), np.array([0.0])), ("Sigmoid",)]
    X = np.array([[0.0, 5.0], [2.0, 0.0], [-1000.0, 0.0], [1000.0, 0.0]])
    assert pockets.trusted_predict(layers, X).tolist() == [1, 1, 0, 1]
    assert pockets.accuracy(layers, X, np.array([1, 1, 1, 1])) == 0.75


def test_thresholds_file_has_every_dataset():
    config = pockets.thresholds()
    assert set(config["datasets"]) == set(pockets.DATASETS)
    for name in pockets.DATASETS:
        info = config["datasets"][name]
        assert 0.5 < info["threshold"] <= 1 and info["time_budget_seconds"] > 0 and info["hidden_units"] >= 1


def test_fresh_points_use_n_test_and_the_seed_without_showing_it():
    calls = []

    def generate(name, n, seed):
        calls.append((name, n, seed))
        return np.zeros((n, 2)), np.zeros(n, dtype=np.int64)
    import types
    points = pockets.fresh_points(types.SimpleNamespace(generate=generate), "one_pocket", 987654321)
    n_test = pockets.thresholds()["datasets"]["one_pocket"]["n_test"]
    assert calls == [("one_pocket", n_test, 987654321)]
    assert points.X.shape == (n_test, 2) and points.y.shape == (n_test,)
    assert "fresh" in points.where and "987654321" not in points.where


def test_shipped_points_are_the_test_split():
    root = Path(__file__).resolve().parents[1] / "assignment"
    points = pockets.shipped_points(root, "two_pockets")
    X, y = pockets.read_csv(root / "backprop" / "datasets" / "two_pockets_test.csv")
    assert np.array_equal(points.X, X) and np.array_equal(points.y, y)
    assert "shipped test split" in points.where and "fresh" in points.where  # says what Gradescope does


def _backend(solution):
    import backends
    return backends.Reference(solution)


@pytest.mark.parametrize("name, init", [("four_gaussians", "xavier"), ("one_pocket", "zero")])
def test_training_on_the_mirrored_copy_gives_the_unmirrored_network(solution, name, init):
    """The mirror is exact: the layers pockets.train returns (trained on x2 -> -x2 from mirrored
    weights, then mirrored back) are the ones train gives on the data as shipped."""
    b = _backend(solution)
    X, y = pockets.read_csv(Path(__file__).resolve().parents[1] / "solution" / "backprop" / "datasets"
                            / f"{name}_train.csv")
    settings = {"learning_rate": 2.0, "epochs": 20, "batch_size": 16, "init": init, "seed": 3}
    trained = pockets.train(b, name, settings, 3, X, y, budget=60)
    model = b.call("mlp.build_mlp", 2, [3], 1, activation="sigmoid", output="sigmoid", init=init, seed=3)
    b.call("mlp.train", model, b.make("losses.BinaryCrossEntropy"), X, y, 20, 2.0, 16, seed=3)
    direct = pockets.fetch_layers(b, model, 3)
    for got, want in zip(trained.layers, direct):
        for a, c in zip(got[1:], want[1:]):
            np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-15)
    assert not np.allclose(trained.as_trained[0][1], direct[0][1])  # it really trained on the mirror


def test_weights_that_ignore_the_mirror_are_named():
    """A network fitted to the data as shipped (memorised) fails on the mirrored training, and the
    message says that train ignored its data; a network that is just bad gets the usual advice."""
    W = np.array([[1.0, -1.0], [-1.0, 1.0]])  # the diagonal band's two edges
    fitted = [("Linear", 8.0 * W, np.array([-4.0, -4.0])), ("Sigmoid",),
              ("Linear", np.array([[-10.0, -10.0]]), np.array([5.0])), ("Sigmoid",)]
    X = np.array([[0.1, 0.1], [0.9, -0.8], [-0.5, -0.4], [-0.9, 0.9]])
    y = np.array([1, 0, 1, 0])
    points = pockets.ScoredPoints(X, y, "4 points")
    settings = {"learning_rate": 1, "epochs": 1, "batch_size": 1, "init": "zero", "seed": 0}
    assert pockets.accuracy(fitted, X, y) == 1.0
    ok = pockets.Trained("diagonal_band", pockets.mirrored(pockets.mirrored(fitted)), settings=settings,
                         as_trained=pockets.mirrored(fitted))
    assert pockets.check_accuracy(ok, points, 0.9) == 1.0
    memorised = pockets.Trained("diagonal_band", pockets.mirrored(fitted), settings=settings, as_trained=fitted)
    with pytest.raises(AssertionError, match="must learn from the X and y it is passed"):
        pockets.check_accuracy(memorised, points, 0.9)
    flat = [("Linear", np.zeros((2, 2)), np.zeros(2)), ("Sigmoid",),
            ("Linear", np.zeros((1, 2)), np.array([-1.0])), ("Sigmoid",)]
    bad = pockets.Trained("diagonal_band", flat, settings=settings, as_trained=flat)
    with pytest.raises(AssertionError, match="Try another learning rate") as info:
        pockets.check_accuracy(bad, points, 0.9)
    assert "mirrored" not in str(info.value)
