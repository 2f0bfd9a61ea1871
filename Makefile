# Satisfaction Portal: `make run` serves it with demo data, `make test` runs every test.
# Everything is created on first use (virtualenv, dependencies, system packages, database).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
FLASK := $(VENV)/bin/flask
export FLASK_APP := wsgi
# the tests read CI: under CI=true a missing browser or database fails instead of skipping
# (from the environment or `make test CI=true`; never exported empty)
ifdef CI
export CI
endif

WORKERS ?= 3
THREADS ?= 4
# background job worker threads started beside gunicorn (imports; portal.jobs)
JOB_WORKERS ?= 2
# pytest -n: parallel workers (on PostgreSQL each worker gets its own database: tests/pg_workers.py)
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
PG_PYTEST_ARGS ?= -m "not browser"

# Debian/Ubuntu packages: WeasyPrint's libraries and CJK fonts; chromium and poppler for tests
RUN_SYSPKGS := fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0
TEST_SYSPKGS := $(RUN_SYSPKGS) chromium poppler-utils haproxy

PO_FILES := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: help venv deps test-deps sysdeps test-sysdeps translations db demo run test test-pg \
        migration migration-check initial-migration bench clean

help:
	@echo "make run     - set up everything, load demo data, serve on http://127.0.0.1:$${PORT:-8000}/"
	@echo "make test    - set up everything and run the whole test suite (SQLite)"
	@echo "make test-pg - the database-facing tests on PostgreSQL (TEST_DATABASE_URL=postgresql+psycopg://...)"
	@echo "other: venv deps test-deps sysdeps db demo translations migration MSG=... migration-check"
	@echo "       initial-migration bench clean"

# --- Python environment -------------------------------------------------------------------

$(PY):
	@test -n "$(PYTHON)" || { echo "python3 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

venv: $(PY)

$(VENV)/.deps: requirements.txt | $(PY)
	$(PIP) install -q -r requirements.txt
	@touch $@

$(VENV)/.test-deps: requirements-dev.txt requirements.txt | $(PY)
	$(PIP) install -q -r requirements-dev.txt
	@touch $@ $(VENV)/.deps

deps: $(VENV)/.deps
test-deps: $(VENV)/.test-deps

# --- System packages ----------------------------------------------------------------------
# Installs what is missing when root on Debian/Ubuntu (apt-get update only then);
# otherwise prints what is missing and carries on.
define ensure_syspkgs
	@if ! command -v dpkg-query >/dev/null; then \
	  echo "note: not a Debian/Ubuntu system; the portal needs the equivalents of: $(1)"; exit 0; fi; \
	missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing system packages:$$missing"; \
	  apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
	  echo "warning: missing system packages:$$missing"; \
	  echo "         install them with: sudo apt-get install$$missing"; \
	fi
endef

sysdeps:
	$(call ensure_syspkgs,$(RUN_SYSPKGS))

test-sysdeps:
	$(call ensure_syspkgs,$(TEST_SYSPKGS))

# --- Translations (compiled .mo files are build output) -----------------------------------

translations: $(MO_FILES)

%.mo: %.po | $(VENV)/.deps
	$(VENV)/bin/pybabel -q compile -i $< -o $@.tmp -l $(word 3,$(subst /, ,$<))
	@test -f $@.tmp || { echo "$<: not compiled (is the catalog header marked fuzzy?)" >&2; exit 1; }
	@mv $@.tmp $@

# --- Database -----------------------------------------------------------------------------

db: deps
	$(FLASK) db upgrade

# Demo data only goes into a new database (no accounts yet) or one that already holds
# the demo accounts; DEMO=1 forces it, DEMO=0 skips it.
demo: db
	$(FLASK) demo

DEMO_WANTED := $(PY) -c 'import logging; logging.disable(logging.INFO); \
  from sqlalchemy import select; from portal import create_app; from portal.cli import DEMO_USERNAMES; \
  from portal.extensions import db; from portal.models import User; app = create_app(); \
  ctx = app.app_context(); ctx.push(); names = set(db.session.scalars(select(User.username))); \
  print("yes" if not names or set(DEMO_USERNAMES) <= names else "no")'

# --- The two commands ---------------------------------------------------------------------

run: deps sysdeps translations db
	@want="$${DEMO:-auto}"; \
	if [ "$$want" = auto ]; then want=$$($(DEMO_WANTED)); fi; \
	if [ "$$want" = yes ] || [ "$$want" = 1 ]; then \
	  $(FLASK) demo; \
	  echo; \
	  echo "  Demo logins (password: $${DEMO_PASSWORD:-portal-demo}):"; \
	  echo "    admin           administrator: users and roles; clients, contacts, projects; settings"; \
	  echo "    quality1        quality department: templates; ticket import; callback desk and summary; settings"; \
	  echo "    pmo1            PMO director: edits clients and projects; verifies or reopens resolved follow-ups"; \
	  echo "    archive1        admin department: forms received per quarter"; \
	  echo "    exec1           executive: reads all; answers escalated follow-ups; acknowledges major problems"; \
	  echo "    pm1, pm2        project managers: rounds, invitations, paper forms, follow-ups of own projects"; \
	  echo "    sales1, sales2  sales: own projects and contacts; records sales inquiries (on behalf too)"; \
	  echo "  Complaints (every state, monthly report, check on the handling) and improvement plans; key accounts, rollups and archive later."; \
	elif [ "$$want" = 0 ]; then \
	  echo "  Demo data skipped (DEMO=0)."; \
	else \
	  echo "  Existing database with its own accounts: demo data not loaded (DEMO=1 forces it)."; \
	fi; \
	echo; \
	echo "  Satisfaction Portal: http://127.0.0.1:$${PORT:-8000}/"; \
	echo
	$(VENV)/bin/huey_consumer portal.jobs.worker.huey --workers $(JOB_WORKERS) --worker-type thread & \
	worker=$$!; trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/gunicorn --bind 127.0.0.1:$${PORT:-8000} --workers $(WORKERS) \
	  --worker-class gthread --threads $(THREADS) --no-control-socket --access-logfile - wsgi:app

test: test-deps test-sysdeps translations
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test-pg: test-deps test-sysdeps translations
	@case "$${TEST_DATABASE_URL:-}" in postgresql*) ;; \
	  *) echo "test-pg needs TEST_DATABASE_URL=postgresql+psycopg://user@host:port/db" >&2; exit 2;; esac
	$(PY) -m pytest -p tests.pg_workers -n $(PYTEST_WORKERS) --dist loadgroup $(PG_PYTEST_ARGS) $(PYTEST_ARGS)

