"""The assignment-agnostic grading engine.

The trust boundary is here: `remote` (the API the suite uses), `sandbox` (starting, confining
and killing the worker process), `workerenv` (the worker's user, interpreter, environment and
file permissions), `protocol` (the plain-data wire format both sides share), `worker` (the code
that runs inside the worker, sent to it as source) and `tracing` (`Func`).
Nothing in this package imports student code into the trusted process.
"""
