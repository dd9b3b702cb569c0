"""engine.sandbox: the worker's confinement (environment, fds, limits, user, imports), its end.

Tests marked `root` need root (the worker then runs as an unprivileged user, as on Gradescope);
elsewhere they are skipped. Every hostile call is bounded by a timeout or a small count.
"""
import os
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest

from engine.identity import leased_user
from engine.remote import CallTimeout, RemoteError, Sandbox, WorkerFailure
from engine.sandbox import (DEFAULT_USER, WorkerLimits, ensure_worker_python,
                            kill_uid_processes, list_processes, make_tree_readable, resolve_user,
                            worker_can_run, worker_env)

ROOT = Path(__file__).resolve().parents[2]
FAKEPKG = Path(__file__).resolve().parent / "fixtures" / "fakepkg"
TEST_USER = os.environ.get("ENGINE_TEST_WORKER_USER") or None
IS_ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(not IS_ROOT, reason="needs root: only then does the worker run "
                                                   "as another, unprivileged user")

# files a submission might carry to take over the worker at startup or shadow real modules
TAKEOVER = "import builtins\nbuiltins.HACKED = True\n"
SHADOWS = {"sitecustomize.py": TAKEOVER, "usercustomize.py": TAKEOVER, "conftest.py": TAKEOVER,
           "numpy.py": TAKEOVER + "raise RuntimeError('fake numpy')\n", "helper.py": TAKEOVER,
           "evil.pth": TAKEOVER.replace("\n", "; ") + "\n"}


def _forge_stale_bytecode(package: Path, python: str) -> None:
    """fakepkg/shadow.py says 'fresh', but its __pycache__ holds a valid-looking 'stale' version."""
    source = package / "shadow.py"
    source.write_text("VALUE = 'stale'\n")
    stamp = os.stat(source).st_mtime_ns
    subprocess.run([python, "-c", f"import py_compile; py_compile.compile({str(source)!r})"],
                   check=True)
    source.write_text("VALUE = 'fresh'\n")  # same size, same mtime: the cache looks valid
    os.utime(source, ns=(stamp, stamp))


@pytest.fixture(scope="module")
def submission(worker_python):
    folder = Path(tempfile.mkdtemp(prefix="engine-sandbox-"))
    shutil.copytree(FAKEPKG, folder / "fakepkg")
    for name, text in SHADOWS.items():
        (folder / name).write_text(text)
    _forge_stale_bytecode(folder / "fakepkg", worker_python)
    make_tree_readable(folder)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def make_box(submission, worker_python):
    boxes = []

    def make(**options):
        """A Sandbox without the namespaces layer: this file tests the layers beneath it (the
        namespaces' own tests: test_namespaces.py)."""
        options.setdefault("timeout", 10)
        options["limits"] = replace(options.get("limits") or WorkerLimits(), namespaces=False)
        box = Sandbox(submission, packages=("fakepkg",), python=worker_python, user=TEST_USER,
                      **options)
        boxes.append(box)
        return box
    yield make
    for box in boxes:
        box.close()


# ------------------------------------------------------------------ what the worker sees

def test_environment_is_scrubbed(make_box, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_ROOT", str(ROOT))
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "autograder"))
    monkeypatch.setenv("LD_PRELOAD", "/nonexistent/evil.so")
    box = make_box()
    env = box.call("fakepkg.hostile.environment")
    assert set(env) == set(worker_env("/x"))
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    cwd = box.call("fakepkg.hostile.identity")["cwd"]
    assert env["HOME"] == env["TMPDIR"] == cwd and "agw-scratch-" in cwd
    assert not any(str(ROOT) in value or "autograder" in value for value in env.values())


def test_only_the_channel_fds_are_open(make_box):
    decoy = os.open("/etc/hostname", os.O_RDONLY)
    os.set_inheritable(decoy, True)
    try:
        box = make_box()
        fds = box.call("fakepkg.hostile.open_fds")
    finally:
        os.close(decoy)
    fds = {int(fd): target for fd, target in fds.items() if not target.startswith("/proc/")}
    assert fds[0] == "/dev/null" and fds[1] == fds[2] and fds[1].startswith("pipe:")
    channel = [target for fd, target in fds.items() if fd > 2]
    assert len(fds) == 5 and len(set(channel)) == 2
    assert all(t.startswith("pipe:") and t != fds[1] for t in channel)
    assert box.call("fakepkg.hostile.writable_pipe_fds") != []


