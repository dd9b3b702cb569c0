"""Run a command and measure its wall time and the peak memory of its whole process tree.

How memory is measured (Linux /proc, no cgroup needed):
- every `interval` seconds the tree is found again (the command, its children, theirs, ...,
  by parent pid; processes started after the command have larger pids, so only those are
  read; a pid counter that wraps around during a run would hide later processes) and two sums
  are taken over it: RSS (resident set; a page shared by two processes, e.g. numpy's libraries
  in the grader and in the worker, counts twice, so this is an upper bound) and PSS
  (proportional set size, from smaps_rollup: a shared page is split between its users, so the
  sum is what the tree really occupies). `rss_peak` / `pss_peak` are the largest sums seen,
  `peak_breakdown` the processes of the sample with the largest RSS sum. Sampling can miss a
  spike shorter than the interval.
- when the command ends, `os.wait4` gives ru_maxrss: the peak RSS of the largest SINGLE process
  of the tree (the kernel's own figure, exact, but not a sum: what `/usr/bin/time -v` reports
  as "Maximum resident set size"; a forked child counts its launcher's pages until exec).
`tree_peak_bytes` is the larger of rss_peak and ru_maxrss: a conservative figure for a floor.

Pinning: `cpus={0}` sets the command's CPU affinity before it runs (inherited by everything it
starts), like `taskset -c 0`; the sampler itself stays free to run on any core.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclasses.dataclass
class ProcessRun:
    """One measured run: seconds of wall time, memory in bytes, exit code, output tail.

    cpu_seconds: user + system CPU time of the whole tree (wait4's rusage counts every
    descendant that its parent waited for), much less sensitive than wall time to other
    jobs on the machine.

    peak_breakdown: [(command name, rss bytes), ...] of the sample with the largest RSS sum.
    """

    seconds: float
    cpu_seconds: float
    rss_peak: int
    pss_peak: int
    max_single_rss: int
    returncode: int
    samples: int
    peak_breakdown: list
    output_tail: str

    @property
    def tree_peak_bytes(self) -> int:
        return max(self.rss_peak, self.max_single_rss)


@dataclasses.dataclass
class TreeSample:
    """One look at a process tree: pid -> (command name, rss bytes), and the PSS sum."""

    members: dict
    pss: int

    @property
    def rss(self) -> int:
        return sum(rss for _, rss in self.members.values())


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, command name, rss bytes) of a live process, None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            head, _, rest = f.read().rpartition(b")")
    except OSError:
        return None
    fields = rest.split()
    if len(fields) < 22 or fields[0] in (b"Z", b"X"):
        return None
    name = head.partition(b"(")[2].decode("utf-8", errors="replace")
    return int(fields[1]), name, int(fields[21]) * PAGE


def _label(pid: int, name: str) -> str:
    """A short description of a process: its command line (paths cut to their last part,
    a `-c` program not shown), else its command name."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = [a.decode("utf-8", errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        args = []
    words = []
    for arg in args:
        words.append("..." if words and words[-1] == "-c" else arg.rsplit("/", 1)[-1])
    return " ".join(words)[:80] or name


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def sample_tree(root: int) -> TreeSample:
    """`root` and its live descendants, with their RSS, and the PSS sum over them."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) >= root:
            info = _stat(int(entry))
            if info is not None:
                found[int(entry)] = info
    members = {root} if root in found else set()
    grew = True
    while grew:
        new = {pid for pid, info in found.items() if info[0] in members and pid not in members}
        members |= new
        grew = bool(new)
    return TreeSample({pid: (_label(pid, found[pid][1]), found[pid][2]) for pid in members},
                      sum(_pss(pid) for pid in members))


def _kill(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def run_measured(cmd: list[str], *, cwd: str | Path | None = None, env: dict | None = None,
                 cpus: set[int] | None = None, interval: float = 0.02,
                 timeout: float = 900.0) -> ProcessRun:
    """Run `cmd` to completion, sampling its tree's memory every `interval` seconds.

    After `timeout` seconds every process of the tree is killed (the run then reports the
    signal as its return code).
    """
    def pin() -> None:
        os.sched_setaffinity(0, cpus)

    with tempfile.TemporaryFile() as out:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, preexec_fn=pin if cpus else None)
        peak = TreeSample({}, 0)
        pss_peak = samples = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                seconds = time.perf_counter() - began
                break
            now = sample_tree(proc.pid)
            samples += 1
            pss_peak = max(pss_peak, now.pss)
            if now.rss > peak.rss:
                peak = now
            if time.perf_counter() - began > timeout:
                _kill(now.members)
            time.sleep(interval)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        tail = out.read()[-4000:].decode("utf-8", errors="replace")
    return ProcessRun(seconds=seconds, cpu_seconds=usage.ru_utime + usage.ru_stime, rss_peak=peak.rss, pss_peak=pss_peak,
                      max_single_rss=usage.ru_maxrss * 1024, returncode=proc.returncode,
                      samples=samples, peak_breakdown=sorted(peak.members.values()),
                      output_tail=tail)
