"""The code that runs INSIDE the sandboxed worker process (untrusted side of the boundary).

The trusted side never runs this module: `engine.sandbox` starts ``python -I -B -c BOOTSTRAP``
and sends the source of protocol.py and of this file through the channel, so the worker needs
no read access to the autograder's tree. `main` then, before any student code can run:
1. sets hard = soft resource limits (address space, CPU, processes, file size, open files,
   no core files), so they cannot be raised again by an unprivileged worker;
2. closes every file descriptor but 0, 1, 2 and the two channel pipes;
3. lets the submission provide only the configured packages: no submission folder on
   sys.path, a meta-path finder that loads those packages from their `.py` sources only (no
   bytecode caches, no extension modules), so a student's numpy.py, sitecustomize.py or
   conftest.py is never imported;
4. confines itself with Landlock (`engine.landlock`, where the kernel has it and the config's
   limits do not turn it off; see `landlock_rules` for what stays readable and writable);
5. says hello, naming the confinement layers in force (or why one is off), then answers
   requests (see `engine.protocol`) until the channel closes.
Objects that are not plain data stay here, in `Worker.refs`, and cross as ``$ref`` handles.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import operator
import os
import platform
import resource
import sys
import traceback
import types
from typing import Any, Callable

import numpy as np

from . import landlock
from . import protocol as P

OPERATORS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
             "truediv": operator.truediv, "pow": operator.pow, "matmul": operator.matmul,
             "getitem": operator.getitem, "neg": operator.neg, "pos": operator.pos,
             "abs": operator.abs}
RLIMITS = {"memory_bytes": resource.RLIMIT_AS, "cpu_seconds": resource.RLIMIT_CPU,
           "file_bytes": resource.RLIMIT_FSIZE, "open_files": resource.RLIMIT_NOFILE}
MAX_MESSAGE = 4000       # characters of an exception message sent back
MAX_TRACEBACK = 16000    # characters of a traceback sent back (the end is kept)
OWN_CODE_PREFIX = "<agw:"  # file name given to the engine's own code by the bootstrap
MEMORY_MARGIN = 64 << 20   # address space a worker needs beyond what it maps after startup


# ---------------------------------------------------------------- confinement

def count_tasks(uid: int) -> int:
    """Tasks (threads included, as RLIMIT_NPROC counts them) whose real uid is `uid`."""
    total = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                total += int(fields["Threads"])
        except (OSError, KeyError, ValueError, IndexError):
            continue
    return total


def _set_limit(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def set_limits(limits: dict, tasks_elsewhere: int = 0) -> int:
    """Apply hard = soft limits; RLIMIT_NPROC is relative to the uid's current tasks (those
    visible here, and `tasks_elsewhere` that a PID namespace hides).

    Returns the RLIMIT_NPROC value set.
    """
    for key, which in RLIMITS.items():
        _set_limit(which, int(limits[key]))
    _set_limit(resource.RLIMIT_CORE, 0)
    nproc = (max(count_tasks(os.getuid()), 1) + max(int(tasks_elsewhere), 0)
             + int(limits["extra_processes"]))
    _set_limit(resource.RLIMIT_NPROC, nproc)
    return nproc


def mapped_bytes() -> int:
    """The address space the worker maps now (VmSize), 0 if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            line = next(line for line in f if line.startswith("VmSize:"))
        return int(line.split()[1]) * 1024
    except (OSError, StopIteration, ValueError, IndexError):
        return 0


def close_other_fds(keep: set) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


