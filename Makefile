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

test: $(VENV)/.requirements-dev
	env -u TEST_DATABASE_URL $(PY) -m pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL: $$TEST_DATABASE_URL"; \
	  $(PY) -m pytest; \
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
