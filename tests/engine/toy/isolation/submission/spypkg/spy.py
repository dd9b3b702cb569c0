"""A student package that records every argument it is given and prints all of them each time
(stdout and stderr), at import too: what a submission fishing for hidden inputs would do."""
import os
import sys
import threading
import time

SEEN = []
print("spy imported; seen so far:", SEEN)
print("spy imported (stderr)", file=sys.stderr)


def record(value):
    """Remember `value`, print everything remembered; returns the worker's pid."""
    SEEN.append(value)
    print("seen:", SEEN)
    print("seen (stderr):", SEEN, file=sys.stderr)
    return os.getpid()


def record_then_print_late(value, delay):
    """record(value), and print everything again `delay` seconds after returning."""
    def late():
        time.sleep(delay)
        print("late:", SEEN, flush=True)
    threading.Thread(target=late, daemon=True).start()
    return record(value)


def hog(megabytes):
    """Allocate and touch `megabytes` MB."""
    import numpy as np
    block = np.ones(megabytes * 1_000_000 // 8)
    return float(block.sum())


def die():
    """SIGKILL the worker, as the kernel's OOM killer would."""
    import signal
    os.kill(os.getpid(), signal.SIGKILL)


def spin():
    """Never return (a loop that never ends)."""
    while True:
        pass


def nap(seconds):
    """Sleep `seconds`, then return them."""
    time.sleep(seconds)
    return seconds