# Shared libraries are found by the dynamic loader in these folders (and in those of the
# libraries already mapped, see landlock.mapped_folders), whatever the interpreter's prefix.
LIBRARY_FOLDERS = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib")
# Single files read after the restriction, each measured (strace of a confined worker):
EXTRA_READ_FILES = (
    "/etc/ld.so.cache",    # the dynamic loader's index, for every extension module loaded later
    "/dev/urandom",        # randomness for code that opens it rather than calling getrandom()
    "/dev/zero",
    # glibc's sysconf(_SC_NPROCESSORS_ONLN) behind os.cpu_count(), which thread pools size
    # themselves by: denied, glibc tries /proc/stat (denied too), then guesses from the affinity
    "/sys/devices/system/cpu/online",
    # libcrypto reads its configuration when hashlib loads (numpy.random imports secrets ->
    # hmac -> _hashlib); denied, OpenSSL silently ignores the file, so hashes could differ from
    # the grader's where it enables providers. Debian's is a link to /etc/ssl/openssl.cnf.
    "/usr/lib/ssl/openssl.cnf", "/etc/ssl/openssl.cnf", "/etc/pki/tls/openssl.cnf",
)
_PROC_PIN: list = []   # an open O_PATH fd on /proc/<pid>, see landlock_rules


def landlock_rules(submission_dir: str, scratch_dir: str) -> list:
    """What the worker may still reach once confined: (path, Landlock rights) pairs.

    Read (read files, list folders, execute) beneath: the interpreter's prefixes and its folder,
    every sys.path entry (after the submission and the cwd have been taken off), the shared
    library folders and the folders of every file mapped now (libraries numpy already loaded
    from wherever the loader found them), the submission copy; a few single files measured to
    be needed (EXTRA_READ_FILES). /dev/null may be read and written (subprocess.DEVNULL opens it
    read-write). Everything beneath the private scratch folder (cwd, HOME, TMPDIR).
    Its own /proc/<pid> may be read (/proc/self/fd, /proc/self/status): a rule on a procfs
    folder holds only while its dentry lives, which the kernel may reclaim, so an O_PATH fd kept
    open pins it (another process's /proc/<pid>, and /proc itself, stay unreadable).
    """
    read = landlock.READ
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))]
    paths += [p for p in sys.path if p and os.path.exists(p)]
    paths += list(LIBRARY_FOLDERS) + landlock.mapped_folders()
    rules = [(p, read) for p in paths]
    rules += [(p, landlock.FS_READ_FILE) for p in EXTRA_READ_FILES]
    rules += [("/dev/null", landlock.READ_WRITE_FILE), (submission_dir, read),
              (scratch_dir, landlock.ALL)]
    own = f"/proc/{os.getpid()}"
    try:
        _PROC_PIN.append(os.open(own, os.O_PATH | os.O_CLOEXEC))
        rules.append((own, landlock.FS_READ_FILE | landlock.FS_READ_DIR))
    except OSError:
        pass
    return rules


def confine(config: dict) -> dict:
    """Apply the kernel's confinement layers; {layer: "what is in force" or "off: why"}."""
    if not config["limits"].get("landlock", True):
        text = "off: turned off by the grader (WorkerLimits.landlock=False)"
    else:
        try:
            text = landlock.restrict(landlock_rules(config["submission_dir"],
                                                    config["scratch_dir"]))
        except Exception as exc:   # restrict reports what it foresees; a missing layer is a
            text = f"off: {type(exc).__name__}: {exc}"   # warning, never a failed start
    return {"landlock": text[:1500]}


class SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Loads a `.py` file by compiling its source, ignoring any `__pycache__`."""

    def get_code(self, fullname):
        return compile(self.get_data(self.path), self.path, "exec", dont_inherit=True)


class SubmissionFinder:
    """Meta-path finder: the configured packages, and only those, come from the submission."""

    def __init__(self, root: str, packages: list):
        self.root = os.path.realpath(root)
        self.packages = frozenset(packages)

    def _inside(self, folder: str) -> bool:
        real = os.path.realpath(folder)
        return real == self.root or real.startswith(self.root + os.sep)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] not in self.packages:
            return None
        folders = [self.root] if "." not in fullname else [d for d in path or () if self._inside(d)]
        for folder in folders:
            finder = importlib.machinery.FileFinder(folder, (SourceOnlyLoader, [".py"]))
            spec = finder.find_spec(fullname, target)
            if spec is not None and spec.loader is not None:
                return spec
        raise ModuleNotFoundError(f"No module named {fullname!r} in the submission", name=fullname)

    def invalidate_caches(self):
        pass


def import_dotted(name: str) -> Any:
    """The object `pkg.mod.attr`: attributes first, importing a package's submodules if missing."""
    parts = name.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=2):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            if not (isinstance(obj, types.ModuleType) and hasattr(obj, "__path__")):
                raise  # only a package has submodules to import
            obj = importlib.import_module(".".join(parts[:i]))
    return obj


