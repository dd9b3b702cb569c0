"""The checks shared by the public and hidden tests of modules and losses.

Each function runs the student's code on trusted inputs, compares with the expected
dict (reference values) and with centered finite differences of the student's own
forward, and records every problem in a checking.Report.
"""

import numpy as np

import netchecks
import numeric
import scenarios as S
import suspects
from backends import StudentError

FD_RTOL, FD_ATOL = 1e-5, 1e-7     # backward against finite differences
REF_RTOL, REF_ATOL = 1e-7, 1e-10  # against the reference (float64 round-off of other styles)


def _kind(spec):
    return spec[0]


def forward_call(spec, x):
    return f"{S.describe_spec(spec)}.forward(x {tuple(x.shape)})"


def backward_call(spec, x, g):
    return (f"{S.describe_spec(spec)}.backward(grad_out {tuple(g.shape)}) "
            f"after forward(x {tuple(x.shape)})")


def module_forward(b, spec, x, params):
    """forward only (a forward test must not need backward): out and x read back afterwards."""
    module = S.build(b, spec, params)
    xh = b.put(x)
    return {"out": b.method(module, "forward", xh), "x_after": b.get(xh)}


def check_forward(r, b, spec, x, params, expected):
    """Values (against the reference), shape, dtype, and x not modified."""
    kind, n = _kind(spec), x.shape[0]
    got = module_forward(b, spec, x, params)
    call = forward_call(spec, x)
    elementwise = kind in S.ACTIVATIONS
    r.compare(call, got["out"], expected["out"], rtol=REF_RTOL, atol=REF_ATOL, batch=n,
              suspects=suspects.forward(kind, x, params),
              regions=suspects.regions(kind, x) if elementwise else None,
              inputs={"a": x} if elementwise else None)
    r.unchanged("x", x, got["x_after"], call)


def _same_shape(value, like):
    return isinstance(value, np.ndarray) and value.shape == np.shape(like)


SEQUENTIAL_HINT = ("Likely cause: Sequential.backward must visit the modules in REVERSE order, passing each "
                   "module's return value (dJ/d its input) to the module before it.")
FORWARD_AT_FAULT = ("your backward agrees with the reference solution's, so it is your FORWARD that is wrong here "
                    "(see the forward tests): finite differences differentiate the function your forward computes")


def run_pass(b, spec, x, g, params):
    """S.module_pass, with a hint when a Sequential's backward fails on shapes."""
    try:
        return S.module_pass(b, spec, x, g, params)
    except StudentError as exc:
        if spec[0] == "Sequential" and ".backward(" in exc.call and exc.type_name == "ValueError":
            raise AssertionError(f"{exc}\n\n{SEQUENTIAL_HINT}") from None
        raise


def check_backward(r, b, spec, x, g, params, expected, seed):
    """dJ/dx and parameter gradients against the reference, grad_out not modified.

    Returns {"dx" or parameter key: True if it matched the reference}.
    """
    kind, n = _kind(spec), x.shape[0]
    got = run_pass(b, spec, x, g, params)
    call = backward_call(spec, x, g)
    elementwise = kind in S.ACTIVATIONS
    matched = {"dx": r.compare(f"{call}: dJ/dx", got["dx"], expected["dx"], rtol=REF_RTOL, atol=REF_ATOL, batch=n,
                               suspects=suspects.backward(kind, x, g),
                               regions=suspects.regions(kind, x) if elementwise else None,
                               inputs={"a": x} if elementwise else None)}
    for key in params:
        matched[key] = r.compare(f"{call}: grads[{key!r}]", got[f"grads/{key}"], expected[f"grads/{key}"],
                                 rtol=REF_RTOL, atol=REF_ATOL, batch=n)
    r.unchanged("grad_out", g, got["g_after"], call)
    return matched


KINK_MARGIN = 1e-3   # a ReLU input closer to 0 than this could cross the kink in a difference step


