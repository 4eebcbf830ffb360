# Two commands do all setup: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck pytest interop report-check torture bench bench-quick bench-env clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check hfdata tests benchmarks
	$(BIN)/ruff format --check hfdata tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q -m "not slow and not interop"

# Engines that start a JVM (Spark, the `interop` extra): docs/engines.md's Spark recipes.
INTEROP_STAMP := $(VENV)/.interop-installed

$(INTEROP_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,interop]'
	touch $(INTEROP_STAMP)

interop: $(INTEROP_STAMP)
	$(BIN)/pytest -q -m interop

test: lint typecheck pytest

# The HTML report drawn by headless Chromium (issue 19): installs Debian's chromium when
# missing (apt, as root or through sudo), then runs the render test, which must not skip.
# `make test` runs the same test whenever a chromium is on PATH and skips it otherwise.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

report-check: $(STAMP)
	command -v chromium >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }
	HFDATA_REQUIRE_CHROMIUM=1 $(BIN)/pytest -q tests/test_html_report.py

# Full trial counts (tests/reliability); writes tests/reliability/RESULTS.md.
torture: $(STAMP)
	HFDATA_TORTURE=full $(BIN)/python tests/reliability/figures.py -q -m slow tests

demo: $(STAMP)
	$(BIN)/hfdata demo

# Benchmarks: peers from the `bench` extra; ArcticDB (needs pandas < 3) in its own venv.
ARCTIC := .venv-arctic
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

$(ARCTIC)/.installed:
	$(PYTHON) -m venv $(ARCTIC)
	$(ARCTIC)/bin/python -m pip install --quiet 'arcticdb' 'pandas<3' pyarrow
	touch $(ARCTIC)/.installed

bench-env: $(BENCH_STAMP) $(ARCTIC)/.installed

bench: bench-env
	$(BIN)/python -m benchmarks --write-results

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) $(ARCTIC) benchmarks/_work .pytest_cache .mypy_cache .ruff_cache hfdata-demo
