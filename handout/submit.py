"""Pack the files Gradescope needs into submission.zip (what `make submit` runs).

    python submit.py                      # from the handout folder
    python submit.py --folder DIR --output FILE
    python submit.py --stage DIR          # copy the files as they are into DIR (for `make grade`)

The zip holds exactly these paths, and nothing else:

    backprop/modules.py  backprop/losses.py  backprop/mlp.py
    backprop/gradcheck.py  backprop/autodiff.py
    hyperparams.toml  answers.toml

Each Python file must parse (ast.parse) and each TOML file must load; a problem
stops the packing with a message naming the file and the line. Warnings (stubs
still raising NotImplementedError, quiz questions still answered "") do not stop it. Works on Python 3.10+, with
the standard library only (plus `tomli` on 3.10, installed by `make grade`).
"""

import argparse
import ast
import sys
import zipfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    try:
        import tomli as tomllib
    except ModuleNotFoundError:
        tomllib = None

CODE_FILES = ("modules.py", "losses.py", "mlp.py", "gradcheck.py", "autodiff.py")
TOML_FILES = ("hyperparams.toml", "answers.toml")
FILES = tuple(f"backprop/{name}" for name in CODE_FILES) + TOML_FILES
# A fixed timestamp makes the zip depend on the files' contents only.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def _is_stub(node, lines):
    """True for a skeleton stub: ``raise NotImplementedError`` under a ``# HINT:`` line (or with
    the skeleton's default message); the base classes' own NotImplementedError are not stubs."""
    if not (isinstance(node, ast.Raise) and node.exc is not None
            and "NotImplementedError" in ast.unparse(node.exc)):
        return False
    above = lines[node.lineno - 2].strip() if node.lineno >= 2 else ""
    return above.startswith("# HINT:") or "not implemented yet" in ast.unparse(node.exc)


def check_python(path):
    """Problems with one Python file: a list of messages (empty if it parses).

    Also returns, as warnings, how many NotImplementedError stubs it still raises.
    """
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        return [f"{path}: not UTF-8 text ({err})"], []
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as err:
        where = f"line {err.lineno}" + (f", column {err.offset}" if err.offset else "")
        return [f"{path}: syntax error at {where}: {err.msg}"], []
    lines = source.splitlines()
    stubs = sum(1 for node in ast.walk(tree) if _is_stub(node, lines))
    warnings = [f"{path}: still raises NotImplementedError in {stubs} place(s)"] if stubs else []
    return [], warnings


def check_toml(path):
    """Problems with one TOML file: a list of messages (empty if it loads)."""
    if tomllib is None:
        return [f"cannot check {path}: Python 3.10 needs the `tomli` package (`make grade` installs it)"]
    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        return [f"{path}: not UTF-8 text ({err})"]
    except tomllib.TOMLDecodeError as err:
        return [f"{path}: not valid TOML: {err}"]
    return []


def unanswered(path):
    """The keys of answers.toml still holding "" (not answered): a warning, not an error."""
    if tomllib is None:
        return []
    try:
        answers = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []   # check_toml reports it
    empty = [key for key, value in answers.items() if value == ""]
    return [f"{path}: {len(empty)} question(s) not answered yet: {', '.join(empty)}"] if empty else []


def check(folder):
    """Check every required file under ``folder``. Returns (errors, warnings), lists of str."""
    errors, warnings = [], []
    for name in FILES:
        path = folder / name
        if not path.is_file():
            errors.append(f"{path}: missing (expected {name} in {folder})")
        elif name.endswith(".py"):
            file_errors, file_warnings = check_python(path)
            errors += file_errors
            warnings += file_warnings
        else:
            file_errors = check_toml(path)
            errors += file_errors
            if name == "answers.toml" and not file_errors:
                warnings += unanswered(path)
    return errors, warnings


def write_zip(folder, output):
    """Write the required files of ``folder`` into the zip ``output``, in a fixed order."""
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in FILES:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, (folder / name).read_bytes())


def stage(folder, target):
    """Copy whichever required files exist into ``target`` (same layout), unchecked.

    ``make grade`` grades this copy, so it sees exactly what ``make submit`` would pack, even
    when a file is broken (the grader then reports it). Stale copies are removed first.
    """
    for name in FILES:
        src, dst = folder / name, target / name
        if dst.is_file():
            dst.unlink()
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())


def main(argv=None):
    parser = argparse.ArgumentParser(description="Pack backprop/*.py, hyperparams.toml and answers.toml for Gradescope.")
    parser.add_argument("--folder", type=Path, default=Path("."), help="the handout folder (default: here)")
    parser.add_argument("--output", type=Path, default=Path("submission.zip"))
    parser.add_argument("--stage", type=Path, help="only copy the files, as they are, into this folder")
    args = parser.parse_args(argv)
    if args.stage:
        stage(args.folder, args.stage)
        return 0
    errors, warnings = check(args.folder)
    for message in warnings:
        print(f"warning: {message}")
    if errors:
        for message in errors:
            print(f"error: {message}", file=sys.stderr)
        print("submission.zip NOT written: fix the errors above and run `make submit` again.", file=sys.stderr)
        return 1
    write_zip(args.folder, args.output)
    print(f"wrote {args.output} with {len(FILES)} files:")
    for name in FILES:
        print(f"  {name}")
    print("Upload this zip to the assignment on Gradescope (drag it onto the upload dialog).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
