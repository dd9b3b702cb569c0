"""Hidden tests, part 1: modules (14.75 of the part's 22 hidden points; losses in test_losses_hidden.py).

Other shapes and seeds than the public tests, seeded initialisation, stale caches and
accumulated gradients, ReLU'(0), inputs of +-1000. Expected values come from the reference
solution (Gradescope only).
"""

import numpy as np
import pytest
from gradescope_utils.autograder_utils.decorators import number, visibility, weight

import modchecks as M
import scenarios as S
import suspects
from backends import StudentError, raised_instead
from cases import Case
from checking import Report, after

EXTREME = np.array([[-1000.0, -500.0, -40.0, -1e-3, 0.0, 1e-3, 40.0, 500.0, 1000.0]])


def _module_cases(spec, sizes, seed):
    """(kwargs, Case) pairs of module_pass for each batch size."""
    out = []
    for n in sizes:
        x, g = S.module_inputs(spec, n, seed + n, d=4)
        kwargs = dict(spec=spec, x=x, g=g, params=S.linear_params(spec, seed + n))
        out.append((kwargs, Case(f"hidden/{S.describe_spec(spec)}/n{n}/{seed}", S.module_pass, kwargs)))
    return out


def _forward(student, expect, spec, sizes, seed, title):
    r = Report(title)
    for k, case in _module_cases(spec, sizes, seed):
        M.check_forward(r, student, k["spec"], k["x"], k["params"], expect(case))
    return r


def _backward(student, expect, spec, sizes, seed, title):
    r = Report(title)
    for k, case in _module_cases(spec, sizes, seed):
        matched = M.check_backward(r, student, k["spec"], k["x"], k["g"], k["params"], expect(case), seed)
        M.check_backward_fd(r, student, k["spec"], k["x"], k["g"], k["params"], seed, matched)
    return r


def _twice(r, student, expect, spec, seed):
    """A second forward/backward on the same module must use only the second input."""
    n = 5
    x1, g1 = S.module_inputs(spec, n, seed, d=4)
    x2, g2 = S.module_inputs(spec, n, seed + 7, d=4)
    params = S.linear_params(spec, seed)
    kwargs = dict(spec=spec, x1=x1, g1=g1, x2=x2, g2=g2, params=params)
    exp = expect(Case(f"hidden/twice/{S.describe_spec(spec)}/{seed}", S.module_twice, kwargs))
    first = expect(Case(f"hidden/first/{S.describe_spec(spec)}/{seed}", S.module_pass,
                        dict(spec=spec, x=x1, g=g1, params=params)))
    stale = expect(Case(f"hidden/stale/{S.describe_spec(spec)}/{seed}", S.module_pass,
                        dict(spec=spec, x=x1, g=g2, params=params)))
    got = S.module_twice(student, **kwargs)
    call = (f"{S.describe_spec(spec)}: forward(x1), backward(g1), forward(x2), backward(g2) on one object; "
            "the second backward")
    stale_text = "stale cache: backward used what the FIRST forward stored (x1), not the latest one"
    r.compare(f"{call}: dJ/dx", got["dx"], exp["dx"], rtol=M.REF_RTOL, atol=M.REF_ATOL, batch=n,
              suspects={stale_text: stale["dx"]})
    for key in params:
        r.compare(f"{call}: grads[{key!r}]", got[f"grads/{key}"], exp[f"grads/{key}"], rtol=M.REF_RTOL,
                  atol=M.REF_ATOL, batch=n,
                  suspects={"accumulated gradients: backward added to the previous grads instead of "
                            "overwriting them": first[f"grads/{key}"] + exp[f"grads/{key}"],
                            stale_text: stale[f"grads/{key}"]})


@weight(1.5)
@number("1.20")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py")
def test_hidden_linear_forward(student, expect):
    """Linear forward on other shapes (5 -> 2, N = 1 and N = 7) and seeded initialisation"""
    r = _forward(student, expect, ("Linear", 5, 2), (1, 7), 201, "Linear forward")
    layers = [(4, 6, "xavier"), (6, 3, "zero"), (3, 2, "uniform"), (2, 5, "xavier")]
    for seed in (None, 17):
        kwargs = dict(layers=layers, seed=seed)
        exp = expect(Case(f"hidden/linear_init/{seed}", S.linear_init, kwargs))
        got = S.linear_init(student, **kwargs)
        how = "with rng=None" if seed is None else f"one after the other from rng = default_rng({seed})"
        for i, (d_in, d_out, init) in enumerate(layers):
            for key in ("W", "b"):
                r.compare(f"Linear({d_in}, {d_out}, init={init!r}) built {how}: params[{key!r}]",
                          got[f"params/{i}/{key}"], exp[f"params/{i}/{key}"], rtol=1e-12, atol=0.0,
                          suspects={"draws W with size (in, out) and transposes it":
                                    _transposed_draw(seed, layers, i)} if key == "W" and init != "zero" else None)
    r.finish()


