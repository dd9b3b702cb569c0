"""Named grading cases and the committed fixture file of the public ones.

A Case is a scenario (scenarios.py) with fixed arguments. Running it on the reference
gives the expected values; public cases are stored in public/fixtures.npz (written by
tools/public_fixtures.py, with the bug imitations of imitations.public_cases), so the
public tests need no solution; hidden tests build their own cases and get expected values
from the reference on Gradescope.
"""

import io
import zipfile
from dataclasses import dataclass, field

import numpy as np

import scenarios as S


@dataclass(frozen=True)
class Case:
    """name: unique key ("linear/n4"); fn: scenario(backend, **kwargs) -> dict; kwargs: its arguments."""

    name: str
    fn: object
    kwargs: dict = field(default_factory=dict)

    def run(self, backend):
        return self.fn(backend, **self.kwargs)


def module_case(name, spec, n, seed):
    x, g = S.module_inputs(spec, n, seed)
    return Case(name, S.module_pass, dict(spec=spec, x=x, g=g, params=S.linear_params(spec, seed)))


def loss_case(name, loss, n, seed, column=True, k=3):
    pred, target = S.loss_inputs(loss, n, seed, k=k, column=column)
    return Case(name, S.loss_pass, dict(name=loss, pred=pred, target=target))


# A target (N,) with pred (N, 1); saturated probabilities 0 and 1; logits of +-1000.
EDGE_INPUTS = {
    "SquaredError": (np.array([[0.5], [-2.0], [1.0]]), np.array([1.5, -2.0, 0.0])),
    "BinaryCrossEntropy": (np.array([[1.0], [0.0], [0.25], [1.0]]), np.array([[0.0], [0.0], [1.0], [1.0]])),
    "SoftmaxCrossEntropy": (np.array([[-1000.0, 1000.0], [1000.0, 999.0], [0.0, -1000.0]]), np.array([0, 1, 0])),
}

SEQ = ("Sequential", [("Linear", 3, 4), ("Tanh",), ("Linear", 4, 2)])
MLP_CONFIGS = {
    "mlp/2-3-1": dict(n_inputs=2, hidden=[3], n_outputs=1, activation="sigmoid", output="sigmoid",
                      init="xavier", seed=0),
    "mlp/3-4-2": dict(n_inputs=3, hidden=[4], n_outputs=2, activation="tanh", output="identity",
                      init="xavier", seed=5),
}


def _public():
    out = []
    for n in (1, 4):
        out.append(module_case(f"linear/n{n}", ("Linear", 3, 5), n, seed=11 + n))
        for act in S.ACTIVATIONS:
            out.append(module_case(f"{act.lower()}/n{n}", (act,), n, seed=21 + n))
        out.append(module_case(f"sequential/n{n}", SEQ, n, seed=31 + n))
    extreme = np.array([[-1000.0, -710.0, -3.0, 0.0, 0.5, 710.0, 1000.0]])
    g = np.array([[0.5, -1.0, 0.75, -0.25, 1.5, -2.0, 1.0]])
    for act in S.ACTIVATIONS:
        out.append(Case(f"{act.lower()}/extreme", S.module_pass, dict(spec=(act,), x=extreme, g=g, params={})))
    for name, (pred, target) in EDGE_INPUTS.items():
        out.append(Case(f"{name.lower()}/edge", S.loss_pass, dict(name=name, pred=pred, target=target)))
    for n in (1, 5):
        out.append(loss_case(f"squarederror/n{n}", "SquaredError", n, seed=41 + n))
        out.append(loss_case(f"binarycrossentropy/n{n}", "BinaryCrossEntropy", n, seed=51 + n))
        out.append(loss_case(f"softmaxcrossentropy/n{n}", "SoftmaxCrossEntropy", n, seed=61 + n))
    for name, config in MLP_CONFIGS.items():
        out.append(Case(name, S.mlp_structure, config))
    X, y = S.network_data(10, 2, 1, seed=71)
    train = dict(config=dict(n_inputs=2, hidden_sizes=[3], n_outputs=1, seed=3), loss_name="BinaryCrossEntropy",
                 X=X, y=y, epochs=5, learning_rate=0.5, batch_size=4, seed=8)
    out.append(Case("train/bce", S.train_run, train))
    config = dict(n_inputs=2, hidden_sizes=[3], n_outputs=1, activation="sigmoid", output="sigmoid")
    Xg, yg = S.network_data(5, 2, 1, seed=72)
    out.append(Case("gradcheck/2-3-1", S.network_grads, dict(
        config=config, loss_name="BinaryCrossEntropy", X=Xg, y=yg, params=S.mlp_params(config, 72))))
    sgd_spec = ("Sequential", [("Linear", 3, 4), ("Sigmoid",), ("Linear", 4, 2)])
    out.append(Case("sgd/0.1", S.sgd_run, dict(spec=sgd_spec, params=S.linear_params(sgd_spec, 73),
                                                 grads=S.linear_params(sgd_spec, 74), learning_rate=0.1)))
    net = ("Sequential", [("Linear", 2, 3), ("Sigmoid",), ("Linear", 3, 1), ("Sigmoid",)])
    Xp, _ = S.network_data(9, 2, 1, seed=81)
    out.append(Case("predict/one-column", S.predict_run,
                    dict(spec=net, params=S.linear_params(net, 81), X=Xp)))
    half = ("Sequential", [("Linear", 2, 1), ("Sigmoid",)])  # outputs exactly 0.5 where x1 = x2
    out.append(Case("predict/half", S.predict_run, dict(
        spec=half, params={"0.W": np.array([[2.0, -2.0]]), "0.b": np.array([0.0])},
        X=np.array([[1.0, 1.0], [0.5, -0.5], [-3.0, -3.0], [0.0, 1.0]]))))
    return {case.name: case for case in out}


PUBLIC = _public()


# Public fixtures that imitate bugs. imitations.py computes them (hidden side only: it holds
# bugged copies of the algorithms students write); the public tests read them by these names.

def variants_name(case_name):
    """The fixture of train's bugged variants for the train case `case_name`."""
    return f"{case_name}/variants"


def bugs_name(expression):
    """The fixture of the reverse-mode bugs' partials for an expressions.Expression with a key."""
    if not expression.key:
        raise ValueError(f"{expression.name}: no fixture key")
    return f"autodiff/bugs/{expression.key}"


# ---------------------------------------------------------------- storage

def flatten(result):
    """A scenario's dict as {key: np.ndarray} (lists of names become string arrays)."""
    out = {}
    for key, value in result.items():
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out[key] = np.array(value, dtype=str)
        else:
            out[key] = np.asarray(value)
    return out


def save_fixtures(path, expected):
    """Write {case name: flat dict} to an .npz with keys "<case>::<key>" (no pickle).

    Byte-for-byte reproducible (sorted entries, fixed timestamps), unlike np.savez.
    """
    arrays = {f"{case}::{key}": value for case, flat in expected.items() for key, value in flat.items()}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            stream = io.BytesIO()
            np.lib.format.write_array(stream, np.asarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, stream.getvalue())


def load_fixtures(path):
    """Read what save_fixtures wrote, as {case name: {key: array}}."""
    out = {}
    with np.load(path, allow_pickle=False) as data:
        for full in data.files:
            case, key = full.split("::", 1)
            out.setdefault(case, {})[key] = data[full]
    return out


def generate(package):
    """The expected values of every public case, from a reference package."""
    import backends
    backend = backends.Reference(package)
    return {name: flatten(case.run(backend)) for name, case in PUBLIC.items()}
