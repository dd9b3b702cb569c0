"""Tests of the reference layers (solution/backprop/modules.py)."""

import warnings

import numpy as np
import pytest

TOL = 1e-7  # largest relative error accepted between backward and finite differences
EXTREME = np.array([[-1000.0, -710.0, -40.0, -1e-3, 0.0],
                    [1e-3, 40.0, 710.0, 1000.0, 3.0]])


def strict():
    """Overflow, invalid and divide-by-zero raise (underflow to 0 is allowed by the contract)."""
    return np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")


def check_module_gradients(solution, module, x, seed=0):
    """Compare module.backward with finite differences of J = sum(forward(x) * G), for x and every param.

    Returns the largest relative error seen.
    """
    num_grad = solution.gradcheck.numerical_gradient
    rel = solution.gradcheck.relative_error
    G = np.random.default_rng(seed).normal(size=module.forward(x).shape)

    def J(_):
        return float(np.sum(module.forward(x) * G))

    module.forward(x)
    dx = module.backward(G)
    analytic = {name: np.array(g) for name, g in module.grads.items()}
    assert dx.shape == x.shape
    worst = rel(dx, num_grad(J, x))
    for name, p in module.params.items():
        assert analytic[name].shape == p.shape, name
        worst = max(worst, rel(analytic[name], num_grad(J, p)))
    assert worst < TOL
    return worst


def test_linear_forward_is_affine(solution):
    rng = np.random.default_rng(1)
    lin = solution.modules.Linear(4, 3, rng=rng)
    lin.params["b"][...] = rng.normal(size=3)
    x = rng.normal(size=(5, 4))
    out = lin.forward(x)
    assert out.shape == (5, 3) and out.dtype == np.float64
    W, b = lin.params["W"], lin.params["b"]
    expected = np.array([[sum(W[j, i] * x[n, i] for i in range(4)) + b[j] for j in range(3)]
                         for n in range(5)])
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_linear_gradients(solution):
    rng = np.random.default_rng(2)
    lin = solution.modules.Linear(4, 3, init="uniform", rng=rng)
    lin.params["b"][...] = rng.normal(size=3)
    check_module_gradients(solution, lin, rng.normal(size=(5, 4)))
    assert lin.grads["W"].shape == (3, 4) and lin.grads["b"].shape == (3,)


@pytest.mark.parametrize("name, reference, derivative", [
    ("Sigmoid", lambda u: 1 / (1 + np.exp(-u)), lambda u: np.exp(-u) / (1 + np.exp(-u)) ** 2),
    ("Tanh", np.tanh, lambda u: 1 - np.tanh(u) ** 2),
    ("ReLU", lambda u: np.maximum(u, 0), lambda u: (u > 0).astype(float)),
    ("Softplus", lambda u: np.log(1 + np.exp(u)), lambda u: 1 / (1 + np.exp(-u))),
])
def test_activation_forward_backward(solution, name, reference, derivative):
    rng = np.random.default_rng(3)
    u = rng.uniform(0.2, 3.0, size=(4, 3)) * rng.choice([-1.0, 1.0], size=(4, 3))  # away from ReLU's kink
    act = getattr(solution.modules, name)()
    assert act.params == {} and act.grads == {}
    np.testing.assert_allclose(act.forward(u), reference(u), rtol=1e-12)
    g = rng.normal(size=u.shape)
    np.testing.assert_allclose(act.backward(g), g * derivative(u), rtol=1e-12, atol=1e-15)
    check_module_gradients(solution, act, u)


@pytest.mark.parametrize("name", ["Sigmoid", "Tanh", "ReLU", "Softplus"])
def test_activation_stable_at_extremes(solution, name):
    act = getattr(solution.modules, name)()
    with strict(), warnings.catch_warnings():
        warnings.simplefilter("error")
        z = act.forward(EXTREME)
        dz = act.backward(np.ones_like(EXTREME))
    assert np.all(np.isfinite(z)) and np.all(np.isfinite(dz))
    assert z.shape == EXTREME.shape and dz.shape == EXTREME.shape


def test_extreme_values(solution):
    m = solution.modules
    with strict():
        sig = m.Sigmoid().forward(EXTREME)
        soft = m.Softplus()
        sp = soft.forward(EXTREME)
        dsp = soft.backward(np.ones_like(EXTREME))
    assert sig[0, 0] == 0.0 and sig[1, 3] == 1.0 and sig[0, 4] == 0.5  # exact: exp(-1000) is 0, exp(0) is 1
    assert sp[1, 3] == 1000.0 and sp[0, 0] == 0.0  # exact: 1000 + log1p(0), 0 + log1p(0)
    # other formulas (log(2) vs log1p(exp(-0)), log1p(exp(3)) vs 3 + log1p(exp(-3))): their SIMD
    # kernels may round differently on another CPU, so within a few dozen ulps, not bit for bit
    np.testing.assert_allclose(sp[0, 4], np.log(2.0), rtol=1e-14)
    np.testing.assert_allclose(sp[1, 4], np.log1p(np.exp(3.0)), rtol=1e-14)
    np.testing.assert_allclose(dsp, sig, rtol=1e-15)  # softplus' derivative is the sigmoid


