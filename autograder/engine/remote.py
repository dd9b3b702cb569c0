"""The trusted side's API for running code in the sandboxed worker (docs/architecture.md).

    sb = Sandbox(copy_dir, packages=("backprop",), python=worker_python)
    lin = sb.call("backprop.modules.Linear", 3, 4, rng=Call("numpy.random.default_rng", 7))
    out = sb.method(lin, "forward", X)          # plain data comes back as values
    f = Func.trace(lambda x: x * x + 1, nparams=1)
    sb.call("backprop.autodiff.gradient", f, 2.0)

Arguments are plain data (see `engine.protocol`), `Ref`s of the current worker, `Call`s and
`Attr`s (evaluated in the worker first), `Func`s (traced functions) and `Func.fn(...)` handles.
Results that are not plain data stay in the worker and come back as `Ref`s (inside lists, tuples
and dicts too). Errors raised in the worker come back as `RemoteError`. A crash, a malformed or
unsolicited message, or a timeout kills the worker and raises `WorkerFailure` (`CallTimeout`);
the next call starts a fresh worker, and Refs of the old one raise `StaleRef`.
A Sandbox is not thread-safe. `close()` must be called (no atexit hook does it).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from . import protocol as P
from .sandbox import (CallTimeout, ChannelClosed, ChannelTimeout, OutputBuffer, WorkerFailure,
                      WorkerLimits, kill_uid_processes, restore_cpus, share_one_cpu,
                      start_worker)
from .identity import WorkerLease, lease_worker
from .tracing import Func, Sym, TracedFn, _dotted

__all__ = ["Sandbox", "Ref", "Call", "Attr", "Func", "RemoteError", "WorkerFailure",
           "CallTimeout", "StaleRef", "Budget"]


class Budget(float):
    """A call's timeout that is what the test measures (``timeout=Budget(10)``: training must fit
    in 10 s), not a guard against hangs: running past it does not stop later calls of the same
    function (engine.timeouts)."""


class RemoteError(Exception):
    """An exception raised by code in the worker: its type name ("ValueError", or
    "module.QualName" if not a builtin), message and traceback text."""

    def __init__(self, type_name: str, message: str, traceback_text: str):
        super().__init__(type_name, message, traceback_text)
        self.type_name, self.message, self.traceback_text = type_name, message, traceback_text

    def __str__(self):
        return f"{self.type_name}: {self.message}" if self.message else self.type_name


class StaleRef(WorkerFailure):
    """A Ref of a worker that has since been killed or replaced (or of another Sandbox)."""


class _Session:
    """The trusted side's state for one worker process."""

    def __init__(self, process, generation: int):
        self.process, self.generation = process, generation
        self.seq = 0
        self.dropped: list = []  # ids of Refs garbage-collected here, to forget in the worker


class Ref:
    """A handle on an object kept in the worker; `type_name` is its type's qualified name."""

    __slots__ = ("type_name", "_id", "_session", "_released")

    def __init__(self, type_name: str, rid: int, session: _Session):
        self.type_name, self._id, self._session = type_name, rid, session
        self._released = False

    def _release(self) -> None:
        if not self._released:
            self._released = True
            self._session.dropped.append(self._id)

    def __del__(self):
        try:
            self._release()
        except Exception:
            pass

    def __repr__(self):
        return f"<Ref {self.type_name} #{self._id} of worker {self._session.generation}>"


class Call:
    """A call evaluated in the worker: ``Call("numpy.random.default_rng", 7)`` (a dotted name
    is imported there), ``Call(ref_or_call_or_attr, *args, **kwargs)``."""

    __slots__ = ("target", "args", "kwargs")

    def __init__(self, target, /, *args, **kwargs):
        if type(target) is str:
            _dotted(target)
        self.target, self.args, self.kwargs = target, args, kwargs

    def __repr__(self):
        return f"Call({self.target!r}, {len(self.args)} args, {sorted(self.kwargs)})"


class Attr:
    """``getattr(obj, name)`` evaluated in the worker (obj: a Ref, Call or Attr)."""

    __slots__ = ("obj", "name")

    def __init__(self, obj, name: str):
        if type(name) is not str:
            raise TypeError("an attribute name must be a str")
        self.obj, self.name = obj, name

    def __repr__(self):
        return f"Attr({self.obj!r}, {self.name!r})"


