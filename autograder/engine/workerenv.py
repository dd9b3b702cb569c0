"""Who the worker runs as, with which interpreter and environment, and what it may read.

- `resolve_user`: as root, an unprivileged account ("autograder-worker" if it exists, else
  "nobody"); otherwise the grader's own user. Gradings do not pick accounts here: they lease one
  that no other grading uses meanwhile from `engine.identity`, which creates the pool's accounts.
- `worker_env`: the worker's whole environment.
- `ensure_worker_python`: an interpreter the worker's user can execute, with pinned requirements.
  Here the grader runs as root with Python under /root (mode 700), which "nobody" cannot execute,
  so a virtualenv is built once from a system interpreter (/usr/bin/python3) under /var/tmp,
  readable by everyone, cached by a hash of the interpreter and the requirements.
  `worker_can_run` checks an interpreter as that user.
- `make_tree_readable`: the permissions the submission copy needs (folders 0755, files 0644,
  owned by root: the worker can read it, not write it).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_USER = "autograder-worker"
FALLBACK_USER = "nobody"
DEFAULT_PYTHON_CACHE = "/var/tmp/autograder-worker-python"
THREAD_VARS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1"}


@dataclass(frozen=True)
class WorkerUser:
    """The unprivileged account the worker runs as (only when the grader is root)."""

    name: str
    uid: int
    gid: int


def resolve_user(user: str | None = None) -> WorkerUser | None:
    """The worker's user, or None to run it as the grader's own user.

    As root: `user`, else "autograder-worker" if it exists, else "nobody"; never root itself.
    Not root: None whatever `user` says (there is no privilege to switch users; a user named in
    the configuration for Gradescope must not stop a student's local run).
    """
    if os.geteuid() != 0:
        return None
    if user is None:
        user = DEFAULT_USER if _user_exists(DEFAULT_USER) else FALLBACK_USER
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ValueError(f"no such user {user!r} for the worker") from None
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise ValueError(f"the worker must not run as root (user {user!r})")
    return WorkerUser(user, entry.pw_uid, entry.pw_gid)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def worker_env(home: str) -> dict:
    """The whole environment of the worker."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home,
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", **THREAD_VARS}


def worker_can_run(python: str, user: WorkerUser | str | None = None,
                   modules: tuple = ("numpy",), timeout: float = 120.0) -> bool:
    """True if `python` starts as the worker's user (`user`, or `resolve_user(user)` for a name
    or None) and imports `modules`. Pass a leased user (engine.identity): another grading's
    cleanup may kill the processes of an account it does not hold."""
    who = user if isinstance(user, WorkerUser) else resolve_user(user)
    extra = {} if who is None else {"user": who.uid, "group": who.gid, "extra_groups": []}
    code = "; ".join(f"import {m}" for m in modules) or "pass"
    try:
        done = subprocess.run([python, "-I", "-B", "-c", code], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=worker_env(tempfile.gettempdir()), cwd="/", timeout=timeout,
                              start_new_session=True, **extra)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _own_dir(path: str) -> None:
    """Create `path` (0755) or check it is ours and writable by no one else."""
    os.makedirs(path, mode=0o755, exist_ok=True)
    st = os.lstat(path)
    if (not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid()
            or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        raise RuntimeError(f"{path} must be a folder owned by uid {os.geteuid()} that no one "
                           "else can write; remove it or choose another cache_dir")
    os.chmod(path, 0o755)


def ensure_worker_python(requirements, cache_dir: str = DEFAULT_PYTHON_CACHE,
                         base_python: str = "/usr/bin/python3",
                         user: WorkerUser | str | None = None,
                         modules: tuple = ("numpy",)) -> str:
    """An interpreter the worker's user can run, with `requirements` (pinned lines) installed.

    Returns the grader's own interpreter if the worker can already run it; else a virtualenv
    built from `base_python` under `cache_dir`/<hash of interpreter and requirements>, readable
    by everyone (built once, reused afterwards). Raises RuntimeError if that fails.
    """
    if worker_can_run(sys.executable, user, modules):
        return sys.executable
    reqs = sorted({line.split("#", 1)[0].strip() for line in requirements} - {""})
    base = shutil.which(base_python) or base_python
    version = subprocess.run([base, "-I", "-c", "import sys; print(sys.version)"],
                             capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256(json.dumps([os.path.realpath(base), version, reqs]).encode()).hexdigest()
    _own_dir(cache_dir)
    target = os.path.join(cache_dir, key[:16])
    python = os.path.join(target, "bin", "python")
    # One builder at a time per environment: concurrent graders wait for it, then reuse it.
    with open(target + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (os.path.exists(os.path.join(target, ".complete"))
                    and worker_can_run(python, user, modules)):
                build = tempfile.mkdtemp(prefix=key[:16] + ".build-", dir=cache_dir)
                try:
                    _build_venv(base, build, reqs)
                    shutil.rmtree(target, ignore_errors=True)
                    os.rename(build, target)
                finally:
                    shutil.rmtree(build, ignore_errors=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if not worker_can_run(python, user, modules):
        raise RuntimeError(f"the worker's user cannot run {python} (or import {modules})")
    return python


def _build_venv(base: str, folder: str, reqs: list) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    python = os.path.join(folder, "bin", "python")
    pip_args = ["install", "--no-input", "--disable-pip-version-check", "--no-warn-script-location",
                "--only-binary", ":all:", *reqs]

    def run(*command) -> subprocess.CompletedProcess:
        return subprocess.run(command, env=env, capture_output=True, text=True)
    done = run(base, "-m", "venv", "--without-pip", folder)
    if done.returncode == 0 and reqs:
        # pip of the grader's environment installs into the new one; else the new one's own pip
        done = run(sys.executable, "-m", "pip", "--python", python, *pip_args)
        if done.returncode != 0 and run(python, "-m", "ensurepip", "--default-pip").returncode == 0:
            done = run(python, "-m", "pip", *pip_args)
    if done.returncode != 0:
        raise RuntimeError(f"building a worker environment with {reqs} failed "
                           f"({' '.join(done.args[:4])} ...):\n{done.stdout[-2000:]}"
                           f"\n{done.stderr[-2000:]}")
    make_tree_readable(folder, check_ancestors=False)
    Path(folder, ".complete").write_text(json.dumps(reqs) + "\n", encoding="utf-8")


def make_tree_readable(path, check_ancestors: bool = True) -> None:
    """Let every user read (not write) `path`: folders 0755, files 0644 (0755 if executable).

    With check_ancestors, raise PermissionError if a folder above `path` is not traversable by
    other users (the worker could not reach it then).
    """
    root = Path(path).resolve()
    for folder, dirs, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            full = os.path.join(folder, name)
            if not os.path.islink(full):
                executable = os.stat(full).st_mode & stat.S_IXUSR
                os.chmod(full, 0o755 if executable else 0o644)
    if check_ancestors:
        for parent in root.parents:
            if not os.stat(parent).st_mode & stat.S_IXOTH:
                raise PermissionError(f"{parent} is not traversable by other users, so the "
                                      f"worker cannot reach {root}")
