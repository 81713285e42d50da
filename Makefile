# The two commands of the README: `make serve` runs Scripter, `make test` runs every
# test suite. Both create the virtual environment and build the UI when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UI_SOURCES := $(shell find ui/src ui/scripts ui/public ui/index.html ui/package.json ui/vite.config.* ui/tsconfig.json -type f 2>/dev/null)

.PHONY: serve test lint typecheck pytest ui install clean

serve: install ui
	$(BIN)/scripter serve

test: install ui lint typecheck
	cd ui && npm test --silent
	$(BIN)/pytest

lint: install ui/node_modules/.package-lock.json
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd ui && npm run --silent lint

typecheck: install ui/node_modules/.package-lock.json
	$(BIN)/mypy
	cd ui && npm run --silent typecheck

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

ui: ui/dist/index.html

ui/node_modules/.package-lock.json: ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error

ui/dist/index.html: ui/node_modules/.package-lock.json $(UI_SOURCES)
	cd ui && npm run --silent build

clean:
	rm -rf $(VENV) ui/node_modules ui/dist
