# The two quick-start commands (`make demo`, `make test`) and what they need.
PYTHON ?= python3.11
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo dev test lint typecheck check bench clean plugin-test lock audit image-test

# Every dependency, transitive ones and pip/setuptools too, comes from the hashed lock
# (requirements-dev.lock = runtime + dev extras); the project itself is installed without
# touching the index (--no-deps, and no isolated build env fetching setuptools unpinned).
$(VENV)/.locked: requirements-dev.lock
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON) on PATH"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $@

$(STAMP): pyproject.toml $(VENV)/.locked
	$(BIN)/python scripts/check-lock.py
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Regenerates both locks from pyproject.toml (reads the package index). The dev lock is
# constrained by the runtime one, so the image and the dev venv run the same versions.
LOCK_FLAGS := --quiet --generate-hashes --allow-unsafe --strip-extras --all-build-deps \
	--no-emit-index-url --no-emit-find-links
lock: $(VENV)/.locked
	$(BIN)/pip-compile $(LOCK_FLAGS) -o requirements.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --extra dev --constraint requirements.lock \
		-o requirements-dev.lock pyproject.toml

# The image, the compose stack and the pooler (tests/deploy) alone.
image-test: $(STAMP)
	scripts/ensure-services.sh
	scripts/ensure-deploy-tools.sh
	$(BIN)/pytest tests/deploy -q

# pip-audit against both locks (known vulnerabilities from PyPI's JSON API).
audit: $(STAMP)
	scripts/audit-deps.sh

demo: $(STAMP)
	$(BIN)/disparo demo

dev: $(STAMP)
	$(BIN)/disparo dev

test: $(STAMP)
	scripts/audit-deps.sh
	scripts/install-wordpress-tools.sh
	scripts/ensure-services.sh
	scripts/ensure-browser.sh
	scripts/install-ops-tools.sh
	scripts/ensure-deploy-tools.sh
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src tests
	$(BIN)/lint-imports
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
	DISPARO_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/dashboard/test_browser.py tests/dashboard/test_browser_operator.py -q
