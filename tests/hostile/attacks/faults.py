# ---- hostile corpus: faults in single calls (tests/hostile/attacks/faults.py)
# Appended (after common.py) to the SOLUTION's modules.py, losses.py and gradcheck.py. It wraps
# a few functions so that one rarely used input (`trigger`) sets off one attack, then (if the
# worker survives) the correct code runs. Each attack prints "HOSTILE <name>: firing" first, so
# the tests know which grading test set it off. Fatal attacks must cost only the tests that set
# them off; the others must not change any score. Every attack is bounded (time, processes,
# memory) so that a broken sandbox cannot hurt the machine.
import signal as _h_signal
import time as _h_time

import numpy as _h_np

_H_LOOP_SECONDS = 240          # far longer than the per-call timeout, bounded anyway
_H_FORK_ATTEMPTS = 40
_H_HOG_BLOCKS = 32             # 32 blocks of 64 MiB: 2 GiB, twice the worker's address space
_H_FLOOD_MB = 20


def _h_loop():
    end = _h_time.monotonic() + _H_LOOP_SECONDS
    while _h_time.monotonic() < end:
        pass


def _h_sigkill():
    _h_os.kill(_h_os.getpid(), _h_signal.SIGKILL)


def _h_orphan_holds_channel():
    """SIGKILL itself, leaving a child that still holds the channel (no EOF for the grader)."""
    if _h_os.fork() == 0:
        _h_time.sleep(5)
        _h_os._exit(0)
    _h_os.kill(_h_os.getpid(), _h_signal.SIGKILL)


def _h_hog():
    """Map blocks until refused: the limit counts address space, so the pages need not be
    written (writing 1 GiB can take longer than a call's timeout on a busy machine)."""
    blocks = []
    for _ in range(_H_HOG_BLOCKS):
        blocks.append(_h_np.empty(8 << 20))
    return blocks


def _h_fork_bomb():
    """Fork until refused (at most _H_FORK_ATTEMPTS); children let go of fds and sleep briefly."""
    made, refused = 0, ""
    for _ in range(_H_FORK_ATTEMPTS):
        try:
            pid = _h_os.fork()
        except OSError as exc:
            refused = type(exc).__name__
            break
        if pid == 0:
            _h_os.closerange(0, 4096)
            _h_time.sleep(3)
            _h_os._exit(0)
        made += 1
    _h_say("fork-bomb", f"{made} forks succeeded; refused with {refused or 'nothing'}")


def _h_flood():
    junk = "\x1b[31mred\x1b[0m\x07\x00\x1b]0;title\x07 " * 10   # ANSI, bell, NUL, OSC
    chunk = ("flood " * 170 + "\n") * 1024       # about 1 MiB
    for _ in range(_H_FLOOD_MB):
        _h_sys.stdout.write(chunk)
    _h_sys.stderr.write(("err " * 256 + "\n") * 4096)
    _h_sys.stdout.buffer.write(b"\xff\xfe invalid utf-8 \xc3\x28\n")
    _h_sys.stdout.write(junk + "\n")
    _h_sys.stdout.flush()


def _h_channel_fd():
    """The worker's answer fd: the bootstrap got it as argv[2] (`python -c ... r w`)."""
    return int(_h_sys.argv[2])


def _h_forged_frame():
    header = b'{"kind":"ok","seq":999999,"value":1,"blobs":[]}'
    _h_os.write(_h_channel_fd(), b"AGW1" + len(header).to_bytes(4, "big") + header)


def _h_oversized_frame():
    _h_os.write(_h_channel_fd(), b"AGW1" + (1 << 31).to_bytes(4, "big") + b"{" * 4096)


def _h_fd_hijack():
    _h_os.dup2(_h_channel_fd(), 1)
    print("hijacked " * 1000, flush=True)


def _h_kill_parent():
    for target, sig in ((_h_os.getppid(), _h_signal.SIGKILL), (1, _h_signal.SIGKILL)):
        try:
            _h_os.kill(target, sig)
            _h_say("kill-parent", f"kill({target}) allowed")
        except OSError as exc:
            _h_say("kill-parent", f"kill({target}) refused: {type(exc).__name__}")
    try:   # every other process this user may signal (none in a PID namespace: ESRCH)
        _h_os.kill(-1, _h_signal.SIGKILL)
    except ProcessLookupError:
        _h_say("kill-parent", "kill(-1) found no process to signal")


def _h_huge_exception():
    def dive(n):
        if n == 0:
            raise ValueError("shape mismatch " + "x" * (5 << 20))
        return dive(n - 1)
    dive(400)


def _h_shape(x):
    return getattr(x, "shape", None)


def _h_wrap(owner, name, attack, trigger):
    """owner.name (a class attribute, or a global if owner is a dict) sets off `attack` when
    trigger(*args, **kwargs) is true, then runs as before."""
    get = owner.get if isinstance(owner, dict) else lambda n: getattr(owner, n)
    original = get(name)

    def wrapper(*args, **kwargs):
        if trigger(*args, **kwargs):
            _h_say(attack.__name__[3:].replace("_", "-"), "firing")
            attack()
        return original(*args, **kwargs)
    wrapper.__name__, wrapper.__qualname__ = original.__name__, original.__qualname__
    if isinstance(owner, dict):
        owner[name] = wrapper
    else:
        setattr(owner, name, wrapper)


def _h_install(ns):
    activation_1x9 = lambda self, x: _h_shape(x) == (1, 9)  # noqa: E731 - forward(x) at +-1000
    mismatch = lambda self, p, t: _h_np.shape(p)[0] != _h_np.shape(t)[0]  # noqa: E731
    if "Linear" in ns:
        _h_wrap(ns["Linear"], "__init__", _h_orphan_holds_channel,
                lambda self, *a, **k: a[:1] == (7,))
        _h_wrap(ns["ReLU"], "forward", _h_fork_bomb, lambda self, x: _h_shape(x) == (2, 3))
        _h_wrap(ns["Sigmoid"], "forward", _h_flood, activation_1x9)
        _h_wrap(ns["Tanh"], "forward", _h_forged_frame, activation_1x9)
        _h_wrap(ns["ReLU"], "forward", _h_oversized_frame, activation_1x9)
        _h_wrap(ns["Softplus"], "forward", _h_kill_parent, activation_1x9)
    if "SoftmaxCrossEntropy" in ns:   # (a function that timed out is not called again: the
        # loop goes where no other attack waits for a later call)
        _h_wrap(ns["SquaredError"], "forward", _h_loop,
                lambda self, p, t: (_h_np.shape(p), _h_np.shape(t)) == ((4, 2), (4, 3)))
        _h_wrap(ns["BinaryCrossEntropy"], "forward", _h_huge_exception, mismatch)
        _h_wrap(ns["SoftmaxCrossEntropy"], "forward", _h_fd_hijack, mismatch)
    if "numerical_gradient" in ns:
        _h_wrap(ns, "numerical_gradient", _h_sigkill,
                lambda f, x, *a, **k: (a[0] if a else k.get("eps", 1e-5)) != 1e-5)
        _h_wrap(ns, "relative_error", _h_hog, lambda a, b: _h_np.ndim(a) == 3)


_h_install(globals())
