"""Public tests, part 3: the pocket datasets (8 of the part's 20 points).

Your build_mlp and train run in the grader's worker with your hyperparams.toml (checked
first against the bounds in thresholds.toml) within the dataset's time budget; the grader
then reads the trained weights and computes the accuracy with its own forward pass. Your
train is given a mirrored copy of the training set (x2 -> -x2) and starts from build_mlp's
weights mirrored to match: sign flips are exact, so it ends exactly where it ends on the data
as shipped, mirrored, and the grader mirrors the weights back. On
Gradescope the accuracy is measured on fresh test points drawn with a seed you never see
(the points SPEC.md's 20 points are for); locally (`make grade`) on the test split shipped
with the assignment (backprop/datasets/<name>_test.csv). The hidden tests score the same
trained network on the same fresh points.
"""

import pytest
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import pockets


@weight(2)
@number("3.1")
@visibility("visible")
@pytest.mark.submission_files("modules.py", "losses.py", "mlp.py", "hyperparams.toml")
@pytest.mark.depends_on("test_train")
@pytest.mark.parametrize("name", ["diagonal_band", "one_pocket", "four_gaussians", "two_pockets"])
def test_pocket_accuracy(trained_pocket, pocket_points, note, name):
    """Pocket dataset: accuracy on test points reaches the threshold (Gradescope: fresh points)"""
    trained = trained_pocket(name)
    info = pockets.thresholds()["datasets"][name]
    threshold = float(info["threshold"])
    points = pocket_points(name)
    acc = pockets.check_accuracy(trained, points, threshold)
    note(f"{name}: accuracy {acc:.3f} (threshold {threshold:.2f}); training took {trained.seconds:.2f} s "
         f"(budget {info['time_budget_seconds']:g} s). Scored on {points.where}.")
