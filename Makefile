# Entry points of the project. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SUBMISSION ?= assignment
RESULTS ?= results.json
export PYTHONPATH := $(CURDIR)/autograder:$(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv test grade autograder autograde skeleton calibrate handout bench clean

help:
	@echo "make test                      set up .venv (pinned) and run the project's tests"
	@echo "make grade [SUBMISSION=dir]    public tests on a submission (default: assignment/)"
	@echo "make autograder                build dist/autograder.zip for Gradescope"
	@echo "make autograde SUBMISSION=path [RESULTS=file]   grade as Gradescope would, locally"
	@echo "make skeleton                  regenerate assignment/ from solution/"
	@echo "make calibrate                 retrain the reference and rewrite the accuracy thresholds"
	@echo "make handout                   build dist/handout.zip for students"
	@echo "make bench [BENCH_ARGS=--quick] measure grading and the reference (dist/bench.json);"
	@echo "                               comparators: .venv/bin/pip install -r requirements-bench.txt"

$(VENV)/.installed: requirements.txt requirements-dev.txt autograder/requirements.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest tests $(PYTEST_ARGS)

grade: venv
	$(PY) -m engine.grade --submission $(SUBMISSION) --suite autograder/suite --public-only

# Building the zip imports only engine.build, engine.config and engine.unzip: a venv of their own.
BUILD_VENV ?= .venv-build
$(BUILD_VENV)/.installed: requirements-build.txt constraints.txt
	@test -x $(BUILD_VENV)/bin/python || $(PYTHON) -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-build.txt -c constraints.txt
	@touch $@

autograder: $(BUILD_VENV)/.installed
	$(BUILD_VENV)/bin/python -m engine.build --out dist/autograder.zip

autograde: venv
	$(PY) -m engine.autograde --submission $(SUBMISSION) --results $(RESULTS)

skeleton: venv
	$(PY) -m tools.skeleton

calibrate: venv
	$(PY) -m tools.calibrate --write

handout: venv
	$(PY) -m tools.handout

bench: venv
	$(PY) -m tools.bench --out dist/bench.json $(BENCH_ARGS)

clean:
	rm -rf dist .pytest_cache
