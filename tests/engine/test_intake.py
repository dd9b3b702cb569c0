"""Intake: every accepted layout, junk, links, special files, hostile zips, misnamed and big files."""
import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from engine.config import load_config
from engine.intake import intake
from tests.uploads import set_method

CONFIG = """
[assignment]
package = "pkg"
student_files = ["modules.py", "losses.py"]
extra_files = ["hyperparams.toml"]
provided_files = ["__init__.py", "data.py", "datasets/*.csv"]

[limits]
max_file_bytes = 2000
max_upload_bytes = 100000
max_zip_total_bytes = 20000
max_zip_members = 30
max_path_depth = 6
"""
FILES = {"modules.py": "M = 1\n", "losses.py": "L = 2\n"}
EXTRA = {"hyperparams.toml": "lr = 0.5\n"}


@pytest.fixture
def config(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "assignment.toml").write_text(CONFIG)
    return load_config(suite)


@pytest.fixture
def provided(tmp_path):
    root = tmp_path / "provided"
    (root / "datasets").mkdir(parents=True)
    (root / "__init__.py").write_text("# ours\n")
    (root / "data.py").write_text("OURS = True\n")
    (root / "datasets" / "a.csv").write_text("x,y\n1,0\n")
    return root


def write_tree(root: Path, files: dict) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def make_zip(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def layout(prefix: str, extra_prefix: str) -> dict:
    files = {prefix + k: v for k, v in FILES.items()}
    files.update({extra_prefix + k: v for k, v in EXTRA.items()})
    return files


def run(tmp_path, config, provided, submission):
    return intake(submission, config, provided, tmp_path / "out")


def assert_complete(report, out: Path):
    assert report.missing == {} and report.problems == []
    for name, text in FILES.items():
        assert (out / "pkg" / name).read_text() == text
    assert (out / "hyperparams.toml").read_text() == EXTRA["hyperparams.toml"]
    assert (out / "pkg" / "data.py").read_text() == "OURS = True\n"
    assert (out / "pkg" / "datasets" / "a.csv").exists()


@pytest.mark.parametrize("prefix, extra_prefix", [
    ("", ""), ("pkg/", ""), ("hw/pkg/", "hw/"), ("hw/", "hw/"), ("hw/pkg/", ""),
], ids=["top", "package", "nested-package", "nested-loose", "extras-at-top"])
def test_folder_layouts(tmp_path, config, provided, prefix, extra_prefix):
    sub = write_tree(tmp_path / "sub", layout(prefix, extra_prefix))
    report = run(tmp_path, config, provided, sub)
    assert_complete(report, tmp_path / "out")
    assert report.found["modules.py"] == prefix + "modules.py"


@pytest.mark.parametrize("prefix, extra_prefix", [("", ""), ("hw/pkg/", "hw/")], ids=["flat", "folder"])
def test_zip_layouts(tmp_path, config, provided, prefix, extra_prefix):
    zpath = make_zip(tmp_path / "upload.zip", layout(prefix, extra_prefix))
    report = run(tmp_path, config, provided, zpath)  # the zip itself is the submission
    assert_complete(report, tmp_path / "out")
    sub = tmp_path / "sub"
    sub.mkdir()
    os.replace(zpath, sub / "upload.zip")  # a zip inside the uploaded folder
    report = intake(sub, config, provided, tmp_path / "out2")
    assert_complete(report, tmp_path / "out2")
    assert report.found["losses.py"] == f"{prefix}losses.py (in upload.zip)"


def test_copy_permissions_and_replaced_provided_files(tmp_path, config, provided):
    files = layout("pkg/", "")
    files.update({"pkg/__init__.py": "import os; os.system('evil')\n", "pkg/data.py": "STUDENT\n"})
    report = run(tmp_path, config, provided, write_tree(tmp_path / "sub", files))
    out = tmp_path / "out"
    assert (out / "pkg" / "__init__.py").read_text() == "# ours\n"
    assert any("pkg/data.py" in n and "own copy" in n for n in report.notes)
    for path in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), path