class _RequestEncoder:
    """Encodes a request expression for one session, collecting the arrays it holds."""

    def __init__(self, session: _Session | None):
        self.session = session
        self.blobs: list = []
        self._plain = P.Encoder(self.blobs, self._other)
        self._slots: dict | None = None  # id(Sym) -> slot, while encoding a Func

    def encode(self, value: Any, depth: int = 0) -> Any:
        return self._plain.encode(value, depth)

    def _other(self, value: Any, depth: int) -> Any:
        if depth >= P.MAX_DEPTH:
            raise ValueError(f"argument nested deeper than {P.MAX_DEPTH}")
        d = depth + 1
        if isinstance(value, Ref):
            if self.session is None or value._session is not self.session:
                raise StaleRef(f"{value!r} belongs to a worker that has been killed or replaced")
            if value._released:
                raise StaleRef(f"{value!r} was released")
            return {"$ref": value._id}
        if isinstance(value, Call):
            target = value.target
            callee = {"$import": target} if type(target) is str else self.encode(target, d)
            return {"$call": [callee, [self.encode(a, d) for a in value.args],
                              {k: self.encode(v, d) for k, v in value.kwargs.items()}]}
        if isinstance(value, Attr):
            return {"$getattr": [self.encode(value.obj, d), value.name]}
        if isinstance(value, Func):
            return self._func(value, d)
        if isinstance(value, TracedFn):
            return {"$import": value.name}
        if isinstance(value, Sym):
            if self._slots is None or id(value) not in self._slots:
                raise TypeError("a traced value can only be used inside the Func that made it")
            return {"$var": self._slots[id(value)]}
        if type(value) is slice:
            return {"$slice": [self.encode(x, d) for x in (value.start, value.stop, value.step)]}
        if value is Ellipsis:
            return {"$ellipsis": None}
        raise TypeError(f"cannot send a {type(value).__module__}.{type(value).__qualname__} to "
                        "the worker (not plain data, Ref, Call, Attr or Func)")

    def _func(self, func: Func, depth: int) -> dict:
        outer, self._slots = self._slots, {id(p): i for i, p in enumerate(func.params)}
        try:
            steps = []
            for node in func.nodes:
                if node.kind == "op":
                    name, *operands = node.data
                    steps.append({"$op": [name, *(self.encode(o, depth + 1) for o in operands)]})
                else:
                    name, args, kwargs = node.data
                    steps.append({"$call": [{"$import": name},
                                            [self.encode(a, depth + 1) for a in args],
                                            {k: self.encode(v, depth + 1)
                                             for k, v in kwargs.items()}]})
                self._slots[id(node)] = len(self._slots)
            ret = self.encode(func.output, depth)
        finally:
            self._slots = outer
        return {"$func": {"nparams": func.nparams, "steps": steps, "return": ret}}


