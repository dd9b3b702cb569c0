"""engine.landlock: the worker's Landlock layer, tried on a real worker that runs the fake package
tests/engine/fixtures/fakepkg, and its ABI handling, tried on a fake kernel.

Every attack is tried with the layer on and, as the control case, off (`WorkerLimits.landlock`),
without the namespaces layer (tests/engine/test_namespaces.py) that would hide most of them too:
what the control shows possible, the layer must deny. Tests that need the kernel's Landlock skip
with the worker's own reason when it is off (e.g. a kernel older than 5.13 or booted without it);
those that need ABI 4 (TCP) or 6 (scopes) skip below it. As root the worker runs as a leased,
unprivileged account (`box.user`), as on Gradescope.
"""
import errno
import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pytest

from engine import landlock
from engine.remote import RemoteError, Sandbox
from engine.sandbox import _check_hello, make_tree_readable

ROOT = Path(__file__).resolve().parents[2]
FAKEPKG = Path(__file__).resolve().parent / "fixtures" / "fakepkg"
TEST_USER = os.environ.get("ENGINE_TEST_WORKER_USER") or None
SOLUTION_FILE = ROOT / "solution" / "backprop" / "__init__.py"


@pytest.fixture(scope="module")
def submission():
    folder = Path(tempfile.mkdtemp(prefix="engine-landlock-"))
    shutil.copytree(FAKEPKG, folder / "fakepkg")
    make_tree_readable(folder)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture(scope="module")
def boxes(submission, worker_python):
    """{"on": a worker with Landlock, "off": one without (the control)}, shared by the module."""
    made = {name: Sandbox(submission, packages=("fakepkg",), python=worker_python,
                          user=TEST_USER, timeout=20,
                          limits={"landlock": name == "on", "namespaces": False})
            for name in ("on", "off")}
    yield made
    for box in made.values():
        box.close()


def abi_of(box) -> int:
    """The Landlock ABI the worker applied (0 if the layer is off)."""
    box.start()
    match = re.match(r"abi (\d+): ", box.worker_info["confinement"]["landlock"])
    return int(match.group(1)) if match else 0


@pytest.fixture
def on(boxes):
    """The confined worker; skips where the kernel gives the worker no Landlock."""
    box = boxes["on"]
    if not abi_of(box):
        pytest.skip(f"the worker runs without Landlock here: "
                    f"{box.worker_info['confinement']['landlock']}")
    return box


@pytest.fixture
def off(boxes):
    return boxes["off"]


def denied(box, function, *args) -> bool:
    """True if the call raised PermissionError (EACCES or EPERM) in the worker."""
    try:
        box.call(function, *args)
    except RemoteError as exc:
        assert exc.type_name == "PermissionError", exc
        return True
    return False