def test_relu_derivative_at_zero_is_zero(solution):
    relu = solution.modules.ReLU()
    x = np.array([[-1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(relu.forward(x), [[0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(relu.backward(np.array([[5.0, 5.0, 5.0]])), [[0.0, 0.0, 5.0]])


@pytest.mark.parametrize("make", [
    lambda m: m.Linear(3, 2, rng=np.random.default_rng(0)), lambda m: m.Sigmoid(), lambda m: m.Tanh(),
    lambda m: m.ReLU(), lambda m: m.Softplus(),
    lambda m: m.Sequential(m.Linear(3, 4), m.Tanh(), m.Linear(4, 2), m.Sigmoid()),
])
def test_no_input_mutation(solution, make):
    module = make(solution.modules)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 3))
    x_copy = x.copy()
    out = module.forward(x)
    g = rng.normal(size=out.shape)
    g_copy = g.copy()
    module.backward(g)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(g, g_copy)


def test_backward_uses_most_recent_forward(solution):
    rng = np.random.default_rng(5)
    lin = solution.modules.Linear(3, 2, rng=rng)
    x1, x2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    g = rng.normal(size=(4, 2))
    lin.forward(x1)
    lin.forward(x2)
    lin.backward(g)
    np.testing.assert_allclose(lin.grads["W"], g.T @ x2, rtol=1e-12)


@pytest.mark.parametrize("init, low_high", [("xavier", None), ("uniform", (-0.1, 0.1))])
def test_linear_init_matches_recipe(solution, init, low_high):
    n_in, n_out = 5, 3
    r = np.sqrt(6.0 / (n_in + n_out))
    low, high = low_high or (-r, r)
    rng = np.random.default_rng(11)
    first = solution.modules.Linear(n_in, n_out, init=init, rng=rng)
    second = solution.modules.Linear(n_in, n_out, init=init, rng=rng)
    recipe = np.random.default_rng(11)
    np.testing.assert_array_equal(first.params["W"], recipe.uniform(low, high, size=(n_out, n_in)))
    np.testing.assert_array_equal(second.params["W"], recipe.uniform(low, high, size=(n_out, n_in)))
    for lin in (first, second):
        assert lin.params["W"].dtype == np.float64
        np.testing.assert_array_equal(lin.params["b"], np.zeros(n_out))
        assert {k: v.shape for k, v in lin.grads.items()} == {"W": (n_out, n_in), "b": (n_out,)}


def test_linear_default_rng_is_seed_zero(solution):
    lin = solution.modules.Linear(2, 4)
    r = np.sqrt(6.0 / 6)
    np.testing.assert_array_equal(lin.params["W"], np.random.default_rng(0).uniform(-r, r, size=(4, 2)))


def test_zero_init_draws_nothing(solution):
    rng = np.random.default_rng(3)
    lin = solution.modules.Linear(3, 2, init="zero", rng=rng)
    np.testing.assert_array_equal(lin.params["W"], np.zeros((2, 3)))
    assert rng.uniform() == np.random.default_rng(3).uniform()


def test_unknown_init_raises(solution):
    with pytest.raises(ValueError):
        solution.modules.Linear(2, 2, init="he")


def test_sequential_params_are_the_layers_arrays(solution):
    m = solution.modules
    seq = m.Sequential(m.Linear(2, 3), m.Sigmoid(), m.Linear(3, 1), m.Sigmoid())
    assert [type(x).__name__ for x in seq.modules] == ["Linear", "Sigmoid", "Linear", "Sigmoid"]
    assert list(seq.params) == ["0.W", "0.b", "2.W", "2.b"]
    assert seq.params["2.W"] is seq.modules[2].params["W"]
    seq.params["0.b"] += 1.5
    np.testing.assert_array_equal(seq.modules[0].params["b"], np.full(3, 1.5))
    seq.forward(np.ones((4, 2)))
    seq.backward(np.ones((4, 1)))
    assert list(seq.grads) == list(seq.params)
    assert seq.grads["0.W"] is seq.modules[0].grads["W"]  # rebuilt on access after backward
    with pytest.raises(AttributeError):
        seq.params = {}


def test_sequential_gradients(solution):
    m = solution.modules
    rng = np.random.default_rng(6)
    seq = m.Sequential(m.Linear(4, 5, rng=rng), m.Softplus(), m.Linear(5, 3, rng=rng), m.Tanh(),
                       m.Linear(3, 2, rng=rng), m.Sigmoid())
    for p in seq.params.values():
        p += rng.normal(scale=0.3, size=p.shape)
    check_module_gradients(solution, seq, rng.normal(size=(6, 4)))
    assert seq(np.zeros((3, 4))).shape == (3, 2)  # __call__ is forward
