"""Starting, confining and killing the worker process (trusted side).

`start_worker` runs ``python -I -B -u -c BOOTSTRAP`` (isolated mode: no PYTHON* variables, no
user site, no script folder on sys.path; no bytecode written; unbuffered output, so what a call
printed before it hung is not lost) with
- a scrubbed environment: PATH, HOME and TMPDIR pointing to a fresh private scratch folder, LANG,
  and one thread for OpenMP/OpenBLAS/MKL; nothing that points into the autograder;
- a dedicated pipe pair as the channel (`pass_fds`), every other fd closed (`close_fds`), stdin
  from /dev/null, stdout and stderr into one pipe drained by a thread (`OutputCapture`), which
  keeps the first bytes and counts the rest;
- its own session and process group, umask 077, and, when the grader is root, an unprivileged
  user (`resolve_user`) with no supplementary groups.
The bootstrap reads the engine's worker code from the channel (so the worker never needs to read
the autograder's files, `WORKER_MODULES`), and the worker sets its own hard resource limits first
(`WorkerLimits`), then confines itself with the kernel's layers where the kernel allows them
(Landlock: `engine.landlock`) and names in its hello what is in force and why any layer is off
(`WorkerProcess.confinement`): a missing layer is a warning to record, not a failed start.
As root, the worker is started in new network, IPC, PID and mount namespaces where the kernel
allows it (`engine.namespaces`; `setpriv` then switches to the worker's user).

`WorkerProcess.kill` SIGKILLs the process group, then sweeps /proc until no process of the worker's
group or session remains, nor, when the worker has a uid of its own, any process of that uid (this
is what catches a double-forked daemon that left the group). One worker uid serves one Sandbox.

The submission folder must be readable by the worker user and should not be writable by it, and
the interpreter must be executable by it: see `engine.workerenv` (re-exported here).
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from . import namespaces
from . import protocol as P
from .resources import default_worker_memory
from .workerenv import WorkerUser, worker_env
# re-exported: the worker's user, interpreter and file permissions live in engine.workerenv
from .workerenv import (DEFAULT_USER, FALLBACK_USER, ensure_worker_python,  # noqa: F401
                        make_tree_readable, resolve_user, worker_can_run)

ENGINE_DIR = Path(__file__).resolve().parent
# the engine's modules the worker runs, sent through the channel in this order (each may import
# the ones before it); worker.main is the entry point
WORKER_MODULES = ("protocol", "landlock", "worker")
CONFINEMENT_LAYERS = ("landlock",)   # the keys of the hello's "confinement" (the worker's own)

BOOTSTRAP = """\
import os, sys, json, types
r, w = int(sys.argv[1]), int(sys.argv[2])
def rd(n):
    b = bytearray()
    while len(b) < n:
        c = os.read(r, n - len(b))
        if not c:
            os._exit(70)
        b += c
    return bytes(b)
boot = json.loads(rd(int.from_bytes(rd(8), "big")))
pkg = types.ModuleType("engine")
pkg.__path__ = []
sys.modules["engine"] = pkg
for name, source in boot["sources"].items():
    mod = types.ModuleType("engine." + name)
    mod.__package__ = "engine"
    sys.modules[mod.__name__] = mod
    setattr(pkg, name, mod)
    exec(compile(source, "<agw:" + name + ">", "exec"), mod.__dict__)
