"""Intake time on uploads that are mostly not homework (`make bench`, section "intake").

- a folder of `n_files` files: the solution's files one folder down (hw/backprop/, hw/*.toml),
  a virtual environment beside them (hw/.venv/, 90% of the files) and a data folder (10%);
- a zip holding the solution's files and five member names of 65,000 characters.
Each is read by `engine.intake.intake` against the real suite's configuration; the figures are
wall and CPU seconds and whether all the homework's files were found.
"""
from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
from pathlib import Path

from tools.bench_inprocess import ROOT

from engine.config import load_config  # noqa: E402  (tools.bench_inprocess set sys.path)
from engine.intake import intake  # noqa: E402

SOLUTION = ROOT / "solution"
LONG_NAME = 65_000


def _homework(config) -> dict:
    """{relative path in the upload: bytes} of the solution's files, under hw/."""
    files = {f"hw/{config.package}/{n}": (SOLUTION / config.package / n).read_bytes()
             for n in config.student_files}
    files.update({f"hw/{n}": (SOLUTION / n).read_bytes() for n in config.extra_files})
    return files


def _timed_intake(upload: Path, config, work: Path) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    report = intake(upload, config, None, work)
    return {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu,
            "all_found": not report.missing, "notes": report.notes[:3]}


def measure(n_files: int) -> dict:
    config = load_config(ROOT / "autograder" / "suite")
    base = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    try:
        folder = base / "folder"
        for rel, data in _homework(config).items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        venv, made = n_files * 9 // 10, set()
        for i in range(n_files - len(_homework(config))):
            where = (f"hw/.venv/lib/python3.11/site-packages/p{i // 500}" if i < venv
                     else f"hw/data/d{i // 500}")
            if where not in made:
                (folder / where).mkdir(parents=True)
                made.add(where)
            (folder / where / f"f{i}.py").write_bytes(b"x = 1\n")
        (folder / "hw/.venv/pyvenv.cfg").write_text("home = /usr/bin\n")
        upload = base / "names.zip"
        with zipfile.ZipFile(upload, "w") as zf:
            for rel, data in _homework(config).items():
                zf.writestr(rel, data)
            for i in range(5):
                zf.writestr(" " * LONG_NAME + f"{i}modules.py", b"x")
        return {"files": n_files,
                "folder": _timed_intake(folder, config, base / "out-folder"),
                "long_names": _timed_intake(upload, config, base / "out-zip")}
    finally:
        shutil.rmtree(base, ignore_errors=True)
