"""The pytest plugin that turns a grading suite's outcomes into Gradescope test records.

Grading tests are pytest functions with gradescope-utils decorators. Unlike
gradescope-utils' JSONTestRunner, every test ends up in the results with its
max score, whatever happens to it:

- passed: full weight, or the value given to `set_score` (`@partial_credit`);
- failed or errored (in the test or in a fixture): 0 or the partial score set
  before the failure, with a Markdown message (see engine.messages);
- skipped, xfailed, deselected by the time budget: 0, saying it did not run;
- in a module that failed to import or to collect: 0, the tests listed from
  the module's source (engine.discover), else one entry per module carrying its
  total from `[module_weights]`; see `GradingPlugin.finalize`.

Semantics the suite relies on:
- `@weight(w)` is per pytest item: each case of a parametrized test is worth w
  and is numbered `<number>.<k>` (k = 1, 2, ... in collection order), named
  `<name> [<case id>]`. A test's name is its docstring's first line, else its
  function name.
- `__score__`/`__leaderboard_value__` are cleared before every call, so partial
  scores never leak between cases; a partial score is clamped to [0, weight].
- `@pytest.mark.submission_files("a.py", ...)`: if intake did not find one of
  them, the test fails before any fixture runs, with intake's message.
- `@pytest.mark.depends_on("test_name" | "number" | "node id", ...)`: if a named
  test failed, this one's message starts with "This fails because ... fails".
- Fixtures: `sandbox` (session, engine.remote.Sandbox on the prepared copy),
  `submission` (the IntakeReport), `grading_mode` ("local" | "gradescope"),
  `solution_dir` (path of the reference solution, None when absent).
- Suites run with `--assert=plain`: write assertion messages, pytest's rewriting
  is off (its explanations show memory addresses and are not reproducible).

Visible and hidden tests (nothing of a hidden test may reach what the student sees):
- A test is visible when its record's visibility is "visible" (gradescope-utils'
  `@visibility`, "visible" by default; a suite keeps its hidden folder's tests
  non-visible, see tests/test_suite_static.py). Every other test is hidden.
- Tests that run no student code (no `sandbox` fixture, no dependency: the quiz) run first,
  whatever their visibility (visible ones first); then every visible test; then the hidden ones (a stable sort at
  the end of collection, else pytest's order). So the student's code sees no hidden test's
  input before the last visible test has its outcome and output, and a submission that eats
  the time budget cannot cost the tests that never run its code.
- Between the last visible and the first hidden test the worker is replaced
  (`Sandbox.restart()`): what the worker printed until then, even after its test
  ended, goes to the last visible test; the hidden tests run in a worker that never
  served a visible test. No restart when no worker is running (a run with only
  visible or only hidden tests, or whose visible tests never started one).
- Once a hidden test has started, no student output is attached to a visible test,
  and a visible test that would start (another plugin reordering after ours) fails
  without running with BROKEN_SUITE.
- A visible test that `depends_on` a hidden one is logged (a suite bug); its
  failure message never names the hidden test (engine.results.shown_with).

Memory (engine.memory): when a test fails because the student's code ran out of memory,
its message (after the test's notes) starts with "Your code used more than N MB during test X"
(N: the worker's limit in MiB, X: the test's number and name), followed by the usual
explanation, and the worker is replaced, so that the next test starts afresh. Out of
memory means: a `RemoteError` whose type is `MemoryError` in the failure's exception
chain, or raised by any call of the test even if the suite caught it (the `sandbox`
fixture's `run`, which call/method/attr/value go through, is watched), or the worker
SIGKILLed while the kernel's OOM-kill counter rose (engine.resources.oom_kill_count).

Time (engine.timeouts): when a call runs past its timeout, what it called is not called again
in this grading; a later request calling all of it raises `NotCalledAgain` at once, and the
test's message names the test where it timed out (never a hidden one in a visible test).
"""
from __future__ import annotations

import math
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import pytest

from engine import resources
from engine.discover import StaticDiscoveryError, discover_module
from engine.isolation import IsolationLog
from engine.memory import memory_failure, memory_text
from engine.messages import describe
from engine.escape import block, plain
from engine.results import TestRecord, matches
from engine.sandbox import CallTimeout
from engine.timeouts import TimeoutLog

VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
BROKEN_SUITE = ("This test could not be run because of a problem in the autograder, not in your "
                "code. Please tell your instructor.")
NOT_RUN = ("Not run: grading stopped before this test finished (the time budget ran out or the "
           "grader failed).")
OUT_OF_TIME = "Not run: the grading time budget ran out before this test started."
MAX_STUDENT_OUTPUT = 4_000


def _unwrap_chain(fn: Any) -> list[Any]:
    """`fn` and every function it wraps (functools.wraps' __wrapped__), outermost first."""
    chain: list[Any] = []
    while fn is not None and len(chain) < 50:
        fn = getattr(fn, "__func__", fn)  # a method's function
        if any(fn is f for f in chain):
            break
        chain.append(fn)
        fn = getattr(fn, "__wrapped__", None)
    return chain


def _take_attr(chain: list[Any], name: str) -> tuple[bool, Any]:
    for fn in chain:
        if name in getattr(fn, "__dict__", {}):
            return True, fn.__dict__[name]
    return False, None


def _clear_attr(chain: list[Any], name: str) -> None:
    for fn in chain:
        getattr(fn, "__dict__", {}).pop(name, None)


def _leaderboard_value(value: Any) -> Any:
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return str(value)
    return value if not isinstance(value, float) or math.isfinite(value) else str(value)


def _weight(fn: Any, log: Callable[[str], None]) -> float:
    raw = getattr(fn, "__weight__", None)
    try:
        value = float(raw or 0.0)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < 0:
        log(f"[grader] {getattr(fn, '__name__', fn)}: weight {raw!r} is not a number >= 0; using 0")
        return 0.0
    return value


def display_name(fn: Any) -> str:
    """A test's name: its docstring's first line, else the function's name."""
    doc = getattr(fn, "__doc__", None) or ""
    first = next((line.strip() for line in doc.splitlines() if line.strip()), "")
    return first or getattr(fn, "__name__", "test")