def kink_distance(spec, x, params):
    """How close the input of any ReLU in `spec` (a ReLU alone or a Sequential) comes to 0 on x
    (inf without a ReLU), computed with our own forward pass."""
    if spec[0] == "ReLU":
        inputs = [np.asarray(x, dtype=np.float64)]
    elif spec[0] == "Sequential":
        inputs = []
        netchecks.trusted_forward(spec, params, x, relu_inputs=inputs)
    else:
        return np.inf
    return min((float(np.min(np.abs(h))) for h in inputs if np.size(h)), default=np.inf)


def check_backward_fd(r, b, spec, x, g, params, seed, matched=None):
    """dJ/dx and parameter gradients against centered differences of the student's own forward.

    For ReLU the inputs within KINK_MARGIN of 0 are moved away from the kink first (there a
    centered difference gives 1/2); ReLU'(0) is checked against the reference instead. A
    Sequential whose inner ReLU gets an input that close is not differenced at all (the
    comparison with the reference still runs), so a correct backward never fails here.
    matched: what check_backward returned; where the reference agreed with the student's
    backward, a disagreement with finite differences is blamed on the forward.
    """
    kind, n = _kind(spec), x.shape[0]
    matched = matched or {}
    if kind == "ReLU":    # inputs within a step of the kink move away from it
        x = np.where(np.abs(x) < KINK_MARGIN, np.where(x < 0, -0.7, 0.7), x)
    if kink_distance(spec, x, params) < KINK_MARGIN:
        return   # a ReLU inside sits on its kink: differences there are not the derivative
    got = run_pass(b, spec, x, g, params)
    call = backward_call(spec, x, g)
    module = S.build(b, spec, params)
    targets = [("dJ/dx", None, got["dx"], x, numeric.module_objective(b, module, g, call),
                suspects.backward(kind, x, g))]
    for key, value in params.items():
        f = numeric.param_objective(b, module, key, x, g, call)
        targets.append((f"grads[{key!r}]", key, got[f"grads/{key}"], value, f, {}))
    for k, (name, key, analytic, at, f, wrong) in enumerate(targets):
        if not _same_shape(analytic, at):
            continue  # the comparison with the reference has reported the shape
        try:
            estimate, project = numeric.check_gradient(f, at, seed + k)
        except numeric.NotScalar as exc:
            r.fail(str(exc))
            return
        if key is not None:
            b.param_setter(module, key)(at)  # restore the parameter after differencing
        how = "per coordinate" if estimate.shape == np.shape(at) else f"along {len(estimate)} random directions"
        what = f"{call}: {name} against centered finite differences of your own forward ({how})"
        if not np.any(estimate) and np.any(analytic):
            r.fail(f"{what}: the differences are all 0, so your forward does not depend on "
                   f"{'x' if key is None else repr(key)} at all (is it left out of the forward pass?)")
            continue
        projected = {text: project(w) for text, w in wrong.items() if np.shape(w) == np.shape(at)}
        r.compare(what, project(analytic), estimate, rtol=FD_RTOL, atol=FD_ATOL, batch=n, suspects=projected,
                  override=FORWARD_AT_FAULT if matched.get(key or "dx") else None)


def loss_forward(b, name, pred, target):
    loss = b.make(f"losses.{name}")
    ph, th = b.put(pred), b.put(target)
    return {"J": b.method(loss, "forward", ph, th), "pred_after": b.get(ph), "target_after": b.get(th)}


def loss_call(name, pred, target):
    return f"{name}().forward(pred {tuple(pred.shape)}, target {tuple(np.shape(target))})"


def check_loss_forward(r, b, name, pred, target, expected):
    """J is a float equal to the reference's; pred and target not modified."""
    got = loss_forward(b, name, pred, target)
    call = loss_call(name, pred, target)
    J = got["J"]
    if isinstance(J, np.ndarray) and J.shape != ():
        r.fail(f"{call} returned an array of shape {J.shape}; expected a float (J is the mean over the batch)")
    elif not isinstance(J, (int, float, np.ndarray)) or isinstance(J, bool):
        r.fail(f"{call} returned {type(J).__name__}; expected a float")
    else:
        r.scalar(call, J, float(expected["J"]), batch=pred.shape[0], rtol=REF_RTOL,
                 suspects=suspects.loss_value(name, pred, target, expected["J"], expected.get("grad")))
    r.unchanged("pred", pred, got["pred_after"], call)
    r.unchanged("target", target, got["target_after"], call)


