"""Hostile submissions graded end to end (engine.autograde, as Gradescope would), as root.

Each submission of tests/hostile/corpus.py is the solution or the skeleton plus attacks; each
test asserts that the attack did not raise the score (compared with the same submission without
the attack) and that nothing escaped: results.json is the engine's valid file and stays
untouched, the worker's user wrote nothing outside its scratch folder that grading uses, and
none of its processes survived the run. The runs are shared with tests/test_autograde_e2e.py
and graded two at a time (see tests/hostile/campaign.py).
"""
import concurrent.futures
import os
import re
import socket
import threading
from pathlib import Path

import pytest

from hostile import corpus
from hostile.campaign import (EVIDENCE, IS_ROOT, autograde, campaign,  # noqa: F401 (fixture)
                              files_owned_by, left_in_shared_folders)
from engine import namespaces
from engine.landlock import abi_version
from engine.sandbox import WorkerLimits  # autograder/ is on sys.path now

pytestmark = pytest.mark.skipif(
    not IS_ROOT, reason="needs root: only then does the worker run as another, unprivileged user, "
                        "and kill(-1) or the uid sweep would hit the test process itself")
AUTOGRADE_RUNS = (("solution", "skeleton", "forge", "cheat", "zip_links", "faults", "all_loops")
                  if IS_ROOT
                  else ())

# With Landlock the worker cannot even see its grader's /proc entries nor its AUTOGRADER_ROOT:
# the attacks find no root to read or write, a stronger outcome than a refused read.
LANDLOCK = abi_version()[0] >= 1
DAEMON_SETTLE = 1.5        # seconds after a run: several periods of the forging daemon
MAX_RESULTS_BYTES = 1 << 20
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")   # control characters but \t and \n


# ------------------------------------------------------------------ shared checks

def assert_contained(run, campaign):
    """Nothing of the attack escaped the worker: see the module docstring."""
    results = run.check()
    assert run.returncode == 0, run.log[-3000:]
    assert run.root is not None, f"no AUTOGRADER_ROOT kept in {run.area}"
    assert run.disk_text() == run.text, "results.json changed after grading ended"
    assert os.stat(run.root / "results" / "results.json").st_uid == 0
    assert "forged" not in results["output"]
    assert all(t["name"] != "forged" for t in results["tests"])
    assert run.leftover_processes == [], "processes of the worker's user outlived the run"
    assert files_owned_by(run.uid, [run.area]) == [], "the worker wrote beside the grader"
    assert [m for m in campaign.markers() if "-executed-" in m] == []


def assert_not_inflated(run, baseline):
    """Same tests with the same maxima, and no test scores more than without the attack."""
    got, base = run.tests(), baseline.tests()
    assert sorted(got) == sorted(base)
    assert {k: t["max_score"] for k, t in got.items()} == \
           {k: t["max_score"] for k, t in base.items()}
    raised = {k: (base[k]["score"], t["score"]) for k, t in got.items()
              if t["score"] > base[k]["score"]}
    assert raised == {}, f"the attack raised these scores (before, after): {raised}"
    assert run.check()["score"] <= baseline.check()["score"]


def all_strings(value):
    """Every string inside a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from all_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from all_strings(v)


def secret_lines():
    """Lines of the hidden material that must never appear in results: code of the solution that
    the skeleton does not have, the hidden tests' code, the quiz key and the grading seed."""
    secret = []
    for name in corpus.STUDENT_FILES:
        public = set((corpus.SKELETON / "backprop" / name).read_text().splitlines())
        secret += [line for line in (corpus.SOLUTION / "backprop" / name).read_text().splitlines()
                   if line not in public]
    for path in sorted((corpus.REPO / "autograder" / "suite" / "hidden").glob("*.py")):
        secret += path.read_text().splitlines()
    for name in ("answers.toml", "calibration.toml"):
        secret += (corpus.SOLUTION / name).read_text().splitlines()
    lines = {line.strip() for line in secret}
    return sorted(line for line in lines if len(line) >= 20 and not line.startswith("#")
                  and '"""' not in line)


# ------------------------------------------------------------------ forging results

