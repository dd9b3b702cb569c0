"""engine.namespaces: as root, the worker starts in new network, IPC, PID and mount namespaces.

Each attack runs in a worker with the namespaces and without Landlock, so that what is denied is
denied by the namespaces alone; the control case (namespaces off) shows the attack works without
them. As a non-root user, or where the kernel refuses, the layer is off and these tests skip
with its reason; `test_the_layer_is_off_with_a_reason_when_not_root` runs everywhere.
"""
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from engine import namespaces
from engine.remote import RemoteError, Sandbox, WorkerFailure
from engine.sandbox import (WorkerLimits, list_processes,
                            make_tree_readable, namespace_layer)

ROOT = Path(__file__).resolve().parents[2]
FAKEPKG = Path(__file__).resolve().parent / "fixtures" / "fakepkg"
TEST_USER = os.environ.get("ENGINE_TEST_WORKER_USER") or None
IS_ROOT = os.geteuid() == 0
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")   # where any user may write
WHY_NOT = namespaces.available()
needs_namespaces = pytest.mark.skipif(bool(WHY_NOT), reason=f"namespaces off here: {WHY_NOT}")


def copy_of_fakepkg(parent: Path) -> Path:
    import shutil
    shutil.copytree(FAKEPKG, parent / "fakepkg")
    make_tree_readable(parent)
    return parent


@pytest.fixture(scope="module")
def submission():
    folder = Path(tempfile.mkdtemp(prefix="engine-namespaces-"))
    yield copy_of_fakepkg(folder)
    subprocess.run(["rm", "-rf", str(folder)], check=True)


@pytest.fixture
def make_box(submission, worker_python):
    made = []

    def make(namespaces=True, folder=None, **limits):
        box = Sandbox(folder or submission, packages=("fakepkg",), python=worker_python,
                      user=TEST_USER, timeout=20,
                      limits=WorkerLimits(landlock=False, namespaces=namespaces, **limits))
        made.append(box)
        return box
    yield make
    for box in made:
        box.close()


def test_the_layer_is_off_with_a_reason_when_not_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert namespaces.available.__wrapped__() == "needs root (the grader runs as uid 1000)"
    assert namespace_layer(None, WorkerLimits()).startswith("off: ")   # no user to switch to
    assert namespace_layer(None, WorkerLimits(namespaces=False)) == (
        "off: turned off by the grader (WorkerLimits.namespaces=False)")


@needs_namespaces
def test_the_worker_reports_the_layer_and_keeps_its_identity_and_limits(make_box):
    box = make_box()
    me = box.call("fakepkg.hostile.identity")
    assert box.confinement == {"landlock": "off: turned off by the grader "
                                           "(WorkerLimits.landlock=False)",
                               "namespaces": "net, ipc, pid, mount (own root)"}
    assert me["uid"] == me["euid"] == box.user.uid and me["groups"] == []
    assert me["umask"] == 0o077 and tuple(me["limits"]["RLIMIT_CORE"]) == (0, 0)
    assert "PWD" not in box.call("fakepkg.hostile.environment")
    # stdin (/dev/null), the output pipe twice, the channel's two pipes: none of the folders
    # the namespace's shell held open is left
    fds = box.call("fakepkg.hostile.open_fds")
    assert sorted(t.split(":")[0] for t in fds.values()) == [
        "/dev/null", "pipe", "pipe", "pipe", "pipe"], fds
    control = make_box(namespaces=False)
    control.start()
    assert control.confinement["namespaces"] == (
        "off: turned off by the grader (WorkerLimits.namespaces=False)")


@needs_namespaces
def test_no_other_process_is_visible(make_box):
    inside = make_box()
    pids = {int(p) for p in inside.call("fakepkg.hostile.list_dir", "/proc") if p.isdigit()}
    # its own process only: process 1 (root's shell that set the namespace up) is hidden too
    assert pids == {inside.call("fakepkg.hostile.my_pid")}, pids
    with pytest.raises(RemoteError, match="FileNotFoundError"):
        inside.call("fakepkg.hostile.read_file", f"/proc/{os.getpid()}/cmdline")
    outside = make_box(namespaces=False)   # the control: the grader's command line is readable
    assert "pytest" in outside.call("fakepkg.hostile.read_file", f"/proc/{os.getpid()}/cmdline")


@needs_namespaces
def test_the_graders_checkout_is_hidden(make_box):
    """The solution and the hidden tests live beside the engine: an empty tmpfs covers them."""
    solution = ROOT / "solution" / "backprop" / "modules.py"
    with pytest.raises(RemoteError, match="FileNotFoundError"):
        make_box().call("fakepkg.hostile.read_file", str(solution))
    with pytest.raises(RemoteError, match="FileNotFoundError"):
        make_box().call("fakepkg.hostile.list_dir", str(ROOT))
    if os.stat(ROOT).st_mode & 0o005 == 0o005 and os.stat(solution).st_mode & 0o004:
        control = make_box(namespaces=False)   # file permissions alone would let it through
        assert "class Linear" in control.call("fakepkg.hostile.read_file", str(solution))


@needs_namespaces
def test_no_tcp_connection_even_to_loopback(make_box):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        with pytest.raises(RemoteError, match="Network is unreachable|Connection refused"):
            make_box().call("fakepkg.hostile.connect_tcp", "127.0.0.1", port, "hidden inputs")
        assert make_box(namespaces=False).call("fakepkg.hostile.connect_tcp", "127.0.0.1",
                                               port, "hidden inputs") == "sent"


