# ---- hostile corpus: sys.exit at import (tests/hostile/attacks/sys_exit.py)
# Runs at import of the student file (appended after common.py). With a runner in the same
# process as the student's code (gradescope-utils' JSONTestRunner), SystemExit at import ends the
# run. Ours must turn it into a failed call and keep grading.
_h_say("sys-exit", "calling sys.exit(0) at import")
_h_sys.exit(0)
