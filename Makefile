# Two commands: `make demo` (set up everything, run the demo) and `make test` (set up, run all checks).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: setup demo test lint typecheck unit contracts bench clean console chromium

setup: $(PY_STAMP) $(NODE_STAMP) console chromium

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

# The web console: built from web/src into web/dist (served at /console/).
CONSOLE_BUILD := web/dist/index.html
console: $(CONSOLE_BUILD)

$(CONSOLE_BUILD): $(NODE_STAMP) web/build.mjs web/index.html $(wildcard web/src/*.js web/src/*.jsx web/src/*.css web/src/pages/*.jsx)
	npm run --silent build:console

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
	$(BIN)/python -m benchmarks.console

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .import_linter_cache .grimp_cache