def test_junk_is_ignored(tmp_path, config, provided):
    files = layout("pkg/", "")
    files.update({"__MACOSX/pkg/._modules.py": "junk", "__MACOSX/pkg/modules.py": "DECOY",
                  "pkg/__pycache__/modules.cpython-311.pyc": "x", ".DS_Store": "x",
                  "pkg/.ipynb_checkpoints/losses-checkpoint.py": "DECOY"})
    report = run(tmp_path, config, provided, write_tree(tmp_path / "sub", files))
    assert_complete(report, tmp_path / "out")
    assert report.notes == ["Skipped as not part of the homework: `.DS_Store`, "
                            "`.ipynb_checkpoints`, `__MACOSX`, `__pycache__`"]
    assert not any("DECOY" in p.read_text() for p in (tmp_path / "out").rglob("*.py"))


def test_symlinks_are_refused(tmp_path, config, provided):
    sub = write_tree(tmp_path / "sub", {"pkg/losses.py": "L\n", "hyperparams.toml": "a=1\n"})
    secret = write_tree(tmp_path / "secret", {"modules.py": "SECRET\n", "d/losses.py": "S\n"})
    (sub / "pkg" / "modules.py").symlink_to(secret / "modules.py")
    (sub / "linked_dir").symlink_to(secret / "d", target_is_directory=True)
    report = run(tmp_path, config, provided, sub)
    assert "modules.py" in report.missing
    assert "symbolic link" in report.missing["modules.py"] and "pkg/modules.py" in report.missing["modules.py"]
    assert any("`linked_dir`" in p and "symbolic link" in p for p in report.problems)
    assert not (tmp_path / "out" / "pkg" / "modules.py").exists()
    assert report.found["losses.py"] == "pkg/losses.py"


def test_special_files_are_refused(tmp_path, config, provided):
    sub = write_tree(tmp_path / "sub", layout("pkg/", ""))
    os.mkfifo(sub / "pkg" / "pipe")
    report = run(tmp_path, config, provided, sub)  # must not block reading the FIFO
    assert any("`pkg/pipe`" in p and "not a regular file" in p for p in report.problems)
    assert report.missing == {}


def test_zip_bomb_is_refused(tmp_path, config, provided):
    zpath = make_zip(tmp_path / "bomb.zip", {**layout("pkg/", ""), "pad.bin": b"\0" * 30000})
    report = run(tmp_path, config, provided, zpath)
    assert set(report.missing) == {"modules.py", "losses.py", "hyperparams.toml"}
    assert any("`bomb.zip`" in p and "would unpack to" in p for p in report.problems)


def test_zip_with_too_many_members_is_refused(tmp_path, config, provided):
    members = {**layout("", ""), **{f"f{i}.txt": "x" for i in range(40)}}
    report = run(tmp_path, config, provided, make_zip(tmp_path / "many.zip", members))
    assert any("`many.zip` has 43 entries" in p for p in report.problems)
    assert "modules.py" in report.missing


def test_zip_members_escaping_or_linking_are_refused(tmp_path, config, provided):
    zpath = tmp_path / "evil.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for name, data in layout("pkg/", "").items():
            zf.writestr(name, data)
        zf.writestr("../escape.py", "x")
        zf.writestr("/abs/path.py", "x")
        link = zipfile.ZipInfo("pkg/link.py")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    report = run(tmp_path, config, provided, zpath)
    assert report.missing == {}
    problems = "\n".join(report.problems)
    assert "`../escape.py (in evil.zip)` points outside the archive" in problems
    assert "`/abs/path.py (in evil.zip)` has an absolute path" in problems
    assert "`pkg/link.py (in evil.zip)` is a symbolic link" in problems
    assert not (tmp_path / "escape.py").exists()
    assert sorted(p.name for p in (tmp_path / "out" / "pkg").glob("*.py")) == \
        ["__init__.py", "data.py", "losses.py", "modules.py"]


