"""Run the public tests on your files and print the score table (what `make grade` runs).

    python grade.py                  # grade the handout folder this script sits in
    python grade.py --folder DIR     # grade another folder laid out the same way
    python grade.py --verbose        # also show pytest's own report

It grades exactly the files `make submit` would send (backprop/{modules,losses,mlp,gradcheck,
autodiff}.py, hyperparams.toml, answers.toml): they are copied, as they are, into a temporary
folder first, and the grader in grader/ runs the public tests on that copy. Needs the packages
of requirements.txt (`make grade` installs them into .venv/).
"""

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "grader"))

import submit  # noqa: E402  (beside this file)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run the public tests on your files.")
    parser.add_argument("--folder", type=Path, default=HERE, help="the folder to grade (default: this handout)")
    parser.add_argument("--verbose", action="store_true", help="also show pytest's own report")
    args = parser.parse_args(argv)
    try:
        from engine.grade import main as grade
    except ModuleNotFoundError as err:
        print(f"error: {err.name} is not installed: run `make grade`, or install requirements.txt "
              f"into the Python you use ({sys.executable})", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="backprop-grade-") as stage:
        submit.stage(args.folder, Path(stage))
        options = ["--verbose"] if args.verbose else []
        return grade(["--submission", stage, "--suite", str(HERE / "grader" / "suite"), "--public-only", *options])


if __name__ == "__main__":
    sys.exit(main())
