# ---- hostile corpus: fake results on stdout, then exit (tests/hostile/attacks/stdout_exit.py)
# Runs at import of the student file (appended after common.py): prints a complete, valid-looking
# results.json (full marks) on stdout and stderr, then ends the worker with os._exit(0) before
# the call can answer. A grader that built its results from stdout, or that treated a clean exit
# as success, would take it. Ours must fail the call and keep grading.
import json as _h_json

_h_fake = _h_json.dumps({"score": 100.0, "output": "forged on stdout by " + _H_MARKER,
                         "tests": [{"name": "everything", "score": 100.0, "max_score": 100.0,
                                    "status": "passed"}]})
_h_say("stdout-exit", "printing fake results and exiting with code 0")
print(_h_fake, flush=True)
print(_h_fake, file=_h_sys.stderr, flush=True)
_h_os._exit(0)