def check_loss_backward(r, b, name, pred, target, expected):
    """dJ/dpred against the reference and against finite differences of the student's forward."""
    n = pred.shape[0]
    got = S.loss_pass(b, name, pred, target)
    call = loss_call(name, pred, target).replace(".forward(", ".backward() after forward(")
    grad = got["grad"]
    wrong = suspects.loss_grad(name, pred, target, expected["grad"])
    shape_hint = None
    if isinstance(grad, np.ndarray) and grad.ndim == 2 and grad.shape == (n, n) and pred.shape == (n, 1):
        shape_hint = (f"{call}: dJ/dpred has shape {grad.shape}: the target (N,) was broadcast against "
                      "pred (N, 1); reshape the target to pred's shape first")
    matched = False
    if shape_hint and n > 1:
        r.fail(shape_hint)
    else:
        matched = r.compare(f"{call}: dJ/dpred", grad, expected["grad"], rtol=REF_RTOL, atol=REF_ATOL, batch=n,
                            suspects=wrong)
    r.unchanged("pred", pred, got["pred_after"], call)
    if not _same_shape(grad, pred):
        return
    loss = b.make(f"losses.{name}")
    try:
        estimate = numeric.gradient(numeric.loss_objective(b, loss, target, call), pred)
    except numeric.NotScalar as exc:
        r.fail(str(exc))
        return
    r.compare(f"{call}: dJ/dpred against centered finite differences of your own forward",
              grad, estimate, rtol=FD_RTOL, atol=FD_ATOL, batch=n, suspects=wrong,
              override=FORWARD_AT_FAULT if matched else None)


def _strict_pass(b, scenario, fix, **kwargs):
    """Run a scenario with NumPy warnings raised as FloatingPointError; explain one if it comes."""
    try:
        with b.strict_numpy():
            return scenario(b, **kwargs)
    except StudentError as exc:
        if exc.type_name != "FloatingPointError":
            raise
        raise AssertionError(f"{exc}\n\nLikely cause: NumPy overflowed (or divided by zero, or computed an "
                             f"invalid value) on these inputs; it would print a RuntimeWarning here: {fix}.") from None


def check_extreme(r, b, kind, x, g, expected):
    """An activation's forward and backward at inputs up to +-1000: the reference's values, no warnings."""
    got = _strict_pass(b, S.module_pass, "use a numerically stable formula", spec=(kind,), x=x, g=g, params={})
    call = f"{kind}().forward(a) then backward(grad_out) with a = {x.ravel().tolist()}"
    r.compare(f"{call}: forward", got["out"], expected["out"], rtol=1e-9, atol=1e-12, inputs={"a": x},
              suspects=suspects.forward(kind, x))
    r.compare(f"{call}: backward dJ/da", got["dx"], expected["dx"], rtol=1e-9, atol=1e-12, inputs={"a": x},
              suspects=suspects.backward(kind, x, g))


EDGE_FIX = {"BinaryCrossEntropy": "clip the probabilities to [1e-12, 1 - 1e-12] before the logs, in forward and "
                                  "backward",
            "SoftmaxCrossEntropy": "subtract each row's max from the logits before exp (log-sum-exp)",
            "SquaredError": "compute (pred - target) with the target reshaped to pred's shape"}


def check_loss_edge(r, b, name, pred, target, expected):
    """A loss at its edge inputs (target (N,) for pred (N, 1), saturated p, logits of +-1000): no warnings,
    J and dJ/dpred equal to the reference's."""
    got = _strict_pass(b, S.loss_pass, EDGE_FIX[name], name=name, pred=pred, target=target)
    call = loss_call(name, pred, target) + f" with pred = {pred.tolist()}, target = {target.tolist()}"
    r.scalar(f"{call}: J", got["J"], float(expected["J"]), batch=pred.shape[0], rtol=1e-9,
             suspects=suspects.loss_value(name, pred, target, expected["J"], expected["grad"]))
    r.compare(f"{call}: backward() dJ/dpred", got["grad"], expected["grad"], rtol=1e-9, atol=1e-12,
              batch=pred.shape[0], suspects=suspects.loss_grad(name, pred, target, expected["grad"]))