def _transposed_draw(seed, layers, index):
    """The weights a layer gets if it draws rng.uniform(size=(in, out)) and transposes."""
    rng = np.random.default_rng(0 if seed is None else seed)
    W = None
    for i, (d_in, d_out, init) in enumerate(layers):
        if seed is None:
            rng = np.random.default_rng(0)
        r = np.sqrt(6.0 / (d_in + d_out)) if init == "xavier" else 0.1
        if init != "zero":
            W = rng.uniform(-r, r, size=(d_in, d_out)).T
        if i == index:
            return W
    return W


@weight(0.25)
@number("1.21")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py")
def test_hidden_linear_unknown_init(student):
    """Linear with an unknown init string raises ValueError"""
    r = Report("unknown init")
    for bad in ("gaussian", "he"):
        try:
            student.make("modules.Linear", 3, 4, init=bad)
            r.fail(f"Linear(3, 4, init={bad!r}) returned without raising; it must raise ValueError")
        except StudentError as exc:
            r.require(exc.type_name == "ValueError",
                      raised_instead(exc, f"Linear(3, 4, init={bad!r})", "ValueError"))
    r.finish()


@weight(2)
@number("1.22")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py")
@pytest.mark.depends_on("test_hidden_linear_forward")
def test_hidden_linear_backward(student, expect, cheap_backward):
    """Linear backward on other shapes (7 -> 4, N = 6; 2 -> 6, N = 1), directional finite differences"""
    cheap_backward("Linear")
    r = _backward(student, expect, ("Linear", 7, 4), (6,), 211, "Linear backward")
    r2 = _backward(student, expect, ("Linear", 2, 6), (1,), 212, "Linear backward")
    r.failures += r2.failures
    r.finish()


@weight(1)
@number("1.23")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py")
@pytest.mark.depends_on("test_hidden_linear_backward")
def test_hidden_linear_no_stale_gradients(student, expect, cheap_backward):
    """Linear: a second backward after a new forward uses the new input and overwrites grads"""
    cheap_backward("Linear")
    r = Report("Linear twice")
    _twice(r, student, expect, ("Linear", 3, 4), 221)
    r.finish()


@weight(0.5)
@number("1.24")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py")
@pytest.mark.parametrize("kind", ["Sigmoid", "Tanh", "ReLU", "Softplus"])
def test_hidden_activation_forward(student, expect, kind):
    """Activation forward on shapes (1, 4) and (6, 4)"""
    _forward(student, expect, (kind,), (1, 6), 231, f"{kind} forward").finish()


@weight(0.75)
@number("1.25")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py")
@pytest.mark.parametrize("kind", [
    after("Sigmoid", "test_hidden_activation_forward"),
    after("Tanh", "test_hidden_activation_forward"),
    after("ReLU", "test_hidden_activation_forward"),
    after("Softplus", "test_hidden_activation_forward"),
])
def test_hidden_activation_backward(student, expect, cheap_backward, kind):
    """Activation backward on (12, 4) inputs (directional differences) and after a second forward"""
    cheap_backward(kind)
    r = _backward(student, expect, (kind,), (12,), 241, f"{kind} backward")
    _twice(r, student, expect, (kind,), 242)
    r.finish()


@weight(0.25)
@number("1.26")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py")
@pytest.mark.parametrize("kind", [
    after("Sigmoid", "test_hidden_activation_forward", "test_hidden_activation_backward"),
    after("Tanh", "test_hidden_activation_forward", "test_hidden_activation_backward"),
    after("ReLU", "test_hidden_activation_forward", "test_hidden_activation_backward"),
    after("Softplus", "test_hidden_activation_forward", "test_hidden_activation_backward"),
])
def test_hidden_activation_extreme_inputs(student, expect, kind):
    """Activation forward and backward at other inputs up to +-1000: finite, and no overflow warnings"""
    g = np.linspace(-1.0, 1.0, EXTREME.size).reshape(EXTREME.shape)
    exp = expect(Case(f"hidden/extreme/{kind}", S.module_pass, dict(spec=(kind,), x=EXTREME, g=g, params={})))
    r = Report(f"{kind} at +-1000")
    M.check_extreme(r, student, kind, EXTREME, g, exp)
    r.finish()


