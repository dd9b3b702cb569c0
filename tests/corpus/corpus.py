"""Submissions with known verdicts, and grading them through the local Gradescope simulation.

    python tests/corpus/corpus.py [--out DIR] [NAME ...]   # grade (all by default), print a verdict report

The corpus is the reference solution (full marks), correct variants written in other styles
(tests/corpus/variants/<name>/: files that replace the solution's, full marks), and mutants
(tests/corpus/mutants.toml: one realistic bug each, as exact text replacements applied to a
copy of the solution). Every submission is graded by engine.autograde with one prebuilt
autograder zip, several at a time, each worker process under its own user when we are root
(run.py and Sandbox.close kill every process of the worker's uid at the end of a run).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent
SOLUTION = ROOT / "solution"
SUBMITTED = ("backprop", "hyperparams.toml", "answers.toml")  # what a student uploads
WORKER_USERS = ("agw-verdict-1", "agw-verdict-2")


@dataclass(frozen=True)
class Mutant:
    """One bug: replacements [(file, old, new)] applied to the solution, and the expected verdict.

    fails: the numbers of the tests that must fail (e.g. "1.2", "1.4.3");
    may_fail: number prefixes of tests allowed to fail as well (every other test must pass);
    diagnosis: {test number: text that its failure message must contain};
    public_blind: why no public test loses points to it (a rule only hidden tests check yet);
    score: the total it must get, where stated (the shortcuts).
    """

    name: str
    bug: str
    replacements: tuple
    fails: tuple
    may_fail: tuple = ()
    diagnosis: dict = field(default_factory=dict)
    public_blind: str = ""   # why `make grade`'s public tests do not see it yet ("" if they do)
    score: float | None = None

    def unexpected(self, failed):
        """(required tests that passed, failed tests that were neither required nor allowed)."""
        missed = sorted(set(self.fails) - set(failed))
        extra = sorted(n for n in failed if n not in self.fails
                       and not any(n.startswith(p) for p in self.may_fail))
        return missed, extra


def load_mutants(path=CORPUS / "mutants.toml"):
    with open(path, "rb") as f:
        data = tomllib.load(f)
    mutants = []
    for name, m in data["mutants"].items():
        edits = m["edit"] if isinstance(m["edit"], list) else [m["edit"]]
        mutants.append(Mutant(name, m["bug"], tuple((e["file"], e["old"], e["new"]) for e in edits),
                              tuple(m["fails"]), tuple(m.get("may_fail", ())), dict(m.get("diagnosis", {})),
                              m.get("public_blind", ""), m.get("score")))
    return mutants


def variants():
    return sorted(p.name for p in (CORPUS / "variants").iterdir() if p.is_dir())


def copy_solution(dest: Path) -> Path:
    """What a student with the reference solution would upload."""
    dest.mkdir(parents=True)
    for name in SUBMITTED:
        src = SOLUTION / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "datasets"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def apply_mutant(mutant: Mutant, dest: Path) -> None:
    """Apply each replacement to the copy in dest; each `old` must occur exactly once."""
    for file, old, new in mutant.replacements:
        path = dest / file
        text = path.read_text(encoding="utf-8")
        if text.count(old) != 1:
            raise ValueError(f"mutant {mutant.name}: {old!r} occurs {text.count(old)} times in {file}")
        path.write_text(text.replace(old, new), encoding="utf-8")


def make_submission(name: str, dest: Path, mutants: dict) -> Path:
    """Build the submission called `name` ("solution", "variant:<v>" or a mutant's name) in dest."""
    copy_solution(dest)
    if name.startswith("variant:"):
        for src in (CORPUS / "variants" / name.split(":", 1)[1]).rglob("*.py"):
            rel = src.relative_to(CORPUS / "variants" / name.split(":", 1)[1])
            shutil.copy2(src, dest / rel)
    elif name != "solution":
        apply_mutant(mutants[name], dest)
    return dest


def _worker_users(count: int) -> list:
    """One worker user per parallel run. Not root: [None] * count (the worker runs as us, nothing
    is killed by uid). Root: dedicated system users, created when missing; if that fails, a
    single run at a time with the engine's default user."""
    if os.geteuid() != 0:
        return [None] * count
    users = []
    for name in WORKER_USERS[:count]:
        try:
            pwd.getpwnam(name)
        except KeyError:
            done = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                                   name], capture_output=True)
            if done.returncode != 0:
                return [None]
        users.append(name)
    return users


