"""The checks shared by the public and hidden network tests (build_mlp, gradients, sgd_step,
train, predict). Each records its problems in a checking.Report."""

import numpy as np

import numeric
import scenarios as S

RTOL = 1e-7

# The classic bugs of train's loop, by name: what the failure message says when the epoch losses
# match that bug's (imitations.train_variants computes them from the reference, hidden side only;
# the public test reads them from public/fixtures.npz).
TRAIN_VARIANTS = {
    "mean_of_batches": "each epoch's loss is the mean of that epoch's minibatch losses, not one forward "
                       "over the whole training set after the epoch",
    "last_batch": "each epoch's loss is the last minibatch's loss, not one forward over the whole "
                  "training set after the epoch",
    "before_epoch": "the loss is recorded before the epoch's updates instead of after them",
    "no_shuffle": "the data are not shuffled (the minibatches follow 0, 1, 2, ... instead of "
                  "rng.permutation(N))",
    "rng_per_epoch": "rng = default_rng(seed) is re-created every epoch, so every epoch uses the same "
                     "permutation",
    "drop_last": "the last, smaller minibatch of each epoch is skipped",
    "y_unshuffled": "the targets are sliced in order (y[start:end]) while X is permuted (X[perm[start:end]])",
}


def _init_weights(sizes, init, rng_for_layer):
    """Weights build_mlp would make if layer i drew from rng_for_layer(i)."""
    out = {}
    for i in range(len(sizes) - 1):
        d_in, d_out = sizes[i], sizes[i + 1]
        if init == "zero":
            W = np.zeros((d_out, d_in))
        else:
            r = np.sqrt(6.0 / (d_in + d_out)) if init == "xavier" else 0.1
            W = rng_for_layer(i).uniform(-r, r, size=(d_out, d_in))
        out[f"{2 * i}.W"] = W
    return out


