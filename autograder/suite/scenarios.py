"""Grading scenarios for modules, losses and networks, runnable on either backend.

A scenario builds objects, calls them on trusted-side inputs and returns what came
back as a flat dict name -> value (arrays, floats, lists of class names). Running it
on the reference gives the expected dict (on Gradescope directly, locally from the
committed public/fixtures.npz that tools/public_fixtures.py writes from the same code);
running it on the student's code gives the dict to check.

A layer spec is a tuple: ("Linear", in, out), ("Sigmoid",), ("Tanh",), ("ReLU",),
("Softplus",) or ("Sequential", [spec, ...]). Inputs and weights come from
``numpy.random.default_rng(seed)`` on the trusted side, so both runs see the same.
"""

import numpy as np

ACTIVATIONS = ("Sigmoid", "Tanh", "ReLU", "Softplus")
LOSSES = ("SquaredError", "BinaryCrossEntropy", "SoftmaxCrossEntropy")


def describe_spec(spec):
    """'Linear(3, 5)', 'Sequential(Linear(3, 4), Tanh(), Linear(4, 2))'."""
    if spec[0] == "Sequential":
        return f"Sequential({', '.join(describe_spec(s) for s in spec[1])})"
    return f"{spec[0]}({', '.join(str(a) for a in spec[1:])})"


def spec_shapes(spec):
    """(in_features, out_features) of a spec, None for an elementwise layer."""
    if spec[0] == "Linear":
        return spec[1], spec[2]
    if spec[0] == "Sequential":
        shapes = [spec_shapes(s) for s in spec[1] if spec_shapes(s)]
        return (shapes[0][0], shapes[-1][1]) if shapes else None
    return None


def linear_params(spec, seed):
    """Trusted weights for every Linear in a spec: {"i.W": (out, in), "i.b": (out,)} ("W"/"b" alone)."""
    rng = np.random.default_rng(seed)
    if spec[0] == "Linear":
        return {"W": rng.normal(size=(spec[2], spec[1])), "b": 0.5 * rng.normal(size=spec[2])}
    params = {}
    for i, layer in enumerate(spec[1] if spec[0] == "Sequential" else []):
        if layer[0] == "Linear":
            params[f"{i}.W"] = rng.normal(size=(layer[2], layer[1]))
            params[f"{i}.b"] = 0.5 * rng.normal(size=layer[2])
    return params


def build(b, spec, params):
    """Construct a spec on backend b and set its weights in place from `params`."""
    if spec[0] == "Sequential":
        layers = []
        for i, layer in enumerate(spec[1]):
            own = {k.split(".", 1)[1]: v for k, v in params.items() if k.split(".", 1)[0] == str(i)}
            layers.append(build(b, layer, own))
        return b.make("modules.Sequential", *layers)
    if spec[0] == "Linear":
        layer = b.make("modules.Linear", spec[1], spec[2])
        for key in ("W", "b"):
            b.copy_into(layer, key, params[key])
        return layer
    return b.make(f"modules.{spec[0]}")


def module_inputs(spec, n, seed, d=3, scale=2.0):
    """(x, grad_out) for a spec: x (n, in) or (n, d) for elementwise layers, grad_out like the output."""
    rng = np.random.default_rng(seed + 1000)
    shapes = spec_shapes(spec)
    d_in, d_out = shapes if shapes else (d, d)
    x = scale * rng.normal(size=(n, d_in))
    if spec[0] == "ReLU":
        x[rng.random(size=x.shape) < 0.25] = 0.0  # exact zeros: ReLU'(0) must be 0
    return x, rng.normal(size=(n, d_out))


def module_pass(b, spec, x, g, params):
    """forward(x) then backward(g) on a fresh module. Returns out, dx, grads/<key>, x_after, g_after."""
    module = build(b, spec, params)
    xh = b.put(x)
    result = {"out": b.method(module, "forward", xh), "x_after": b.get(xh)}
    gh = b.put(g)
    result["dx"] = b.method(module, "backward", gh)
    result["g_after"] = b.get(gh)
    grads = b.attr(module, "grads") if params else {}
    for key in params:
        result[f"grads/{key}"] = grads.get(key) if isinstance(grads, dict) else None
    return result


