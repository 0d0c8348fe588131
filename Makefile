# The everyday commands. The first call creates .venv/ and installs the pinned versions
# (constraints.txt); later calls reuse it until pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAGE ?= ml-basics
SUBMISSION ?= exercises
ARGS ?=

.PHONY: grade check test test-fast lint assign bench list clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

grade: $(STAMP)  ## grade one stage: make grade STAGE=ml-basics [SUBMISSION=solutions]
	$(PY) -m grader grade --stage $(STAGE) --submission $(SUBMISSION) $(ARGS)

list: $(STAMP)
	$(PY) -m grader list

test: $(STAMP)  ## the project's own tests, including the proofs that every suite is sound
	$(PY) -m pytest -n auto $(ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -n auto -m "not slow" $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check grader tests benchmarks
	$(PY) -m ruff format --check grader tests benchmarks
	$(PY) -m mypy grader

check: lint test

assign: $(STAMP)  ## regenerate exercises/ from solutions/
	$(PY) -m grader assign

bench: $(STAMP)
	$(PY) benchmarks/overhead.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache reports
