"""How much memory this machine or container really has, and how much of it the worker may use.

The worker's address-space limit (RLIMIT_AS, `engine.sandbox.WorkerLimits.memory_bytes`) must
stay below what the container can hold once the grader itself is counted: above it, a
submission that allocates a lot is not stopped by a `MemoryError` but SIGKILLed by the kernel's
OOM killer (on Gradescope's default 768 MB container, a 1 GiB limit did exactly that).

- `available_memory_bytes()`: the smallest of the memory cgroup limits that apply to this process
  (cgroup v2: `memory.max` of its own cgroup, read from /proc/self/cgroup, and of every ancestor up
  to the mount point; cgroup v1: `memory.limit_in_bytes`, the same way) and of the RAM (`MemTotal`
  of /proc/meminfo). Unreadable or missing files are skipped; "max" and v1's huge "unlimited"
  values are no limit.
- `worker_memory_limit(configured)`: min(configured, available - GRADER_RESERVE), never below
  MIN_WORKER_MEMORY (unless `configured` itself is lower: an explicit small limit stays).
- `oom_kill_count()`: how many processes the kernel's OOM killer has killed (this cgroup's
  counter plus the machine's), to tell an out-of-memory SIGKILL from any other.

GRADER_RESERVE, measured on a full grading of the reference solution (`make autograde
SUBMISSION=solution`: 89 tests, Python 3.11, numpy 2.2; VmHWM of the `engine.run` process read
from /proc/<pid>/status every 50 ms until it exited):
- the grading process peaked at 60 to 61 MiB resident (61,628 and 62,940 kB in two runs); the
  worker at 49 MiB resident (152 MB mapped);
- a reply carrying the largest value the protocol lets a worker send (64 MiB, protocol.FROM_WORKER)
  raised the grader's peak by 192 MiB (the frame's bytes, their copy, the decoded array), and a
  student decides how large some replies are (e.g. a module's `params`);
- run_autograder's bash, `timeout` and `env` take a few MiB.
60 + 192 + 8, rounded up with about 20 % for suites that keep more on the trusted side: 320 MiB.
With the worker's resident memory below its address space (RLIMIT_AS bounds what it maps), the
grader and the worker together stay under the container's limit.

MIN_WORKER_MEMORY: a worker maps about 98 MiB right after its start (numpy imported, measured) and
engine.worker refuses to start below that plus MEMORY_MARGIN (64 MiB); grading the reference
solution took it to 150 MiB mapped. 256 MiB leaves the student's code about 100 MiB of that: on a
machine with less than 576 MiB, running out of memory is then possible again, but every test
failing because no worker can start would be worse.
"""
from __future__ import annotations

import os
from pathlib import Path

GRADER_RESERVE = 320 << 20        # what the grading process needs beside the worker (see above)
MIN_WORKER_MEMORY = 256 << 20     # the worker's limit never goes below this (see above)
DEFAULT_WORKER_MEMORY = 1 << 30   # the limit where the machine has plenty (the previous default)
UNLIMITED = 1 << 62               # cgroup v1 writes "no limit" as 2**63 - 4096 (page-rounded)

PROC_ROOT = "/proc"
CGROUP_ROOT = "/sys/fs/cgroup"


