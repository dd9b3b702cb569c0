"""Two ways to run the same grading scenario: on the student's code or on the reference.

A scenario (see scenarios.py) is written once against this small interface, so that
the expected values come from running exactly the same steps on the reference
solution (trusted side, in this process) as the student's code runs in the worker:

    b.make("modules.Linear", 3, 5, rng=b.rng(7))   construct an object
    b.call("mlp.predict", model, X)                call a function (plain data back)
    b.method(obj, "forward", x)                    call a method
    b.attr(obj, "grads")                           read an attribute (a copy, as plain data)
    h = b.put(x); ...; b.get(h)                    an array living on that side, read back later
    b.copy_into(obj, "W", W)                       np.copyto(obj.params["W"], W) on that side
    b.param_setter(obj, "0.W")(W)                  the same through obj.modules[0] (for differencing)
    b.keep_param(obj, "W"); b.set_attr(obj, n, v)  a handle on a parameter array; setattr
    b.type_names(obj, "modules")                   class names of a list attribute's items
    b.rng(seed); b.strict_numpy()                  a shared Generator; NumPy warnings as errors

``Student`` raises ``StudentError`` (an AssertionError with a full message naming the
call) when the student's code raises or the worker fails, so a test that lets it
propagate fails with that message.
"""

import contextlib
import copy

import numpy as np

from engine.escape import block

STRICT = dict(over="raise", invalid="raise", divide="raise", under="ignore")

PACKAGE = "backprop"


class StudentError(AssertionError):
    """The student's code raised (or the worker failed) during a named call.

    Attributes: call (what was called, in words), type_name (the exception's class
    name, e.g. "NotImplementedError"), message.
    """

    def __init__(self, call, type_name, message, traceback_text="", raised=True):
        self.call, self.type_name, self.message = call, type_name, message
        self.raised = raised   # False: the grader stopped the call (timeout, crash), nothing raised
        if type_name == "NotImplementedError":
            text = f"`{call}` is not implemented yet" + (f": {message}" if message else ".")
        elif type_name == "CallTimeout":
            text = f"`{call}` did not finish in time: {message}"
        elif type_name == "NotCalledAgain":
            text = f"`{call}` was not run: {message}"
        elif type_name in ("WorkerFailure", "StaleRef"):
            text = f"`{call}`: the process running your code stopped unexpectedly ({message})"
        else:
            text = f"`{call}` raised {type_name}" + (f": {message}" if message else "")
        tail = traceback_text.rstrip().splitlines()[-12:]
        if tail and type_name != "NotImplementedError":
            text += "\n\n" + block("\n".join(tail))
        super().__init__(text)


def raised_instead(exc, call, expected):
    """The message for a StudentError where `expected` should have been raised by `call`."""
    return f"{call} raised {exc.type_name}, expected {expected}" if exc.raised else str(exc)


def shape_of(value):
    """'(4, 3)' for an array, the type name otherwise (for messages)."""
    shape = getattr(value, "shape", None)
    return str(tuple(shape)) if shape is not None else type(value).__name__


class Reference:
    """Runs scenarios on the reference package (a module with submodules modules, losses, ...)."""

    kind = "reference"

    def __init__(self, package):
        self.package = package

    def _resolve(self, name):
        obj = self.package
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj

    def make(self, name, *args, timeout=None, budget=None, **kwargs):
        """timeout and budget (Student's time limits) do not apply to the trusted reference."""
        return self._resolve(name)(*args, **kwargs)

    call = make

    def method(self, obj, name, *args, timeout=None, budget=None, keep=False, **kwargs):
        return copy.deepcopy(getattr(obj, name)(*args, **kwargs))

    def attr(self, obj, name):
        return copy.deepcopy(getattr(obj, name))

    def put(self, array):
        return np.array(array, copy=True)

    def get(self, handle):
        return np.array(handle, copy=True)

    def rng(self, seed):
        return np.random.default_rng(seed)

    def copy_into(self, obj, key, value):
        np.copyto(obj.params[key], value)

    def type_names(self, obj, name):
        return [type(m).__name__ for m in getattr(obj, name)]

    def param_setter(self, obj, key):
        """A function writing a value into obj.params[key] in place ("i.W": layer i of obj.modules)."""
        layer, name = _layer_and_name(key)
        owner = obj if layer is None else obj.modules[layer]
        return lambda value: np.copyto(owner.params[name], value)

    def keep_param(self, obj, key):
        """A handle on the array obj.params[key] itself (to see later whether it was updated in place)."""
        return obj.params[key]

    def set_attr(self, obj, name, value):
        setattr(obj, name, copy.deepcopy(value))

    def strict_numpy(self):
        """Overflow, invalid values and division by zero raise FloatingPointError meanwhile."""
        return np.errstate(**STRICT)