def _transposed_draws(sizes, init, seed):
    """Weights if every Linear drew rng.uniform(size=(in, out)) from the shared rng and transposed it."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(len(sizes) - 1):
        d_in, d_out = sizes[i], sizes[i + 1]
        r = np.sqrt(6.0 / (d_in + d_out)) if init == "xavier" else 0.1
        out[f"{2 * i}.W"] = np.zeros((d_out, d_in)) if init == "zero" else rng.uniform(-r, r, size=(d_in, d_out)).T
    return out


def init_suspects(config):
    """{diagnosis: {key: W}} for the classic ways of handing out the rng in build_mlp."""
    sizes = [config["n_inputs"], *config["hidden"], config["n_outputs"]]
    init, seed = config.get("init", "xavier"), config.get("seed", 0)
    return {
        "Linear draws W with size (in, out) and transposes it (see the Linear initialisation tests)":
            _transposed_draws(sizes, init, seed),
        "every Linear gets its own default_rng(seed) instead of sharing ONE rng, first layer first":
            _init_weights(sizes, init, lambda i: np.random.default_rng(seed)),
        "the rng is not passed to the Linear layers (rng=None gives default_rng(0) in every layer)":
            _init_weights(sizes, init, lambda i: np.random.default_rng(0)),
    }


def structure_call(config):
    hidden = list(config["hidden"])
    return (f"build_mlp({config['n_inputs']}, {hidden}, {config['n_outputs']}, activation={config['activation']!r}, "
            f"output={config['output']!r}, init={config['init']!r}, seed={config['seed']})")


def check_structure(r, b, config, expected):
    """Layer classes in order, params keys, and the seeded initial weights."""
    got = S.mlp_structure(b, **config)
    call = structure_call(config)
    want_layers = [str(v) for v in expected["layers"]]
    if not r.require(got["layers"] == want_layers, f"{call}: the layers should be {want_layers}, found "
                     f"{got['layers']}"):
        return
    want_keys = [str(v) for v in expected["keys"]]
    if not r.require(got["keys"] == want_keys, f"{call}: params should have the keys {want_keys}, "
                     f"found {got['keys']}"):
        return
    wrong = init_suspects(config)
    for key in want_keys:
        suspects = {text: ws[key] for text, ws in wrong.items() if key in ws}
        r.compare(f"{call}: params[{key!r}]", got[f"params/{key}"], expected[f"params/{key}"], rtol=1e-12,
                  atol=0.0, suspects=suspects)


def grads_call(kwargs):
    c = kwargs["config"]
    return (f"build_mlp({c['n_inputs']}, {c['hidden_sizes']}, {c['n_outputs']}, activation={c['activation']!r}, "
            f"output={c['output']!r}) with set weights, {kwargs['loss_name']}() on X {kwargs['X'].shape}; "
            "model.backward(loss.backward())")


def check_network_grads(r, b, kwargs, expected, seed):
    """Every parameter's gradient against the reference and against finite differences of J."""
    got = S.network_grads(b, **kwargs)
    call = grads_call(kwargs)
    n = kwargs["X"].shape[0]
    r.scalar(f"{call}: J", got["J"], float(expected["J"]), rtol=RTOL, batch=n)
    for key in kwargs["params"]:
        r.compare(f"{call}: grads[{key!r}]", got[f"grads/{key}"], expected[f"grads/{key}"], rtol=RTOL,
                  atol=1e-10, batch=n)
    model = b.call("mlp.build_mlp", **kwargs["config"])
    S.set_model_params(b, model, kwargs["params"])
    loss = b.make(f"losses.{kwargs['loss_name']}")
    for k, (key, value) in enumerate(kwargs["params"].items()):
        analytic = got[f"grads/{key}"]
        if not isinstance(analytic, np.ndarray) or analytic.shape != value.shape:
            continue  # already reported against the reference
        setter = b.param_setter(model, key)

        objective = numeric.loss_objective(b, loss, kwargs["y"], call)

        def f(p, setter=setter, objective=objective):
            setter(p)
            return objective(b.method(model, "forward", kwargs["X"]))
        try:
            estimate, project = numeric.check_gradient(f, value, seed + k)
        except numeric.NotScalar as exc:
            r.fail(str(exc))
            return
        setter(value)
        r.compare(f"{call}: grads[{key!r}] against centered finite differences of J over this parameter",
                  project(analytic), estimate, rtol=1e-5, atol=1e-7, batch=n)


def check_sgd(r, b, kwargs, expected):
    """params after sgd_step equal params - lr * grads, updated in place."""
    got = S.sgd_run(b, **kwargs)
    lr = kwargs["learning_rate"]
    call = f"sgd_step(model, {lr}) on a Sequential whose layers hold known params and grads"
    params, grads = kwargs["params"], kwargs["grads"]
    for key in params:
        want = params[key] - lr * grads[key]
        suspects = {"gradient ascent: p += learning_rate * g": params[key] + lr * grads[key],
                    "the learning rate is ignored: p -= g": params[key] - grads[key],
                    "the parameters were not changed": params[key]}
        r.compare(f"{call}: params[{key!r}] after the step", got[f"params/{key}"], want, rtol=1e-12,
                  atol=1e-15, suspects=suspects)
        r.compare(f"{call}: params[{key!r}] after the step, against the reference", got[f"params/{key}"],
                  expected[f"params/{key}"], rtol=1e-12, atol=1e-15)
    first = next(key for key in params if key.endswith(".W"))
    kept, after = got["kept_after"], got[f"params/{first}"]
    if (isinstance(after, np.ndarray) and after.shape == params[first].shape
            and np.allclose(after, params[first] - lr * grads[first], rtol=1e-12, atol=1e-15)):
        r.require(isinstance(kept, np.ndarray) and np.array_equal(kept, got[f"params/{first}"]),
                  f"{call}: the array that was params[{first!r}] before the step still holds the old values: "
                  "sgd_step replaced the arrays instead of updating them in place (use p -= learning_rate * g)")


