"""An UNSANDBOXED in-process stand-in for the engine's Sandbox, for the benchmark only.

`InProcessSandbox` is `engine.remote.Sandbox` with its worker process replaced by a loopback:
each request frame is decoded here and handed to the worker's own request handler
(`engine.worker.Worker.handle`) in this very process, and the answer frame it packs is read
back by the unchanged trusted side. Requests and answers still cross as protocol frames (JSON
header + .npy blobs, copied both ways), so the difference with the real Sandbox is exactly what
the sandbox costs: a separate process (start, numpy import, pipes, two context switches per
call), its confinement and its output capture. Student code runs with the grader's rights:
nothing here may ever be reachable from the autograder (engine/ never imports tools/).

    python -m tools.bench_inprocess --mode {sandbox,inprocess} --submission DIR [--public-only]

grades DIR with the suite (local mode, the reference solution available so that hidden tests
run too) with either the engine's Sandbox or this one, and prints one JSON line:
{"mode", "seconds" (the grading session: intake, pytest, results), "score", "max_score",
"tests", "passed", "requests" (remote calls made; in-process mode only, else null)}.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AUTOGRADER = ROOT / "autograder"
if str(AUTOGRADER) not in sys.path:
    sys.path.insert(0, str(AUTOGRADER))

from engine import protocol as P  # noqa: E402
from engine import remote, session  # noqa: E402
from engine.config import load_config  # noqa: E402
from engine.identity import lease_worker  # noqa: E402
from engine.plugin import GradingPlugin, run_suite  # noqa: E402
from engine.sandbox import ChannelClosed  # noqa: E402
from engine.worker import SubmissionFinder, Worker  # noqa: E402


class LoopbackWorker(Worker):
    """The worker's request handler, answering into a byte buffer instead of a pipe."""

    def __init__(self):
        super().__init__(rfd=-1, wfd=-1)
        self.outbox = bytearray()

    def send(self, header: dict, blobs: list = ()) -> None:
        self.outbox += P.pack_frame(header, list(blobs), P.FROM_WORKER)


class _NoCapture:
    """What Sandbox expects of an output capture; output is collected per request instead."""

    def sync(self) -> None:
        pass


class InProcessChannel:
    """Duck-types engine.sandbox.WorkerProcess (what engine.remote uses of it), in-process.

    Importing the submission's packages goes through the worker's own SubmissionFinder,
    put first on sys.meta_path while the channel lives. Modules of the same names imported
    before are set aside meanwhile; `kill` removes the finder, forgets the submission's modules
    (the next channel imports them afresh, as a new worker would) and puts the others back.
    One channel at a time per process: two would share sys.modules.
    """

    def __init__(self, submission_dir: str, packages: tuple, output) -> None:
        self.pid = os.getpid()
        self.capture = _NoCapture()
        self._packages, self._output = tuple(packages), output
        self._worker = LoopbackWorker()
        self._finder = SubmissionFinder(submission_dir, list(packages))
        self._set_aside = self._take_modules()
        sys.meta_path.insert(0, self._finder)
        self._alive = True
        self.info = {"pid": self.pid, "uid": os.getuid(), "in_process": True}

    def send(self, data: bytes, deadline: float) -> None:
        if not self._alive:
            raise ChannelClosed("the in-process worker was discarded")
        view = memoryview(data)
        position = 0

        def read_exact(n: int) -> bytes:
            nonlocal position
            chunk, position = bytes(view[position:position + n]), position + n
            return chunk

        header, blobs = P.read_frame(read_exact, P.TO_WORKER)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            self._worker.handle(header, blobs)
        self._output.add(printed.getvalue().encode("utf-8", errors="replace"))

    def read_exact(self, n: int, deadline: float) -> bytes:
        outbox = self._worker.outbox
        if len(outbox) < n:
            raise ChannelClosed("the in-process worker has no answer")
        chunk = bytes(outbox[:n])
        del outbox[:n]
        return chunk

    def unsolicited(self) -> str | None:
        return None if self._alive else "eof"

    def alive(self) -> bool:
        return self._alive

    def kill(self, grace: float = 0.0) -> bool:
        if self._alive:
            self._alive = False
            if self._finder in sys.meta_path:
                sys.meta_path.remove(self._finder)
            self._take_modules()
            sys.modules.update(self._set_aside)
            self._worker.refs.clear()
        return True

    def _take_modules(self) -> dict:
        """Remove the modules of the submission's packages from sys.modules; return them."""
        names = [m for m in sys.modules if m.partition(".")[0] in self._packages]
        return {name: sys.modules.pop(name) for name in names}

    def exit_description(self) -> str:
        return "the in-process worker was discarded"


