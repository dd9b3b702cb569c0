"""Public tests, part 2: the network (6 of the part's 15 points).

build_mlp's layers and seeded weights, a gradient check of a whole network, sgd_step,
train's epoch losses for a fixed seed, predict. Expected values come from
public/fixtures.npz (the reference solution's outputs on these exact inputs).
"""

import pytest
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import cases
import netchecks as N
from checking import Report


@weight(1.5)
@number("2.1")
@visibility("visible")
@pytest.mark.submission_files("modules.py", "mlp.py")
def test_build_mlp(student, expect):
    """build_mlp: layers in order and the seeded initial weights (2-3-1 sigmoid, 3-4-2 tanh)"""
    r = Report("build_mlp")
    for name, config in cases.MLP_CONFIGS.items():
        N.check_structure(r, student, config, expect(cases.PUBLIC[name]))
    r.finish()


@weight(1.5)
@number("2.2")
@visibility("visible")
@pytest.mark.submission_files("modules.py", "losses.py", "mlp.py")
@pytest.mark.depends_on("test_build_mlp", "test_linear_backward", "test_activation_backward[Sigmoid]",
                        "test_loss_backward[BinaryCrossEntropy]")
def test_network_gradient_check(student, expect, cheap_backward):
    """Whole-network gradient check: every parameter of a 2-3-1 network with cross-entropy"""
    cheap_backward("Sequential", "BinaryCrossEntropy")
    case = cases.PUBLIC["gradcheck/2-3-1"]
    r = Report("network gradients")
    N.check_network_grads(r, student, case.kwargs, expect(case), seed=301)
    r.finish()


@weight(1)
@number("2.3")
@visibility("visible")
@pytest.mark.submission_files("modules.py", "mlp.py")
def test_sgd_step(student, expect):
    """sgd_step: p -= learning_rate * g for every parameter, in place"""
    case = cases.PUBLIC["sgd/0.1"]
    r = Report("sgd_step")
    N.check_sgd(r, student, case.kwargs, expect(case))
    r.finish()


@weight(1.5)
@number("2.4")
@visibility("visible")
@pytest.mark.submission_files("modules.py", "losses.py", "mlp.py")
@pytest.mark.depends_on("test_build_mlp", "test_network_gradient_check", "test_sgd_step")
def test_train(student, expect):
    """train: the epoch losses equal the reference's for the same seed (5 epochs, batches of 4 of 10)"""
    case = cases.PUBLIC["train/bce"]
    r = Report("train")
    N.check_train(r, student, case.kwargs, expect(case), expect(cases.variants_name(case.name)))
    r.finish()


@weight(0.5)
@number("2.5")
@visibility("visible")
@pytest.mark.submission_files("modules.py", "mlp.py")
@pytest.mark.depends_on("test_sequential_forward")
def test_predict(student, expect):
    """predict: integer labels (output >= 0.5, label 1 at exactly 0.5) for one output column"""
    r = Report("predict")
    for name in ("predict/one-column", "predict/half"):
        case = cases.PUBLIC[name]
        N.check_predict(r, student, case.kwargs, expect(case))
    r.finish()