def check_train(r, b, kwargs, expected, variants):
    """The epoch losses (rtol 1e-7) and the final weights equal the reference's for the same seed."""
    got = S.train_run(b, **kwargs)
    c = kwargs["config"]
    call = (f"train(build_mlp({c['n_inputs']}, {c['hidden_sizes']}, {c['n_outputs']}, ...), "
            f"{kwargs['loss_name']}(), X {kwargs['X'].shape}, y {kwargs['y'].shape}, epochs={kwargs['epochs']}, "
            f"learning_rate={kwargs['learning_rate']}, batch_size={kwargs['batch_size']}, seed={kwargs['seed']})")
    losses = got["losses"]
    if not isinstance(losses, list) or not all(isinstance(v, (int, float)) for v in losses):
        r.fail(f"{call} returned {type(losses).__name__}"
               + (f" of {sorted({type(v).__name__ for v in losses})}" if isinstance(losses, (list, tuple)) else "")
               + "; expected a list of Python floats, one per epoch (use float(...))")
        if not isinstance(losses, (list, tuple, np.ndarray)):
            return
    if len(losses) > 1 and np.ptp(np.asarray(losses, dtype=float)) == 0 and np.ptp(expected["losses"]) > 0:
        r.fail(f"{call}: every epoch's loss is {losses[0]!r}: the parameters never change (does sgd_step "
               "update the model's arrays in place? does train call it?)")
        return
    suspects = {TRAIN_VARIANTS[name]: np.asarray(v) for name, v in variants.items()
                if np.shape(v) == np.shape(expected["losses"])}
    r.compare(f"{call}: the epoch losses", np.asarray(losses, dtype=np.float64) if len(losses) else losses,
              expected["losses"], rtol=RTOL, atol=1e-12, suspects=suspects, check_dtype=False)
    for key in [k[len("params/"):] for k in expected if k.startswith("params/")]:
        r.compare(f"{call}: params[{key!r}] after training", got.get(f"params/{key}"), expected[f"params/{key}"],
                  rtol=1e-6, atol=1e-9)


def check_predict(r, b, kwargs, expected):
    """Integer labels of shape (N,), equal to the reference's."""
    got = S.predict_run(b, **kwargs)
    call = f"predict(model, X {kwargs['X'].shape}) for a model with {S.spec_shapes(kwargs['spec'])[1]} output column(s)"
    labels = got["labels"]
    if isinstance(labels, np.ndarray) and labels.dtype.kind not in "iu":
        r.fail(f"{call} returned dtype {labels.dtype}; labels must have an integer dtype "
               "(e.g. .astype(np.int64))" + (" (it returned the outputs, not labels?)"
                                             if labels.dtype.kind == "f" and not np.all(np.isin(labels, (0, 1)))
                                             else ""))
        labels = labels.astype(np.int64) if labels.dtype.kind in "bf" else labels
    suspects = {}
    outputs = trusted_forward(kwargs["spec"], kwargs["params"], kwargs["X"])
    if outputs.shape[1] == 1:
        suspects["label 1 only where the output is > 0.5; it must be >= 0.5"] = (outputs[:, 0] > 0.5).astype(int)
    else:
        suspects["argmax over axis 0 (the examples) instead of axis 1 (the columns)"] = np.argmax(outputs, axis=0)
    r.compare(call, labels, expected["labels"], check_dtype=False, suspects=suspects)


def trusted_forward(spec, params, X, relu_inputs=None):
    """Our own forward pass of a Sequential spec with the given weights (numpy only); the input
    of every ReLU is appended to `relu_inputs` when a list is given."""
    h = np.asarray(X, dtype=np.float64)
    for i, layer in enumerate(spec[1]):
        if layer[0] == "ReLU" and relu_inputs is not None:
            relu_inputs.append(h)
        if layer[0] == "Linear":
            h = h @ params[f"{i}.W"].T + params[f"{i}.b"]
        elif layer[0] == "Sigmoid":
            h = 1.0 / (1.0 + np.exp(-h))
        elif layer[0] == "Tanh":
            h = np.tanh(h)
        elif layer[0] == "ReLU":
            h = np.maximum(h, 0.0)
        else:
            h = np.logaddexp(0.0, h)
    return h
