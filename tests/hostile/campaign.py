"""Grading submissions through the local Gradescope simulation, two at a time, and inspecting
what each run left behind.

The `campaign` fixture (module scope) gives the session's `Campaign` (kept in the config's
stash, so both test modules share its runs) after starting the runs its module lists in
`AUTOGRADE_RUNS`; they are all finished when the module ends, so no run competes with another
module's tests for the CPU. The autograder zip is built once. Each run is
``python -m engine.autograde --keep`` with its own TMPDIR (its AUTOGRADER_ROOT, work folder and
worker scratch land in a folder of its own) and, as root, its own throwaway worker user: every
run kills all processes of its worker's uid at the end, so two parallel runs must not share one.
`campaign.get(name)` waits for a run and returns its `Run`.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import pwd
import queue
import re
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import corpus

AUTOGRADER = corpus.REPO / "autograder"
if str(AUTOGRADER) not in sys.path:
    sys.path.insert(0, str(AUTOGRADER))

from engine.results import validate  # noqa: E402
from engine.sandbox import list_processes  # noqa: E402

IS_ROOT = os.geteuid() == 0
WORKER_USERS = ("bpgrade-w1", "bpgrade-w2")
PARALLEL = 2
RUN_TIMEOUT = 300                 # seconds for one autograde run (the engine stops at 510)
# the order runs are started in: the longest first, then what the end-to-end tests need
RUN_ORDER = ("faults", "all_loops", "solution", "skeleton", "solution_zip", "forge", "cheat", "zip_links")
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")
EVIDENCE = re.compile(r"^HOSTILE ([\w-]+): (.*)$", re.M)
_KEY = pytest.StashKey()


class NoWorkerUsers(RuntimeError):
    """The throwaway worker accounts do not exist and cannot be created."""


def ensure_worker_users() -> list[pwd.struct_passwd]:
    """The throwaway worker accounts, created (system users, no home, no shell) if missing."""
    found = []
    for name in WORKER_USERS:
        try:
            found.append(pwd.getpwnam(name))
            continue
        except KeyError:
            pass
        try:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", name], check=True, capture_output=True, text=True)
            found.append(pwd.getpwnam(name))
        except (OSError, subprocess.CalledProcessError, KeyError) as exc:
            raise NoWorkerUsers(f"cannot create the worker user {name}: "
                                f"{getattr(exc, 'stderr', '') or exc}") from None
    return found


def files_owned_by(uid: int, folders) -> list[str]:
    """Every file or folder under `folders` owned by `uid` (symbolic links not followed)."""
    owned = []
    for folder in folders:
        for where, dirs, files in os.walk(folder):
            for name in dirs + files:
                path = os.path.join(where, name)
                try:
                    if os.lstat(path).st_uid == uid:
                        owned.append(path)
                except OSError:
                    continue
    return owned


def left_in_shared_folders(uid: int) -> list[str]:
    """What `uid` owns directly in a world-writable folder (/tmp, ...) or in a world-writable
    folder inside one: the only places outside its scratch an unprivileged worker can write."""
    owned = []
    for folder in WORLD_WRITABLE:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_uid == uid:
                owned.append(entry.path)
            elif entry.is_dir(follow_symlinks=False) and st.st_mode & 0o002:
                owned += files_owned_by(uid, [entry.path])
    return sorted(owned)


def remove_files_of(uid: int) -> None:
    """Delete what a worker uid left in the shared folders (the uid is ours to throw away)."""
    for path in left_in_shared_folders(uid):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            Path(path).unlink(missing_ok=True)


@dataclass
class Run:
    """One autograde run and what it left behind."""

    name: str
    user: str | None
    uid: int | None
    area: Path                    # the run's TMPDIR: its AUTOGRADER_ROOT is kept in here
    returncode: int
    log: str                      # what engine.autograde printed (run_autograder's log included)
    started: float                # time.time()
    ended: float
    results: dict | None          # results.json as engine.autograde copied it out
    text: str                     # its exact text
    root: Path | None             # the kept AUTOGRADER_ROOT
    leftover_processes: list = field(default_factory=list)   # of the worker's uid, at the end

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def check(self) -> dict:
        """The results, after asserting the run produced a valid results.json."""
        assert self.results is not None, f"{self.name}: no results.json\n{self.log[-4000:]}"
        validate(self.results)
        return self.results

    def tests(self) -> dict:
        """number (or name) -> test entry."""
        return {t.get("number") or t["name"]: t for t in self.check()["tests"]}

    def disk_text(self) -> str:
        """results.json as it is now in the kept AUTOGRADER_ROOT."""
        return (self.root / "results" / "results.json").read_text(encoding="utf-8")

    def evidence(self, attack: str) -> list[tuple[str, str]]:
        """(test number, text) of every "HOSTILE <attack>: text" line in the tests' outputs."""
        return [(key, m.group(2)) for key, t in self.tests().items()
                for m in EVIDENCE.finditer(t["output"]) if m.group(1) == attack]

    def fired_in(self, attack: str) -> set[str]:
        return {key for key, _ in self.evidence(attack)}

    def settle(self, seconds: float) -> None:
        """Wait until `seconds` have passed since the run ended."""
        time.sleep(max(0.0, self.ended + seconds - time.time()))