class Student:
    """Runs scenarios on the student's code in the worker, through the `sandbox` fixture."""

    kind = "student"

    def __init__(self, sandbox, remote):
        self.sb = sandbox
        self.remote = remote  # the engine.remote module (Call, Attr, RemoteError, WorkerFailure)

    def _run(self, what, fn, *args, **kwargs):
        """fn(*args, **kwargs), turning the worker's errors into a StudentError about `what`."""
        try:
            return fn(*args, **kwargs)
        except self.remote.RemoteError as exc:
            raise StudentError(what, exc.type_name, exc.message,
                               getattr(exc, "traceback_text", "")) from None
        except self.remote.WorkerFailure as exc:
            raise StudentError(what, type(exc).__name__, str(exc), raised=False) from None

    def make(self, name, *args, timeout=None, budget=None, **kwargs):
        """budget: seconds the call must finish in, as what the test measures (a call past it
        does not stop later calls, unlike `timeout`, see engine.timeouts)."""
        what = _call_text(name.split(".")[-1], args, kwargs)
        extra = ({} if timeout is None else {"timeout": timeout}) if budget is None else {
            "timeout": self.remote.Budget(budget)}
        args, kwargs = _unwrap(args), {k: _unwrap(v) for k, v in kwargs.items()}
        return self._run(what, self.sb.call, f"{PACKAGE}.{name}", *args, **kwargs, **extra)

    call = make

    def method(self, obj, name, *args, timeout=None, budget=None, keep=False, **kwargs):
        """budget: as for `make`; keep: the result stays in the worker (a Ref), nothing is sent back."""
        what = f"{_cls(obj)}.{_call_text(name, args, kwargs)}"
        extra = ({} if timeout is None else {"timeout": timeout}) if budget is None else {
            "timeout": self.remote.Budget(budget)}
        args, kwargs = _unwrap(args), {k: _unwrap(v) for k, v in kwargs.items()}
        return self._run(what, self.sb.method, obj, name, *args, keep=keep, **kwargs, **extra)

    def attr(self, obj, name):
        return self._run(f"reading {_cls(obj)}.{name}", self.sb.attr, obj, name)

    def set_attr(self, obj, name, value):
        self._run(f"setting {_cls(obj)}.{name}", self.sb.call, "builtins.setattr", obj, name, value)

    def put(self, array):
        ref = self._run("storing an input array", self.sb.call, "numpy.array", array, keep=True)
        return Handle(ref, np.shape(array))

    def get(self, handle):
        return self._run("reading back an input array", self.sb.value, handle.ref)

    def call_op(self, name, *operands):
        """operator.<name>(*operands) in the worker, the result kept there (a Ref)."""
        symbols = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "pow": "**"}
        what = f" {symbols.get(name, name)} ".join(_arg_text(o) for o in operands)
        return self._run(what, self.sb.call, f"operator.{name}", *_unwrap(operands), keep=True)

    def keep(self, value, what):
        """value (e.g. a traced Func) sent to the worker once and kept there: a Ref that later
        calls pass instead of sending the value again."""
        return self._run(what, self.sb.call, "operator.getitem", [value], 0, keep=True)

    def evaluation_log(self):
        """An empty dict kept in the worker (a Ref), for expressions.traced(..., log=)."""
        return self._run("creating a dict", self.sb.call, "builtins.dict", keep=True)

    def evaluations(self, log):
        """The class names of the first arguments an evaluation log holds, one per evaluation."""
        Call = self.remote.Call
        names = Call("builtins.map", Call("operator.attrgetter", "__class__.__name__"),
                     Call("builtins.dict.values", log))
        found = self._run("reading the evaluation log", self.sb.call, "builtins.list", names)
        if not isinstance(found, list) or not all(isinstance(n, str) for n in found):
            return ["<a class whose name could not be read>"]   # a __class__ that is not a class
        return found

    def rng(self, seed):
        """A Generator kept in the worker (a Ref), so that several calls share its state."""
        return self._run("creating numpy.random.default_rng", self.sb.call, "numpy.random.default_rng",
                         seed, keep=True)

    @contextlib.contextmanager
    def strict_numpy(self):
        """In the worker, NumPy's overflow / invalid / divide warnings raise FloatingPointError
        meanwhile (np.seterr; underflow stays silent), so a test sees them as errors."""
        old = self._run("numpy.seterr", self.sb.call, "numpy.seterr", **STRICT)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                self.sb.call("numpy.seterr", **old)

    def _param(self, owner, name, what, keep):
        """owner.params[name] (owner: a Ref or a Call), as a value or kept in the worker."""
        expr = self.remote.Call("operator.getitem", self.remote.Attr(owner, "params"), name)
        return self._run(what, self.sb.run, expr, keep=keep)

    def keep_param(self, obj, key):
        """A handle on the array obj.params[key] itself (to see later whether it was updated in place)."""
        return Handle(self._param(obj, key, f"reading {_cls(obj)}.params[{key!r}]", True), ())

    def copy_into(self, obj, key, value):
        """Write value into obj.params[key] in place, after checking that array's shape."""
        what = f"{_cls(obj)}.params[{key!r}]"
        value = np.asarray(value, dtype=np.float64)
        current = self._param(obj, key, f"reading {what}", False)
        if not isinstance(current, np.ndarray) or current.shape != value.shape:
            found = shape_of(current) if isinstance(current, np.ndarray) else type(current).__name__
            hint = " (transposed?)" if np.shape(current) == value.shape[::-1] else ""
            raise AssertionError(f"{what} should be a float64 array of shape {value.shape}, found {found}{hint}")
        ref = self._param(obj, key, f"reading {what}", True)
        self._run(f"setting {what} in place", self.sb.call, "numpy.copyto", ref, value)

    def param_setter(self, obj, key):
        """A function writing a value into obj.params[key] in place ("i.W": layer i of obj.modules)."""
        layer, name = _layer_and_name(key)
        owner = obj if layer is None else self.remote.Call("operator.getitem", self.remote.Attr(obj, "modules"), layer)
        what = f"{_cls(obj)}.params[{key!r}]"
        ref = self._param(owner, name, f"reading {what}", True)
        return lambda value: self._run(f"setting {what} in place", self.sb.call, "numpy.copyto",
                                       ref, np.asarray(value, dtype=np.float64))

    def type_names(self, obj, name):
        items = self.attr(obj, name)
        if not isinstance(items, (list, tuple)):
            raise AssertionError(f"`{_cls(obj)}.{name}` should be a list of layers, got {type(items).__name__}")
        return [_cls(m) for m in items]