class GradingPlugin:
    """Collects one TestRecord per test; the caller builds results from `finalize()`.

    suite_dir:        the suite's root (pytest's rootdir); records are keyed by node id
    test_paths:       the folders/files given to pytest (for modules that never collected)
    intake:           IntakeReport or None (then `submission_files` is not checked)
    sandbox_factory:  root folder -> Sandbox, called once, lazily, by the `sandbox` fixture
    deadline:         time.monotonic() value after which no test starts
    module_weights:   suite-relative module path -> points, fallback for unreadable modules
    oom_counter:      () -> OOM kills so far or None (engine.resources.oom_kill_count)

    run_order: node ids in the order their tests started.
    """

    def __init__(self, *, suite_dir: Path, test_paths: list[Path], mode: str, intake: Any = None,
                 sandbox_factory: Callable[[str], Any] | None = None,
                 solution_dir: Path | None = None, deadline: float | None = None,
                 module_weights: dict[str, float] | None = None,
                 log: Callable[[str], None] = print,
                 oom_counter: Callable[[], int | None] = resources.oom_kill_count):
        self.suite_dir = Path(suite_dir).resolve()
        self.test_paths = [Path(p).resolve() for p in test_paths]
        self.mode = mode
        self.intake = intake
        self.solution = solution_dir
        self.deadline = deadline
        self.module_weights = dict(module_weights or {})
        self.log = log
        self._factory = sandbox_factory
        self._sandbox: Any = None
        self._lock = threading.Lock()
        self.records: dict[str, TestRecord] = {}
        self.collect_problems: dict[str, str] = {}   # collector node id -> message for its tests
        self.collection_started = False
        self._chains: dict[str, list[Any]] = {}
        self._meta: dict[str, dict] = {}
        self._notes: dict[str, list[str]] = {}   # node id -> what the test said through `note`
        self._unscored: dict[str, str] = {}      # node id -> why its points are decided elsewhere
        self._oom_counter = oom_counter
        self.run_order: list[str] = []
        self._hidden_phase = False               # a hidden test has started
        self._last_visible: str | None = None    # the visible test that started last
        self._base: dict[str, str] = {}          # node id -> its output without what was printed
        self._printed: dict[str, str] = {}       # node id -> what the student's code printed
        self._started: dict[str, tuple] = {}     # node id -> (OOM kills, worker generation, pid)
        self._current: str | None = None         # the test running now
        self._out_of_memory: set[str] = set()    # tests a call of which raised MemoryError
        self.isolation = IsolationLog(log)       # the layers the workers ran under, for staff
        self._timeouts: TimeoutLog | None = None  # what timed out so far (engine.timeouts)

    # ----- fixtures ---------------------------------------------------------------
    @pytest.fixture(scope="session")
    def sandbox(self):
        """The worker running the student's code (engine.remote.Sandbox), started on first use."""
        if self._factory is None or self.intake is None:
            raise RuntimeError("no sandbox is available in this grading run")
        self._sandbox = self._factory(self.intake.root)
        self._watch_calls(self._sandbox)
        try:
            yield self._sandbox
        finally:
            sb, self._sandbox = self._sandbox, None
            sb.close()

    def _watch_calls(self, sb: Any) -> None:
        """Every call of engine.remote.Sandbox goes through `run`: note the tests in which a call
        ended in the student's MemoryError, even if the suite then catches it, and refuse a
        request that calls what timed out before (engine.timeouts)."""
        run = getattr(sb, "run", None)
        if not callable(run):
            return
        if self._timeouts is None:
            self._timeouts = TimeoutLog(tuple(getattr(sb, "packages", ())))

        def watched(expr, *args, **kwargs):
            rec = self.records.get(self._current) if self._current is not None else None
            visible = rec is None or rec.visibility == "visible"
            refusal = self._timeouts.refusal(expr, visible)
            if refusal is not None:
                raise refusal
            try:
                return run(expr, *args, **kwargs)
            except CallTimeout:
                limit = kwargs.get("timeout")
                self._timeouts.record(expr, getattr(sb, "timeout", 0) if limit is None else limit,
                                      "" if rec is None else f"{rec.number or ''} {rec.name}".strip(),
                                      visible)
                raise
            except Exception as exc:
                if self._current is not None and memory_failure(exc) == "MemoryError":
                    self._out_of_memory.add(self._current)
                raise
        try:
            sb.run = watched
        except AttributeError:  # a sandbox that does not let us: the exceptions still tell
            pass

    @pytest.fixture(scope="session")
    def submission(self):
        """The IntakeReport: found files, missing ones with messages, paths of the copies."""
        return self.intake

    @pytest.fixture(scope="session")
    def grading_mode(self):
        return self.mode

    @pytest.fixture(scope="session")
    def solution_dir(self):
        return self.solution

    @pytest.fixture
    def note(self, request):
        """note(text): Markdown that becomes this test's output whatever its outcome (a failure's
        message follows it). For what a passing test must still tell the student."""
        notes = self._notes.setdefault(request.node.nodeid, [])
        return lambda text: notes.append(str(text))

    @pytest.fixture
    def unscored(self, request):
        """unscored(reason): this test checks what it can, but its points cannot be decided in
        this grading (the quiz locally, where the key is not shipped): it is listed with 0 of 0
        points, passed or failed as it ends, with `reason` first in its output."""
        nodeid = request.node.nodeid
        return lambda reason: self._unscored.__setitem__(nodeid, str(reason))

    def close_sandbox(self) -> None:
        """Stop the worker if it is still running (idempotent)."""
        sb, self._sandbox = self._sandbox, None
        if sb is not None:
            try:
                sb.close()
            except Exception as exc:  # the caller kills the worker's processes anyway
                self.log(f"[grader] closing the sandbox failed: {exc!r}")

    # ----- collection -------------------------------------------------------------
    def pytest_configure(self, config):
        config.addinivalue_line("markers", "submission_files(*names): student files the test needs")
        config.addinivalue_line("markers", "depends_on(*tests): tests this one builds on")

    def pytest_collectstart(self, collector):
        self.collection_started = True

    def pytest_collectreport(self, report):
        if report.failed:
            self.collect_problems[report.nodeid] = BROKEN_SUITE
            self.log(f"[grader] collecting {report.nodeid or 'the suite'} failed:\n{report.longrepr}")
        elif report.skipped:
            reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
            self.collect_problems[report.nodeid] = f"Not run (skipped): {reason}"

    @pytest.hookimpl(trylast=True)  # after any deselection by the suite's own conftest
    def pytest_collection_modifyitems(self, items):
        case_index: dict[str, int] = {}
        numbers: dict[str, str] = {}
        for item in items:
            fn = getattr(item, "obj", None)
            base_key = item.nodeid.split("[", 1)[0]
            number = getattr(fn, "__number__", None)
            number = None if number is None else str(number)
            name = display_name(fn)
            if hasattr(item, "callspec"):
                case_index[base_key] = k = case_index.get(base_key, 0) + 1
                number = f"{number}.{k}" if number is not None else None
                name = f"{name} [{item.callspec.id}]"
            visibility = getattr(fn, "__visibility__", "visible")
            if visibility not in VISIBILITIES:
                self.log(f"[grader] {item.nodeid}: unknown visibility {visibility!r}, using hidden")
                visibility = "hidden"
            if number is not None and number in numbers:
                self.log(f"[grader] {item.nodeid} and {numbers[number]} share number {number}")
            if number is not None:
                numbers[number] = item.nodeid
            deps = tuple(a for m in item.iter_markers("depends_on") for a in m.args)
            self.records[item.nodeid] = TestRecord(
                key=item.nodeid, function=getattr(item, "originalname", item.name), name=name,
                max_score=_weight(fn, self.log), number=number,
                visibility=visibility, tags=tuple(getattr(fn, "__tags__", ()) or ()),
                depends_on=deps, output=NOT_RUN)
            self._chains[item.nodeid] = _unwrap_chain(fn)
            self._meta[item.nodeid] = {
                "hide": getattr(fn, "__hide_errors__", None),
                "board": (getattr(fn, "__leaderboard_column__", None),
                          getattr(fn, "__leaderboard_sort_order__", "desc"))}
        # The tests that run no student code (no `sandbox` fixture, no dependency: the quiz),
        # whatever their visibility, so that a submission that eats the time budget cannot
        # cost them; then every visible test, then the hidden ones (see the docstring); else
        # pytest's order.
        items[:] = sorted(items, key=lambda i: (self._phase(i), not self._visible(i.nodeid)))
        self._check_dependencies()

    def _phase(self, item) -> int:
        """0: runs no student code; 1: a visible test; 2: a hidden one (the order they run in)."""
        return 0 if self._runs_no_student_code(item) else 1 if self._visible(item.nodeid) else 2

    def _runs_no_student_code(self, item) -> bool:
        rec = self.records.get(item.nodeid)
        return ("sandbox" not in getattr(item, "fixturenames", ("sandbox",))
                and rec is not None and not rec.depends_on)

    def _visible(self, nodeid: str) -> bool:
        rec = self.records.get(nodeid)
        return rec is not None and rec.visibility == "visible"

    def _check_dependencies(self) -> None:
        """Log every visible test that depends on a hidden one (a suite bug: the hidden test runs
        later, and the visible test's message must not name it, so the hint is left out)."""
        records = list(self.records.values())
        for rec in records:
            if rec.visibility != "visible":
                continue
            for ref in rec.depends_on:
                for other in records:
                    if other is not rec and other.visibility != "visible" and matches(ref, other):
                        self.log(f"[grader] {rec.key} is visible but depends on {other.key} "
                                 f"({other.visibility}): a visible test must not depend on a "
                                 "hidden one; its failure message will not mention it")

    # ----- running ----------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        self.run_order.append(item.nodeid)
        self._current = item.nodeid
        phase = self._phase(item)
        if phase == 1:
            if self._hidden_phase:  # only if something reordered the tests after us
                self.log(f"[grader] {item.nodeid} is visible but was scheduled after hidden "
                         "tests: not run, so that nothing of the hidden tests can reach it")
                pytest.fail(BROKEN_SUITE, pytrace=False)
            self._last_visible = item.nodeid
        elif phase == 2 and not self._hidden_phase:
            if self._last_visible is not None:  # the first hidden test: a fresh worker
                self._replace_worker(self._last_visible)
            self._hidden_phase = True
        self._started[item.nodeid] = (self._oom_count(), *self._worker_state())
        chain = self._chains.get(item.nodeid, [])
        _clear_attr(chain, "__score__")
        _clear_attr(chain, "__leaderboard_value__")
        if self.deadline is not None and time.monotonic() > self.deadline:
            pytest.fail(OUT_OF_TIME, pytrace=False)
        if self.intake is not None:
            for marker in item.iter_markers("submission_files"):
                for name in marker.args:
                    if not self.intake.has(name):
                        pytest.fail(self.intake.message_for(name), pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if item.nodeid in self.records:
            with self._lock:
                fresh = self._update(item, call, report)
            if fresh:  # out of memory: the next test gets a new worker
                self._replace_worker(item.nodeid)
        if self._sandbox is not None and call.when == "call":
            try:
                self.isolation.observe(self._sandbox)
            except Exception as exc:  # what is recorded for staff never costs the grading
                self.log(f"[grader] could not record the isolation layers: {exc!r}")
        return report

    # ----- the worker between tests -------------------------------------------------
    def _oom_count(self) -> int | None:
        try:
            return self._oom_counter()
        except Exception:  # a counter we cannot read says nothing
            return None

    def _worker_state(self) -> tuple[int, int | None]:
        """(workers started so far, pid of the current one or None)."""
        sb = self._sandbox
        if sb is None:
            return 0, None
        return int(getattr(sb, "generation", 0) or 0), getattr(sb, "worker_pid", None)

    def _replace_worker(self, nodeid: str) -> None:
        """End the worker after test `nodeid`: what it printed until its end goes to that test,
        and a fresh worker (`Sandbox.restart()`) serves the next ones. Nothing to do when no
        worker runs (the next call starts a fresh one anyway)."""
        sb = self._sandbox
        if sb is None:
            return
        self._attach_printed(nodeid, self._student_output())
        if getattr(sb, "worker_pid", None) is not None:
            try:
                sb.restart()  # kills the old worker (draining its output) before starting one
            except Exception as exc:  # the old worker is dead; the next call starts one
                self.log(f"[grader] restarting the worker after {nodeid} failed: {exc!r}")
        # What the old worker printed before it died; a new worker prints nothing of the
        # student's before its first call (the student's package is imported on demand).
        self._attach_printed(nodeid, self._student_output())

    def _attach_printed(self, nodeid: str, text: str) -> None:
        with self._lock:
            self._attach_printed_locked(nodeid, text)

    def _attach_printed_locked(self, nodeid: str, text: str) -> None:
        """Add what the student's code printed to test `nodeid`'s output (never to a visible
        test once a hidden one has started)."""
        rec = self.records.get(nodeid)
        if not text or rec is None:
            return
        if self._hidden_phase and rec.visibility == "visible":
            self.log(f"[grader] output of the hidden phase withheld from visible test {nodeid}")
            return
        before = self._printed.get(nodeid)
        both = f"{before}\n{text}" if before else text
        self._printed[nodeid] = plain(both, MAX_STUDENT_OUTPUT).strip()
        base = self._base.setdefault(nodeid, rec.output)
        rec.output = f"{base}\n\n**Your code printed:**\n\n{block(self._printed[nodeid])}"

    def _memory_failure(self, nodeid: str, exc: BaseException | None) -> str | None:
        """memory_failure() for test `nodeid`, with what changed since it started."""
        oom0, gen0, pid0 = self._started.get(nodeid, (None, 0, None))
        oom1 = self._oom_count() if oom0 is not None else None
        gen1, pid1 = self._worker_state()
        ran = (1 if pid0 is not None else 0) + max(gen1 - gen0, 0)  # workers alive in the test
        ended = ran - (1 if pid1 is not None else 0) > 0
        worker_exit = str(getattr(self._sandbox, "last_exit", "") or "") if ended else ""
        kind = memory_failure(exc, oom0 is not None and oom1 is not None and oom1 > oom0,
                              worker_exit)
        return kind or ("MemoryError" if nodeid in self._out_of_memory else None)

    def _student_output(self) -> str:
        take = getattr(self._sandbox, "take_output", None)
        if take is None:
            return ""
        try:
            text = take() or ""
        except Exception as exc:  # a dead worker has nothing more to say
            self.log(f"[grader] could not read the worker's output: {exc!r}")
            return ""
        return plain(text, MAX_STUDENT_OUTPUT).strip()

    def _update(self, item, call, report) -> bool:
        """Record a phase's report; True if the test ran out of memory (replace the worker)."""
        rec = self.records[item.nodeid]
        meta = self._meta[item.nodeid]
        rec.duration += report.duration
        exc = call.excinfo.value if call.excinfo is not None else None
        if report.when == "teardown":
            if report.failed:
                self.log(f"[grader] teardown of {item.nodeid} failed:\n{report.longrepr}")
            return False
        if report.when == "setup" and report.passed:
            return False
        out_of_memory = None
        xfail = getattr(report, "wasxfail", None)
        if report.passed:
            rec.outcome, rec.output = ("xpassed" if xfail is not None else "passed"), ""
        elif report.skipped and xfail is not None:
            rec.outcome, rec.output = "xfailed", f"Expected to fail{': ' + xfail if xfail else '.'}"
        elif report.skipped:
            reason = describe(exc) if exc is not None else str(report.longrepr)
            rec.outcome, rec.output = "skipped", f"Not run (skipped): {reason}"
        else:
            rec.outcome = "error" if report.when == "setup" else "failed"
            text = (describe(exc, call.excinfo, report.when) if exc is not None
                    else str(report.longrepr))
            rec.output = meta["hide"] if meta["hide"] else text
            out_of_memory = self._memory_failure(item.nodeid, exc)
            if out_of_memory:
                limit = getattr(getattr(self._sandbox, "limits", None), "memory_bytes", None)
                rec.output = (memory_text(limit, rec.number, rec.name, out_of_memory)
                              + "\n\n" + rec.output)
        notes = "\n\n".join(self._notes.get(item.nodeid, ()))
        if notes and rec.outcome not in ("skipped", "xfailed"):
            rec.output = f"{notes}\n\n{rec.output}" if rec.output else notes
        chain = self._chains[item.nodeid]
        has_score, score = _take_attr(chain, "__score__")
        if has_score and isinstance(score, (int, float)) and math.isfinite(score):
            rec.score = min(max(float(score), 0.0), rec.max_score)
        else:
            rec.score = rec.max_score if rec.outcome in ("passed", "xpassed") else 0.0
        column, order = meta["board"]
        has_value, value = _take_attr(chain, "__leaderboard_value__")
        if column is not None and has_value:
            rec.leaderboard = (str(column), _leaderboard_value(value), order)
        rec.unscored = self._unscored.get(item.nodeid, "")
        self._base[item.nodeid] = rec.output
        self._printed.pop(item.nodeid, None)
        if not (self._hidden_phase and rec.visibility == "visible"):
            # (a visible test set up after a hidden one failed without running: what is
            # pending was printed in the hidden phase and stays for the next hidden test)
            self._attach_printed_locked(item.nodeid, self._student_output())
        return out_of_memory is not None

    # ----- after the session ------------------------------------------------------
    def _module_files(self, where: Path) -> list[Path]:
        """Test modules at or under `where` that this run was asked to collect."""
        if where.is_file():
            found = {where}
        else:
            found = set(where.rglob("test_*.py")) | set(where.rglob("*_test.py"))
        return sorted(p for p in found if "__pycache__" not in p.parts and any(
            p == t or p.is_relative_to(t) for t in self.test_paths))

    def _unrun_targets(self) -> list[tuple[Path, str | None, str]]:
        """(module file, qualname or None, why) for every part of the suite that never ran."""
        targets = []
        if not self.collection_started:
            for path in self.test_paths:
                targets += [(m, None, BROKEN_SUITE) for m in self._module_files(path)]
        for nodeid, text in self.collect_problems.items():
            path_part, _, qual = nodeid.partition("::")
            where = self.suite_dir / path_part if path_part else self.suite_dir
            for module in self._module_files(where) if where.exists() else []:
                targets.append((module, qual or None, text))
        return targets

    def _static_records(self, module: Path, qual: str | None, why: str) -> list[TestRecord]:
        rel = module.relative_to(self.suite_dir).as_posix() if module.is_relative_to(
            self.suite_dir) else module.name
        try:
            tests = discover_module(module, rel, only=qual)
        except StaticDiscoveryError as exc:
            weight = self.module_weights.get(rel)
            if weight is None:
                self.log(f"[grader] {rel}: {exc}; no [module_weights] entry, its points are lost")
            return [TestRecord(key=rel, function=rel, name=f"Tests in {rel}",
                               max_score=weight or 0.0, outcome="error", output=why)]
        records = []
        for t in tests:
            for k in range(1, t.cases + 1):
                case = f"[case {k}]" if t.parametrized else ""
                number = t.number if not t.parametrized or t.number is None else f"{t.number}.{k}"
                records.append(TestRecord(
                    key=f"{rel}::{t.qualname}{case}", function=t.function,
                    name=f"{t.name} {case}".strip(), max_score=t.weight, number=number,
                    visibility=t.visibility if t.visibility in VISIBILITIES else "hidden",
                    tags=t.tags, outcome="error", output=why))
        return records

    def finalize(self, expected_total: float | None = None) -> list[TestRecord]:
        """Every record: the collected tests, then those of modules that could not be collected.

        expected_total: if given and the maxima add up to less, one more entry carries the
        missing points, so the maximum never shrinks because the suite broke.
        """
        with self._lock:
            records = [TestRecord(**vars(r)) for r in self.records.values()]
        seen = {r.key for r in records}
        for module, qual, why in self._unrun_targets():
            for rec in self._static_records(module, qual, why):
                if rec.key not in seen and not any(s.startswith(rec.key + "[") for s in seen):
                    seen.add(rec.key)
                    records.append(rec)
        total = sum(r.max_score for r in records)
        if expected_total is not None and total < expected_total - 1e-6:
            self.log(f"[grader] the tests add up to {total} points, expected {expected_total}")
            records.append(TestRecord(key="engine::unaccounted", function="unaccounted",
                                      name="Tests that could not be run", outcome="error",
                                      max_score=expected_total - total, output=BROKEN_SUITE))
        elif expected_total is not None and total > expected_total + 1e-6:
            self.log(f"[grader] the tests add up to {total} points, more than {expected_total}")
        return records


def pytest_args(suite_dir: Path, test_paths: list[Path], verbose: bool) -> list[str]:
    """The command line every grading run uses (no ini file, no cache, no assertion rewriting)."""
    args = [str(p) for p in test_paths]
    args += [f"--rootdir={suite_dir}", "-c", os.devnull, f"--confcutdir={suite_dir}",
             "--continue-on-collection-errors", "--assert=plain", "--import-mode=importlib",
             "-p", "no:cacheprovider", "-p", "no:stepwise", "-W", "ignore::DeprecationWarning"]
    return args + (["-v", "--tb=short", "-rfE", "--capture=no"] if verbose else ["-p", "no:terminal"])


def run_suite(plugin: GradingPlugin, verbose: bool, collect_only: bool = False) -> int:
    """Run pytest in this process with `plugin`; returns pytest's exit code.

    collect_only: list the tests without running any (their records stay "not run").
    The suite folder is put on sys.path (its helper modules import by plain name) and
    no bytecode is written into it.
    """
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    sys.dont_write_bytecode = True
    suite = str(plugin.suite_dir)
    if suite not in sys.path:
        sys.path.insert(0, suite)
    try:
        args = pytest_args(plugin.suite_dir, plugin.test_paths, verbose)
        return int(pytest.main(args + (["--collect-only"] if collect_only else []),
                               plugins=[plugin]))
    except Exception:  # pytest itself broke: what was recorded (and finalize) still stands
        plugin.log("[grader] pytest raised:\n" + traceback.format_exc())
        return -1
    finally:
        plugin.close_sandbox()
