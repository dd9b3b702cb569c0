"""Each grading its own worker account: a pool of system users, leased with a lock (trusted side).

As root, the worker runs as an unprivileged account, and the grader cleans up by that account's uid:
it kills every process of the uid, deletes what the uid left in world-writable folders and removes
its SysV IPC objects. That is only safe if no other grading on the machine uses the same uid at the
same time, so every grading leases one:

    with lease_worker() as lease:        # None when we are not root (nothing to switch to)
        Sandbox(folder, user=lease)      # the worker runs as lease.user; lease.sweep() cleans up

A lease is an exclusive `flock` on /var/lib/autograder-workers/<name>.lock, held by an open file
of the grading process, so the kernel drops it when that process ends, however it ends. The pool
is "autograder-worker" (the account setup.sh creates on Gradescope), then "autograder-worker-1",
... created on first use like setup.sh does. The holder sweeps the uid when it takes the lease (what
a crashed holder left) and when it gives it back, so nothing one grading leaves reaches the next.
A lease of a named account waits for that account's current holder; a pool lease takes any free one.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

from .sandbox import SHARED_FOLDERS, kill_uid_processes, remove_uid_files
from .workerenv import DEFAULT_USER, FALLBACK_USER, WorkerUser, resolve_user

LOCK_DIR = "/var/lib/autograder-workers"
POOL_SIZE = 64
LEASE_FOLDERS = SHARED_FOLDERS + ("/run/lock",)   # world-writable folders swept by uid
IPC_KINDS = (("shm", "-m"), ("msg", "-q"), ("sem", "-s"))   # /proc/sysvipc/<kind>, ipcrm flag


class LeaseError(RuntimeError):
    """No worker account could be leased."""


def pool_name(slot: int) -> str:
    return DEFAULT_USER if slot == 0 else f"{DEFAULT_USER}-{slot}"


class WorkerLease:
    """An account no other grading uses while this object holds its lock."""

    def __init__(self, user: WorkerUser, lock_fd: int):
        self.user = user
        self._fd: int | None = lock_fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def sweep(self) -> tuple[bool, list[str]]:
        """Kill every process of the account, then delete its files in world-writable folders and
        its SysV IPC objects. Returns (no process survived, what was removed)."""
        if self._fd is None:
            raise LeaseError(f"the lease of {self.user.name} was already released")
        dead = kill_uid_processes(self.user.uid)
        if self.user.name == FALLBACK_USER:   # shared with the rest of the machine: keep its files
            return dead, []
        return dead, remove_uid_files(self.user.uid, LEASE_FOLDERS) + remove_uid_ipc(self.user.uid)

    def release(self) -> tuple[bool, list[str]]:
        """Sweep, then give the account back (idempotent). Returns what the sweep returned."""
        if self._fd is None:
            return True, []
        try:
            return self.sweep()
        finally:
            fd, self._fd = self._fd, None
            os.close(fd)   # closing the file drops the flock

    def __enter__(self) -> "WorkerLease":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"WorkerLease({self.user.name!r}, uid={self.user.uid}, held={self.held})"


def lease_worker(name: str | None = None, *, wait: float = 600.0,
                 lock_dir: str = LOCK_DIR) -> WorkerLease | None:
    """Lease a worker account: `name` (waiting up to `wait` s for its holder), else a free one of
    the pool (created if missing). None when we are not root. Raises LeaseError."""
    if os.geteuid() != 0:
        return None
    folder = _lock_folder(lock_dir)
    try:
        return _lease_in(folder, name, wait)
    finally:
        os.close(folder)


def _lease_in(folder: int, name: str | None, wait: float) -> WorkerLease:
    if name is not None:
        user = resolve_user(name)   # an explicit account must exist already, and not be root
        return _take(user, _lock(folder, name, wait))
    for slot in range(POOL_SIZE):
        fd = _lock(folder, pool_name(slot), wait=None)
        if fd is None:
            continue
        try:
            user = resolve_user(_ensure_account(folder, pool_name(slot)))
        except (OSError, subprocess.SubprocessError, ValueError):
            os.close(fd)
            break   # no way to create accounts here: fall back to the shared one below
        return _take(user, fd)
    else:
        raise LeaseError(f"all {POOL_SIZE} worker accounts are in use by other gradings")
    return _take(resolve_user(FALLBACK_USER), _lock(folder, FALLBACK_USER, wait))


@contextlib.contextmanager
def leased_user(name: str | None = None):
    """`with leased_user() as user:` a WorkerUser leased for the block (None when not root)."""
    lease = lease_worker(name)
    try:
        yield None if lease is None else lease.user
    finally:
        if lease is not None:
            lease.release()


def _take(user: WorkerUser, fd: int) -> WorkerLease:
    lease = WorkerLease(user, fd)
    try:
        lease.sweep()   # whatever a holder that died left behind
    except BaseException:
        lease.release()
        raise
    return lease


def _lock_folder(path: str) -> int:
    """The lock folder, created 0700 and checked to be root's own (not a link someone planted)."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    st = os.fstat(fd)
    if st.st_uid != 0 or st.st_mode & 0o077:
        os.close(fd)
        raise LeaseError(f"{path} must be a folder of root's that only root can use")
    return fd


