# The README's commands. `make run` and `make test` create .venv when it is missing or older than
# pyproject.toml, so both work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# E2E=1 adds the long end-to-end tier (all 235 workbooks through `tradewh build`); CI sets it.
ifeq ($(E2E),1)
PYTEST_MARK := -m ""
else
PYTEST_MARK :=
endif

.PHONY: run test lint bench bench-scale clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tradewh build

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_MARK) $(PYTEST_ARGS)

# Lint (CI runs it after the tests): the format and the rules chosen in pyproject.toml [tool.ruff].
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

# The main job against its parse floor, measured in the same run (see benchmarks/job.py).
bench: $(STAMP)
	$(BIN)/python benchmarks/job.py

# Product-level scale on synthetic BACI-shaped files: one 10 M-row year against DuckDB's own load,
# 30 years at a 4 GB memory limit, the product growth question (see benchmarks/scale.py). ~20 min.
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/scale.py

clean:
	rm -rf var