class Sandbox:
    """Runs calls in a sandboxed worker that imports `packages` from `submission_dir`.

    python: the worker's interpreter (default: this one; as root it must be runnable by the
    worker user, see `engine.sandbox.ensure_worker_python`); user: as root, the account the
    worker runs as: an `engine.identity.WorkerLease` held by the caller, or a name (leased here,
    waiting for its holder), or None (a free account of the pool, leased here); leases taken here
    are given back, swept, at close(). Not root: ignored, the worker runs as the caller;
    timeout: default wall-clock seconds per call; start_timeout: seconds for a worker to start;
    limits: a WorkerLimits or a dict of its fields; output_limit: bytes of output kept;
    share_cpu: while a worker runs, keep this process and the worker on one CPU (see
    `engine.sandbox.share_one_cpu`; the previous CPU set comes back at close()).
    """

    def __init__(self, submission_dir, *, packages=("backprop",), python: str | None = None,
                 user: WorkerLease | str | None = None, timeout: float = 30.0,
                 start_timeout: float = 60.0,
                 limits: WorkerLimits | dict | None = None, output_limit: int = 32 << 10,
                 share_cpu: bool = True):
        self.submission_dir = str(Path(submission_dir).resolve())
        if not os.path.isdir(self.submission_dir):
            raise ValueError(f"no submission folder {self.submission_dir}")
        self.packages = tuple(packages)
        if not self.packages or not all(type(p) is str and p.isidentifier() for p in self.packages):
            raise ValueError(f"packages must be top-level module names, got {packages!r}")
        self.python = python or sys.executable
        self.timeout, self.start_timeout = float(timeout), float(start_timeout)
        self.limits = limits if isinstance(limits, WorkerLimits) else WorkerLimits(**(limits or {}))
        self._output = OutputBuffer(output_limit)
        self.share_cpu = bool(share_cpu)
        self._cpus_before: set | None = None      # what share_one_cpu changed, for close()
        self._session: _Session | None = None
        self._closed = False
        self.generation = 0                       # workers started so far
        self.last_start_seconds: float | None = None
        self.last_exit = ""                       # how the previous worker ended
        self._own_lease = not isinstance(user, WorkerLease)
        self._lease = lease_worker(user) if self._own_lease else user
        self.user = None if self._lease is None else self._lease.user

    # ------------------------------------------------------------ lifecycle

    @property
    def worker_pid(self) -> int | None:
        return None if self._session is None else self._session.process.pid

    @property
    def worker_info(self) -> dict:
        """The current worker's hello: pid, uid, python and numpy versions, nproc limit,
        confinement."""
        return {} if self._session is None else dict(self._session.process.info)

    @property
    def confinement(self) -> dict:
        """The current worker's kernel confinement: {layer: what is in force, or "off: why"}."""
        return {} if self._session is None else self._session.process.confinement

    def start(self) -> None:
        """Start a worker now if none is running (calls do it on demand)."""
        if self._closed:
            raise RuntimeError("this Sandbox is closed")
        if self._session is not None and self._session.process.alive():
            return
        self._discard()
        if self.share_cpu and self._cpus_before is None:
            self._cpus_before = share_one_cpu()
        began = time.monotonic()
        process = self._launch()
        self.last_start_seconds = time.monotonic() - began
        self.generation += 1
        self._session = _Session(process, self.generation)

    def _launch(self):
        """A fresh, confined worker process for this Sandbox's submission."""
        return start_worker(python=self.python, submission_dir=self.submission_dir,
                            packages=self.packages, user=self.user, limits=self.limits,
                            output=self._output, start_timeout=self.start_timeout)

    def restart(self) -> None:
        """Kill the worker (its Refs become stale) and start a fresh one."""
        self._discard()
        self.start()

    def close(self) -> bool:
        """Kill the worker and every process of its group and (dedicated) uid; final.

        Returns True if nothing was left running.
        """
        clean = self._discard()
        if self._lease is not None and self._lease.held:
            if self._own_lease:
                clean = self._lease.release()[0] and clean
            else:
                clean = kill_uid_processes(self.user.uid) and clean
        self._closed = True
        restore_cpus(self._cpus_before)
        self._cpus_before = None
        return clean

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _discard(self, grace: float = 0.0) -> bool:
        session, self._session = self._session, None
        if session is None:
            return True
        clean = session.process.kill(grace)
        self.last_exit = session.process.exit_description()
        return clean

    def take_output(self) -> str:
        """What the worker(s) printed since the last take (bounded, with a dropped-bytes note)."""
        if self._session is not None:
            self._session.process.capture.sync()
        return self._output.take()

    # ------------------------------------------------------------ calls

    def call(self, target, /, *args, keep: bool = False, timeout: float | None = None, **kwargs):
        """target(*args, **kwargs) in the worker; target: dotted name, Ref, Call, Attr or Func."""
        return self.run(Call(target, *args, **kwargs), keep=keep, timeout=timeout)

    def method(self, obj, name: str, /, *args, keep: bool = False, timeout: float | None = None,
               **kwargs):
        """obj.name(*args, **kwargs) in the worker."""
        return self.run(Call(Attr(obj, name), *args, **kwargs), keep=keep, timeout=timeout)

    def attr(self, obj, name: str, *, keep: bool = False, timeout: float | None = None):
        """obj.name, read in the worker."""
        return self.run(Attr(obj, name), keep=keep, timeout=timeout)

    def value(self, ref, *, timeout: float | None = None):
        """The object behind a Ref, as plain data (non-plain parts come back as Refs)."""
        return self.run(ref, timeout=timeout)

    def release(self, *refs: Ref) -> None:
        """Let the worker forget these objects (done anyway when a Ref is garbage-collected)."""
        for ref in refs:
            ref._release()

    def run(self, expr: Any, *, keep: bool = False, timeout: float | None = None) -> Any:
        """Evaluate a request expression (value, Ref, Call, Attr, Func...) in the worker.

        keep=True leaves the result in the worker and returns a Ref.
        """
        if self._closed:
            raise RuntimeError("this Sandbox is closed")
        limit = self.timeout if timeout is None else float(timeout)
        if not limit > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        session = self._usable_session()
        encoder = _RequestEncoder(session)
        payload = encoder.encode(expr)
        if session is None:
            self.start()
            session = self._session
        session.seq += 1
        dropped, session.dropped = session.dropped, []
        header = {"op": "eval", "seq": session.seq, "expr": payload, "keep": bool(keep),
                  "drop": dropped}
        try:
            frame = P.pack_frame(header, encoder.blobs, P.TO_WORKER)
        except P.ProtocolError:
            session.dropped.extend(dropped)
            raise
        deadline = time.monotonic() + limit
        try:
            outcome = self._exchange(session, frame, header["seq"], keep, deadline)
        except ChannelTimeout:
            self._discard()
            raise CallTimeout(f"the call did not finish within {limit:g} s, so the worker "
                              "was killed") from None
        except Exception as exc:  # closed channel, malformed message, or anything unexpected
            self._discard(grace=0.5 if isinstance(exc, ChannelClosed) else 0.0)
            what = (f"malformed message from the worker: {exc}" if isinstance(exc, P.ProtocolError)
                    else str(exc) if isinstance(exc, ChannelClosed)
                    else f"unexpected {type(exc).__name__}: {exc}")
            raise WorkerFailure(f"{what}; {self.last_exit}") from None
        if isinstance(outcome, RemoteError):
            raise outcome
        return outcome

    def _usable_session(self) -> _Session | None:
        """The current session if its worker is alive and quiet; else None (it is killed).

        Raises WorkerFailure if the worker sent data between calls (forged messages).
        """
        session = self._session
        if session is None:
            return None
        state = session.process.unsolicited()
        if state == "data":
            self._discard()
            raise WorkerFailure("the worker sent data nobody asked for (forged messages?), so "
                                f"it was killed; {self.last_exit}")
        if state == "eof" or not session.process.alive():
            self._discard(grace=0.5)
            return None
        return session

    def _exchange(self, session: _Session, frame: bytes, seq: int, keep: bool, deadline: float):
        """Send one request and read its answer: the value, or a RemoteError to raise."""
        process = session.process
        process.send(frame, deadline)
        header, blobs = P.read_frame(lambda n: process.read_exact(n, deadline), P.FROM_WORKER)
        if process.unsolicited() == "data":
            raise P.ProtocolError("the worker sent more than one answer (forged messages?)")
        process.capture.sync()
        if header.get("seq") != seq:
            raise P.ProtocolError(f"answer to request {header.get('seq')!r:.20}, expected {seq}")
        kind = header.get("kind")
        if kind == "ok" and set(header) == {"kind", "seq", "value"}:
            table = P.BlobTable(blobs)
            value = P.decode_value(header["value"], table,
                                   {"$ref": lambda payload: _make_ref(session, payload)})
            table.check_all_used()
            if keep and not isinstance(value, Ref):
                raise P.ProtocolError("keep=True but the worker did not answer a Ref")
            return value
        fields = ("type", "message", "traceback")
        if (kind == "error" and set(header) == {"kind", "seq", *fields} and not blobs
                and all(type(header[f]) is str for f in fields)):
            return RemoteError(*(header[f] for f in fields))
        if kind == "fail" and type(header.get("message")) is str:
            raise P.ProtocolError(f"the worker could not serve the call: {header['message']:.2000}")
        raise P.ProtocolError(f"malformed answer of kind {kind!r:.40}")


def _make_ref(session: _Session, payload: Any) -> Ref:
    if (type(payload) is not list or len(payload) != 2 or type(payload[0]) is not int
            or payload[0] < 1 or type(payload[1]) is not str):
        raise P.ProtocolError("$ref needs [id >= 1, type name]")
    return Ref(payload[1][:300], payload[0], session)