def _cls(obj):
    """The short class name of a worker object (a Ref), for messages."""
    return getattr(obj, "type_name", type(obj).__name__).split(".")[-1]


class Handle:
    """An array kept in the worker (its Ref) with the shape it was sent with, for messages."""

    __slots__ = ("ref", "shape")

    def __init__(self, ref, shape):
        self.ref, self.shape = ref, tuple(shape)


def _unwrap(value):
    if isinstance(value, Handle):
        return value.ref
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_unwrap(v) for v in value)
    return value


def _layer_and_name(key):
    """"W" -> (None, "W"); "2.b" -> (2, "b")."""
    head, _, tail = key.partition(".")
    return (int(head), tail) if tail else (None, key)


def _arg_text(value):
    if isinstance(value, (np.ndarray, Handle)):
        return f"array {tuple(value.shape)}"
    if type(value).__name__ == "Func":
        return "f"
    if isinstance(value, (int, float, str, bool)) or value is None:
        return repr(value)
    if isinstance(value, list) and len(value) <= 4 and all(isinstance(v, (int, float)) for v in value):
        return repr(value)
    name = getattr(value, "type_name", None)
    return name.split(".")[-1] if name else type(value).__name__


def _call_text(name, args, kwargs):
    parts = [_arg_text(a) for a in args] + [f"{k}={_arg_text(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"
