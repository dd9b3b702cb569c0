"""Public tests, part 3: the pocket datasets (8 of the part's 20 points).

Your build_mlp and train run in the grader's worker with your hyperparams.toml (checked
first against the bounds in thresholds.toml) within the dataset's time budget; the grader
then reads the trained weights and computes the accuracy with its own forward pass on the
test split shipped with the assignment (backprop/datasets/<name>_test.csv). The hidden
tests score the same trained network on fresh points you never see.
"""

from pathlib import Path

import pytest
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import pockets


@weight(2)
@number("3.1")
@visibility("visible")
@pytest.mark.submission_files("modules.py", "losses.py", "mlp.py", "hyperparams.toml")
@pytest.mark.depends_on("test_train")
@pytest.mark.parametrize("name", ["diagonal_band", "one_pocket", "four_gaussians", "two_pockets"])
def test_pocket_shipped_test_split(trained_pocket, submission, name):
    """Pocket dataset: accuracy on the shipped test split reaches the threshold"""
    trained = trained_pocket(name)
    if trained.error:
        raise AssertionError(trained.error)
    threshold = float(pockets.thresholds()["datasets"][name]["threshold"])
    X, y = pockets.read_csv(Path(submission.root) / "backprop" / "datasets" / f"{name}_test.csv")
    acc = pockets.accuracy(trained.layers, X, y)
    assert acc >= threshold, pockets.explain_accuracy(trained, acc, threshold,
                                                      f"the shipped test split ({len(y)} points)")