def _read(path: Path | str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read(1 << 20)
    except (OSError, ValueError):
        return None


def _limit_value(text: str | None) -> int | None:
    """A cgroup memory limit file's value in bytes; None for "max", unlimited or unreadable."""
    if text is None:
        return None
    word = text.strip()
    if not word.isdigit():  # "max", empty, garbage
        return None
    value = int(word)
    return value if 0 < value < UNLIMITED else None


def own_cgroups(proc_root: str | Path = PROC_ROOT) -> tuple[str | None, str | None]:
    """(cgroup v2 path, cgroup v1 memory path) of this process, from /proc/self/cgroup.

    A line is `id:controllers:path`; v2's is `0::path`, v1's memory line names `memory` among
    its comma-separated controllers. Either is None when absent.
    """
    text = _read(Path(proc_root) / "self" / "cgroup") or ""
    v2 = v1 = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[2].startswith("/"):
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":
            v2 = path
        elif "memory" in controllers.split(","):
            v1 = path
    return v2, v1


def _candidates(mount: Path, path: str | None) -> list[Path]:
    """`mount/path` and each of its ancestors up to `mount` itself, deepest first.

    In a container with its own cgroup namespace (or with its cgroup mounted as the root) the
    path may not exist under the mount: the existing ancestors, the mount included, still count.
    A path with `..` (a cgroup outside our namespace) is not followed: only the mount counts.
    """
    parts = [p for p in (path or "").split("/") if p]
    if any(p in (".", "..") for p in parts):
        parts = []
    return [mount.joinpath(*parts[:k]) for k in range(len(parts), -1, -1)]


def cgroup_memory_limit(proc_root: str | Path = PROC_ROOT,
                        cgroup_root: str | Path = CGROUP_ROOT) -> int | None:
    """The smallest memory limit of this process's cgroup and its ancestors, None if none.

    cgroup v2: `memory.max` under `cgroup_root` (the unified hierarchy's mount point);
    cgroup v1: `memory.limit_in_bytes` under `cgroup_root/memory`.
    """
    v2, v1 = own_cgroups(proc_root)
    root = Path(cgroup_root)
    found = []
    if v2 is not None:
        found += [_limit_value(_read(d / "memory.max")) for d in _candidates(root, v2)]
    if v1 is not None:
        found += [_limit_value(_read(d / "memory.limit_in_bytes"))
                  for d in _candidates(root / "memory", v1)]
    limits = [v for v in found if v is not None]
    return min(limits) if limits else None


def _meminfo_field(proc_root: str | Path, name: str) -> int | None:
    """A `Name: N kB` field of /proc/meminfo, in bytes."""
    for line in (_read(Path(proc_root) / "meminfo") or "").splitlines():
        key, _, rest = line.partition(":")
        if key.strip() == name:
            words = rest.split()
            if words and words[0].isdigit():
                unit = words[1].lower() if len(words) > 1 else "b"
                return int(words[0]) * (1024 if unit == "kb" else 1)
    return None


def physical_memory_bytes(proc_root: str | Path = PROC_ROOT) -> int | None:
    """The machine's RAM: MemTotal of /proc/meminfo, else what sysconf says, else None."""
    total = _meminfo_field(proc_root, "MemTotal")
    if total:
        return total
    if Path(proc_root) != Path(PROC_ROOT):  # a fake tree without meminfo: do not ask the real OS
        return None
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") or None
    except (AttributeError, ValueError, OSError):
        return None


def available_memory_bytes(proc_root: str | Path = PROC_ROOT,
                           cgroup_root: str | Path = CGROUP_ROOT) -> int | None:
    """The memory this process and its children can use: the smallest of the cgroup limits and
    the RAM (a cgroup limit above the RAM means nothing). None if nothing could be read."""
    known = [v for v in (cgroup_memory_limit(proc_root, cgroup_root),
                         physical_memory_bytes(proc_root)) if v]
    return min(known) if known else None


def worker_memory_limit(configured: int = DEFAULT_WORKER_MEMORY, available: int | None = None, *,
                        reserve: int = GRADER_RESERVE, floor: int = MIN_WORKER_MEMORY) -> int:
    """The worker's address-space limit: min(configured, available - reserve), but the part
    derived from the machine never below `floor`.

    available: bytes the machine or container has; None: `available_memory_bytes()` (if that
    cannot tell either, `configured` is used as is).
    """
    configured = int(configured)
    if available is None:
        available = available_memory_bytes()
    if available is None:
        return configured
    return min(configured, max(int(available) - reserve, floor))


def default_worker_memory() -> int:
    """WorkerLimits' default memory_bytes: 1 GiB where the machine has room, less where not."""
    return worker_memory_limit(DEFAULT_WORKER_MEMORY)


def _counter(text: str | None, name: str) -> int | None:
    for line in (text or "").splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == name and words[1].isdigit():
            return int(words[1])
    return None


def oom_kill_count(proc_root: str | Path = PROC_ROOT,
                   cgroup_root: str | Path = CGROUP_ROOT) -> int | None:
    """Processes killed by the kernel's OOM killer so far: the `oom_kill` counter of this
    process's memory cgroup (v2 `memory.events`, v1 `memory.oom_control`, hierarchical: the
    worker, a child, is counted there) plus the machine's (`oom_kill` of /proc/vmstat, which
    counts every OOM kill, in any cgroup). Both only grow, so a rise between two readings means
    an OOM kill happened in between. None if neither can be read."""
    v2, v1 = own_cgroups(proc_root)
    root = Path(cgroup_root)
    found = []
    for path, mount, file in ((v2, root, "memory.events"),
                              (v1, root / "memory", "memory.oom_control")):
        if path is None:
            continue
        for folder in _candidates(mount, path):  # the deepest that has the file
            value = _counter(_read(folder / file), "oom_kill")
            if value is not None:
                found.append(value)
                break
    found.append(_counter(_read(Path(proc_root) / "vmstat"), "oom_kill"))
    known = [v for v in found if v is not None]
    return sum(known) if known else None


def describe(proc_root: str | Path = PROC_ROOT, cgroup_root: str | Path = CGROUP_ROOT) -> str:
    """One line for the instructor log: what was found and the worker limit it gives."""
    cg = cgroup_memory_limit(proc_root, cgroup_root)
    ram = physical_memory_bytes(proc_root)
    mib = lambda v: "none" if v is None else f"{v >> 20} MiB"  # noqa: E731
    available = available_memory_bytes(proc_root, cgroup_root)
    return (f"memory: cgroup limit {mib(cg)}, RAM {mib(ram)}; worker limit "
            f"{mib(worker_memory_limit(DEFAULT_WORKER_MEMORY, available))} (reserve "
            f"{GRADER_RESERVE >> 20} MiB for the grader)")


if __name__ == "__main__":
    print(describe())
