# ---- hostile corpus: helpers every attack snippet starts with (tests/hostile/attacks/common.py)
# Injected into a student file of a hostile submission and run INSIDE the sandboxed worker; never
# imported by the test process. Names start with `_h_` so they do not clash with the student code.
# "@TAG@" is replaced by the campaign's tag: every marker an attack leaves is named
# agw-hostile-<tag>-<what>, so the tests can look for it. Every line of evidence an attack prints
# starts with "HOSTILE <attack>:", so the tests can find it in results.json.
import os as _h_os
import sys as _h_sys

_H_TAG = "@TAG@"
_H_MARKER = "agw-hostile-" + _H_TAG


def _h_say(attack, text):
    """One line of evidence, in the student's printed output (captured per test)."""
    print(f"HOSTILE {attack}: {text}", flush=True)


def _h_parent_cmdline():
    """The grader's command line (readable in /proc): it names the AUTOGRADER_ROOT."""
    try:
        with open(f"/proc/{_h_os.getppid()}/cmdline", "rb") as fh:
            return fh.read().decode("utf-8", "replace").split("\0")
    except OSError:
        return []


def _h_own_root():
    """This run's AUTOGRADER_ROOT: the folder after --root on the grader's command line."""
    args = _h_parent_cmdline()
    return next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "--root"), None)


def _h_roots():
    """Folders that look like an AUTOGRADER_ROOT (they hold results/ or source/), found the way
    an attacker would: ancestors of the cwd and of this file and their children, the folder
    after --root on the grader's command line, /autograder, and /tmp/autograde-*."""
    seen = []
    for start in (_h_os.getcwd(), _h_os.path.dirname(_h_os.path.abspath(__file__))):
        path = start
        while True:
            try:
                children = sorted(_h_os.listdir(path))[:300]
            except OSError:
                children = []
            for cand in [path] + [_h_os.path.join(path, c) for c in children]:
                if cand not in seen:
                    seen.append(cand)
            if _h_os.path.dirname(path) == path:
                break
            path = _h_os.path.dirname(path)
    seen += [_h_own_root(), "/autograder"]
    try:
        seen += sorted("/tmp/" + n for n in _h_os.listdir("/tmp") if n.startswith("autograde-"))
    except OSError:
        pass
    roots = []
    for cand in seen:
        if cand and cand not in roots and any(_h_os.path.isdir(_h_os.path.join(cand, d))
                                              for d in ("results", "source")):
            roots.append(cand)
    return roots


def _h_write(path, text, mode="w"):
    """Try to write `text` to `path`; returns "written" or the error's name."""
    try:
        with open(path, mode) as fh:
            fh.write(text)
        return "written"
    except OSError as exc:
        return type(exc).__name__


def _h_read(path, limit=3000):
    """Try to read `path`; returns (text or None, "ok" or the error's name)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(limit).decode("utf-8", "replace"), "ok"
    except OSError as exc:
        return None, type(exc).__name__