def test_limits_identity_and_process_group(make_box):
    limits = WorkerLimits(memory_bytes=768 << 20, cpu_seconds=100, extra_processes=5,
                          file_bytes=1 << 20, open_files=40)
    box = make_box(limits=limits)
    me = box.call("fakepkg.hostile.identity")
    got = {name: tuple(pair) for name, pair in me["limits"].items()}
    assert got["RLIMIT_AS"] == (768 << 20, 768 << 20) and got["RLIMIT_CPU"] == (100, 100)
    assert got["RLIMIT_FSIZE"] == (1 << 20, 1 << 20) and got["RLIMIT_NOFILE"] == (40, 40)
    assert got["RLIMIT_CORE"] == (0, 0)
    assert got["RLIMIT_NPROC"] == (box.worker_info["nproc"],) * 2
    assert me["pgid"] == me["sid"] == box.worker_pid
    assert me["umask"] == 0o077
    scratch = os.stat(me["cwd"])
    assert stat.S_IMODE(scratch.st_mode) == 0o700 and scratch.st_uid == me["uid"]
    if IS_ROOT:
        user = box.user   # the account leased for this Sandbox (engine.identity)
        assert me["uid"] == me["euid"] == user.uid != 0
        assert me["gid"] == user.gid and me["groups"] == []
    else:
        assert me["uid"] == os.getuid()
    box.close()
    assert not os.path.exists(me["cwd"])


def test_submission_cannot_shadow_modules_or_run_at_startup(make_box, submission):
    box = make_box()
    state = box.call("fakepkg.hostile.interpreter_state")
    assert state["hacked"] is False and state["flags_isolated"] == 1
    assert not state["numpy"].startswith(str(submission))
    assert "" not in state["path"] and str(submission) not in state["path"]
    loaded_from_repo = [f for f in state["files"] if f.startswith(str(ROOT))]
    assert loaded_from_repo == []  # the engine's code came through the channel, not from files
    for name in ("conftest", "helper", "evil"):
        assert box.call("fakepkg.hostile.module_origin", name) == "ModuleNotFoundError"
    for name in ("sitecustomize", "usercustomize", "numpy"):  # the system's, if any
        origin = box.call("fakepkg.hostile.module_origin", name)
        assert not origin.startswith(str(submission)), origin
    assert box.call("fakepkg.hostile.interpreter_state")["hacked"] is False


def test_bytecode_caches_in_the_submission_are_ignored(make_box, submission, worker_python):
    normal = subprocess.run(
        [worker_python, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "import fakepkg.shadow as s; print(s.VALUE)", str(submission)],
        capture_output=True, text=True, check=True)
    assert normal.stdout.strip() == "stale"  # a plain import would trust the forged cache
    box = make_box()
    module = box.call("importlib.import_module", "fakepkg.shadow", keep=True)
    assert box.attr(module, "VALUE") == "fresh"


# ------------------------------------------------------------------ resource limits

def test_memory_hog_hits_the_address_space_limit(make_box):
    box = make_box(limits=WorkerLimits(memory_bytes=512 << 20))
    with pytest.raises(RemoteError) as info:
        box.call("fakepkg.hostile.hog_memory", 32, 64)  # 2 GiB at most
    assert info.value.type_name == "MemoryError"
    with pytest.raises(RemoteError, match="MemoryError"):
        box.call("builtins.bytearray", 1 << 31)
    assert box.call("fakepkg.hostile.hog_memory", 32, 2) == 64  # the worker is still usable


