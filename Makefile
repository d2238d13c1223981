# The README's quick start is exactly `make demo` and `make test`; both work on a fresh machine
# with only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck install install-dev bench clean image image-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Strict editable mode links only the files present at install time, so every target reinstalls.
install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e . --config-settings editable_mode=strict

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]' --config-settings editable_mode=strict

demo: install
	$(BIN)/mltrainer demo

lint: install-dev
	$(BIN)/ruff check agent tools engine prompts tests benchmarks deploy
	$(BIN)/ruff format --check agent tools engine prompts tests benchmarks deploy

typecheck: install-dev
	$(BIN)/mypy -p mltrainer.engine -p mltrainer.tools -p mltrainer.agent -p mltrainer.prompts

test: lint typecheck
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/engine_overhead.py

# The container image with docker (when its daemon answers) or podman; BASE_IMAGE=... to change
# the base. image-test needs root and no registry: see the README's "Container" section.
image:
	bash deploy/container/build.sh

image-test:
	bash deploy/container/image-test.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