def autograde(name: str, submission: Path, user: str | None, zip_path: Path, area: Path,
              private: Path) -> Run:
    """Grade `submission` with engine.autograde, as a subprocess whose TMPDIR is `area`."""
    area.mkdir()
    area.chmod(0o755)   # the worker's scratch is made in here: it must be able to reach it
    out = private / f"{name}-results.json"
    env = {**os.environ, "TMPDIR": str(area), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    command = [sys.executable, "-m", "engine.autograde", "--submission", str(submission),
               "--results", str(out), "--zip", str(zip_path), "--keep"]
    if user is not None:
        command += ["--worker-user", user]
    started = time.time()
    proc = subprocess.run(command, cwd=AUTOGRADER, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)
    ended = time.time()
    uid = pwd.getpwnam(user).pw_uid if user is not None else None
    leftover = ([p for p in list_processes() if uid in p.uids and p.state not in ("Z", "X")]
                if uid is not None else [])
    roots = [p for p in area.iterdir() if (p / "results").is_dir()]
    text = out.read_text(encoding="utf-8") if out.is_file() else ""
    return Run(name=name, user=user, uid=uid, area=area, returncode=proc.returncode,
               log=proc.stdout + proc.stderr, started=started, ended=ended,
               results=json.loads(text) if text else None, text=text,
               root=roots[0] if len(roots) == 1 else None, leftover_processes=leftover)


class Campaign:
    """All the autograde runs of one pytest session (see the module docstring)."""

    def __init__(self):
        self.users = ensure_worker_users() if IS_ROOT else []
        for entry in self.users:
            remove_files_of(entry.pw_uid)
        self.tag = secrets.token_hex(4)
        self.base = Path(f"/tmp/agw-campaign-{self.tag}")
        self.base.mkdir(mode=0o755)
        self.base.chmod(0o755)
        self.private = self.base / "private"   # zip, submissions, results copies: not the worker's
        self.private.mkdir(mode=0o700)
        self.zip_path = self.private / "autograder.zip"
        built = subprocess.run([sys.executable, "-m", "engine.build", "--out", str(self.zip_path)],
                               cwd=AUTOGRADER, capture_output=True, text=True)
        if built.returncode != 0:
            shutil.rmtree(self.base)
            raise RuntimeError(f"engine.build failed:\n{built.stdout}{built.stderr}")
        self._free = queue.Queue()
        for name in (WORKER_USERS if IS_ROOT else (None,) * PARALLEL):
            self._free.put(name)
        self._pool = concurrent.futures.ThreadPoolExecutor(PARALLEL, "autograde")
        self._futures: dict[str, concurrent.futures.Future] = {}

    @classmethod
    def of(cls, config) -> "Campaign":
        """The session's campaign (created on first use, closed when the session ends)."""
        if _KEY not in config.stash:
            try:
                config.stash[_KEY] = cls()
            except NoWorkerUsers as exc:
                pytest.skip(f"{exc}: two parallel runs need a worker user each")
            config.add_cleanup(config.stash[_KEY].close)
        return config.stash[_KEY]

    def start(self, names) -> None:
        """Start these runs (in the background, the longest first) unless already started."""
        for name in sorted(names, key=lambda n: RUN_ORDER.index(n) if n in RUN_ORDER else 99):
            self._submit(name)

    def _submit(self, name: str) -> None:
        if name not in self._futures:
            self._futures[name] = self._pool.submit(self._run, name)

    def _run(self, name: str) -> Run:
        user = self._free.get()
        try:
            submission = corpus.SUBMISSIONS[name](self.private / f"{name}-submission", self.tag)
            return autograde(name, submission, user, self.zip_path, self.base / name,
                             self.private)
        finally:
            self._free.put(user)

    def get(self, name: str) -> Run:
        self._submit(name)
        return self._futures[name].result()

    def wait(self, name: str) -> None:
        """Wait for a started run to end, whatever its outcome."""
        concurrent.futures.wait([self._futures[name]])

    def markers(self) -> list[str]:
        """Files an attack of this campaign left directly in a world-writable folder."""
        return sorted(str(p) for folder in WORLD_WRITABLE
                      for p in Path(folder).glob(f"agw-hostile-{self.tag}*"))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.base, ignore_errors=True)
        for path in self.markers():
            Path(path).unlink(missing_ok=True)
        for entry in self.users:
            remove_files_of(entry.pw_uid)


@pytest.fixture(scope="module")
def campaign(request) -> Campaign:
    """The session's autograde runs, with those of this module's AUTOGRADE_RUNS started; they
    are waited for when the module ends (import this fixture into a test module to use it)."""
    runs = getattr(request.module, "AUTOGRADE_RUNS", ())
    session_campaign = Campaign.of(request.config)
    session_campaign.start(runs)
    yield session_campaign
    for name in runs:
        session_campaign.wait(name)
