"""Which isolation layers were in force for a grading, for staff (trusted side).

`IsolationLog.observe(sandbox)` is called after every test: it reads what the current worker
runs under (its leased identity, its memory limit, the kernel layers its hello and its start
reported, `engine.remote.Sandbox.confinement`) and logs a line the first time it sees a
combination ("[grader] isolation: ...", in `make autograde`'s output and Gradescope's stdout,
both staff-only). `as_extra_data()` goes into the top-level `extra_data` of results.json, which
Gradescope keeps for staff and never shows students. A layer that is off is a warning, named
with its reason, never a failed grading.
"""
from __future__ import annotations

from typing import Any, Callable

LAYERS = ("identity", "memory", "landlock", "namespaces")


def layers_of(sandbox: Any) -> dict:
    """{layer: what is in force, or "off: why"} for `sandbox`'s current worker ({} if none)."""
    confinement = getattr(sandbox, "confinement", None)
    if not isinstance(confinement, dict) or not confinement:
        return {}
    user = getattr(sandbox, "user", None)
    if user is None:
        identity = "off: the worker runs as the grader's own user (not root: no account to switch to)"
    else:
        identity = f"{user.name} (uid {user.uid}), leased for this grading alone"
    memory = getattr(getattr(sandbox, "limits", None), "memory_bytes", None)
    found = {"identity": identity,
             "memory": f"{memory / 2**20:.0f} MB of address space" if memory else "off: no limit"}
    found.update({str(k): str(v) for k, v in confinement.items()})
    return found


class IsolationLog:
    """The combinations of layers seen during one grading, in the order first seen."""

    def __init__(self, log: Callable[[str], None]):
        self.log = log
        self.seen: list[dict] = []

    def observe(self, sandbox: Any) -> None:
        layers = layers_of(sandbox)
        if layers and layers not in self.seen:
            self.seen.append(layers)
            self.log("[grader] isolation: " + "; ".join(f"{k} {v}" for k, v in layers.items()))
            off = [k for k, v in layers.items() if v.startswith("off:")]
            if off:
                self.log(f"[grader] warning: isolation layers off: {', '.join(off)} "
                         "(the grading goes on without them)")

    def as_extra_data(self) -> dict:
        """{"isolation": [...]} for results.json's top-level extra_data ({} if no worker ran)."""
        return {"isolation": [dict(s) for s in self.seen]} if self.seen else {}