def test_results_forged_at_import_by_atexit_or_by_a_daemon_do_not_land(campaign):
    run, skeleton = campaign.get("forge"), campaign.get("skeleton")
    forge = [text for _, text in run.evidence("forge")]
    assert forge, "the forging code never ran"
    for text in forge:
        found = re.match(r"(\d+) roots found, \d+ writes attempted, (\d+) written", text)
        assert found, text
        roots, written = found.groups()
        if LANDLOCK:
            assert roots == "0", "Landlock let the worker find the AUTOGRADER_ROOT: " + text
        else:
            assert int(roots) >= 1, "the attack did not even find the AUTOGRADER_ROOT: " + text
        assert written == "0", text
    assert run.evidence("atexit") and run.evidence("daemon"), "atexit / daemon attack never set up"
    run.settle(DAEMON_SETTLE)
    assert_contained(run, campaign)
    assert_not_inflated(run, skeleton)
    heartbeat = Path(f"/tmp/agw-hostile-{campaign.tag}-daemon")
    if heartbeat.exists():   # only if the worker can write /tmp
        assert heartbeat.stat().st_mtime <= run.ended, "the daemon outlived grading"
    assert not Path(f"/tmp/agw-hostile-{campaign.tag}-late-handler").exists(), "atexit/SIGTERM ran"


def test_fake_results_on_stdout_then_exit_fail_those_calls_and_grading_goes_on(campaign):
    run = campaign.get("forge")
    hit = run.fired_in("stdout-exit")
    assert hit, "the attack never ran"
    for key in hit:
        test = run.tests()[key]
        assert test["status"] == "failed" and test["score"] == 0
        assert "exited with code 0" in test["output"] or "WorkerFailure" in test["output"]
    assert len(run.tests()) == len(campaign.get("skeleton").tests())
    assert run.check()["score"] <= campaign.get("skeleton").check()["score"]
    assert "forged" not in run.check()["output"]


def test_sys_exit_at_import_fails_those_calls_and_grading_goes_on(campaign):
    run = campaign.get("forge")
    hit = run.fired_in("sys-exit")
    assert hit, "the attack never ran"
    assert all("SystemExit" in run.tests()[key]["output"] for key in hit)
    assert len(run.tests()) == len(campaign.get("skeleton").tests())   # grading went on


def test_startup_files_in_the_submission_never_run(campaign):
    run = campaign.get("forge")
    assert_contained(run, campaign)   # no /tmp/agw-hostile-<tag>-executed-* marker
    notes = run.check()["output"]
    assert "conftest.py" in notes and "__init__.py" in notes   # seen by intake, not used


# ------------------------------------------------------------------ cheating on values

def test_monkeypatching_and_always_equal_objects_score_nothing(campaign):
    run = campaign.get("cheat")
    patch = run.evidence("patch")
    assert patch and "numpy, math and unittest patched" in patch[0][1], "the cheats never ran"
    assert_contained(run, campaign)
    assert_not_inflated(run, campaign.get("skeleton"))


def test_walking_frames_and_heap_sees_only_the_worker(campaign):
    run = campaign.get("cheat")
    frames, heap = run.evidence("frames"), run.evidence("gc")
    assert frames and heap, "the stack/heap walk never ran"
    files = re.findall(r"'([^']+):[\w<>]+'", frames[0][1])
    own = ("<agw:", "<string>", str(campaign.base))   # the engine's worker code, the submission
    assert files and all(f.startswith(own) for f in files), files
    modules = set(re.findall(r"'(\w+)'", heap[0][1]))
    trusted = {"_pytest", "pytest", "pluggy", "gradescope_utils", "jsonschema", "conftest",
               "_reference_backprop", "backends", "checking", "scenarios", "cases"}
    # The attack imports pytest and gradescope_utils itself where the worker's interpreter has
    # them (to patch them): their objects are then its own, not the grader's.
    imported = {name.split(".")[0] for name in re.findall(r"([\w.]+): patched",
                                                          run.evidence("patch")[0][1])}
    imported |= {"pluggy"} if "pytest" in imported else set()
    assert modules and not modules & (trusted - imported), modules & (trusted - imported)


