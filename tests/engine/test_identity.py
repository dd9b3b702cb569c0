"""engine.identity: every grading leases a worker account no other grading uses meanwhile, and
cleaning up by uid (processes, files, SysV IPC) never reaches another grading's account.

As root only (elsewhere there is no account to switch to, and lease_worker returns None).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from engine.identity import (LOCK_DIR, LeaseError, lease_worker, leased_user, remove_uid_ipc,
                             sweep_idle)
from engine.remote import Sandbox
from engine.session import make_work_dir

IS_ROOT = os.geteuid() == 0
pytestmark = pytest.mark.skipif(not IS_ROOT, reason="needs root: only then is there an account "
                                                    "to lease")
FAKEPKG = Path(__file__).resolve().parent / "fixtures" / "fakepkg"
AUTOGRADER = Path(__file__).resolve().parents[2] / "autograder"


def _as(user, *command, **options):
    return subprocess.Popen(list(command), user=user.uid, group=user.gid, extra_groups=[],
                            start_new_session=True, stdin=subprocess.DEVNULL, **options)


def _alive(proc) -> bool:
    return proc.poll() is None


def test_not_root_means_no_lease(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert lease_worker() is None and lease_worker("anyone") is None
    with leased_user() as user:
        assert user is None


def test_two_leases_at_once_get_two_accounts_and_a_held_one_is_not_shared():
    with lease_worker() as first, lease_worker() as second:
        assert first.user.uid != second.user.uid and 0 not in (first.user.uid, second.user.uid)
        with pytest.raises(LeaseError, match="in use by another grading"):
            lease_worker(first.user.name, wait=0.2)
        held = first.user.name
    with lease_worker(held, wait=5) as again:   # given back: free again
        assert again.user.name == held


def test_a_lease_dies_with_its_holder():
    """The kernel drops the lock when the holding process ends, however it ends."""
    code = ("import os, sys, time\nfrom engine.identity import lease_worker\n"
            "lease = lease_worker()\nprint(lease.user.name, flush=True)\ntime.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(AUTOGRADER)})
    try:
        name = holder.stdout.readline().strip()
        with pytest.raises(LeaseError):
            lease_worker(name, wait=0.2)
    finally:
        holder.kill()
        holder.wait()
    with lease_worker(name, wait=5) as lease:
        assert lease.user.name == name


def test_sweep_clears_its_own_account_and_nothing_of_another():
    with lease_worker() as mine, lease_worker() as theirs:
        my_sleeper = _as(mine.user, "sleep", "60")
        their_sleeper = _as(theirs.user, "sleep", "60")
        shm = subprocess.run(["ipcmk", "-M", "4096"], user=mine.user.uid, group=mine.user.gid,
                             extra_groups=[], capture_output=True, text=True)
        their_shm = subprocess.run(["ipcmk", "-M", "4096"], user=theirs.user.uid,
                                   group=theirs.user.gid, extra_groups=[], capture_output=True,
                                   text=True)
        marker = f"/run/lock/agw-identity-test-{os.getpid()}"
        subprocess.run(["sh", "-c", f"echo left > {marker}"], user=mine.user.uid,
                       group=mine.user.gid, extra_groups=[], check=True)
        try:
            dead, removed = mine.sweep()
            assert dead and my_sleeper.wait(5) == -9
            assert marker in removed and not os.path.exists(marker)
            if shm.returncode == 0:   # ipcmk present: the segment of ours went, theirs stayed
                assert any(r.startswith("SysV shm") for r in removed)
                assert remove_uid_ipc(theirs.user.uid) == [
                    f"SysV shm {their_shm.stdout.split()[-1]}"]
            assert _alive(their_sleeper), "a sweep killed another grading's process"
        finally:
            their_sleeper.kill()
            their_sleeper.wait()
            if os.path.exists(marker):
                os.unlink(marker)


def test_idle_accounts_are_swept_and_held_ones_are_not():
    with lease_worker() as held:
        survivor = _as(held.user, "sleep", "60")
        idle = lease_worker()
        name, stray = idle.user.name, None
        os.close(idle._fd)   # as if the holder died before its cleanup: the lock is gone
        idle._fd = None
        stray = _as(idle.user, "sleep", "60")
        try:
            swept = sweep_idle()
            assert name in swept and held.user.name not in swept
            stray.wait(5)
            assert _alive(survivor) and not _alive(stray)
        finally:
            for proc in (survivor, stray):
                proc.kill()
                proc.wait()


def test_sandboxes_lease_their_own_accounts_and_give_them_back():
    folder = Path(tempfile.mkdtemp(prefix="engine-identity-"))
    try:
        subprocess.run(["cp", "-r", str(FAKEPKG), str(folder / "fakepkg")], check=True)
        os.chmod(folder, 0o755)
        a = Sandbox(folder, packages=("fakepkg",), python="/nonexistent/python")
        b = Sandbox(folder, packages=("fakepkg",), python="/nonexistent/python")
        try:
            assert a.user.uid != b.user.uid
        finally:
            a.close()
            b.close()
        with lease_worker(a.user.name, wait=5), lease_worker(b.user.name, wait=5):
            pass   # both free again
    finally:
        subprocess.run(["rm", "-rf", str(folder)])


def test_the_lock_folder_is_roots_alone():
    st = os.stat(LOCK_DIR) if os.path.isdir(LOCK_DIR) else None
    if st is None:
        lease_worker().release()
        st = os.stat(LOCK_DIR)
    assert st.st_uid == 0 and st.st_mode & 0o077 == 0
    bad = tempfile.mkdtemp(prefix="agw-locks-")
    os.chmod(bad, 0o777)
    try:
        with pytest.raises(LeaseError, match="only root"):
            lease_worker(lock_dir=bad)
    finally:
        os.rmdir(bad)


def test_waiting_for_a_named_account_ends_when_its_holder_gives_it_back():
    lease = lease_worker()
    timer = threading.Timer(0.3, lease.release)
    timer.start()
    try:
        with lease_worker(lease.user.name, wait=30) as again:   # waits for the timer's release
            assert again.user.name == lease.user.name and not lease.held
    finally:
        timer.cancel()
        lease.release()


def test_a_work_folder_is_readable_by_its_own_worker_only():
    with lease_worker() as mine, lease_worker() as theirs:
        work = make_work_dir(mine.user)
        try:
            (work / "submission").mkdir(mode=0o755)
            (work / "submission" / "modules.py").write_text("SECRET = 1\n")
            (work / "submission" / "modules.py").chmod(0o644)
            read = ["cat", str(work / "submission" / "modules.py")]
            pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE,
                     "env": {**os.environ, "LC_ALL": "C"}}   # the error message in English
            by_me, by_them = _as(mine.user, *read, **pipes), _as(theirs.user, *read, **pipes)
            assert by_me.communicate(timeout=120)[0] == b"SECRET = 1\n"
            out, err = by_them.communicate(timeout=120)
            assert by_them.returncode != 0 and out == b"" and b"Permission denied" in err
            touch = _as(mine.user, "touch", str(work / "x"), stderr=subprocess.DEVNULL)
            assert touch.wait(timeout=120) != 0 and not (work / "x").exists()
        finally:
            shutil.rmtree(work)