def test_misnamed_files_are_diagnosed(tmp_path, config, provided):
    sub = write_tree(tmp_path / "sub", {"pkg/modules (1).py": "M\n", "pkg/Losses.py": "L\n",
                                        "hyper_params.toml": "a=1\n"})
    report = run(tmp_path, config, provided, sub)
    assert report.missing["modules.py"] == ("`modules.py` was not found, but there is "
                                           "`pkg/modules (1).py`: rename it to `modules.py`.")
    assert "`pkg/Losses.py`: rename it to `losses.py`" in report.missing["losses.py"]
    assert "`hyper_params.toml`: rename it to `hyperparams.toml`" in report.missing["hyperparams.toml"]


def test_missing_file_without_lookalike(tmp_path, config, provided):
    report = run(tmp_path, config, provided, write_tree(tmp_path / "sub", {"pkg/modules.py": "M\n"}))
    assert report.missing["losses.py"] == ("`losses.py` was not found in your submission; "
                                          "upload it inside a `pkg/` folder.")
    assert report.message_for("losses.py") == report.missing["losses.py"]
    assert report.has("modules.py") and not report.has("losses.py")


def test_too_deep_and_too_big(tmp_path, config, provided):
    sub = write_tree(tmp_path / "sub", {"a/b/c/modules.py": "M\n", "pkg/losses.py": "L" * 2001,
                                        "hyperparams.toml": "x=1\n"})
    report = run(tmp_path, config, provided, sub)
    assert "nested too deeply" in report.missing["modules.py"] and "a/b/c/modules.py" in report.missing["modules.py"]
    assert report.missing["losses.py"] == ("`pkg/losses.py` is 2.0 kB; files over 2.0 kB are "
                                          "not accepted.")


def test_missing_provided_file_is_a_problem_not_a_crash(tmp_path, config, provided):
    (provided / "data.py").unlink()
    report = run(tmp_path, config, provided, write_tree(tmp_path / "sub", layout("", "")))
    assert report.problems == ["the grader's own copy of `data.py` is missing (a problem with the "
                               "autograder, not with your submission)"]
    assert (tmp_path / "out" / "pkg" / "modules.py").exists()


def test_nothing_is_executed_and_report_is_deterministic(tmp_path, config, provided):
    marker = tmp_path / "imported"
    code = f"open({str(marker)!r}, 'w').close()\n"
    files = {"pkg/modules.py": code, "pkg/losses.py": code, "pkg/setup.py": code,
             "conftest.py": code, "hyperparams.toml": "x=1\n"}
    sub = write_tree(tmp_path / "sub", files)
    first = intake(sub, config, provided, tmp_path / "o1").to_dict()
    second = intake(sub, config, provided, tmp_path / "o2").to_dict()
    assert not marker.exists()
    first.pop("root"), second.pop("root")
    assert first == second
    assert first["notes"] == ["`pkg/setup.py` is not one of the assignment's files and is not graded"]


@pytest.mark.parametrize("text, error", [
    ('[assignment]\npackage = "a-b"\nstudent_files = ["m.py"]\n', "Python identifier"),
    ('[assignment]\npackage = "p"\nstudent_files = ["sub/m.py"]\n', "plain file name"),
    ('[assignment]\npackage = "p"\nstudent_files = ["data.py"]\nprovided_files = ["data.py"]\n',
     "also provided files"),
    ('[assignment]\npackage = "p"\nstudent_files = ["m.py"]\n[limits]\nmax_filez = 3\n', "unknown keys"),
    ('[assignment]\npackage = "p"\nstudent_files = ["m.py"]\n[limits]\ntime_budget_seconds = 600\n',
     "hard_deadline_seconds must exceed"),
    ('[assignment]\npackage = "p"\nstudent_files = ["m.py"]\n[module_weights]\n"t.py" = "x"\n',
     "non-negative numbers"),
    ('[assignment]\npackage = "p"\nstudent_files = ["m.py"]\n[extra]\n', "unknown tables"),
])
def test_config_errors_name_the_key(tmp_path, text, error):
    from engine.config import ConfigError
    (tmp_path / "assignment.toml").write_text(text)
    with pytest.raises(ConfigError, match=error):
        load_config(tmp_path)


# ------------------------------------------------------------------ uploads of a whole folder