def test_secrets_cannot_be_read_and_do_not_reach_the_results(campaign):
    run = campaign.get("cheat")
    root = run.evidence("root")
    assert root, "the secret-reading attack never ran"
    if not LANDLOCK:   # file permissions only: the root (0700) or every read in it is refused
        reads = [text for _, text in run.evidence("read")
                 if text.startswith(f"{run.root}/source/")]
        if root[0][1].endswith("walking up: True"):
            assert len(reads) >= 6, f"the attack did not try the sources: {run.evidence('read')}"
        assert [text for text in reads if not text.endswith("PermissionError")] == []
    else:   # Landlock: the grader's /proc entries and its root are out of the worker's sight
        assert root[0][1] == "own root None, also found by walking up: False", root
        proc = [text for _, text in run.evidence("read") if text.startswith("/proc/")]
        assert len(proc) >= 6, proc   # environ, mem, maps; fd, cwd, root
        assert [t for t in proc if not t.rsplit(": ", 1)[1].endswith("Error")] == [], proc
    assert run.evidence("secret") == []
    text = "\n".join(all_strings(run.check()))
    secret = secret_lines()
    assert len(secret) > 100
    leaked = [line for line in secret if line in text]
    assert leaked == []


def test_symbolic_links_to_the_solution_are_refused(campaign):
    run = campaign.get("cheat")
    assert_not_inflated(run, campaign.get("skeleton"))
    problems = run.check()["output"]
    for name in ("autodiff.py", "hyperparams.toml", "answers.toml", "more", "more2"):
        assert re.search(rf"`[^`]*{re.escape(name)}`[^\n]*link", problems), name


def test_zip_of_symbolic_links_to_the_solution_scores_nothing(campaign):
    run = campaign.get("zip_links")
    assert_contained(run, campaign)
    assert_not_inflated(run, campaign.get("skeleton"))
    assert run.check()["score"] == 0
    assert "link" in run.check()["output"]


# ------------------------------------------------------------------ faults in single calls

NOT_CALLED_AGAIN = re.compile(r"did not finish within [\d.]+ s in test ([\d.]+) ")

FATAL = {   # attack -> what the failed test's message says (the engine's words or the error)
    "loop": ("CallTimeout", "did not finish"),
    "sigkill": ("SIGKILL",),
    "orphan-holds-channel": ("SIGKILL",),   # not a timeout, though a child keeps the pipe open
    "hog": ("MemoryError",),
    "forged-frame": ("answer to request", "more than one answer", "WorkerFailure"),
    "oversized-frame": ("exceeds", "WorkerFailure"),
    "fd-hijack": ("bad magic", "WorkerFailure"),
}
HARMLESS = ("fork-bomb", "flood", "kill-parent", "huge-exception")   # the worker survives these


def test_each_fault_costs_only_the_tests_that_set_it_off(campaign):
    run, solution = campaign.get("faults"), campaign.get("solution")
    assert_contained(run, campaign)
    got, base = run.tests(), solution.tests()
    assert sorted(got) == sorted(base)
    fired = {attack: run.fired_in(attack) for attack in (*FATAL, *HARMLESS)}
    assert [a for a, hit in fired.items() if not hit] == [], "these attacks never fired"
    for attack, words in FATAL.items():
        for key in fired[attack]:
            assert got[key]["status"] == "failed", (attack, key)
            assert any(w in got[key]["output"] for w in words), f"{attack}: {got[key]['output']}"
    # what timed out (the loop in SquaredError.forward) is not called again: later tests that
    # call SquaredError.forward fail at once, naming the test where it timed out (engine.timeouts)
    refused = {k for k, t in got.items() if (m := NOT_CALLED_AGAIN.search(t["output"]))
               and m.group(1) in fired["loop"]}
    spared = set(got) - set().union(*(fired[a] for a in FATAL)) - refused
    changed = {k: (base[k]["status"], got[k]["status"], got[k]["output"][:600]) for k in spared
               if (got[k]["status"], got[k]["score"]) != (base[k]["status"], base[k]["score"])}
    assert changed == {}, "tests that set off no fatal fault changed (before, after, output)"
    assert run.seconds < 240, "the endless loop (240 s) was not cut by the per-call timeout"