sys.modules["engine.worker"].main(boot["config"], r, w)
"""


class WorkerFailure(Exception):
    """The worker could not start, crashed, or broke the protocol; it has been killed."""


class CallTimeout(WorkerFailure):
    """A call ran past its wall-clock timeout; the worker has been killed."""


class ChannelClosed(Exception):
    """The worker closed its end of the channel (usually: it died)."""


class ChannelTimeout(Exception):
    """The deadline passed while waiting for the worker."""


@dataclass(frozen=True)
class WorkerLimits:
    """Hard resource limits of the worker (hard = soft, set before any student code runs).

    memory_bytes: RLIMIT_AS (numpy's import needs about 100 MB of address space); by default
    1 GiB, or less where the machine or its memory cgroup cannot hold that beside the grader
    (`engine.resources.worker_memory_limit`), so that too much memory is a MemoryError, not an
    out-of-memory SIGKILL;
    cpu_seconds: RLIMIT_CPU, for the worker's whole life (a backstop; calls have wall timeouts);
    extra_processes: RLIMIT_NPROC above the tasks the worker's uid already has;
    file_bytes: RLIMIT_FSIZE; open_files: RLIMIT_NOFILE. Core files are disabled.
    landlock: the worker confines itself with Landlock where the kernel has it (`engine.landlock`,
    `engine.worker.landlock_rules`); False turns that layer off (to measure it, or to compare
    with what a worker without it can do). Not a resource limit, but set in the same place.
    namespaces: as root, the worker starts in new network, IPC, PID and mount namespaces where
    the kernel allows it (`engine.namespaces`); False turns that layer off.
    """

    memory_bytes: int = field(default_factory=default_worker_memory)
    cpu_seconds: int = 600
    extra_processes: int = 8
    file_bytes: int = 64 << 20
    open_files: int = 64
    landlock: bool = True
    namespaces: bool = True


# ---------------------------------------------------------------- output

class OutputBuffer:
    """What the worker printed since the last `take`: the first `limit` bytes, and a count."""

    def __init__(self, limit: int = 32 << 10):
        self.limit = limit
        self._lock = threading.Lock()
        self._head = bytearray()
        self._dropped = 0

    def add(self, chunk: bytes) -> None:
        with self._lock:
            room = max(self.limit - len(self._head), 0)
            self._head += chunk[:room]
            self._dropped += max(len(chunk) - room, 0)

    def take(self) -> str:
        with self._lock:
            head, dropped = bytes(self._head), self._dropped
            self._head, self._dropped = bytearray(), 0
        text = head.decode("utf-8", errors="replace")
        return text + (f"\n[... {dropped} bytes dropped]\n" if dropped else "")


class OutputCapture:
    """Drains the worker's stdout/stderr pipe into an OutputBuffer, in a daemon thread.

    `sync()` moves whatever is already in the pipe into the buffer: called after a response,
    everything the worker printed before answering is in the buffer.
    """

    def __init__(self, fd: int, sink: OutputBuffer):
        self._fd, self._sink = fd, sink
        os.set_blocking(fd, False)
        self._lock = threading.Lock()
        self._eof = self._closed = False
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="worker-output", daemon=True)
        self._thread.start()

    def _drain(self) -> None:  # the caller holds self._lock
        for _ in range(64):  # at most 4 MiB at a time, so a flood cannot hold the lock forever
            if self._eof or self._closed:
                return
            try:
                chunk = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._eof = True
                return
            self._sink.add(chunk)

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while True:
            events = poller.poll()
            if any(fd == self._wake_r for fd, _ in events):
                return
            with self._lock:
                self._drain()
                if self._eof:
                    return

    def sync(self) -> None:
        with self._lock:
            self._drain()

    def stop(self) -> None:
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=2.0)
        with self._lock:
            self._drain()
            self._closed = True
            for fd in (self._fd, self._wake_r, self._wake_w):
                os.close(fd)


# ---------------------------------------------------------------- processes

def current_cpu() -> int | None:
    """The CPU this process is running on now (Linux: field 39 of /proc/self/stat), or None."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[36])  # fields[0] is field 3, the state
    except (OSError, IndexError, ValueError):
        return None


def share_one_cpu() -> set | None:
    """Restrict this process to the CPU it runs on now, so that the workers it starts (which
    inherit the affinity) run on the same CPU as the calls' caller.

    Every call is synchronous, so the two processes never run at the same time, and a wakeup
    on the same CPU is much cheaper than across CPUs (a pipe ping-pong measured here: 3 us on
    one CPU, 70 us across two, on a VM). The CPU is the one the scheduler chose for this
    process, not a fixed one, so that gradings running side by side stay spread over the CPUs.
    Returns the previous CPU set if it changed it, None if there was nothing to change (one CPU
    already, or no sched_setaffinity, as on macOS).
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        cpus = os.sched_getaffinity(0)
        if len(cpus) <= 1:
            return None
        cpu = current_cpu()
        os.sched_setaffinity(0, {cpu if cpu in cpus else min(cpus)})
    except OSError:
        return None
    return cpus


def restore_cpus(cpus: set | None) -> None:
    """Undo share_one_cpu (cpus: what it returned)."""
    if cpus:
        try:
            os.sched_setaffinity(0, cpus)
        except OSError:
            pass


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    state: str
    pgrp: int
    session: int
    uids: tuple  # real, effective, saved, filesystem


def list_processes() -> list:
    """Every process visible in /proc (those that vanish while reading are skipped)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                rest = f.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{entry}/status", "rb") as f:
                uid_line = next(line for line in f if line.startswith(b"Uid:"))
            found.append(ProcInfo(int(entry), rest[0].decode(), int(rest[2]), int(rest[3]),
                                  tuple(int(u) for u in uid_line.split()[1:])))
        except (OSError, IndexError, ValueError, StopIteration):
            continue
    return found


def kill_processes(match: Callable[[ProcInfo], bool], rounds: int = 100) -> bool:
    """SIGKILL every live process that `match`es, again and again until none is left.

    Returns True if none was left within `rounds` sweeps. Never kills the caller.
    """
    me = os.getpid()
    for i in range(rounds):
        victims = [p.pid for p in list_processes()
                   if p.pid != me and p.state not in ("Z", "X") and match(p)]
        if not victims:
            return True
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(min(0.001 * 2 ** i, 0.05))
    return False


def count_uid_tasks(uid: int) -> int:
    """Tasks (threads included, as RLIMIT_NPROC counts them) whose real uid is `uid`."""
    total = 0
    for proc in list_processes():
        if proc.uids[0] == uid:
            try:
                total += len(os.listdir(f"/proc/{proc.pid}/task"))
            except OSError:
                continue
    return total


def kill_uid_processes(uid: int) -> bool:
    """Kill every process of a dedicated worker uid (never root's, never the caller's)."""
    if uid in (0, os.getuid(), os.geteuid()):
        raise ValueError(f"refusing to kill every process of uid {uid}")
    return kill_processes(lambda p: uid in p.uids)


SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")  # where any user may create files


def remove_uid_files(uid: int, folders=SHARED_FOLDERS) -> list:
    """Delete what a dedicated worker uid created directly in a world-writable folder (after
    its processes are dead). Returns the paths removed. Never for root's or the caller's uid."""
    if uid in (0, os.getuid(), os.geteuid()):
        raise ValueError(f"refusing to delete the files of uid {uid}")
    removed = []
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(entry.path)
            except OSError:
                continue
    return removed


class WorkerProcess:
    """A running worker: its process, the two channel ends, its output capture, its scratch."""

    def __init__(self, proc, req_w, resp_r, capture, scratch, user, limits, namespaced=""):
        self.proc, self.req_w, self.resp_r = proc, req_w, resp_r
        self.capture, self.scratch, self.user, self.limits = capture, scratch, user, limits
        self.namespaces = namespaced   # what `namespace_layer` said: "net, ipc, ..." or "off: why"
        self.info: dict = {}
        self.cpu_seconds: float | None = None
        self.killed_while_alive = False
        self._done = False
        self.clean = True
        os.set_blocking(req_w, False)
        os.set_blocking(resp_r, False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def confinement(self) -> dict:
        """{layer: what is in force, e.g. "abi 7: fs, net, scope", or "off: <why>"}: the layers
        the worker applied to itself (its hello) and the namespaces it was started in."""
        return {**self.info.get("confinement", {}), "namespaces": self.namespaces}

    def _wait_fd(self, fd: int, event: int, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ChannelTimeout
        poller = select.poll()
        poller.register(fd, event)
        # Wake up now and then: a process the worker started may hold the channel open after
        # the worker died, and then no EOF ever comes (the call would wait for its timeout).
        if not poller.poll(int(min(remaining, 0.25) * 1000) + 1) and not self.alive():
            raise ChannelClosed("the worker exited while a process it started still holds "
                                "the channel")

    def send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.req_w, view[:1 << 20]):]
            except BlockingIOError:
                self._wait_fd(self.req_w, select.POLLOUT, deadline)
            except OSError as exc:
                raise ChannelClosed(f"cannot write to the worker ({exc.strerror})") from None

    def read_exact(self, n: int, deadline: float) -> bytes:
        data = bytearray()
        while len(data) < n:
            try:
                chunk = os.read(self.resp_r, min(n - len(data), 1 << 20))
            except BlockingIOError:
                self._wait_fd(self.resp_r, select.POLLIN, deadline)
                continue
            except OSError as exc:
                raise ChannelClosed(f"cannot read from the worker ({exc.strerror})") from None
            if not chunk:
                raise ChannelClosed("the worker closed the channel")
            data += chunk
        return bytes(data)

    def unsolicited(self) -> str | None:
        """"data" if the worker sent bytes nobody asked for, "eof" if it closed, else None."""
        try:
            chunk = os.read(self.resp_r, 1)
        except BlockingIOError:
            return None
        except OSError:
            return "eof"
        return "data" if chunk else "eof"

    def alive(self) -> bool:
        """True while the worker process has not exited (does not reap it)."""
        if self._done:
            return False
        try:
            return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        except ChildProcessError:
            return False

    def kill(self, grace: float = 0.0) -> bool:
        """Kill the worker and everything it started; reap it; free its fds and scratch.

        grace: seconds to let a dying worker (its channel closed) exit on its own first, so that
        `exit_description` tells how it ended. Returns True if no process of its group, session
        or dedicated uid was left. Safe to call more than once.
        """
        if self._done:
            return self.clean
        end = time.monotonic() + grace
        while self.alive() and time.monotonic() < end:
            time.sleep(0.005)
        self.killed_while_alive = self.alive()
        pgid = self.pid  # a session leader: its pid is its group and session id
        try:
            os.killpg(pgid, signal.SIGKILL)  # the unreaped leader keeps the id from reuse
        except (ProcessLookupError, PermissionError):
            pass
        uid = self.user.uid if self.user is not None else None
        self.clean = kill_processes(lambda p: p.pgrp == pgid or p.session == pgid
                                    or (uid is not None and uid in p.uids))
        self._reap()
        self._done = True
        self.capture.stop()
        for fd in (self.req_w, self.resp_r):
            os.close(fd)
        shutil.rmtree(self.scratch, ignore_errors=True)
        return self.clean

    def _reap(self) -> None:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            except ChildProcessError:
                return
            if pid:
                code = os.waitstatus_to_exitcode(status)
                signum = None if self.namespaces.startswith("off:") else namespaces.exit_signal(code)
                self.proc.returncode = -signum if signum else code
                self.cpu_seconds = usage.ru_utime + usage.ru_stime
                return
            time.sleep(0.002)

    def exit_description(self) -> str:
        """How the worker ended, in words (after `kill`)."""
        code = self.proc.returncode
        if code is None:
            return "the worker did not exit"
        if code >= 0:
            return f"the worker exited with code {code}"
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown signal"
        text = f"the worker was killed by signal {-code} ({name})"
        limit = self.limits.cpu_seconds
        if self.cpu_seconds is not None and self.cpu_seconds >= limit - 0.5:
            text += f" after {self.cpu_seconds:.1f} s of CPU time (limit {limit} s)"
        elif self.killed_while_alive:
            text += " by the grader"
        return text


def namespace_layer(user: WorkerUser | None, limits: WorkerLimits) -> str:
    """"net, ipc, pid, mount" if the worker is to start in namespaces of its own, else
    "off: <why>" (`engine.namespaces`)."""
    if not limits.namespaces:
        return "off: turned off by the grader (WorkerLimits.namespaces=False)"
    why = namespaces.available()
    if not why and user is None:
        why = "the worker runs as the grader's own user"
    return f"off: {why}" if why else namespaces.SUMMARY


def start_worker(*, python: str, submission_dir: str, packages: tuple,
                 user: WorkerUser | None, limits: WorkerLimits, output: OutputBuffer,
                 start_timeout: float) -> WorkerProcess:
    """Spawn a worker, send it the engine's code and config, wait for its hello.

    Raises WorkerFailure (with what it printed) if it cannot start within `start_timeout` s.
    A worker that exits before its hello in its namespaces (a container that allows unshare
    but not some mount, say) is started again without them, the layer then "off: <why>".
    """
    if not os.access(python, os.X_OK):   # said here: a wrapped start would only exit 127
        raise WorkerFailure(f"cannot start the worker interpreter {python}: not an executable file")
    options = dict(python=python, submission_dir=submission_dir, packages=packages, user=user,
                   limits=limits, output=output, start_timeout=start_timeout)
    layer = namespace_layer(user, limits)
    try:
        return _spawn(**options, layer=layer)
    except WorkerFailure as exc:
        if layer.startswith("off:") or getattr(exc, "cause", "") != "exit":
            raise
        first = str(exc).replace("\n", " | ")[:600]
        return _spawn(**options, layer=f"off: the worker did not start in them ({first})")


def _spawn(*, python: str, submission_dir: str, packages: tuple, user: WorkerUser | None,
           limits: WorkerLimits, output: OutputBuffer, start_timeout: float,
           layer: str) -> WorkerProcess:
    """start_worker, in namespaces unless `layer` says "off: ..."."""
    sources = {name: (ENGINE_DIR / f"{name}.py").read_text(encoding="utf-8")
               for name in WORKER_MODULES}
    scratch = tempfile.mkdtemp(prefix="agw-scratch-")
    os.chmod(scratch, 0o700)
    if user is not None:
        os.chown(scratch, user.uid, user.gid)
    # RLIMIT_NPROC counts the uid's tasks everywhere; from inside its namespace the worker sees
    # only its own, so it is told how many there are outside
    elsewhere = count_uid_tasks(user.uid) if user is not None and not layer.startswith("off:") else 0
    config = {"submission_dir": submission_dir, "packages": list(packages),
              "limits": asdict(limits), "scratch_dir": scratch, "tasks_elsewhere": elsewhere}
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    out_r, out_w = os.pipe()
    command = [python, "-I", "-B", "-u", "-c", BOOTSTRAP, str(req_r), str(resp_w)]
    if user is None:
        extra = {}
    elif layer.startswith("off:"):
        extra = {"user": user.uid, "group": user.gid, "extra_groups": []}
    else:   # setpriv switches to the worker's user, inside the namespaces
        extra = {}
        command = namespaces.wrap(command, uid=user.uid, gid=user.gid, scratch=scratch,
                                  read=[submission_dir, os.path.dirname(os.path.dirname(python))],
                                  pass_fds=(req_r, resp_w))
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL, stdout=out_w, stderr=out_w, close_fds=True,
            pass_fds=(req_r, resp_w), start_new_session=True, env=worker_env(scratch),
            cwd=scratch, umask=0o077, **extra)
    except (OSError, subprocess.SubprocessError) as exc:
        for fd in (req_w, resp_r, out_r):
            os.close(fd)
        shutil.rmtree(scratch, ignore_errors=True)
        raise WorkerFailure(f"cannot start the worker interpreter {python}: {exc}") from None
    finally:
        for fd in (req_r, resp_w, out_w):
            os.close(fd)
    worker = WorkerProcess(proc, req_w, resp_r, OutputCapture(out_r, output), scratch, user,
                           limits, layer)
    deadline = time.monotonic() + start_timeout
    try:
        boot = json.dumps({"sources": sources, "config": config}).encode("utf-8")
        worker.send(len(boot).to_bytes(8, "big") + boot, deadline)
        header, blobs = P.read_frame(lambda n: worker.read_exact(n, deadline), P.FROM_WORKER)
        # in a PID namespace of its own, the worker's pid there is not the one seen here
        why = _check_hello(header, blobs, worker.pid if layer.startswith("off:") else None)
        cause = "hello"
    except ChannelTimeout:
        why, cause = f"no hello within {start_timeout:g} s", "timeout"
    except (ChannelClosed, P.ProtocolError) as exc:
        why, cause = str(exc), "exit"
    if why:
        worker.kill(grace=0.5)
        worker.capture.sync()
        printed = output.take().strip()
        failure = WorkerFailure(f"the worker did not start: {why}; {worker.exit_description()}"
                                + (f"\nIt printed:\n{printed[-3000:]}" if printed else ""))
        failure.cause = cause   # "exit" (it ended before its hello), "timeout" or "hello"
        raise failure
    worker.info = header
    return worker


def _check_hello(header: dict, blobs: list, pid: int | None) -> str:
    """Why the first message is not a proper hello ("" if it is); pid: the worker's, if known."""
    if header.get("kind") == "fail" and type(header.get("message")) is str:
        return header["message"][:2000]
    types = {"kind": str, "seq": int, "pid": int, "uid": int, "python": str, "numpy": str,
             "nproc": int, "confinement": dict}
    if (blobs or set(header) != set(types) or header["kind"] != "hello"
            or not all(type(header[k]) is t for k, t in types.items())
            or set(header["confinement"]) != set(CONFINEMENT_LAYERS)
            or not all(type(v) is str and len(v) <= 2000 for v in header["confinement"].values())):
        return "malformed hello"
    return "" if header["pid"] == pid or pid is None else "hello from another process"