@pytest.mark.parametrize("method, label", [(98, "PPMd"), (9, "Deflate64")])
def test_a_member_compressed_in_a_way_zipfile_cannot_read_costs_that_file_only(
        tmp_path, config, provided, method, label):
    zpath = tmp_path / "up.zip"
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in layout("pkg/", "").items():
            zf.writestr(name, data)
    set_method(zpath, "hyperparams.toml", method)
    report = run(tmp_path, config, provided, zpath)
    assert sorted(report.found) == ["losses.py", "modules.py"]
    assert report.missing["hyperparams.toml"] == (
        f"`hyperparams.toml` could not be used: `hyperparams.toml (in up.zip)` is compressed with "
        f"method {method} ({label}), which cannot be read; zip it again with the standard "
        "Deflate method.")


def test_environments_and_caches_are_skipped_before_anything_is_counted(tmp_path, config,
                                                                        provided):
    files = layout("hw/pkg/", "hw/")
    for i in range(60):   # more than the zip's member limit (30), all litter
        files[f"hw/.venv/lib/site-packages/m{i}.py"] = "x"
        files[f"hw/env{i % 2}/lib/python3.11/m{i}.py"] = "x"
    files["hw/env0/pyvenv.cfg"] = files["hw/env1/pyvenv.cfg"] = "home = /usr/bin\n"
    files["hw/node_modules/a.js"] = "x"
    report = run(tmp_path, config, provided, make_zip(tmp_path / "all.zip", files))
    assert_complete(report, tmp_path / "out")
    assert report.notes == ["Skipped as not part of the homework: `.venv`, `env0`, "
                            "`env1`, `node_modules`"]
    folder = tmp_path / "folder"
    write_tree(folder, files)
    report = intake(folder, config, provided, tmp_path / "out2")
    assert report.missing == {} and report.notes == report.notes[:1]
    assert report.notes[0].startswith("Skipped as not part of the homework: `.venv`")


def test_the_homework_is_found_first_in_an_upload_of_many_files(tmp_path, config, provided):
    files = layout("hw/pkg/", "hw/")
    files.update({f"hw/data/{i // 100}/{i}.txt": "x" for i in range(6000)})   # > the walk's 5000
    report = intake(write_tree(tmp_path / "sub", files), config, provided, tmp_path / "out")
    assert report.missing == {} and sorted(report.found) == ["hyperparams.toml", "losses.py",
                                                             "modules.py"]
    assert report.problems == ["`your submission` has more than 5000 files and folders; the "
                               "deepest were not looked at"]


def test_names_of_65000_characters_are_skipped_in_linear_time(tmp_path, provided):
    import time
    suite = tmp_path / "big-suite"
    suite.mkdir()
    (suite / "assignment.toml").write_text(CONFIG.replace("max_upload_bytes = 100000",
                                                          "max_upload_bytes = 2000000"))
    config = load_config(suite)
    zpath = tmp_path / "names.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for name, data in layout("pkg/", "").items():
            zf.writestr(name, data)
        for i in range(5):
            zf.writestr(" " * 65000 + f"{i}modules.py", "x")
    started = time.process_time()
    report = run(tmp_path, config, provided, zpath)
    assert report.missing == {}
    assert report.notes == ["Skipped as not part of the homework: `" + " " * 37 + "...`"]
    assert time.process_time() - started < 5.0   # quadratic matching took minutes per name


def test_with_two_copies_the_package_folder_is_graded_and_the_output_says_so(tmp_path, config,
                                                                             provided):
    files = {"pkg/modules.py": "M = 1\n", "pkg/losses.py": "L = 2\n", "hyperparams.toml": "a=1\n",
             "modules.py": "STALE\n", "losses.py": "STALE\n"}   # drafts loose at the top
    report = run(tmp_path, config, provided, write_tree(tmp_path / "sub", files))
    assert report.found == {"modules.py": "pkg/modules.py", "losses.py": "pkg/losses.py",
                            "hyperparams.toml": "hyperparams.toml"}
    assert "Your upload holds more than one copy of the homework's files: the copy in `pkg/` " \
           "was graded" in report.notes[0]
    assert report.notes[0].endswith("ignored: `losses.py`, `modules.py`.")
    assert "STALE" not in (tmp_path / "out" / "pkg" / "modules.py").read_text()
