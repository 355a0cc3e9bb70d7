# The two quick-start commands (`make demo`, `make test`) and what they need.
PYTHON ?= python3.11
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo dev test lint typecheck check bench clean plugin-test

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/disparo demo

dev: $(STAMP)
	$(BIN)/disparo dev

test: $(STAMP)
	scripts/install-wordpress-tools.sh
	scripts/ensure-services.sh
	scripts/ensure-browser.sh
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src tests
	wordpress-plugin/tests/run.sh
	$(BIN)/pytest

# The WordPress plugin alone: php -l, phpcs (PSR-12), PHPUnit inside a real WordPress.
plugin-test:
	scripts/install-wordpress-tools.sh
	scripts/ensure-services.sh
	wordpress-plugin/tests/run.sh

bench: $(STAMP)
	$(BIN)/python bench/bench_cda_100k.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

# Dashboard (issue 6): the browser test, saving its screenshots for the README.
.PHONY: screenshots
screenshots: $(STAMP)
	scripts/ensure-services.sh
	scripts/ensure-browser.sh
	DISPARO_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/dashboard/test_browser.py -q
