"""Landlock: the worker confines itself with the kernel's unprivileged access control.

Runs INSIDE the worker (untrusted side): `engine.sandbox` sends this file's source through the
channel with protocol.py and worker.py, and `engine.worker.main` calls `restrict` after setting
its limits and before any student code is imported. Nothing but ctypes, os and platform is used,
and nothing is read from the autograder's tree.

Landlock (Linux >= 5.13, works unprivileged and inside containers) takes three system calls:
create a ruleset that *handles* a set of access rights (what is not allowed by a rule is then
denied), add rules ("these rights beneath this folder"), restrict the calling thread; the domain
is inherited by every thread and process it starts later and can never be lifted. What the
running kernel knows is its ABI version, and every flag is masked to it (an unknown flag is
EINVAL), so the same code works from ABI 1 to 7 and records what it could not apply:
- ABI 1: 13 filesystem rights; ABI 2 + REFER (reparenting); ABI 3 + TRUNCATE; ABI 5 + IOCTL_DEV;
- ABI 4: TCP bind and connect (`handled_access_net`); here no port is allowed, so both are denied;
- ABI 6: scopes: no signal to, no connection to an abstract UNIX socket of, a process outside
  the domain (`scoped`).
`restrict` returns one line for the worker's hello: "abi 7: fs, net, scope", or "off: <why>"
(no Landlock in the kernel, disabled at boot, an unknown architecture, ...). A missing layer is
a warning for the grader to record, never a failed grading.
"""
from __future__ import annotations

import errno
import os
import platform
import stat

try:
    import ctypes
except ImportError:   # an interpreter built without _ctypes (no libffi): the layer is off, said so
    ctypes = None

# System call numbers (landlock_create_ruleset, landlock_add_rule, landlock_restrict_self): the
# same in x86_64's table (arch/x86/entry/syscalls/syscall_64.tbl) and in the generic table that
# aarch64 uses (include/uapi/asm-generic/unistd.h).
SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}

CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13        # ABI 2
FS_TRUNCATE = 1 << 14     # ABI 3
FS_IOCTL_DEV = 1 << 15    # ABI 5
NET_BIND_TCP = 1 << 0     # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1                # ABI 6

READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
READ_WRITE_FILE = FS_READ_FILE | FS_WRITE_FILE
ALL = -1   # every right the ruleset handles
# the only rights a rule on a file (not a folder) may carry (others: EINVAL)
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV


def fs_rights(abi: int) -> int:
    """Every filesystem right ABI `abi` knows."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


if ctypes is not None:
    class _RulesetAttr(ctypes.Structure):
        _fields_ = [("handled_access_fs", ctypes.c_uint64),
                    ("handled_access_net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class _PathBeneathAttr(ctypes.Structure):
        _pack_ = 1   # packed in the kernel's header: 12 bytes
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class Kernel:
    """The three system calls and prctl, raising OSError; a test may pass a fake instead."""

    def __init__(self, machine: str | None = None):
        machine = machine or platform.machine()
        if ctypes is None:
            raise LookupError("this Python has no ctypes module to make the system calls")
        if machine not in SYSCALLS:
            raise LookupError(f"no Landlock system call numbers known for {machine}")
        self._create, self._add, self._restrict = SYSCALLS[machine]
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.syscall.restype = ctypes.c_long

    def _check(self, result: int) -> int:
        if result < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        return result

    def abi(self) -> int:
        return self._check(self._libc.syscall(ctypes.c_long(self._create), None, ctypes.c_size_t(0),
                                              ctypes.c_uint32(CREATE_RULESET_VERSION)))

    def create_ruleset(self, fs: int, net: int, scoped: int, size: int) -> int:
        attr = _RulesetAttr(fs, net, scoped)
        return self._check(self._libc.syscall(ctypes.c_long(self._create), ctypes.byref(attr),
                                              ctypes.c_size_t(size), ctypes.c_uint32(0)))

    def add_path_rule(self, ruleset: int, allowed: int, fd: int) -> None:
        attr = _PathBeneathAttr(allowed, fd)
        self._check(self._libc.syscall(ctypes.c_long(self._add), ctypes.c_int(ruleset),
                                       ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(attr),
                                       ctypes.c_uint32(0)))

    def no_new_privs(self) -> None:
        self._libc.prctl.restype = ctypes.c_int
        self._check(self._libc.prctl(ctypes.c_int(PR_SET_NO_NEW_PRIVS), ctypes.c_ulong(1),
                                     ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)))

    def threads(self) -> int:
        """The threads of this process (1 if unknown)."""
        try:
            return max(len(os.listdir("/proc/self/task")), 1)
        except OSError:
            return 1

    def restrict_self(self, ruleset: int) -> None:
        self._check(self._libc.syscall(ctypes.c_long(self._restrict), ctypes.c_int(ruleset),
                                       ctypes.c_uint32(0)))


def _errno_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))


def abi_version(kernel=None) -> tuple[int, str]:
    """(ABI version, "") if the kernel has Landlock enabled, else (0, why not)."""
    try:
        kernel = kernel or Kernel()
    except (LookupError, OSError, AttributeError) as exc:
        return 0, str(exc)
    try:
        return kernel.abi(), ""
    except OSError as exc:
        if exc.errno == errno.ENOSYS:
            return 0, "the kernel has no Landlock (ENOSYS: older than 5.13 or built without it)"
        if exc.errno == errno.EOPNOTSUPP:
            return 0, "Landlock is disabled in this kernel (EOPNOTSUPP: not in the lsm= list)"
        return 0, f"the ABI query failed ({_errno_name(exc)})"


def mapped_folders(maps: str = "/proc/self/maps") -> list[str]:
    """The folders of the files this process has mapped (its interpreter and libraries), read
    before restricting: a library the loader found through a path we did not think of."""
    found: dict = {}   # the kernel writes the path it mapped, links already resolved
    try:
        with open(maps, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split(None, 5)
                path = parts[5].rstrip("\n") if len(parts) == 6 else ""
                if path.startswith("/") and not path.endswith(" (deleted)"):
                    found[os.path.dirname(path)] = None
    except OSError:
        return []
    return list(found)


def too_broad(path: str) -> bool:
    """True for "/" and for a folder anyone may write (/tmp, /dev/shm, /run/lock, ...): a rule
    beneath one would open other users' files (other gradings' copies under /tmp)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return path == "/" or (stat.S_ISDIR(st.st_mode) and bool(st.st_mode & stat.S_IWOTH))