def qualified_name(kind: type) -> str:
    """"module.QualName" of a type ("QualName" for builtins), never raising."""
    try:
        module, qual = kind.__module__, kind.__qualname__
        if type(module) is not str or type(qual) is not str:
            raise TypeError
    except BaseException:  # a hostile metaclass
        return "<unknown type>"
    return (qual if module == "builtins" else f"{module}.{qual}")[:300]


def describe_exception(exc: BaseException) -> dict:
    """Type name, message and traceback text (without the engine's own frames) of `exc`."""
    try:
        message = str(exc)
    except BaseException:
        message = "<str() of the exception failed>"
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if not f.filename.startswith(OWN_CODE_PREFIX)]
        text = "".join(["Traceback (most recent call last):\n", *traceback.format_list(frames),
                        *traceback.format_exception_only(type(exc), exc)])
    except BaseException:
        text = "<the traceback could not be formatted>"
    if len(text) > MAX_TRACEBACK:
        text = "[... traceback truncated]\n" + text[-MAX_TRACEBACK:]
    return {"type": qualified_name(type(exc)), "message": message[:MAX_MESSAGE],
            "traceback": text}


# ---------------------------------------------------------------- expressions

class TracedFunction:
    """A function traced on the trusted side (`Func.trace`), run step by step (SSA)."""

    __slots__ = ("nparams", "_steps", "_ret")

    def __init__(self, nparams: int, steps: list, ret: Callable):
        self.nparams, self._steps, self._ret = nparams, steps, ret

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) != self.nparams:
            raise TypeError(f"traced function takes {self.nparams} positional argument(s), "
                            f"got {len(args)}" + (" and keywords" if kwargs else ""))
        env = list(args)
        for step in self._steps:
            env.append(step(env))
        return self._ret(env)

    def __repr__(self):
        return f"<traced function of {self.nparams} argument(s), {len(self._steps)} steps>"


def _constant(value):
    return lambda env: value