class InProcessSandbox(remote.Sandbox):
    """engine.remote.Sandbox whose worker is an InProcessChannel (no process, no confinement).

    Takes the Sandbox's arguments; python/user/limits are accepted and ignored.
    """

    def __init__(self, submission_dir, *, packages=("backprop",), **options):
        options.pop("user", None)
        super().__init__(submission_dir, packages=packages, **options)
        self.user = None  # nothing runs under another uid: close() must not sweep one
        self.requests = 0  # calls served (Sandbox.run), for the benchmark's figures

    def run(self, expr, *, keep: bool = False, timeout: float | None = None):
        self.requests += 1
        return super().run(expr, keep=keep, timeout=timeout)

    def _launch(self):
        return InProcessChannel(self.submission_dir, self.packages, self._output)


def grade_with(spec: session.SessionSpec, mode: str, opened: list | None = None) -> dict:
    """engine.session.grade(spec), with the engine's Sandbox ("sandbox") or ours ("inprocess").

    Every sandbox the session opens is appended to `opened` (if given).
    """
    opened = [] if opened is None else opened
    if mode == "sandbox":
        engine_factory = session.sandbox_factory(spec)

        def factory(root: str):
            opened.append(engine_factory(root))
            return opened[-1]
    elif mode == "inprocess":
        def factory(root: str):
            opened.append(InProcessSandbox(root, packages=(spec.config.package,),
                                           **{**spec.config.sandbox, **spec.sandbox_options}))
            return opened[-1]
    else:
        raise ValueError(f"unknown mode {mode!r}")
    started = time.monotonic()
    report = session.prepare(spec)
    plugin = GradingPlugin(suite_dir=spec.config.suite_dir, test_paths=session.suite_paths(spec),
                           mode=spec.mode, intake=report, sandbox_factory=factory,
                           solution_dir=spec.solution,
                           deadline=started + spec.config.limits.time_budget_seconds,
                           module_weights=spec.config.module_weights, log=lambda _m: None)
    run_suite(plugin, verbose=False)
    return session.results_of(spec, plugin, report, started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_inprocess",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("sandbox", "inprocess"), required=True)
    parser.add_argument("--submission", default=str(ROOT / "solution"))
    parser.add_argument("--suite", default=str(AUTOGRADER / "suite"))
    parser.add_argument("--solution", default=str(ROOT / "solution"))
    parser.add_argument("--public-only", action="store_true")
    args = parser.parse_args(argv)
    config = load_config(args.suite)
    lease = lease_worker()   # as root: a worker account no other grading uses meanwhile
    user = None if lease is None else lease.user
    work = session.make_work_dir(user)
    try:
        spec = session.SessionSpec(
            config=config, submission=Path(args.submission), work=work, mode="local",
            public_only=args.public_only, provided=session.default_provided(config),
            solution=Path(args.solution),
            sandbox_options={"python": session.worker_python(user=user), "user": lease})
        opened: list = []
        began = time.perf_counter()
        results = grade_with(spec, args.mode, opened)
        seconds = time.perf_counter() - began
    finally:
        if lease is not None:
            lease.release()
        shutil.rmtree(work, ignore_errors=True)
    tests = results["tests"]
    print(json.dumps({"mode": args.mode, "seconds": seconds, "score": results["score"],
                      "max_score": sum(t["max_score"] for t in tests), "tests": len(tests),
                      "passed": sum(t["status"] == "passed" for t in tests),
                      "requests": sum(getattr(sb, "requests", 0) for sb in opened) or None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