def restrict(rules, kernel=None) -> str:
    """Restrict this process (its calling thread and all it starts later) to `rules`.

    rules: (path, rights) pairs; rights is a mask of FS_* rights (ALL for every handled right),
    masked to what the ABI handles and, on a file, to FILE_RIGHTS. Paths that do not exist are
    skipped silently; paths that cannot be opened or added, and "too broad" ones (see
    `too_broad`) are skipped and named in the result. TCP bind and connect are denied (ABI >= 4),
    signals and abstract UNIX sockets scoped to the domain (ABI >= 6).
    Returns "abi N: fs, net, scope" (and what was skipped or missing), or "off: <why>".
    """
    try:
        kernel = kernel or Kernel()
    except (LookupError, OSError, AttributeError) as exc:
        return f"off: {exc}"
    abi, why = abi_version(kernel)
    if not abi:
        return f"off: {why}"
    handled_fs = fs_rights(abi)
    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    # the struct grew with the ABI: a kernel that lacks a field rejects a size that includes it
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    try:
        ruleset = kernel.create_ruleset(handled_fs, net, scoped, size)
    except OSError as exc:
        return f"off: landlock_create_ruleset failed ({_errno_name(exc)})"
    skipped: list[str] = []
    try:
        seen: set = set()
        for path, rights in rules:
            real = os.path.realpath(path)
            if (real, rights) in seen:
                continue
            seen.add((real, rights))
            if not os.path.exists(real):
                continue
            if too_broad(real):
                skipped.append(f"{path} (too broad)")
                continue
            try:
                fd = os.open(real, os.O_PATH | os.O_CLOEXEC)
            except OSError as exc:
                skipped.append(f"{path} ({_errno_name(exc)})")
                continue
            try:
                allowed = handled_fs & rights
                if not stat.S_ISDIR(os.fstat(fd).st_mode):
                    allowed &= FILE_RIGHTS
                if allowed:
                    kernel.add_path_rule(ruleset, allowed, fd)
            except OSError as exc:
                skipped.append(f"{path} ({_errno_name(exc)})")
            finally:
                os.close(fd)
        threads = kernel.threads()
        try:
            kernel.no_new_privs()   # required to restrict oneself without CAP_SYS_ADMIN
            kernel.restrict_self(ruleset)
        except OSError as exc:
            return f"off: landlock_restrict_self failed ({_errno_name(exc)})"
    finally:
        os.close(ruleset)
    layers = ["fs"] + (["net"] if net else []) + (["scope"] if scoped else [])
    text = f"abi {abi}: {', '.join(layers)}"
    if not net:
        text += "; TCP not restricted (needs abi 4)"
    if not scoped:
        text += "; signals and abstract sockets not scoped (needs abi 6)"
    if threads > 1:   # only the calling thread is restricted: the others started before
        text += f"; {threads - 1} thread(s) started before are not confined"
    if skipped:
        text += "; rules skipped: " + ", ".join(skipped)
    return text