def test_every_function_looping_costs_one_timeout_per_function_and_every_test_is_listed(campaign):
    """Each call into the all-loops submission times out; what timed out is not called again,
    so every test gets its turn (the quiz, which runs no student code, scores in full)."""
    run, solution = campaign.get("all_loops"), campaign.get("solution")
    assert_contained(run, campaign)
    got, base = run.tests(), solution.tests()
    assert sorted(got) == sorted(base)
    not_run = [k for k, t in got.items() if t["output"].startswith("Not run: grading stopped")
               or "time budget ran out" in t["output"]]
    assert not_run == [], "tests that never got their turn"
    timed_out = {k for k, t in got.items() if "the call did not finish within" in t["output"]}
    refused = {k: NOT_CALLED_AGAIN.search(t["output"]) for k, t in got.items()
               if "is not called again in this grading" in t["output"]}
    assert len(timed_out) <= 20 and len(refused) >= 2 * len(timed_out), (timed_out, len(refused))
    # each names the test where its function timed out: one whose output says so, or says it
    # refused a later call of its own (the suite reports a test's last failure)
    sources = timed_out | {k for k, where in refused.items() if where and where.group(1) == k}
    for key, where in refused.items():
        assert where and where.group(1) in sources, (key, got[key]["output"][:300])
    free = [k for k, t in base.items() if k.startswith("6.")]     # the quiz (part 6)
    assert free and all(got[k]["status"] == "passed" for k in free)
    assert run.check()["score"] == sum(got[k]["max_score"] for k in free)


def test_fork_bomb_is_capped(campaign):
    run = campaign.get("faults")
    counts = [int(m.group(1)) for _, text in run.evidence("fork-bomb")
              for m in [re.match(r"(\d+) forks succeeded", text)] if m]
    assert counts and all(1 <= n <= WorkerLimits().extra_processes for n in counts), counts


def test_huge_output_and_messages_stay_bounded(campaign):
    run = campaign.get("faults")
    assert len(run.text.encode()) < MAX_RESULTS_BYTES
    flooded = [run.tests()[k]["output"] for k in run.fired_in("flood")]
    assert flooded and all("output cut" in o or "bytes dropped" in o for o in flooded)
    assert all(len(run.tests()[k]["output"]) < 100_000 for k in run.fired_in("huge-exception"))
    assert not CONTROL.search("".join(all_strings(run.check())))   # ANSI, NUL, bell... removed


def test_killing_the_parent_is_refused(campaign):
    run = campaign.get("faults")
    refusals = [text for _, text in run.evidence("kill-parent") if "refused" in text]
    assert len(refusals) == 2 and all(t.endswith("PermissionError") for t in refusals), refusals
    assert_contained(run, campaign)


# ------------------------------------------------------------------ shared folders

def test_worker_leaves_nothing_in_shared_folders(campaign):
    """What the worker wrote to /tmp, /var/tmp or /dev/shm is deleted after its processes die."""
    run = campaign.get("forge")
    assert run.evidence("tmp"), "the attack never ran"
    run.settle(DAEMON_SETTLE)
    assert left_in_shared_folders(run.uid) == []


# ------------------------------------------------------------------ gradings side by side

SIDE_BY_SIDE = ("hostile", "honest-1", "honest-2")
LEASED = re.compile(r"the worker runs as (\S+) \(uid (\d+)\)")


@pytest.fixture(scope="module")
def side_by_side(campaign):
    """A hostile grading (attacks/neighbour.py) started at the same moment as two honest
    gradings of the solution, each leasing its own worker account from the engine's pool, then
    the same hostile submission graded once more ("later"). Returns ({name: Run}, the bytes a
    listener on 127.0.0.1 received, the listener's port)."""
    received = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    done = threading.Event()

    def accept():
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    received.append(conn.recv(4096))
                except OSError:
                    received.append(b"(connected)")
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    areas = {name: campaign.base / f"side-{name}" for name in (*SIDE_BY_SIDE, "later")}
    upload = corpus.neighbour(campaign.private / "neighbour-submission", campaign.tag,
                              neighbours=[areas["honest-1"], areas["honest-2"]],
                              port=listener.getsockname()[1])
    try:
        with concurrent.futures.ThreadPoolExecutor(len(SIDE_BY_SIDE)) as pool:
            futures = {name: pool.submit(autograde, name,
                                         upload if name == "hostile" else corpus.SOLUTION, None,
                                         campaign.zip_path, areas[name], campaign.private)
                       for name in SIDE_BY_SIDE}
            runs = {name: future.result() for name, future in futures.items()}
        runs["later"] = autograde("later", upload, None, campaign.zip_path, areas["later"],
                                  campaign.private)
    finally:
        done.set()
        thread.join(5)
        listener.close()
    return runs, received


