# Two commands: `make demo` (the main job) and `make test` (the tests).
# Both create or refresh the local virtual environment from pyproject.toml first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: venv demo test test-all lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q 'torch==2.13.0'
	$(PY) -m pip install -q -e '.[dev,postgres]'
	@touch $(STAMP)

venv: $(STAMP)

demo: venv
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash examples/demo.sh

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

test-all: venv
	$(PY) -m pytest -m '' $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check privtrain federated tests benchmarks examples
	$(VENV)/bin/ruff format --check privtrain federated tests benchmarks examples

clean:
	rm -rf $(VENV) .pytest_cache demo-home
