# PigWeight: `make run` serves http://127.0.0.1:8000, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: run test lint format bench eval apidoc clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "PigWeight needs Python 3.11 or newer"'
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian run 'apt-get install python3-venv'"; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_RUN): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	@touch $@

$(STAMP_DEV): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(STAMP_RUN)

run: $(STAMP_RUN)
	$(BIN)/pigweight serve

test: $(STAMP_DEV)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP_DEV)
	$(BIN)/ruff check pigweight tests bench scripts
	$(BIN)/ruff format --check pigweight tests bench scripts
	$(BIN)/mypy

format: $(STAMP_DEV)
	$(BIN)/ruff format pigweight tests bench scripts
	$(BIN)/ruff check --fix pigweight tests bench scripts

bench: $(STAMP_DEV)
	$(BIN)/python bench/segment.py

eval: $(STAMP_RUN)
	@for d in ../shared/data/weaner_pen_topview ../shared/data/grower_pen_oblique ../shared/data/farrowing_piglets; do \
		$(BIN)/pigweight eval $$d; done

apidoc: $(STAMP_RUN)
	$(BIN)/python scripts/gen_api_doc.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
