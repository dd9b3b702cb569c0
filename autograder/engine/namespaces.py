"""Namespaces: as root, the worker starts in new network, IPC, PID and mount namespaces, in a
root folder that holds only what it needs.

Trusted side. `engine.sandbox.start_worker` puts `wrap`'s command in front of the worker's own
when the grader is root and the kernel allows it (`available`). The tools are util-linux's
`unshare`, `mount` and `setpriv` and coreutils' `chroot` and `env`, present on every Debian and
Ubuntu (Gradescope's image):

    unshare --net --ipc --pid --fork --kill-child --mount -- sh -c SETUP sh ARGS...
    (SETUP, as root in the new namespaces)  build the worker's root, then
        chroot ROOT env --chdir=SCRATCH setpriv --reuid U --regid G --clear-groups -- CMD

- network: only a loopback interface that is down: no connection to anything, 127.0.0.1 included;
- IPC: SysV shared memory, semaphores and message queues (and POSIX message queues) live and die
  with the worker;
- PID: the worker sees no other process (a /proc of its own namespace). Process 1 of the
  namespace is SETUP's shell, which waits for the worker and exits with its status, 128 + N for
  signal N (`exit_signal`): process 1 cannot be killed by signals sent from inside its
  namespace, and unshare does not pass a SIGKILL on. When process 1 dies, the kernel kills
  everything in the namespace;
- mount: the worker's "/" is an empty tmpfs (it vanishes with the worker) holding, read-only,
  the system's programs and libraries (READ_ONLY: /usr, /lib*, /bin, /sbin, /etc) and the
  worker interpreter's own prefix; the folders of this grading it needs at their own paths (its
  submission copy and interpreter read-only, its scratch read-write); /dev/null, zero, random
  and urandom; its own /proc, where processes of other users (the shell that set it up) are
  invisible (hidepid=2); empty /tmp, /var/tmp and /dev/shm. Nothing else of the machine
  exists there: not the grader's checkout (solution/, hidden tests), not /autograder, not
  another grading's folders, not a home folder. An allow-list, so nothing needs to be known
  about where those are. Each folder of the grading is opened before /tmp is covered (the
  staging root is a tmpfs on /tmp) and bound from /proc/self/fd/N.

Nothing of the submission's reaches SETUP: its arguments are the grader's paths and numbers,
passed as positional parameters (never interpolated into the script). A kernel or container that
refuses (no CAP_SYS_ADMIN, seccomp, user namespaces only) leaves the layer off, said so in words;
so does a worker that does not start in it (`engine.sandbox.start_worker` then starts it
without): a warning for the grader to record, never a failed grading.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess

READ_ONLY = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc")
DEVICES = ("null", "zero", "random", "urandom")
TMPFS_OPTIONS = "mode=0755,nosuid,nodev,size=64m"
UNSHARE_FLAGS = ("--net", "--ipc", "--pid", "--fork", "--kill-child", "--mount")
SUMMARY = "net, ipc, pid, mount (own root)"
TOOLS = ("unshare", "mount", "setpriv", "chroot", "env", "sh", "mkdir", "ln", "touch")

# $1 uid, $2 gid, $3 n, then n "fd:mode:folder" (the grading's folders, each held open on fd, a
# single digit that is not one of the channel's; mode ro or rw), then r, r read-only folders of
# the system, then the command. The staging root is a tmpfs mounted on /tmp. The shell's own
# stderr goes to /dev/null once the worker starts, so that its note on how the worker ended
# ("Killed") is not taken for the worker's output; the worker's stderr is its stdout.
SETUP = r"""
set -eu
uid=$1 gid=$2 n=$3
shift 3
here=$(pwd -P)
i=0
while [ "$i" -lt "$n" ]; do
    fd=${1%%:*}
    eval "keep_$i=\$1"
    eval "exec $fd<\"\${1#*:*:}\""
    i=$((i + 1))
    shift
done
r=$1
shift
umask 022
root=/tmp
mount -t tmpfs -o "$TMPFS_OPTIONS" tmpfs "$root"
while [ "$r" -gt 0 ]; do
    if [ -L "$1" ]; then
        mkdir -p "$root$(dirname "$1")"
        ln -s "$(readlink "$1")" "$root$1"
    elif [ -d "$1" ]; then
        mkdir -p "$root$1"
        mount --rbind -o ro "$1" "$root$1"
    fi
    r=$((r - 1))
    shift