def _lock(folder: int, name: str, wait: float | None) -> int | None:
    """An open file holding an exclusive flock on `name`.lock; with wait=None, None if it is held
    elsewhere, else retried until `wait` seconds have passed (then LeaseError)."""
    fd = os.open(f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                 dir_fd=folder)
    deadline = None if wait is None else time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if deadline is None or time.monotonic() > deadline:
                os.close(fd)
                if deadline is None:
                    return None
                raise LeaseError(f"the worker account {name} stayed in use by another grading "
                                 f"for {wait:g} s") from None
            time.sleep(0.05)


def _ensure_account(folder: int, name: str) -> str:
    """Create the system account `name` if missing (as setup.sh does), one creator at a time."""
    if _exists(name):
        return name
    fd = os.open(".create.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600, dir_fd=folder)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for attempt in range(20):
            if _exists(name):
                return name
            done = subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                 "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if done.returncode == 0:
                return name
            time.sleep(0.1 * (attempt + 1))   # /etc/passwd locked by another tool: try again
        raise OSError(errno.EAGAIN, f"useradd {name} failed: {done.stderr.strip()}")
    finally:
        os.close(fd)


def _exists(name: str) -> bool:
    try:
        resolve_user(name)
        return True
    except ValueError:
        return False


def remove_uid_ipc(uid: int) -> list[str]:
    """Remove the SysV shared memory segments, message queues and semaphore sets that `uid` owns
    or created. Returns a description of each one removed."""
    if uid in (0, os.getuid(), os.geteuid()):
        raise ValueError(f"refusing to remove the IPC objects of uid {uid}")
    ipcrm = shutil.which("ipcrm")
    removed = []
    for kind, flag in IPC_KINDS:
        for ident in _ipc_ids(Path("/proc/sysvipc") / kind, uid):
            if ipcrm and subprocess.run([ipcrm, flag, ident], capture_output=True).returncode == 0:
                removed.append(f"SysV {kind} {ident}")
    return removed


def _ipc_ids(table: Path, uid: int) -> list[str]:
    """Ids of the objects in a /proc/sysvipc table whose owner or creator is `uid`."""
    try:
        header, *rows = table.read_text().splitlines()
    except (OSError, ValueError):
        return []
    columns = header.split()
    found = []
    for row in rows:
        cells = dict(zip(columns, row.split()))
        if str(uid) in (cells.get("uid"), cells.get("cuid")):
            found.append(cells[columns[1]])   # the second column is the object's id
    return found


def sweep_idle(lock_dir: str = LOCK_DIR) -> list[str]:
    """Sweep every worker account that has a lock file and no holder now (a grading killed before
    it could clean up leaves its account's processes running until then). Returns their names."""
    if os.geteuid() != 0 or not os.path.isdir(lock_dir):
        return []
    folder = _lock_folder(lock_dir)
    swept = []
    try:
        for entry in sorted(os.listdir(folder)):
            name = entry[:-len(".lock")]
            if not entry.endswith(".lock") or name.startswith(".") or not _exists(name):
                continue
            fd = _lock(folder, name, wait=None)
            if fd is not None:
                WorkerLease(resolve_user(name), fd).release()
                swept.append(name)
    finally:
        os.close(folder)
    return swept


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog="python -m engine.identity",
                                     description="Sweep the worker accounts no grading holds.")
    parser.add_argument("--sweep-idle", action="store_true", required=True)
    parser.parse_args(argv)
    print(f"swept idle worker accounts: {', '.join(sweep_idle()) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
