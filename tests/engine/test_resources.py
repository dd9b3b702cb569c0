"""engine.resources on fake /proc and /sys/fs/cgroup trees, and the worker's memory limit."""
from pathlib import Path

import pytest

from engine import resources
from engine.resources import (GRADER_RESERVE, MIN_WORKER_MEMORY, available_memory_bytes,
                              cgroup_memory_limit, oom_kill_count, own_cgroups,
                              physical_memory_bytes, worker_memory_limit)

GIB, MIB = 1 << 30, 1 << 20
V1_UNLIMITED = "9223372036854771712"
RAM_24G = f"MemTotal:       {24 * GIB // 1024} kB\nMemFree:        1000 kB\n"


def tree(root: Path, files: dict) -> tuple[Path, Path]:
    """Write {relative path: text} under root; returns (proc root, cgroup root)."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "proc", root / "cgroup"


def test_cgroup_v2_takes_the_smallest_limit_of_the_cgroup_and_its_ancestors(tmp_path):
    proc, cg = tree(tmp_path, {
        "proc/self/cgroup": "0::/grading.slice/job-7/worker\n",
        "proc/meminfo": RAM_24G,
        "cgroup/grading.slice/memory.max": "max\n",
        "cgroup/grading.slice/job-7/memory.max": f"{768 * 1000 * 1000}\n",
        "cgroup/grading.slice/job-7/worker/memory.max": "max\n",
    })
    assert own_cgroups(proc) == ("/grading.slice/job-7/worker", None)
    assert cgroup_memory_limit(proc, cg) == 768_000_000
    assert available_memory_bytes(proc, cg) == 768_000_000


def test_cgroup_v2_in_a_container_namespace(tmp_path):
    """In its own cgroup namespace a container sees itself as "/": the mount's memory.max."""
    proc, cg = tree(tmp_path, {"proc/self/cgroup": "0::/\n", "proc/meminfo": RAM_24G,
                               "cgroup/memory.max": f"{768 * MIB}\n"})
    assert available_memory_bytes(proc, cg) == 768 * MIB


def test_cgroup_v2_path_missing_under_the_mount_counts_the_existing_ancestors(tmp_path):
    proc, cg = tree(tmp_path, {"proc/self/cgroup": "0::/docker/abc123\n",
                               "proc/meminfo": RAM_24G, "cgroup/memory.max": f"{2 * GIB}\n"})
    assert cgroup_memory_limit(proc, cg) == 2 * GIB
    proc, cg = tree(tmp_path / "outside", {"proc/self/cgroup": "0::/../../elsewhere\n",
                                           "cgroup/memory.max": f"{GIB}\n"})
    assert cgroup_memory_limit(proc, cg) == GIB  # `..` is not followed: only the mount counts


def test_cgroup_v1_memory_limit_in_bytes(tmp_path):
    proc, cg = tree(tmp_path, {
        "proc/self/cgroup": ("12:pids:/docker/abc\n5:cpu,cpuacct:/docker/abc\n"
                             "4:memory:/docker/abc\n0::/\n"),
        "proc/meminfo": RAM_24G,
        "cgroup/memory/memory.limit_in_bytes": V1_UNLIMITED + "\n",
        "cgroup/memory/docker/abc/memory.limit_in_bytes": f"{805306368}\n",
    })
    assert own_cgroups(proc) == ("/", "/docker/abc")
    assert cgroup_memory_limit(proc, cg) == 805306368


def test_unlimited_cgroups_fall_back_to_the_ram(tmp_path):
    """This machine's layout: cgroup v1 without a limit (2**63 - 4096), v2 without memory."""
    proc, cg = tree(tmp_path, {
        "proc/self/cgroup": "4:memory:/process_api/db3b\n0::/\n",
        "proc/meminfo": RAM_24G,
        "cgroup/memory/memory.limit_in_bytes": V1_UNLIMITED,
        "cgroup/memory/process_api/db3b/memory.limit_in_bytes": V1_UNLIMITED,
        "cgroup/unified/cgroup.procs": "1\n",
    })
    assert cgroup_memory_limit(proc, cg) is None
    assert available_memory_bytes(proc, cg) == 24 * GIB


