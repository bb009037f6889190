# supplytrack: `make serve` runs the service on SQLite with demo data; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
# Tests run in parallel (pytest-xdist), one worker per core up to four; each worker takes a
# Redis database of its own, counted down from the one above (tests/conftest.py).
PYTEST_WORKERS ?= -n auto --maxprocesses 4

.PHONY: serve test lint types test-sqlite test-postgres lock clean

$(BIN)/pip:
	$(PYTHON) -m venv $(VENV)

# Runtime dependencies only (hash-checked), then supplytrack itself in editable mode.
$(VENV)/.runtime: requirements.lock pyproject.toml | $(BIN)/pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Everything the suite needs (a superset of the runtime lock).
$(VENV)/.dev: requirements-dev.lock pyproject.toml | $(BIN)/pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(VENV)/.runtime $@

# semgrep lives in a virtualenv of its own: it pins an opentelemetry that FastAPI's does not take.
SEMGREP_VENV := .venv-semgrep
SEMGREP := SEMGREP_ENABLE_VERSION_CHECK=0 $(CURDIR)/$(SEMGREP_VENV)/bin/semgrep scan --metrics=off --disable-version-check

$(SEMGREP_VENV)/.done: requirements-semgrep.lock
	$(PYTHON) -m venv $(SEMGREP_VENV)
	$(SEMGREP_VENV)/bin/pip install --quiet --require-hashes -r requirements-semgrep.lock
	touch $@

# A development key for the audit checkpoints (README, AUDIT_SIGNING_KEY); never in production.
serve: export AUDIT_SIGNING_KEY ?= dev-only-audit-signing-key-change-me-0000
serve: $(VENV)/.runtime
	$(BIN)/supplytrack db upgrade
	$(BIN)/supplytrack demo-data --scale small --seed 1 --if-empty
	$(BIN)/supplytrack demo-tokens --url http://$(HOST):$(PORT)
	$(BIN)/supplytrack serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev $(SEMGREP_VENV)/.done
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/lint-imports
	$(BIN)/bandit --quiet -c pyproject.toml -r src
	cd security && $(SEMGREP) --test --config semgrep.yml semgrep.py
	$(SEMGREP) --quiet --error --config security/semgrep.yml src migrations

types: $(VENV)/.dev
	$(BIN)/mypy

test-sqlite: $(VENV)/.dev
	$(BIN)/pytest -q $(PYTEST_WORKERS)

# Skipped in one line (not a thousand SKIPPED ones) when PostgreSQL or Redis is not running,
# except in CI, where that fails (tests/services.py).
test-postgres: $(VENV)/.dev
	@$(BIN)/python tests/services.py $(PG_TEST_URL) $(REDIS_TEST_URL); status=$$?; \
	if [ $$status -eq 0 ]; then \
	  TEST_DATABASE_URL=$(PG_TEST_URL) TEST_REDIS_URL=$(REDIS_TEST_URL) $(BIN)/pytest -q $(PYTEST_WORKERS); \
	elif [ $$status -ne 1 ]; then exit $$status; fi

test: lint types test-sqlite test-postgres

# Regenerate the locks after changing pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile --quiet --python-version 3.11 --generate-hashes pyproject.toml requirements-build.in -o requirements.lock
	uv pip compile --quiet --python-version 3.11 --generate-hashes --extra dev pyproject.toml requirements-build.in -o requirements-dev.lock
	uv pip compile --quiet --python-version 3.11 --generate-hashes requirements-semgrep.in -o requirements-semgrep.lock

clean:
	rm -rf $(VENV) $(SEMGREP_VENV) .mypy_cache .ruff_cache supplytrack.db supplytrack.db-wal supplytrack.db-shm supplytrack.db-writer