done
i=0
while [ "$i" -lt "$n" ]; do
    eval "entry=\$keep_$i"
    fd=${entry%%:*}
    rest=${entry#*:}
    mkdir -p "$root${rest#*:}"
    mount --no-canonicalize --bind -o "${rest%%:*}" "/proc/self/fd/$fd" "$root${rest#*:}"
    eval "exec $fd<&-"
    i=$((i + 1))
done
mkdir -p "$root/dev/shm" "$root/proc" "$root/tmp" "$root/var/tmp"
chmod 1777 "$root/dev/shm" "$root/tmp" "$root/var/tmp"
for device in $DEVICES; do
    if [ -e "/dev/$device" ]; then
        touch "$root/dev/$device"
        mount --bind "/dev/$device" "$root/dev/$device"
    fi
done
mount -t proc -o nosuid,nodev,noexec,hidepid=2 proc "$root/proc"
cd /
umask 077
unset PWD OLDPWD
exec 2>/dev/null
(exec "$CHROOT" "$root" "$ENV" --chdir="$here" "$SETPRIV" --reuid "$uid" --regid "$gid" \
    --clear-groups -- "$@" 2>&1)
exit $?
"""


def _tool(name: str) -> str | None:
    return shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")


@functools.lru_cache(maxsize=None)
def available() -> str:
    """"" if this process may start a worker in new namespaces, else why not (in words).

    Decided once per process by trying it (`unshare ... mount`): whether a container allows it
    is known only by asking the kernel.
    """
    if os.geteuid() != 0:
        return f"needs root (the grader runs as uid {os.geteuid()})"
    missing = [name for name in TOOLS if not _tool(name)]
    if missing:
        return f"{', '.join(missing)} not found (util-linux, coreutils)"
    try:
        probe = subprocess.run([_tool("unshare"), *UNSHARE_FLAGS, "--", _tool("sh"), "-c",
                                f"mount -t tmpfs -o {TMPFS_OPTIONS} tmpfs /tmp"],
                               capture_output=True, timeout=30, cwd="/")
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unshare could not run ({exc})"
    if probe.returncode != 0:
        said = probe.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"the kernel refused ({said[-1] if said else f'exit code {probe.returncode}'})"
    return ""


def exit_signal(returncode: int | None) -> int | None:
    """The signal that killed a wrapped worker, from unshare's exit code (128 + N), else None."""
    if returncode is not None and 128 < returncode < 128 + 65:
        return returncode - 128
    return None


def beneath(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def read_only_folders(python: str) -> list:
    """READ_ONLY, and the prefix of the interpreter `python` resolves to if outside those."""
    prefix = os.path.dirname(os.path.dirname(os.path.realpath(python)))
    extra = [] if any(beneath(prefix, f) for f in READ_ONLY) or prefix == "/" else [prefix]
    return [f for f in (*READ_ONLY, *extra) if os.path.lexists(f)]


def wrap(command: list, *, uid: int, gid: int, scratch: str, read: list, pass_fds=()) -> list:
    """`command` (the worker's argv, command[0] its interpreter) run as uid:gid in new
    namespaces and a root of its own, in the folder `scratch`, as described above.

    scratch: the worker's read-write folder (its cwd); read: the grading's folders it may read
    (its submission copy, its interpreter's venv). pass_fds: the fds the command inherits
    (SETUP's own fds are chosen among the others).
    """
    kept, seen = [], set()
    for mode, path in [("rw", scratch)] + [("ro", p) for p in read]:
        real = os.path.realpath(path)
        inside = any(beneath(real, f) for f in READ_ONLY)   # bound read-only anyway
        if not inside and real not in seen and os.path.isdir(real):
            seen.add(real)
            kept.append((mode, real))
    free = [fd for fd in range(3, 10) if fd not in pass_fds]   # sh redirects digits only
    if len(kept) > len(free):
        raise ValueError(f"too many folders to keep: {kept}")
    system = read_only_folders(command[0])
    return [_tool("unshare") or "unshare", *UNSHARE_FLAGS, "--", _tool("sh") or "sh", "-c",
            f"TMPFS_OPTIONS={TMPFS_OPTIONS}\nDEVICES='{' '.join(DEVICES)}'\n"
            f"CHROOT={_tool('chroot')}\nENV={_tool('env')}\nSETPRIV={_tool('setpriv')}\n{SETUP}", "sh",
            str(uid), str(gid), str(len(kept)),
            *(f"{fd}:{mode}:{path}" for fd, (mode, path) in zip(free, kept)),
            str(len(system)), *system, *command]