class Compiler:
    """Validates a request expression and turns it into a closure `run(env)`.

    Nothing is imported or called while compiling: a bad request fails before any student
    code runs. `scope` is the number of slots a `$var` may read (None outside a `$func`).
    """

    def __init__(self, refs: dict, blobs: P.BlobTable):
        self.refs, self.blobs = refs, blobs

    def compile(self, e: Any, scope: int | None, depth: int) -> Callable:
        if depth > P.MAX_DEPTH:
            raise P.ProtocolError(f"expression nested deeper than {P.MAX_DEPTH}")
        kind = type(e)
        if e is None or kind in (bool, int, float, str):
            return _constant(e)
        if kind is list:
            parts = [self.compile(x, scope, depth + 1) for x in e]
            return lambda env: [p(env) for p in parts]
        if kind is not dict:
            raise P.ProtocolError(f"unexpected JSON type {kind.__name__}")
        tag, payload = P.split_tag(e)
        method = getattr(self, "tag_" + tag[1:], None) if tag.startswith("$") else None
        if method is None:
            raise P.ProtocolError(f"unknown tag {tag[:40]!r}")
        return method(payload, scope, depth + 1)

    def _list(self, payload, n: int | None, what: str) -> list:
        if type(payload) is not list or (n is not None and len(payload) != n):
            raise P.ProtocolError(f"{what} needs a list" + (f" of {n}" if n is not None else ""))
        return payload

    def tag_tuple(self, payload, scope, depth):
        parts = [self.compile(x, scope, depth) for x in self._list(payload, None, "$tuple")]
        return lambda env: tuple(p(env) for p in parts)

    def tag_dict(self, payload, scope, depth):
        if type(payload) is not dict:
            raise P.ProtocolError("$dict needs an object")
        parts = [(k, self.compile(v, scope, depth)) for k, v in payload.items()]
        return lambda env: {k: p(env) for k, p in parts}

    def tag_float(self, payload, scope, depth):
        return _constant(P.decode_nonfinite(payload))

    def tag_array(self, payload, scope, depth):
        return _constant(self.blobs.array(payload))

    def tag_ref(self, payload, scope, depth):
        if type(payload) is not int or payload not in self.refs:
            raise P.ProtocolError(f"unknown ref {payload!r}")
        return _constant(self.refs[payload])

    def tag_import(self, payload, scope, depth):
        if type(payload) is not str or not all(p.isidentifier() for p in payload.split(".")):
            raise P.ProtocolError(f"bad dotted name {payload!r:.80}")
        cache = []

        def run(env):
            if not cache:
                cache.append(import_dotted(payload))
            return cache[0]
        return run

    def tag_getattr(self, payload, scope, depth):
        obj, name = self._list(payload, 2, "$getattr")
        if type(name) is not str:
            raise P.ProtocolError("$getattr needs a str name")
        target = self.compile(obj, scope, depth)
        return lambda env: getattr(target(env), name)

    def tag_call(self, payload, scope, depth):
        fn, args, kwargs = self._list(payload, 3, "$call")
        if type(args) is not list or type(kwargs) is not dict:
            raise P.ProtocolError("$call needs [callee, [args], {kwargs}]")
        callee = self.compile(fn, scope, depth)
        arg_fns = [self.compile(a, scope, depth) for a in args]
        kw_fns = [(k, self.compile(v, scope, depth)) for k, v in kwargs.items()]
        return lambda env: callee(env)(*[a(env) for a in arg_fns],
                                       **{k: v(env) for k, v in kw_fns})

    def tag_op(self, payload, scope, depth):
        if type(payload) is not list or not payload or payload[0] not in P.OPS:
            raise P.ProtocolError("$op needs [name, operands...] with a known name")
        name, operands = payload[0], payload[1:]
        if len(operands) != P.OPS[name]:
            raise P.ProtocolError(f"$op {name} takes {P.OPS[name]} operand(s)")
        fn = OPERATORS[name]
        parts = [self.compile(x, scope, depth) for x in operands]
        if len(parts) == 1:
            only = parts[0]
            return lambda env: fn(only(env))
        left, right = parts
        return lambda env: fn(left(env), right(env))

    def tag_slice(self, payload, scope, depth):
        parts = [self.compile(x, scope, depth) for x in self._list(payload, 3, "$slice")]
        return lambda env: slice(*(p(env) for p in parts))

    def tag_ellipsis(self, payload, scope, depth):
        if payload is not None:
            raise P.ProtocolError("$ellipsis takes null")
        return _constant(Ellipsis)

    def tag_var(self, payload, scope, depth):
        if scope is None:
            raise P.ProtocolError("$var outside a $func")
        if type(payload) is not int or not 0 <= payload < scope:
            raise P.ProtocolError(f"$var {payload!r} is not a slot set before (0..{scope - 1})")
        return lambda env: env[payload]

    def tag_func(self, payload, scope, depth):
        if type(payload) is not dict or set(payload) != {"nparams", "steps", "return"}:
            raise P.ProtocolError("$func needs exactly nparams, steps, return")
        nparams, steps = payload["nparams"], payload["steps"]
        if type(nparams) is not int or nparams < 0 or type(steps) is not list:
            raise P.ProtocolError("$func needs an int nparams >= 0 and a list of steps")
        step_fns = [self.compile(s, nparams + k, depth) for k, s in enumerate(steps)]
        ret = self.compile(payload["return"], nparams + len(steps), depth)
        return _constant(TracedFunction(nparams, step_fns, ret))


# ---------------------------------------------------------------- serving

