"""Grade a submission exactly as Gradescope would, on this machine (`make autograde`).

    python -m engine.autograde --submission PATH [--results FILE] [--suite DIR] [--zip ZIP] [--keep]

Builds the autograder zip (or takes --zip), unpacks it into a temporary
AUTOGRADER_ROOT (source/, submission/, results/, submission_metadata.json,
run_autograder), copies the submission in (a folder as is, symlinks included;
a zip file as a file, for intake to unpack), and runs `run_autograder` the way
Gradescope does: bash, cwd = the root, as the current user (root here). This
project's interpreter stands in for setup.sh's virtual environment on the
trusted side; engine.run leases the worker an account of its own (engine.identity)
and finds it an interpreter that account can execute (engine.session.worker_python). Finally it copies
results/results.json out (default ./results.json) and prints the score.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from engine.build import AUTOGRADER_DIR, build
from engine.results import validate

WALL_LIMIT = 900  # seconds: run_autograder stops itself well before this


def metadata(submission: Path) -> dict:
    """A plausible submission_metadata.json (fixed values, so runs are reproducible)."""
    return {
        "id": 123456789, "created_at": "2025-01-15T10:30:00.000000-08:00",
        "submission_method": "upload" if submission.is_dir() else "upload_zip",
        "assignment": {"id": 42, "title": "Local autograde", "total_points": "100.0",
                       "release_date": "2025-01-01T00:00:00.000000-08:00",
                       "due_date": "2025-02-01T23:59:00.000000-08:00",
                       "late_due_date": None, "group_submission": False, "group_size": None},
        "users": [{"email": "student@example.edu", "id": 1001, "name": "Local Student",
                   "assignment": {"due_date": "2025-02-01T23:59:00.000000-08:00",
                                  "late_due_date": None, "release_date": None}}],
        "previous_submissions": []}


def _unpack(zip_path: Path, dest: Path) -> None:
    """Unpack our own zip (trusted) keeping the recorded modes."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = dest / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            target.chmod((info.external_attr >> 16) & 0o777 or 0o644)


def _copy_submission(src: Path, dest: Path) -> None:
    dest.mkdir()
    if src.is_dir():
        shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(src, dest / src.name)


def _worker_env(user: str | None) -> dict[str, str]:
    """WORKER_USER / WORKER_PYTHON for run_autograder. As root the worker switches to `user`, or
    when that is empty to an account of engine.identity's pool that engine.run leases for this
    grading alone; its interpreter is then one the worker's account can run, which engine.run
    finds (or builds) as that account."""
    if os.geteuid() != 0:
        return {"WORKER_USER": "", "WORKER_PYTHON": sys.executable}
    return {"WORKER_USER": user or "", "WORKER_PYTHON": ""}


def autograde(submission: Path, results_out: Path, suite: Path, zip_path: Path | None = None,
              keep: bool = False, user: str | None = None) -> dict:
    """Run the whole Gradescope flow on `submission`; returns the results dictionary."""
    root = Path(tempfile.mkdtemp(prefix="autograde-"))
    # mkdtemp's 0700, unlike Gradescope's /autograder (0755, one per container): here gradings
    # share the machine, and the upload as-is in submission/ must not be readable by another
    # grading's worker (each worker reads its own grading's copy, engine.session.make_work_dir)
    root.chmod(0o700)
    private = Path(tempfile.mkdtemp(prefix="autograde-zip-"))  # 0700: the worker must not read it
    try:
        if zip_path is None:
            zip_path = private / "autograder.zip"
            build(suite, zip_path)
        (root / "source").mkdir(mode=0o700)  # unreadable by the worker's user from the start,
        _unpack(zip_path, root / "source")   # not only once run_autograder locks it
        shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
        _copy_submission(submission, root / "submission")
        (root / "results").mkdir(mode=0o700)
        (root / "submission_metadata.json").write_text(json.dumps(metadata(submission), indent=2))
        env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable,
               **_worker_env(user)}
        env.pop("PYTHONPATH", None)
        subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env,
                       stdin=subprocess.DEVNULL, timeout=WALL_LIMIT, check=False)
        text = (root / "results" / "results.json").read_text(encoding="utf-8")
        results = json.loads(text)
        validate(results)
        results_out.parent.mkdir(parents=True, exist_ok=True)
        results_out.write_text(text, encoding="utf-8")
        return results
    finally:
        if keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.autograde", description=__doc__.splitlines()[0])
    parser.add_argument("--submission", required=True, help="folder or zip, as a student would upload")
    parser.add_argument("--results", default="results.json", help="where to copy results.json")
    parser.add_argument("--suite", default=str(AUTOGRADER_DIR / "suite"))
    parser.add_argument("--zip", help="use this autograder zip instead of building one")
    parser.add_argument("--worker-user", default=None,
                        help="account for the student's code when run as root (default: a free "
                             "one of engine.identity's pool, created like setup.sh does)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary AUTOGRADER_ROOT")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results = autograde(Path(args.submission), Path(args.results), Path(args.suite),
                        Path(args.zip) if args.zip else None, args.keep, args.worker_user)
    out_of = sum(t["max_score"] for t in results.get("tests", []))
    print(f"score {results['score']:g} / {out_of:g} ({len(results.get('tests', []))} tests) in "
          f"{time.monotonic() - started:.1f} s; results in {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