def test_fork_loop_is_capped_relative_to_the_users_processes(make_box):
    sleepers = []
    box = make_box(limits=WorkerLimits(extra_processes=5))
    if IS_ROOT:  # other processes of the worker's uid: the cap must count from them
        user = box.user
        sleepers = [subprocess.Popen(["/bin/sleep", "30"], user=user.uid, group=user.gid,
                                     extra_groups=[], start_new_session=True) for _ in range(4)]
    try:
        started, error = box.call("fakepkg.hostile.fork_many", 40, 30)
        assert error == "BlockingIOError" and 3 <= started <= 5
        session = box.worker_pid
        assert box.close()
        assert [p for p in list_processes() if p.session == session and p.state != "Z"] == []
    finally:
        for p in sleepers:
            p.kill()
            p.wait()


def test_file_size_limit(make_box):
    box = make_box(limits=WorkerLimits(file_bytes=1 << 20))
    tmp = box.call("fakepkg.hostile.environment")["TMPDIR"]
    assert box.call("fakepkg.hostile.write_file", tmp + "/ok", 1 << 19) == 1 << 19
    with pytest.raises(RemoteError, match="File too large"):
        box.call("fakepkg.hostile.write_file", tmp + "/big", 2 << 20)


def test_cpu_limit_kills_a_busy_worker(make_box):
    box = make_box(limits=WorkerLimits(cpu_seconds=1), timeout=600)
    with pytest.raises(WorkerFailure, match="CPU time") as info:
        box.call("fakepkg.hostile.burn_cpu", 300)   # busy for 300 s: the 1 s of CPU ends it
    assert not isinstance(info.value, CallTimeout)


# ------------------------------------------------------------------ unprivileged user (root)

@root_only
def test_worker_cannot_read_a_private_root_folder(make_box):
    private = tempfile.mkdtemp(prefix="engine-private-")  # 0700, owned by root
    try:
        Path(private, "secret.txt").write_text("hidden tests")
        with pytest.raises(RemoteError) as info:
            make_box().call("fakepkg.hostile.read_file", os.path.join(private, "secret.txt"))
        assert info.value.type_name == "PermissionError"
    finally:
        shutil.rmtree(private)


@root_only
def test_detached_daemon_is_killed_by_close(make_box):
    box = make_box()
    pid = box.call("fakepkg.hostile.daemon", 600)
    daemon = next(p for p in list_processes() if p.pid == pid)
    assert daemon.session != box.worker_pid and daemon.pgrp != box.worker_pid
    assert box.user.uid in daemon.uids and daemon.state != "Z"
    assert box.close()
    assert [p for p in list_processes() if p.pid == pid and p.state != "Z"] == []


@root_only
def test_unreadable_submission_fails_the_start_with_a_reason(worker_python):
    private = Path(tempfile.mkdtemp(prefix="engine-private-"))
    try:
        shutil.copytree(FAKEPKG, private / "fakepkg")
        box = Sandbox(private, packages=("fakepkg",), python=worker_python, user=TEST_USER)
        with pytest.raises(WorkerFailure, match="cannot read the submission"):
            box.start()
        box.close()
    finally:
        shutil.rmtree(private)


@root_only
def test_a_cache_dir_others_can_write_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    with pytest.raises(RuntimeError, match="no one"):
        ensure_worker_python(["numpy==2.2.6"], cache_dir=str(shared), user=TEST_USER)


# ------------------------------------------------------------------ helpers and failures

def test_too_small_a_memory_limit_fails_the_start_with_a_reason(make_box):
    box = make_box(limits=WorkerLimits(memory_bytes=64 << 20))
    with pytest.raises(WorkerFailure, match="memory_bytes is too small"):
        box.start()


def test_start_failures_are_worker_failures(submission):
    with pytest.raises(WorkerFailure, match="cannot start"):
        Sandbox(submission, packages=("fakepkg",), python="/nonexistent/python",
                user=TEST_USER).start()
    box = Sandbox(submission, packages=("fakepkg",), python="/bin/false", user=TEST_USER)
    with pytest.raises(WorkerFailure, match="exited with code 1"):
        box.call("fakepkg.objects.echo")
    assert box.close()