def module_twice(b, spec, x1, g1, x2, g2, params):
    """forward(x1), backward(g1), forward(x2), backward(g2) on one module: the second pass's results."""
    module = build(b, spec, params)
    b.method(module, "forward", x1)
    b.method(module, "backward", g1)
    result = {"out": b.method(module, "forward", x2), "dx": b.method(module, "backward", g2)}
    grads = b.attr(module, "grads") if params else {}
    for key in params:
        result[f"grads/{key}"] = grads.get(key) if isinstance(grads, dict) else None
    return result


def loss_inputs(name, n, seed, k=3, column=True):
    """(pred, target) for a loss: SquaredError (n, k) pairs; BCE probabilities (n, 1) and labels
    (n,) if column else (n, 1); SoftmaxCrossEntropy logits (n, k) and integer labels (n,)."""
    rng = np.random.default_rng(seed + 2000)
    if name == "SquaredError":
        return rng.normal(size=(n, k)), rng.normal(size=(n, k))
    if name == "BinaryCrossEntropy":
        p = 1.0 / (1.0 + np.exp(-2.0 * rng.normal(size=(n, 1))))
        t = (rng.random(size=n) < 0.5).astype(np.float64)
        return p, (t if column else t.reshape(n, 1))
    return 3.0 * rng.normal(size=(n, k)), rng.integers(0, k, size=n)


def loss_pass(b, name, pred, target):
    """forward(pred, target) then backward() on a fresh loss. Returns J, grad, pred_after, target_after."""
    loss = b.make(f"losses.{name}")
    ph, th = b.put(pred), b.put(target)
    result = {"J": b.method(loss, "forward", ph, th)}
    result["grad"] = b.method(loss, "backward")
    result["pred_after"], result["target_after"] = b.get(ph), b.get(th)
    return result


def loss_twice(b, name, pred1, target1, pred2, target2):
    """Two forward/backward rounds on one loss object: the second round's J and grad."""
    loss = b.make(f"losses.{name}")
    b.method(loss, "forward", pred1, target1)
    b.method(loss, "backward")
    return {"J": b.method(loss, "forward", pred2, target2), "grad": b.method(loss, "backward")}


def mlp_structure(b, n_inputs, hidden, n_outputs, activation, output, init, seed):
    """build_mlp(...): layer class names and every parameter (params/<key>)."""
    model = b.call("mlp.build_mlp", n_inputs, list(hidden), n_outputs, activation=activation,
                   output=output, init=init, seed=seed)
    result = {"layers": b.type_names(model, "modules")}
    params = b.attr(model, "params")
    result["keys"] = sorted(params) if isinstance(params, dict) else None
    for key, value in (params.items() if isinstance(params, dict) else ()):
        result[f"params/{key}"] = value
    return result


def network_data(n, d, k, seed, labels=True):
    """(X (n, d), y): integer labels (n,) in [0, k) if labels (k = 1: {0, 1}), else targets (n, k)."""
    rng = np.random.default_rng(seed + 3000)
    X = rng.normal(size=(n, d))
    if not labels:
        return X, rng.normal(size=(n, k))
    return X, rng.integers(0, max(k, 2), size=n)


def train_run(b, config, loss_name, X, y, epochs, learning_rate, batch_size, seed):
    """build_mlp(**config) then train(...): the epoch losses and the final params/<key>."""
    model = b.call("mlp.build_mlp", **config)
    loss = b.make(f"losses.{loss_name}")
    losses = b.call("mlp.train", model, loss, X, y, epochs, learning_rate, batch_size, seed=seed)
    result = {"losses": losses}
    params = b.attr(model, "params")
    for key, value in (params.items() if isinstance(params, dict) else ()):
        result[f"params/{key}"] = value
    return result