# --- Migrations ---------------------------------------------------------------------------

MIGRATION_DB := /tmp/portal-migration-$(shell id -u).sqlite3

# next revision from the models: `make migration MSG="add x to y"`, then review the file
migration: deps
	@test -n "$(MSG)" || { echo 'usage: make migration MSG="what changes"' >&2; exit 2; }
	rm -f $(MIGRATION_DB)
	DATABASE_URL=sqlite:///$(MIGRATION_DB) $(FLASK) db upgrade
	n=$$(ls migrations/versions/[0-9][0-9][0-9][0-9]_[0-9][0-9]_[0-9][0-9]_[0-9][0-9][0-9][0-9]_*.py 2>/dev/null | wc -l); \
	DATABASE_URL=sqlite:///$(MIGRATION_DB) $(FLASK) db migrate -m "$(MSG)" --rev-id $$(printf %04d $$((n + 1)))
	rm -f $(MIGRATION_DB)

# fails when the models and the migrations differ
migration-check: deps
	rm -f $(MIGRATION_DB)
	DATABASE_URL=sqlite:///$(MIGRATION_DB) $(FLASK) db upgrade
	DATABASE_URL=sqlite:///$(MIGRATION_DB) $(FLASK) db check
	rm -f $(MIGRATION_DB)

# before the first release only: rewrite 0001 from the current models
initial-migration: deps
	rm -f $(MIGRATION_DB) migrations/versions/*_0001_initial_schema.py
	DATABASE_URL=sqlite:///$(MIGRATION_DB) $(FLASK) db migrate -m "initial schema" --rev-id 0001
	rm -f $(MIGRATION_DB)

# --- Benchmark, cleanup -------------------------------------------------------------------

bench: deps
	$(PY) bench/sqlite_writes.py
	$(PY) bench/pdf_render.py
	$(PY) bench/import_cases.py

.PHONY: bench-rollup bench-pdf
bench-rollup: deps
	$(PY) bench/rollup.py

bench-pdf: deps
	$(PY) bench/pdf.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -f $(MO_FILES)