@needs_namespaces
def test_shared_folders_are_private_and_vanish_with_the_worker(make_box):
    mine = tempfile.NamedTemporaryFile(prefix="grader-secret-", dir="/tmp", delete=False)
    mine.write(b"answer key")
    mine.close()
    os.chmod(mine.name, 0o644)   # world-readable: only the namespace hides it
    box = make_box()
    try:
        with pytest.raises(RemoteError, match="FileNotFoundError"):
            box.call("fakepkg.hostile.read_file", mine.name)
        assert os.path.basename(mine.name) not in box.call("fakepkg.hostile.list_dir", "/tmp")
        assert make_box(namespaces=False).call("fakepkg.hostile.read_file", mine.name) == (
            "answer key")
        left = [f"{folder}/agw-ns-left-{os.getpid()}" for folder in SHARED_FOLDERS]
        written = []
        for path in left:
            try:
                written.append(box.call("fakepkg.hostile.write_file", path, 10) == 10 and path)
            except RemoteError as exc:   # /run/lock: not in the worker's root at all
                assert exc.type_name == "FileNotFoundError", exc
        assert f"/tmp/agw-ns-left-{os.getpid()}" in written
        module = box.call("fakepkg.hostile.module_origin", "fakepkg.hostile")
        assert "what outlives the worker" in box.call("fakepkg.hostile.read_file", module)
        box.close()
        assert [p for p in left if os.path.exists(p)] == []
    finally:
        os.unlink(mine.name)


def _host_segments(key: int) -> list:
    with open("/proc/sysvipc/shm") as table:
        return [line for line in table if line.split()[0] == str(key)]


@needs_namespaces
def test_sysv_ipc_lives_and_dies_with_the_worker(make_box):
    key = 0x41470000 + os.getpid() % 0xFFFF
    box = make_box()
    assert box.call("fakepkg.hostile.sysv_segment", key, 1 << 20) >= 0
    assert _host_segments(key) == []   # never in the machine's own IPC namespace
    box.close()
    control = make_box(namespaces=False)
    control.call("fakepkg.hostile.sysv_segment", key, 1 << 20)
    try:
        assert len(_host_segments(key)) == 1
    finally:
        control.close()   # the lease's sweep removes it (engine.identity)
    assert _host_segments(key) == []


@needs_namespaces
def test_what_the_worker_started_dies_with_it(make_box):
    box = make_box()
    box.call("fakepkg.hostile.daemon", 600)   # a double-forked grandchild in a session of its own
    uid = box.user.uid
    assert [p for p in list_processes() if uid in p.uids and p.state != "Z"] != []
    os.kill(box.worker_pid, signal.SIGKILL)   # unshare only: the kernel ends the namespace
    for _ in range(500):
        left = [p for p in list_processes() if uid in p.uids and p.state != "Z"]
        if not left:
            break
        time.sleep(0.01)
    assert left == []


@needs_namespaces
def test_how_the_worker_died_is_still_told(make_box, worker_python):
    with pytest.raises(WorkerFailure, match=r"signal 9 \(SIGKILL\) after .* CPU time"):
        make_box(cpu_seconds=1).call("fakepkg.hostile.burn_cpu", 300)
    box = make_box()
    with pytest.raises(WorkerFailure, match=r"signal 11 \(SIGSEGV\)"):
        box.call("fakepkg.hostile.segfault")
    assert box.take_output() == ""   # the namespace's shell adds nothing ("Killed", ...)
    with pytest.raises(WorkerFailure, match="exited with code 3"):
        box.call("fakepkg.hostile.exit_now", 3)
    started, error = box.call("fakepkg.hostile.fork_many", 40, 30)
    assert error == "BlockingIOError" and 3 <= started <= 8


@needs_namespaces
def test_paths_reach_the_shell_as_data_never_as_code(make_box, tmp_path):
    parent = Path(tempfile.mkdtemp(prefix="agw ns $(touch PWNED) `id` 'q\" \n"))
    try:
        box = make_box(folder=copy_of_fakepkg(parent))
        assert box.call("fakepkg.hostile.my_pid") > 1
        assert not any(Path(folder, "PWNED").exists() for folder in ("/", "/tmp", str(parent)))
    finally:
        subprocess.run(["rm", "-rf", str(parent)], check=True)


def test_wrap_passes_the_graders_paths_as_arguments():
    argv = namespaces.wrap(["/usr/bin/python3", "-c", "x"], uid=5, gid=6, scratch="/",
                           read=[str(ROOT), "/usr/lib", "/nonexistent", str(ROOT)],
                           pass_fds=(3, 4))
    start = argv.index("sh", 1 + argv.index("-c"))
    system = namespaces.read_only_folders("/usr/bin/python3")
    assert "/usr" in system and all(os.path.lexists(f) for f in system)
    # "/" is kept read-write as asked; the checkout once; /usr/lib is bound with /usr already;
    # what does not exist is left out; fds 3 and 4 are the channel's
    assert argv[start + 1:start + 6] == ["5", "6", "2", "5:rw:/", f"6:ro:{ROOT}"]
    assert argv[start + 6:start + 7 + len(system)] == [str(len(system)), *system]
    assert argv[-3:] == ["/usr/bin/python3", "-c", "x"]
    assert namespaces.read_only_folders(str(ROOT / ".venv" / "bin" / "python"))[-1] != str(ROOT)


@needs_namespaces
def test_a_worker_that_cannot_start_in_its_namespaces_starts_without(make_box, monkeypatch):
    monkeypatch.setattr(namespaces, "TMPFS_OPTIONS", "no_such_option")   # SETUP's mount fails
    box = make_box()
    assert box.call("fakepkg.hostile.my_pid") > 1
    text = box.confinement["namespaces"]
    assert text.startswith("off: the worker did not start in them") and "mount" in text, text
    assert box.take_output() == ""   # what the failed start printed is in the reason, not here