def build_zip(out: Path) -> Path:
    """The autograder zip, built once for every submission of the session."""
    sys.path.insert(0, str(ROOT / "autograder"))
    from engine.build import build
    build(ROOT / "autograder" / "suite", out)
    return out


def _grade_one(name, work, zip_path, mutants, users):
    """Grade one submission with a free worker user; returns (name, results dict)."""
    from engine.autograde import autograde
    user = users.get()
    try:
        sub = make_submission(name, work / "subs" / name.replace(":", "_"), mutants)
        out = work / "results" / f"{name.replace(':', '_')}.json"
        return name, autograde(sub, out, ROOT / "autograder" / "suite", zip_path=zip_path, user=user)
    finally:
        users.put(user)


def grade_all(names, workers=2):
    """{name: results dict} for every submission name, graded `workers` at a time."""
    mutants = {m.name: m for m in load_mutants()}
    work = Path(tempfile.mkdtemp(prefix="verdicts-"))
    os.chmod(work, 0o755)
    try:
        zip_path = build_zip(work / "autograder.zip")
        users = Queue()
        chosen = _worker_users(min(workers, len(WORKER_USERS))) if workers > 1 else [None]
        for user in chosen:
            users.put(user)
        with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
            done = pool.map(lambda n: _grade_one(n, work, zip_path, mutants, users), names)
            return dict(done)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def failing(results) -> dict:
    """{test number: output as the student reads it} of the tests that did not get full marks
    (the Markdown's escapes undone, as `make grade` shows them)."""
    if str(ROOT / "autograder") not in sys.path:
        sys.path.insert(0, str(ROOT / "autograder"))
    from engine.escape import markdown_to_text
    return {t.get("number", t["name"]): markdown_to_text(t.get("output", ""))
            for t in results["tests"] if t["score"] < t["max_score"] - 1e-9}


def summary(mutants, graded) -> dict:
    """Kill rate and share correctly diagnosed, over the mutants that were graded."""
    killed = diagnosed = 0
    for m in mutants:
        fails = failing(graded[m.name])
        killed += bool(fails)
        diagnosed += bool(fails) and all(text in fails.get(num, "") for num, text in m.diagnosis.items())
    n = len(mutants)
    return {"mutants": n, "killed": killed, "diagnosed": diagnosed,
            "kill_rate": killed / n if n else 0.0, "diagnosed_share": diagnosed / n if n else 0.0}


def visibility_table(mutants, graded) -> list[tuple[str, bool, bool, bool]]:
    """(mutant, loses visible points, loses hidden points, its diagnosis shown) per mutant: whether
    `make grade`'s public tests alone (the visible ones on Gradescope) see the bug."""
    rows = []
    for m in mutants:
        tests = graded[m.name]["tests"]
        lost = [t for t in tests if t["score"] < t["max_score"] - 1e-9]
        fails = failing(graded[m.name])
        rows.append((m.name, any(t["visibility"] == "visible" for t in lost),
                     any(t["visibility"] != "visible" for t in lost),
                     all(text in fails.get(num, "") for num, text in m.diagnosis.items())))
    return rows


def main(argv):
    out = None
    if argv[:1] == ["--out"]:
        out, argv = Path(argv[1]), argv[2:]
    mutants = load_mutants()
    names = argv or ["solution", *(f"variant:{v}" for v in variants()), *(m.name for m in mutants)]
    graded = grade_all(names)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for name, results in graded.items():
            (out / f"{name.replace(':', '_')}.json").write_text(json.dumps(results, indent=1))
    for name in names:
        fails = failing(graded[name])
        print(f"{name}: score {graded[name]['score']:g}; failing {sorted(fails)}")
    chosen = [m for m in mutants if m.name in graded]
    print(json.dumps(summary(chosen, graded), indent=1))
    print("| mutant | loses public points | loses hidden points | message names it |\n|---|---|---|---|")
    for name, public, hidden, named in visibility_table(chosen, graded):
        print(f"| {name} | {'yes' if public else 'no'} | {'yes' if hidden else 'no'} | "
              f"{'yes' if named else 'no'} |")


if __name__ == "__main__":
    main(sys.argv[1:])
