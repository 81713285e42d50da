# The two commands of the README: `make serve` runs Scripter, `make test` runs every
# test suite. Both create the virtual environment and build the UI when needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UI_SOURCES := $(shell find ui/src ui/scripts ui/public ui/index.html ui/package.json ui/vite.config.* ui/tsconfig.json -type f 2>/dev/null)

.PHONY: serve test lint typecheck pytest ui install clean bench reliability

serve: install ui
	$(BIN)/scripter serve

# -v: one line per test, so the log shows which ran (not skipped) against MariaDB,
# RabbitMQ and Docker; -rA would also print every passing test's captured log.
test: install ui lint typecheck
	cd ui && npm test --silent
	$(BIN)/pytest -v

# The fault and hostile-input suites, each test appending its figures to a temp file,
# then docs/reliability.md from them (written even when a test fails: its row shows it).
reliability: install
	@figures=$$(mktemp); \
	SCRIPTER_FIGURES=$$figures $(BIN)/pytest -m "fault or hostile"; status=$$?; \
	$(BIN)/python -m tests.reliability $$figures > docs/reliability.md; \
	rm -f $$figures; \
	exit $$status

lint: install ui/node_modules/.package-lock.json
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd ui && npm run --silent lint

typecheck: install ui/node_modules/.package-lock.json
	$(BIN)/mypy
	cd ui && npm run --silent typecheck

# Every benchmark against its baseline (about 7 minutes; bench/README.md), then
# docs/benchmarks.md and docs/bench/. Needs MariaDB, RabbitMQ and Docker, as make test.
bench: install
	$(BIN)/python -m bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

ui: ui/dist/index.html

ui/node_modules/.package-lock.json: ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error

ui/dist/index.html: ui/node_modules/.package-lock.json $(UI_SOURCES)
	cd ui && npm run --silent build

clean:
	rm -rf $(VENV) ui/node_modules ui/dist
