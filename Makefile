# Infusion Tracker: `make run` serves the app with its scheduler; `make test` runs the suite;
# `make lint` checks style, formatting and types (settings in pyproject.toml).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app tracker
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test test-browser lint bench bench-smoke clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.requirements: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.requirements-dev: requirements.txt requirements-dev.txt $(VENV)/.requirements
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

instance/config.py:
	$(PY) -m tracker.instance_setup

# Patients' links point here unless TRACKER_BASE_URL is set already.
run: export TRACKER_BASE_URL ?= http://$(HOST):$(PORT)
run: $(VENV)/.requirements instance/config.py
	$(FLASK) init-db
	$(FLASK) seed-demo --if-empty
	@cat instance/demo-login.txt 2>/dev/null || true
	@echo "Serving on http://$(HOST):$(PORT) with the reminder scheduler (Ctrl-C stops both)."
	@$(FLASK) scheduler & sched=$$!; \
	  trap 'kill $$sched 2>/dev/null' EXIT INT TERM; \
	  $(subst --app tracker,--app wsgi,$(FLASK)) run --host $(HOST) --port $(PORT)

# With TEST_DATABASE_URL set, the SQLite and PostgreSQL passes run side by side (each writes its
# own log, printed when both have finished); either failing fails the target.
test: $(VENV)/.requirements-dev
	@if [ -z "$$TEST_DATABASE_URL" ]; then \
	  $(PY) -m pytest; \
	else \
	  echo "== SQLite and PostgreSQL ($$TEST_DATABASE_URL) side by side"; \
	  env -u TEST_DATABASE_URL $(PY) -m pytest -p no:cacheprovider > .test-sqlite.log 2>&1 & sqlite=$$!; \
	  $(PY) -m pytest -p no:cacheprovider > .test-postgresql.log 2>&1 & postgresql=$$!; \
	  wait $$sqlite; sqlite_rc=$$?; wait $$postgresql; postgresql_rc=$$?; \
	  echo "== SQLite"; cat .test-sqlite.log; echo "== PostgreSQL"; cat .test-postgresql.log; \
	  test $$sqlite_rc -eq 0 && test $$postgresql_rc -eq 0; \
	fi

test-browser: $(VENV)/.requirements-dev
	$(PY) -m pytest tests/browser

lint: $(VENV)/.requirements-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(VENV)/.requirements-dev
	$(PY) -m bench $(if $(PATIENTS),--patients $(PATIENTS)) $(if $(DATABASE_URL),--database-url $(DATABASE_URL))

bench-smoke: $(VENV)/.requirements-dev
	$(PY) -m bench --patients 1000 --smoke

clean:
	rm -rf $(VENV) .pytest_cache
