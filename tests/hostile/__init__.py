"""A corpus of hostile submissions and the machinery to grade them end to end.

- attacks/: the attack code, as snippets appended to a student file (common.py first). They
  run inside the sandboxed worker (or, for startup.py, nowhere, if all is well); the test
  process never imports them.
- corpus.py: builds each hostile submission as the solution or the skeleton plus attacks.
- campaign.py: grades submissions with `python -m engine.autograde`, two at a time, each run
  with its own TMPDIR and (as root) its own throwaway worker user, and inspects what it left.
Used by tests/test_hostile.py and tests/test_autograde_e2e.py.
"""
