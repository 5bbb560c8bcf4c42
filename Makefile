# PigWeight: `make run` serves http://127.0.0.1:8000, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
# Exact, hash-checked versions of everything `make run` and `make test` install; pyproject.toml
# keeps the ranges. `make lock` writes them, `make upgrade-check` tries the newest.
LOCK_RUN := requirements/run.txt
LOCK_DEV := requirements/dev.txt
LOCK_TRAIN := requirements/train.txt
STAMP_TRAIN := $(VENV)/.installed-train
UPGRADE_VENV := .venv-upgrade
COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

.PHONY: run test lint format bench eval apidoc lock upgrade-check clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "PigWeight needs Python 3.11 or newer"'
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian run 'apt-get install python3-venv'"; exit 1; }

# The lock pins pip and setuptools too; the project itself is installed without build
# isolation, so its build uses the locked setuptools rather than the newest one.
$(STAMP_RUN): $(BIN)/python $(LOCK_RUN) pyproject.toml
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK_RUN)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@touch $@

$(STAMP_DEV): $(BIN)/python $(LOCK_DEV) pyproject.toml
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK_DEV)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	@touch $@ $(STAMP_RUN) $(STAMP_TRAIN)

# «Обучить» on the page (a fine-tune in the background) needs torch. Its CPU build lies on this
# kind of machine's disk (PIP_FIND_LINKS); where it cannot be installed the server runs without
# it and the page says why it cannot train (`pip install -e '.[train]'` adds it later).
$(STAMP_TRAIN): $(STAMP_RUN) $(LOCK_TRAIN)
	@$(BIN)/python -m pip install -q --require-hashes -r $(LOCK_TRAIN) || \
		echo "torch could not be installed: PigWeight runs, but cannot train from the page"
	@touch $@

run: $(STAMP_RUN) $(STAMP_TRAIN)
	$(BIN)/pigweight serve

# The suite in two parts: most tests on TEST_WORKERS processes (pytest-xdist, one file a
# worker at a time), then those marked `alone` by themselves: they count a playing clip in
# real time, or hold a deadline the issue sets (the link cut's 10 s), and a CPU shared with
# other tests makes them miss frames or the deadline. Exit status 5 is "no test selected",
# which PYTEST_ARGS naming one file makes of one part.
TEST_WORKERS ?= 2
test: $(STAMP_DEV)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not alone" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(BIN)/python -m pytest -m alone $(PYTEST_ARGS) || [ $$? -eq 5 ]

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

# Re-resolve the locks after a change to pyproject.toml: pins that still fit are kept
# (LOCK_ARGS=--upgrade takes the newest everywhere, LOCK_ARGS='-P numpy' one package).
lock: $(STAMP_DEV)
	$(COMPILE) --extra dev --extra train -o $(LOCK_DEV) pyproject.toml requirements/tools.in
	$(COMPILE) -c $(LOCK_DEV) -o $(LOCK_RUN) pyproject.toml requirements/tools.in
	$(COMPILE) --extra train -c $(LOCK_DEV) -o $(LOCK_TRAIN) pyproject.toml requirements/tools.in

# A throwaway venv with the newest versions the ranges allow; prints what moved against
# the lock, then runs the suite there. Nothing in .venv or the locks changes.
upgrade-check:
	rm -rf $(UPGRADE_VENV)
	$(PYTHON) -m venv $(UPGRADE_VENV)
	$(UPGRADE_VENV)/bin/python -m pip install -q --upgrade -r requirements/tools.in
	$(UPGRADE_VENV)/bin/python -m pip install -q -e '.[dev,train]'
	$(UPGRADE_VENV)/bin/python scripts/lock_diff.py $(LOCK_DEV)
	$(UPGRADE_VENV)/bin/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(UPGRADE_VENV) .pytest_cache .mypy_cache .ruff_cache