@weight(0.5)
@number("1.27")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py")
def test_hidden_relu_derivative_at_zero(student):
    """ReLU: the derivative at exactly 0 is 0"""
    x = np.array([[0.0, -2.0, 0.0], [3.0, 0.0, -0.5]])
    g = np.array([[1.5, -1.0, 2.0], [0.5, -3.0, 4.0]])
    got = S.module_pass(student, ("ReLU",), x, g, {})
    r = Report("ReLU'(0)")
    r.compare(f"ReLU().backward(grad_out) after forward(a = {x.tolist()})", got["dx"], np.where(x > 0, g, 0.0),
              regions=suspects.regions("ReLU", x), inputs={"a": x})
    r.finish()


SEQ = ("Sequential", [("Linear", 4, 5), ("ReLU",), ("Linear", 5, 3), ("Sigmoid",), ("Linear", 3, 2), ("Softplus",)])


@weight(1.5)
@number("1.28")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py")
@pytest.mark.depends_on("test_hidden_linear_forward", "test_hidden_activation_forward")
def test_hidden_sequential_forward(student, expect):
    """Sequential of six layers (Linear, ReLU, Linear, Sigmoid, Linear, Softplus), N = 1 and N = 6"""
    r = _forward(student, expect, SEQ, (1, 6), 251, "Sequential forward")
    model = S.build(student, SEQ, S.linear_params(SEQ, 251))
    names = student.type_names(model, "modules")
    r.require(names == [layer[0] for layer in SEQ[1]],
              f"Sequential(...).modules should list the layers in order, {[layer[0] for layer in SEQ[1]]}; "
              f"found {names}")
    r.finish()


@weight(1.5)
@number("1.29")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py")
@pytest.mark.depends_on("test_hidden_sequential_forward", "test_hidden_linear_backward",
                        "test_hidden_activation_backward")
def test_hidden_sequential_backward(student, expect, cheap_backward):
    """Sequential backward (six layers) and its params/grads dicts keyed "{index}.{name}" """
    cheap_backward("Sequential")
    r = _backward(student, expect, SEQ, (5,), 261, "Sequential backward")
    params = S.linear_params(SEQ, 262)
    new = {key: value + 0.25 for key, value in S.linear_params(SEQ, 263).items()}
    x, _ = S.module_inputs(SEQ, 3, 264)
    kwargs = dict(spec=SEQ, params=params, x=x, new_params=new)
    exp = expect(Case("hidden/sequential_params", S.sequential_params, kwargs))
    got = S.sequential_params(student, **kwargs)
    expected_keys = [str(k) for k in exp["keys"]]
    r.require(got["keys"] == expected_keys, f"Sequential(...).params should have the keys {expected_keys}, "
              f"found {got['keys']}")
    r.require(got["grads_keys"] == expected_keys, f"Sequential(...).grads should have the keys "
              f"{expected_keys}, found {got['grads_keys']}")
    r.compare("Sequential(...).forward(x) after writing new weights into Sequential.params[key] in place "
              "(params must hold the layers' own arrays)", got["out"], exp["out"], rtol=M.REF_RTOL,
              atol=M.REF_ATOL, suspects={"the weights written through Sequential.params did not reach the "
                                         "layers (params holds copies?)": _seq_out(params, x)})
    r.finish()


def _seq_out(params, x):
    """The reference forward of SEQ with the given weights (trusted numpy)."""
    h = x
    for i, layer in enumerate(SEQ[1]):
        if layer[0] == "Linear":
            h = h @ params[f"{i}.W"].T + params[f"{i}.b"]
        elif layer[0] == "ReLU":
            h = np.maximum(h, 0.0)
        elif layer[0] == "Sigmoid":
            h = 1.0 / (1.0 + np.exp(-h))
        else:
            h = np.logaddexp(0.0, h)
    return h


@weight(0.5)
@number("1.30")
@visibility("after_due_date")
@pytest.mark.submission_files("modules.py")
@pytest.mark.depends_on("test_hidden_sequential_backward")
def test_hidden_sequential_no_stale_gradients(student, expect, cheap_backward):
    """Sequential: a second backward after a new forward uses the new input and overwrites grads"""
    cheap_backward("Sequential")
    r = Report("Sequential twice")
    _twice(r, student, expect, ("Sequential", [("Linear", 3, 4), ("Sigmoid",), ("Linear", 4, 2)]), 271)
    r.finish()