def predict_run(b, spec, params, X):
    """predict(model, X) for a model built from a spec with set weights."""
    return {"labels": b.call("mlp.predict", build(b, spec, params), X)}


def linear_init(b, layers, seed):
    """Linear layers built in turn from ONE rng (seed None: each with rng=None).

    layers: [(in, out, init), ...]. Returns params/<i>/W and params/<i>/b for each layer.
    """
    rng = None if seed is None else b.rng(seed)
    result = {}
    for i, (d_in, d_out, init) in enumerate(layers):
        kwargs = {"init": init} if rng is None else {"init": init, "rng": rng}
        params = b.attr(b.make("modules.Linear", d_in, d_out, **kwargs), "params")
        for key in ("W", "b"):
            result[f"params/{i}/{key}"] = params.get(key) if isinstance(params, dict) else None
    return result


def sequential_params(b, spec, params, x, new_params):
    """Sequential.params: its keys, then forward(x) after writing new_params through it in place."""
    model = build(b, spec, params)
    keys = b.attr(model, "params")
    result = {"keys": sorted(keys) if isinstance(keys, dict) else None}
    for key, value in new_params.items():
        b.copy_into(model, key, value)
    result["out"] = b.method(model, "forward", x)
    grads = b.attr(model, "grads")
    result["grads_keys"] = sorted(grads) if isinstance(grads, dict) else None
    return result


def set_model_params(b, model, params):
    """Write trusted weights into a model through model.params[key], in place."""
    for key, value in params.items():
        b.copy_into(model, key, value)


def mlp_params(config, seed):
    """Trusted weights for build_mlp(**config): {"0.W": ..., "0.b": ..., "2.W": ...}."""
    sizes = [config["n_inputs"], *config["hidden_sizes"], config["n_outputs"]]
    rng = np.random.default_rng(seed)
    return {f"{2 * i}.{key}": (rng.normal(size=(sizes[i + 1], sizes[i])) if key == "W"
                                else 0.3 * rng.normal(size=sizes[i + 1]))
            for i in range(len(sizes) - 1) for key in ("W", "b")}


def network_grads(b, config, loss_name, X, y, params):
    """build_mlp(**config) with set weights; J = loss(model(X), y); backward: grads/<key>, dx."""
    model = b.call("mlp.build_mlp", **config)
    set_model_params(b, model, params)
    loss = b.make(f"losses.{loss_name}")
    result = {"J": b.method(loss, "forward", b.method(model, "forward", X), y)}
    result["dx"] = b.method(model, "backward", b.method(loss, "backward"))
    grads = b.attr(model, "grads")
    for key in params:
        result[f"grads/{key}"] = grads.get(key) if isinstance(grads, dict) else None
    return result


def sgd_run(b, spec, params, grads, learning_rate):
    """sgd_step on a Sequential whose layers hold trusted params and trusted grads (set directly,
    so that this needs no backward). Returns params/<key> after the step, and the first W read
    back through a handle taken BEFORE the step (was it updated in place?)."""
    layers = []
    for i, layer in enumerate(spec[1]):
        own = {k.split(".", 1)[1]: v for k, v in params.items() if k.split(".", 1)[0] == str(i)}
        module = build(b, layer, own)
        if own:
            b.set_attr(module, "grads", {k.split(".", 1)[1]: v for k, v in grads.items()
                                         if k.split(".", 1)[0] == str(i)})
        layers.append(module)
    model = b.make("modules.Sequential", *layers)
    first = next(key for key in params if key.endswith(".W"))
    kept = b.keep_param(layers[int(first.split(".")[0])], first.split(".")[1])
    b.call("mlp.sgd_step", model, learning_rate)
    result = {"kept_after": b.get(kept)}
    for i, module in enumerate(layers):
        if spec[1][i][0] != "Linear":
            continue
        after = b.attr(module, "params")
        for key in ("W", "b"):
            result[f"params/{i}.{key}"] = after.get(key) if isinstance(after, dict) else None
    return result
