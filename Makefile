# Two commands: `make demo` (set up everything, run the demo) and `make test` (set up, run all checks).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: setup demo test lint typecheck unit contracts bench clean chromium

setup: $(PY_STAMP) $(NODE_STAMP) chromium

chromium:  # Debian's Chromium for the browser tests (Playwright launches it; never downloads one)
	@command -v chromium >/dev/null || (SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update && $$SUDO apt-get install -y chromium chromium-driver)

$(PY_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[service,dev]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/timemachine demo

test: setup lint typecheck
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

contracts: setup
	$(BIN)/python scripts/compile_contracts.py

bench: setup
	$(BIN)/python -m benchmarks.replay_vs_cast
	$(BIN)/python -m benchmarks.capsule_replay
	$(BIN)/python -m benchmarks.detectors
	$(BIN)/python -m benchmarks.providers

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .import_linter_cache .grimp_cache
