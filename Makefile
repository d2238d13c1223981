# The README's quick start is exactly `make demo` and `make test`; both work on a fresh machine
# with only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck install install-dev bench clean image image-test browser prometheus readme-images

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Strict editable mode links only the files present at install time, so every target reinstalls.
install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e . --config-settings editable_mode=strict

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,ui,dask]' --config-settings editable_mode=strict

demo: install
	$(BIN)/mltrainer demo

lint: install-dev
	$(BIN)/ruff check api agent tools engine prompts tests benchmarks deploy docs
	$(BIN)/ruff format --check api agent tools engine prompts tests benchmarks deploy docs

typecheck: install-dev
	$(BIN)/mypy -m mltrainer -p mltrainer.engine -p mltrainer.tools -p mltrainer.agent -p mltrainer.prompts

# The UI's browser test drives Debian's headless Chromium. Installed here when missing and
# possible (root with apt-get); otherwise the test skips and says why.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
		|| echo "chromium could not be installed; the browser test will skip"; \
	else echo "chromium is missing and cannot be installed here (needs root and apt-get); the browser test will skip"; fi

# The metrics test has Debian's Prometheus scrape a session. Installed here when missing and
# possible (root with apt-get); otherwise the test skips and says why.
prometheus:
	@if command -v prometheus >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null \
		|| echo "prometheus could not be installed; the Prometheus scrape test will skip"; \
	else echo "prometheus is missing and cannot be installed here (needs root and apt-get); the Prometheus scrape test will skip"; fi

test: lint typecheck browser prometheus
	$(BIN)/python -m pytest -q

# The README's chat screenshot and report figure (docs/images/), from a fresh data home.
readme-images: install-dev browser
	$(BIN)/python docs/readme_images.py docs/images

bench: install
	$(BIN)/python benchmarks/engine_overhead.py

# The container image with docker (when its daemon answers) or podman; BASE_IMAGE=... to change
# the base. image-test needs root and no registry: see docs/operations.md, "Container". Its
# chat check drives Chromium from the host with the dev extra's selenium.
image:
	bash deploy/container/build.sh

image-test: install-dev browser
	bash deploy/container/image-test.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