def test_close_is_final_and_repeatable(make_box):
    box = make_box()
    assert box.call("fakepkg.objects.echo", 1) == ((1,), {})
    pid = box.worker_pid
    assert box.close() and box.close()
    assert not Path(f"/proc/{pid}").exists()
    with pytest.raises(RuntimeError, match="closed"):
        box.call("fakepkg.objects.echo")


def test_resolve_user_and_uid_sweep_refuse_privileged_accounts():
    with pytest.raises(ValueError):
        kill_uid_processes(0)
    with pytest.raises(ValueError):
        kill_uid_processes(os.getuid())
    if IS_ROOT:
        assert resolve_user().name in (DEFAULT_USER, "nobody")
        with pytest.raises(ValueError, match="root"):
            resolve_user("root")
        with pytest.raises(ValueError, match="no such user"):
            resolve_user("no-such-user-for-the-engine")
    else:
        assert resolve_user() is None and resolve_user(DEFAULT_USER) is None


def test_make_tree_readable(tmp_path):
    tree = tmp_path / "copy"
    (tree / "pkg").mkdir(parents=True, mode=0o700)
    (tree / "pkg" / "mod.py").write_text("x = 1\n")
    os.chmod(tree / "pkg" / "mod.py", 0o600)
    (tree / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(tree / "run.sh", 0o700)
    make_tree_readable(tree, check_ancestors=False)
    modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in (tree, tree / "pkg",
                                                                tree / "pkg" / "mod.py",
                                                                tree / "run.sh")}
    assert modes == {"copy": 0o755, "pkg": 0o755, "mod.py": 0o644, "run.sh": 0o755}
    os.chmod(tmp_path, 0o700)
    with pytest.raises(PermissionError, match="not traversable"):
        make_tree_readable(tree)


def test_worker_python_is_cached_and_usable(worker_python):
    with leased_user(TEST_USER) as user:
        again = ensure_worker_python((ROOT / "requirements.txt").read_text().splitlines(),
                                     user=user)
        assert again == worker_python
        assert worker_can_run(worker_python, user)
        assert not worker_can_run("/nonexistent/python", user)
        assert not worker_can_run(worker_python, user, modules=("no_such_module_here",))


@root_only
def test_concurrent_builds_of_the_worker_environment_share_one():
    """Two graders starting at once on a fresh machine: one builds, the other waits and reuses it."""
    from concurrent.futures import ThreadPoolExecutor
    top = Path(tempfile.mkdtemp(prefix="engine-cache-", dir="/tmp"))  # reachable by the worker
    try:
        top.chmod(0o755)
        cache = top / "cache"
        requirements = (ROOT / "requirements.txt").read_text().splitlines()
        with leased_user(TEST_USER) as user, ThreadPoolExecutor(2) as pool:
            paths = list(pool.map(lambda _: ensure_worker_python(
                requirements, cache_dir=str(cache), user=user), range(2)))
            assert paths[0] == paths[1] and paths[0].startswith(str(cache))
            assert worker_can_run(paths[0], user, ("numpy",))
        assert not [p for p in cache.iterdir() if ".build-" in p.name]  # no half-built leftovers
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_remove_uid_files_never_touches_root_or_the_caller():
    from engine.sandbox import remove_uid_files
    for uid in {0, os.getuid(), os.geteuid()}:
        with pytest.raises(ValueError):
            remove_uid_files(uid)


@root_only
def test_remove_uid_files_deletes_only_that_users_entries():
    from engine.sandbox import remove_uid_files
    user = resolve_user(TEST_USER)
    top = Path(tempfile.mkdtemp(prefix="engine-shared-", dir="/tmp"))
    try:
        theirs, ours = top / "theirs", top / "ours"
        theirs.mkdir()
        (theirs / "inner.txt").write_text("x")
        ours.write_text("keep")
        os.chown(theirs, user.uid, user.gid)
        removed = remove_uid_files(user.uid, folders=(str(top),))
        assert removed == [str(theirs)] and not theirs.exists() and ours.read_text() == "keep"
    finally:
        shutil.rmtree(top, ignore_errors=True)
