"""Hidden tests, part 3: the pocket datasets on fresh points (12 of the part's 20 points).

The network trained for the public pocket tests (same session, trained once) is scored with
the grader's own forward pass on n_test fresh points drawn on the trusted side with the
reference's data.generate and a seed students never see.
"""

import pytest
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import pockets


@weight(3)
@number("3.20")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py", "losses.py", "mlp.py", "hyperparams.toml")
@pytest.mark.depends_on("test_hidden_train", "test_train")
@pytest.mark.parametrize("name", ["diagonal_band", "one_pocket", "four_gaussians", "two_pockets"])
def test_hidden_pocket_fresh_points(trained_pocket, reference, grading_seed, name):
    """Pocket dataset: accuracy on fresh hidden test points reaches the threshold"""
    trained = trained_pocket(name)
    threshold = float(pockets.thresholds()["datasets"][name]["threshold"])
    points = pockets.fresh_points(reference.data, name, grading_seed)
    acc = pockets.check_accuracy(trained, points, threshold)