def test_a_cgroup_limit_above_the_ram_does_not_count(tmp_path):
    proc, cg = tree(tmp_path, {"proc/self/cgroup": "0::/\n", "proc/meminfo": RAM_24G,
                               "cgroup/memory.max": f"{64 * GIB}\n"})
    assert available_memory_bytes(proc, cg) == 24 * GIB


@pytest.mark.parametrize("files", [
    {},                                                        # nothing at all
    {"proc/self/cgroup": "garbage\n\n::\n", "proc/meminfo": "MemTotal: lots\n"},
    {"proc/self/cgroup": "0::/a\n", "cgroup/a/memory.max": "12abc\n",
     "proc/meminfo": "MemFree: 1 kB\n"},
    {"proc/self/cgroup": "0::/a\n", "cgroup/a/memory.max": ""},
])
def test_missing_or_malformed_files_are_no_limit(tmp_path, files):
    proc, cg = tree(tmp_path, files)
    assert cgroup_memory_limit(proc, cg) is None
    assert physical_memory_bytes(proc) is None   # a fake tree never falls back to the real OS
    assert available_memory_bytes(proc, cg) is None
    assert worker_memory_limit(GIB, available_memory_bytes(proc, cg)) == GIB


def test_meminfo_is_read_in_kb(tmp_path):
    proc, _ = tree(tmp_path, {"proc/meminfo": "MemFree:  5 kB\nMemTotal:  2048 kB\n"})
    assert physical_memory_bytes(proc) == 2 * MIB


@pytest.mark.parametrize("available, expected", [
    (768 * MIB, 768 * MIB - GRADER_RESERVE),          # Gradescope's default container
    (768_000_000, 768_000_000 - GRADER_RESERVE),
    (24 * GIB, GIB),                                  # a roomy machine: the configured 1 GiB
    (512 * MIB, MIN_WORKER_MEMORY),                   # too small: the floor
    (None, GIB),                                      # nothing known ("max" everywhere, no RAM)
])
def test_worker_memory_limit(available, expected, monkeypatch):
    monkeypatch.setattr(resources, "available_memory_bytes", lambda *a: None)
    assert worker_memory_limit(GIB, available) == expected


def test_the_limit_fits_a_768_mb_container_with_the_grader():
    limit = worker_memory_limit(GIB, 768_000_000)
    assert MIN_WORKER_MEMORY <= limit and limit + GRADER_RESERVE <= 768_000_000
    assert limit >> 20 == 412


def test_an_explicit_small_limit_stays_and_the_default_is_derived(tmp_path, monkeypatch):
    assert worker_memory_limit(200 * MIB, 24 * GIB) == 200 * MIB   # below the floor: as given
    monkeypatch.setattr(resources, "available_memory_bytes", lambda *a: 768 * MIB)
    assert resources.default_worker_memory() == 768 * MIB - GRADER_RESERVE


def test_this_machine(tmp_path):
    """On the real /proc and /sys: a number, and WorkerLimits' default is derived from it."""
    from engine.sandbox import WorkerLimits
    available = available_memory_bytes()
    assert available is None or available > 64 * MIB
    assert WorkerLimits().memory_bytes == worker_memory_limit(GIB, available)
    assert "worker limit" in resources.describe()


def test_oom_kill_count_adds_the_cgroup_and_the_machine_counters(tmp_path):
    proc, cg = tree(tmp_path, {
        "proc/self/cgroup": "0::/job\n",
        "proc/vmstat": "nr_free_pages 5\noom_kill 3\n",
        "cgroup/job/memory.events": "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n",
    })
    assert oom_kill_count(proc, cg) == 5
    proc, cg = tree(tmp_path / "v1", {
        "proc/self/cgroup": "4:memory:/x\n",
        "cgroup/memory/x/memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
    })
    assert oom_kill_count(proc, cg) == 1
    proc, cg = tree(tmp_path / "none", {"proc/vmstat": "nr_free_pages 5\n"})
    assert oom_kill_count(proc, cg) is None
    assert oom_kill_count() is None or oom_kill_count() >= 0  # the real machine