class Worker:
    """Answers requests read from `rfd` on `wfd`, keeping non-plain results in `refs`."""

    def __init__(self, rfd: int, wfd: int):
        self.rfd, self.wfd = rfd, wfd
        self.refs: dict = {}
        self.next_id = 1

    def read_exact(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = os.read(self.rfd, min(n - len(data), 1 << 20))
            if not chunk:
                raise EOFError
            data += chunk
        return bytes(data)

    def send(self, header: dict, blobs: list = ()) -> None:
        view = memoryview(P.pack_frame(header, list(blobs), P.FROM_WORKER))
        while view:
            view = view[os.write(self.wfd, view):]

    def keep(self, value: Any, depth: int = 0) -> dict:
        rid, self.next_id = self.next_id, self.next_id + 1
        self.refs[rid] = value
        return {"$ref": [rid, qualified_name(type(value))]}

    def serve(self) -> None:
        while True:
            try:
                header, blobs = P.read_frame(self.read_exact, P.TO_WORKER)
            except EOFError:
                os._exit(0)
            except P.ProtocolError as exc:
                self.send({"kind": "fail", "seq": 0, "message": f"bad request frame: {exc}"})
                os._exit(2)
            self.handle(header, blobs)

    def handle(self, header: dict, blobs: list) -> None:
        seq = header.get("seq")
        if (set(header) != {"op", "seq", "expr", "keep", "drop"} or header["op"] != "eval"
                or type(seq) is not int or seq < 1 or type(header["keep"]) is not bool
                or type(header["drop"]) is not list
                or not all(type(rid) is int for rid in header["drop"])):
            self.send({"kind": "fail", "seq": seq if type(seq) is int else 0,
                       "message": "bad request header"})
            return
        for rid in header["drop"]:
            self.refs.pop(rid, None)
        table = P.BlobTable(blobs)
        try:
            run = Compiler(self.refs, table).compile(header["expr"], None, 0)
            table.check_all_used()
        except P.ProtocolError as exc:
            self.send({"kind": "fail", "seq": seq, "message": f"bad request: {exc}"})
            return
        try:
            value = run(None)
        except BaseException as exc:  # student code may raise anything, SystemExit included
            _flush_stdio()
            self.send(dict({"kind": "error", "seq": seq}, **describe_exception(exc)))
            return
        _flush_stdio()
        self.reply(seq, value, header["keep"])

    def reply(self, seq: int, value: Any, keep: bool) -> None:
        try:
            out_blobs: list = []
            encoded = self.keep(value) if keep else P.Encoder(out_blobs, self.keep).encode(value)
            self.send({"kind": "ok", "seq": seq, "value": encoded}, out_blobs)
        except BaseException as exc:  # too large, MemoryError, ...
            self.send({"kind": "fail", "seq": seq,
                       "message": f"cannot send the result: {type(exc).__name__}: "
                                  f"{str(exc)[:MAX_MESSAGE]}"})


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def main(config: dict, rfd: int, wfd: int) -> None:
    """Entry point called by the bootstrap with the boot config and the channel fds."""
    worker = Worker(rfd, wfd)
    needed = mapped_bytes() + MEMORY_MARGIN
    if config["limits"]["memory_bytes"] < needed:
        worker.send({"kind": "fail", "seq": 0, "message": f"memory_bytes is too small: the "
                     f"worker needs at least {needed >> 20} MiB of address space"})
        os._exit(3)
    nproc = set_limits(config["limits"], config.get("tasks_elsewhere", 0))
    close_other_fds({0, 1, 2, rfd, wfd})
    root = config["submission_dir"]
    sys.dont_write_bytecode = True
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) not in
                   (os.path.realpath(root), os.path.realpath(os.getcwd()))]
    sys.meta_path.insert(0, SubmissionFinder(root, config["packages"]))
    if not os.access(root, os.R_OK | os.X_OK):
        worker.send({"kind": "fail", "seq": 0, "message": f"the worker (uid {os.getuid()}) "
                     f"cannot read the submission directory {root}"})
        os._exit(3)
    confinement = confine(config)
    worker.send({"kind": "hello", "seq": 0, "pid": os.getpid(), "uid": os.getuid(),
                 "python": platform.python_version(), "numpy": np.__version__, "nproc": nproc,
                 "confinement": confinement})
    worker.serve()
