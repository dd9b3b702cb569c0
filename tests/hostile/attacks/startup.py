# ---- hostile corpus: files that run code when something starts (tests/hostile/attacks/startup.py)
# Copied, under many names, into the hostile submission: conftest.py, sitecustomize.py,
# usercustomize.py, numpy.py, pytest.py, gradescope_utils.py at the top, and conftest.py,
# __init__.py (ours replaces it), data.py (ours replaces it), numpy.py inside backprop/.
# If pytest, the interpreter or an import ever executed one of them, on either side of the trust
# boundary, it would leave the marker /tmp/agw-hostile-<tag>-executed-<file> and try to forge
# results.json in /autograder. None of them may ever run.
import os

_where = os.path.abspath(__file__).replace(os.sep, "_")
with open(f"/tmp/agw-hostile-@TAG@-executed-{_where}", "w") as _fh:
    _fh.write("executed")
try:
    with open("/autograder/results/results.json", "w") as _fh:
        _fh.write('{"score": 1000.0, "tests": []}')
except OSError:
    pass