def evidence_by_visibility(run, attack):
    """{"visible": [texts], "hidden": [texts]} of an attack's evidence lines."""
    found = {"visible": [], "hidden": []}
    for test in run.check()["tests"]:
        side = "visible" if test.get("visibility") == "visible" else "hidden"
        found[side] += [m.group(2) for m in EVIDENCE.finditer(test["output"])
                        if m.group(1) == attack]
    return found


def test_honest_gradings_beside_a_hostile_one_score_right(side_by_side, campaign):
    runs, _ = side_by_side
    expected = campaign.get("solution").check()["score"]
    assert expected == 100
    for name in ("honest-1", "honest-2"):
        assert runs[name].returncode == 0 and runs[name].check()["score"] == expected, name
    assert runs["hostile"].evidence("kill"), "the kill(-1) loop never ran"
    leased = {name: LEASED.findall(run.log) for name, run in runs.items()}
    uids = [found[0][1] for found in leased.values() if found]
    assert len(uids) == len(runs) and len(set(uids[:3])) == 3, leased   # three at once: three


def test_other_gradings_the_checkout_and_the_grader_cannot_be_read(side_by_side):
    run = side_by_side[0]["hostile"]
    steal = [text for _, text in run.evidence("steal")]
    assert [t for t in steal if t.startswith("read ")] == []
    checkout = [text for _, text in run.evidence("checkout")]
    assert checkout and all(not t.endswith(": ok") for t in checkout), checkout
    cmdline = [text for _, text in run.evidence("cmdline")]
    assert cmdline and all(t.endswith("grader found: False") for t in cmdline), cmdline


def test_no_tcp_connection_leaves_the_worker(side_by_side):
    runs, received = side_by_side
    tried = [text for _, text in runs["hostile"].evidence("tcp")]
    if not namespaces.available() or abi_version()[0] >= 4:   # a layer that denies TCP is on
        assert tried and all(t != "sent" for t in tried), tried
        assert received == []


def test_nothing_kept_outlives_the_grading(side_by_side, campaign):
    runs, _ = side_by_side
    assert runs["hostile"].evidence("persist"), "the attack never tried to keep anything"
    key = int(campaign.tag[:7], 16)
    with open("/proc/sysvipc/shm") as table:
        assert [line for line in table if line.split()[0] == str(key)] == []
    kept = [f"{d}/agw-hostile-{campaign.tag}-kept" for d in ("/tmp", "/var/tmp", "/dev/shm",
                                                              "/run/lock")]
    assert [path for path in kept if os.path.exists(path)] == []
    # what the later grading's first worker finds (its hidden-test worker may find what its own
    # visible-test worker kept: the same grading, the same account)
    recalled = evidence_by_visibility(runs["later"], "recall")["visible"]
    assert recalled and set(recalled) == {"nothing"}, recalled


def test_hidden_inputs_never_reach_visible_output(side_by_side):
    for name in ("hostile", "later"):
        run = side_by_side[0][name]
        inputs = evidence_by_visibility(run, "input")
        hidden_only = set(inputs["hidden"]) - set(inputs["visible"])
        assert hidden_only, f"{name}: no input of a hidden test was recorded"
        visible_text = "\n".join(t["output"] for t in run.check()["tests"]
                                 if t.get("visibility") == "visible")
        assert [fp for fp in hidden_only if fp in visible_text] == [], name


def test_the_student_is_told_when_their_code_ran_out_of_memory(campaign):
    run = campaign.get("faults")
    hogs = [run.tests()[key]["output"] for key in run.fired_in("hog")]
    assert hogs and all(re.search(r"Your code used more than \d+ MB during test", o)
                        for o in hogs), hogs


def test_the_layers_in_force_are_recorded_for_staff_only(campaign):
    run = campaign.get("solution")
    seen = run.check()["extra_data"]["isolation"]
    assert seen and all(set(s) == {"identity", "memory", "landlock", "namespaces"} for s in seen)
    assert all("leased for this grading alone" in s["identity"] for s in seen)
    assert all(s["landlock"].startswith("abi ") == LANDLOCK for s in seen), seen
    assert all(s["namespaces"].startswith("off:") == bool(namespaces.available()) for s in seen)
    assert "[grader] isolation: identity " in run.log
    shown = run.check()["output"] + "".join(t["output"] for t in run.check()["tests"])
    assert not re.search(r"isolation|landlock|namespace", shown, re.I)
