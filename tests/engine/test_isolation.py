"""engine.isolation: the layers a grading ran under, recorded for staff only; and the staff's
switch that turns kernel layers off (engine.session.layers_turned_off)."""
from types import SimpleNamespace

import pytest

from engine.isolation import IsolationLog, layers_of
from engine.results import TestRecord, build_results, validate
from engine.sandbox import WorkerLimits
from engine.session import layers_turned_off
from engine.workerenv import WorkerUser

LEASED = WorkerUser("autograder-worker-3", 997, 994)
CONFINED = {"landlock": "abi 7: fs, net, scope", "namespaces": "net, ipc, pid, mount (own root)"}


def box(confinement, user=LEASED, memory=512 << 20):
    return SimpleNamespace(confinement=confinement, user=user,
                           limits=WorkerLimits(memory_bytes=memory))


def test_layers_of_a_worker():
    assert layers_of(box(CONFINED)) == {
        "identity": "autograder-worker-3 (uid 997), leased for this grading alone",
        "memory": "512 MB of address space", **CONFINED}
    assert layers_of(box(CONFINED, user=None))["identity"].startswith("off: the worker runs as "
                                                                      "the grader's own user")
    assert layers_of(box({})) == {}            # no worker running: nothing to say
    assert layers_of(object()) == {}           # not a Sandbox at all


def test_each_combination_is_logged_once_and_off_layers_are_named():
    said = []
    log = IsolationLog(said.append)
    log.observe(box(CONFINED))
    log.observe(box(CONFINED))
    assert len(said) == 1 and said[0].startswith("[grader] isolation: identity autograder-worker-3")
    log.observe(box({**CONFINED, "namespaces": "off: the kernel refused (Operation not permitted)"}))
    assert len(said) == 3 and said[2] == ("[grader] warning: isolation layers off: namespaces "
                                          "(the grading goes on without them)")
    extra = log.as_extra_data()
    assert [s["namespaces"] for s in extra["isolation"]] == [
        CONFINED["namespaces"], "off: the kernel refused (Operation not permitted)"]
    assert IsolationLog(said.append).as_extra_data() == {}


def test_the_record_goes_to_staff_only_extra_data():
    record = TestRecord(key="m::t", function="t", name="t", outcome="passed", max_score=1.0,
                        score=1.0, visibility="visible")
    staff = {"isolation": [{"identity": "x (uid 1)", **CONFINED}]}
    results = build_results([record], mode="gradescope", staff=staff)
    validate(results)
    assert results["extra_data"] == staff
    shown = results["output"] + "".join(t["output"] for t in results["tests"])
    assert "landlock" not in shown and "isolation" not in shown
    assert "extra_data" not in build_results([record], mode="gradescope")


def test_staff_can_turn_kernel_layers_off_by_name():
    assert layers_turned_off({}) == []
    assert layers_turned_off({"AUTOGRADER_ISOLATION_OFF": " landlock , namespaces,"}) == [
        "landlock", "namespaces"]
    with pytest.raises(ValueError, match="unknown layer.*identity"):
        layers_turned_off({"AUTOGRADER_ISOLATION_OFF": "identity"})
