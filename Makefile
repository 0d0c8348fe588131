# The everyday commands. The first call creates .venv/ and installs the pinned versions
# (constraints.txt); later calls reuse it until pyproject.toml or constraints.txt change.
# A learner's targets (grade, lab, list) install only what learning needs: the grader, torch
# and JupyterLab (the `learner` extra). test, lint and bench install the dev tools as well.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LEARNER := $(VENV)/.learner
TRACKING := $(VENV)/.tracking
STAGE ?= ml-basics
SUBMISSION ?= exercises
ARGS ?=

.PHONY: grade lab check test test-fast lint assign bench list clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# the learner's install; the dev install above already holds everything in it
$(LEARNER): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if [ $(STAMP) -nt pyproject.toml ] && [ $(STAMP) -nt constraints.txt ]; then :; else \
		$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[learner]'; fi
	@touch $(LEARNER)

# The mlops stage's tracking exercise needs MLflow (the `tracking` extra, 22 packages, about 95 MB): installed only when
# STAGE=mlops, so the other stages' install stays as it was. The dev install holds it too.
$(TRACKING): $(LEARNER)
	@if [ $(STAMP) -nt pyproject.toml ] && [ $(STAMP) -nt constraints.txt ]; then :; else \
		$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[learner,tracking]'; fi
	@touch $(TRACKING)

STAGE_DEPS := $(LEARNER) $(if $(filter mlops,$(STAGE)),$(TRACKING))

grade: $(STAGE_DEPS)  ## grade one stage: make grade STAGE=ml-basics [SUBMISSION=solutions]
	$(PY) -m grader grade --stage $(STAGE) --submission $(SUBMISSION) $(ARGS)

# JupyterLab from .venv, opening exercises/$(STAGE). The kernel "Python 3" is registered inside .venv
# and JUPYTER_DATA_DIR points there, so a python3 kernel of another installation cannot shadow it.
lab: $(STAGE_DEPS)  ## the notebooks in JupyterLab: make lab STAGE=ml-basics
	@$(PY) -m ipykernel install --sys-prefix --display-name "Python 3 (mle-course)" >/dev/null
	JUPYTER_DATA_DIR=$(abspath $(VENV))/share/jupyter $(PY) -m jupyter lab \
		--ServerApp.root_dir=exercises --LabApp.default_url=/lab/tree/$(STAGE) $(ARGS)

list: $(LEARNER)
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