@pytest.fixture
def outside_folder():
    """A fresh folder under /tmp like another grading's copy: 0755, with a 0644 file."""
    folder = Path(tempfile.mkdtemp(prefix="autograder-work-", dir="/tmp"))
    folder.chmod(0o755)
    (folder / "secret.py").write_text("ANSWER = 42\n")
    (folder / "secret.py").chmod(0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------------ what is reported

def test_hello_names_the_layers_in_force(boxes):
    abi, why = landlock.abi_version()   # this process's kernel is the worker's
    boxes["on"].start()
    text = boxes["on"].worker_info["confinement"]["landlock"]
    if abi:
        parts = ["fs"] + (["net"] if abi >= 4 else []) + (["scope"] if abi >= 6 else [])
        assert text.startswith(f"abi {abi}: {', '.join(parts)}"), text
        assert "skipped" not in text and "not confined" not in text, text
    else:
        assert text == f"off: {why}"
    boxes["off"].start()
    assert boxes["off"].worker_info["confinement"] == {
        "landlock": "off: turned off by the grader (WorkerLimits.landlock=False)"}


def test_a_malformed_confinement_is_a_malformed_hello():
    hello = {"kind": "hello", "seq": 0, "pid": 5, "uid": 1, "python": "3", "numpy": "2",
             "nproc": 3, "confinement": {"landlock": "abi 7: fs, net, scope"}}
    assert _check_hello(hello, [], 5) == ""
    for bad in ({"landlock": 7}, {}, {"landlock": "x", "other": "y"}, ["landlock"],
                {"landlock": "x" * 3000}):
        assert _check_hello(dict(hello, confinement=bad), [], 5) == "malformed hello"


# ------------------------------------------------------------------ files

def test_files_outside_the_allowed_set_cannot_be_read(on, off, outside_folder):
    secret = str(outside_folder / "secret.py")
    assert off.call("fakepkg.hostile.read_file", secret) == "ANSWER = 42\n"   # control
    assert denied(on, "fakepkg.hostile.read_file", secret)
    assert denied(on, "fakepkg.hostile.list_dir", str(outside_folder))
    assert denied(on, "fakepkg.hostile.list_dir", "/tmp")
    if SOLUTION_FILE.exists():
        assert denied(on, "fakepkg.hostile.read_file", str(SOLUTION_FILE))
        assert denied(on, "fakepkg.hostile.list_dir", str(ROOT))


def test_other_processes_are_hidden_in_proc(on, off):
    grader = f"/proc/{os.getpid()}/cmdline"
    assert "pytest" in off.call("fakepkg.hostile.read_file", grader)   # control
    assert denied(on, "fakepkg.hostile.read_file", grader)
    assert denied(on, "fakepkg.hostile.list_dir", "/proc/1")
    assert denied(on, "fakepkg.hostile.list_dir", "/proc")
    # its own entry stays readable (the worker's fds, its status)
    assert "Name:" in on.call("fakepkg.hostile.read_file", "/proc/self/status")
    assert len(on.call("fakepkg.hostile.open_fds")) >= 5


def test_writes_go_only_to_the_scratch_folder(on, off):
    shared = Path(tempfile.mkdtemp(prefix="engine-landlock-shared-", dir="/tmp"))
    shared.chmod(0o777)
    name = f"agw-landlock-{uuid.uuid4().hex[:8]}"
    targets = [str(shared / name), f"/dev/shm/{name}", f"/run/lock/{name}"]
    try:
        assert off.call("fakepkg.hostile.write_file", targets[0], 10) == 10   # control
        os.unlink(targets[0])
        for target in targets:
            if os.path.isdir(os.path.dirname(target)):
                assert denied(on, "fakepkg.hostile.write_file", target, 10), target
                assert not os.path.exists(target)
        scratch = on.call("fakepkg.hostile.environment")["TMPDIR"]
        assert on.call("fakepkg.hostile.write_file", scratch + "/ok", 10) == 10
        assert on.call("fakepkg.hostile.scratch_roundtrip", scratch) == ["b.txt", "link"]
    finally:
        shutil.rmtree(shared, ignore_errors=True)
        for target in targets[1:]:
            Path(target).unlink(missing_ok=True)


# ------------------------------------------------------------------ network and scopes

@pytest.fixture
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(2)
    yield server
    server.close()


def test_tcp_connect_and_bind_are_denied(on, off, listener):
    if abi_of(on) < 4:
        pytest.skip(f"Landlock ABI {abi_of(on)} < 4 does not restrict TCP")
    port = listener.getsockname()[1]
    assert off.call("fakepkg.hostile.connect_tcp", "127.0.0.1", port, "leak") == "sent"
    conn, _ = listener.accept()     # control: the data went out
    with conn:
        conn.settimeout(2)
        assert conn.recv(16) == b"leak"
    assert denied(on, "fakepkg.hostile.connect_tcp", "127.0.0.1", port, "leak")
    listener.settimeout(0.2)
    with pytest.raises(socket.timeout):
        listener.accept()
    assert isinstance(off.call("fakepkg.hostile.bind_tcp", "127.0.0.1"), int)
    assert denied(on, "fakepkg.hostile.bind_tcp", "127.0.0.1")


def test_signals_and_abstract_sockets_stay_inside_the_worker(on, off):
    if abi_of(on) < 6:
        pytest.skip(f"Landlock ABI {abi_of(on)} < 6 does not scope signals or abstract sockets")
    assert on.call("fakepkg.hostile.kill_own_child") is True   # its own processes: still fine
    sleepers = []
    try:
        for box in (on, off):
            user = box.user   # the worker's uid (leased per Sandbox as root): same uid, no DAC bar
            extra = {} if user is None else {"user": user.uid, "group": user.gid,
                                             "extra_groups": []}
            sleepers.append(subprocess.Popen(["sleep", "60"], start_new_session=True, **extra))
        assert denied(on, "fakepkg.hostile.send_signal", sleepers[0].pid, int(signal.SIGTERM))
        assert sleepers[0].poll() is None
        assert off.call("fakepkg.hostile.send_signal", sleepers[1].pid,
                        int(signal.SIGTERM)) == "sent"   # control
        assert sleepers[1].wait(timeout=5) == -signal.SIGTERM
    finally:
        for p in sleepers:
            p.kill()
            p.wait()
    name = f"agw-landlock-{uuid.uuid4().hex[:8]}"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("\0" + name)
        server.listen(2)
        assert off.call("fakepkg.hostile.connect_abstract", name) == "connected"   # control
        assert denied(on, "fakepkg.hostile.connect_abstract", name)


# ------------------------------------------------------------------ what must keep working

def test_numpy_linear_algebra_random_and_fft_still_work(on):
    spec = importlib.util.spec_from_file_location("hostile_here", FAKEPKG / "hostile.py")
    here = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(here)   # the same function, run in this process for the values
    got, expected = on.call("fakepkg.hostile.numpy_workout"), here.numpy_workout()
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert np.allclose(got[key], value, rtol=1e-9, atol=0), key


def test_the_student_package_imports_and_runs(on):
    counter = on.call("fakepkg.objects.Counter", 3, start=1)
    assert on.method(counter, "add", np.array([1, 2, 3])).tolist() == [2, 3, 4]
    assert on.call("fakepkg.hostile.module_origin", "fakepkg.errors").endswith("errors.py")
    with pytest.raises(RemoteError, match="ModuleNotFoundError"):
        on.call("importlib.import_module", "fakepkg.no_such_module")


# ------------------------------------------------------------------ ABI handling (fake kernel)

class FakeKernel:
    """Records what `landlock.restrict` asks of the kernel. abi: the version, or -errno for the
    query's failure; fail: {"create"/"add"/"restrict": errno} for the calls that fail."""

    def __init__(self, abi, fail=None, threads=1):
        self._abi, self.fail, self._threads = abi, fail or {}, threads
        self.ruleset = self.rules = None
        self.restricted = False

    def _maybe_fail(self, call):
        if call in self.fail:
            raise OSError(self.fail[call], os.strerror(self.fail[call]))

    def abi(self):
        if self._abi < 0:
            raise OSError(-self._abi, os.strerror(-self._abi))
        return self._abi

    def create_ruleset(self, fs, net, scoped, size):
        self._maybe_fail("create")
        self.ruleset, self.rules = (fs, net, scoped, size), []
        return os.open("/dev/null", os.O_RDONLY)

    def add_path_rule(self, ruleset, allowed, fd):
        self._maybe_fail("add")
        self.rules.append((os.readlink(f"/proc/self/fd/{fd}"), allowed))

    def no_new_privs(self):
        pass

    def threads(self):
        return self._threads

    def restrict_self(self, ruleset):
        self._maybe_fail("restrict")
        self.restricted = True


ABI1_FS = (1 << 13) - 1


@pytest.mark.parametrize("abi, fs, net, scoped, size, text", [
    (1, ABI1_FS, 0, 0, 8, "abi 1: fs; TCP not restricted (needs abi 4); signals and abstract "
                          "sockets not scoped (needs abi 6)"),
    (2, ABI1_FS | landlock.FS_REFER, 0, 0, 8, "abi 2: fs; TCP"),
    (3, ABI1_FS | landlock.FS_REFER | landlock.FS_TRUNCATE, 0, 0, 8, "abi 3: fs; TCP"),
    (4, ABI1_FS | landlock.FS_REFER | landlock.FS_TRUNCATE, 3, 0, 16, "abi 4: fs, net; signals"),
    (5, (1 << 16) - 1, 3, 0, 16, "abi 5: fs, net; signals"),
    (6, (1 << 16) - 1, 3, 3, 24, "abi 6: fs, net, scope"),
    (7, (1 << 16) - 1, 3, 3, 24, "abi 7: fs, net, scope"),
])
def test_every_flag_is_masked_to_the_running_abi(tmp_path, abi, fs, net, scoped, size, text):
    (tmp_path / "file").write_text("x")
    kernel = FakeKernel(abi)
    got = landlock.restrict([(str(tmp_path), landlock.ALL), (str(tmp_path / "file"), landlock.ALL),
                             (str(tmp_path / "missing"), landlock.READ)], kernel)
    assert got.startswith(text) and kernel.restricted
    assert kernel.ruleset == (fs, net, scoped, size)
    file_rights = fs & landlock.FILE_RIGHTS   # a file may carry only these (else EINVAL)
    assert kernel.rules == [(str(tmp_path), fs), (str(tmp_path / "file"), file_rights)]


@pytest.mark.parametrize("abi, fail, text", [
    (-errno.ENOSYS, {}, "off: the kernel has no Landlock (ENOSYS"),
    (-errno.EOPNOTSUPP, {}, "off: Landlock is disabled in this kernel (EOPNOTSUPP"),
    (7, {"create": errno.EINVAL}, "off: landlock_create_ruleset failed (EINVAL)"),
    (7, {"restrict": errno.EPERM}, "off: landlock_restrict_self failed (EPERM)"),
    (7, {"add": errno.EBADFD}, "abi 7: fs, net, scope; rules skipped: /"),
])
def test_a_missing_layer_is_reported_with_its_reason(tmp_path, abi, fail, text):
    got = landlock.restrict([(str(tmp_path), landlock.READ)], FakeKernel(abi, fail))
    assert got.startswith(text), got


def test_threads_started_before_are_reported(tmp_path):
    got = landlock.restrict([(str(tmp_path), landlock.READ)], FakeKernel(7, threads=3))
    assert got == "abi 7: fs, net, scope; 2 thread(s) started before are not confined"


def test_rules_never_open_the_shared_folders(tmp_path):
    kernel = FakeKernel(7)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    got = landlock.restrict([("/", landlock.READ), (str(shared), landlock.READ),
                             (str(tmp_path), landlock.READ)], kernel)
    assert kernel.rules == [(str(tmp_path), landlock.READ)]
    assert got.endswith(f"rules skipped: / (too broad), {shared} (too broad)")


def test_an_unknown_architecture_is_reported(monkeypatch):
    monkeypatch.setattr(landlock.platform, "machine", lambda: "nonesuch")
    assert landlock.restrict([]) == "off: no Landlock system call numbers known for nonesuch"
    assert landlock.abi_version() == (0, "no Landlock system call numbers known for nonesuch")
