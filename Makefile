# The two commands that matter: `make run` (the whole product, locally) and `make test` (every test).
SHELL := /bin/bash
# pyenv honours .python-version (3.12.1); without its shims on PATH, look in pyenv's own folder;
# elsewhere any python3.12+ on PATH will do (checked below).
PYTHON ?= $(shell command -v python3.12 || ls -d $(HOME)/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | tail -1 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
WEB_PORT ?= 8000
SANDBOX_PORT ?= 8765

.PHONY: run test bench lint format clean

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python 3.12 or newer is needed (found %s). Install it, or run: make PYTHON=/path/to/python3.12" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

# The embedded default: SQLite, the Pixxel sandbox, a background worker, the web server, a demo login.
run: export PIXXEL_API_BASE_URL ?= http://127.0.0.1:$(SANDBOX_PORT)
run: export DEBUG ?= true
run: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --sandbox-state .sandbox-jobs.jsonl
	@echo "Starting the Pixxel sandbox on :$(SANDBOX_PORT), a worker, and the web server on http://127.0.0.1:$(WEB_PORT)/"
	@# seed_demo has given the encryption-key warning (if any): the three processes need not repeat it.
	@trap 'kill $$(jobs -p) 2>/dev/null' EXIT INT TERM; \
	export PIXXEL_DASHBOARD_DERIVED_KEY_WARNED=1; \
	$(PY) manage.py pixxel_sandbox --port $(SANDBOX_PORT) --state-file .sandbox-jobs.jsonl & \
	$(PY) manage.py db_worker & \
	$(PY) manage.py runserver 127.0.0.1:$(WEB_PORT)

test: export DEBUG ?= true
test: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# Types (config in pyproject.toml); django-stubs imports the settings, hence DEBUG above.
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run
	@# Browser tests use Debian's Chromium: installed here with apt-get as root or with sudo, else
	@# Playwright's own download; otherwise one sentence says what to install (exit 1).
	@bash scripts/ensure-chromium $(VENV)/bin/playwright
	@# The Nu HTML Checker (tests/test_html_validity.py): vnu-jar, pinned, in .cache/vnu; Java where
	@# missing (apt-get as root or with sudo); otherwise one sentence says what to install (exit 1).
	@bash scripts/ensure-vnu >/dev/null
	$(PY) -m pytest $(PYTEST_ARGS)

# `make bench`, each script a report with figures and verdicts for docs/performance.md: the job
# page at scale (10 vs 2,000 tasks); the team's history (100,000 jobs vs 1,000; `BENCH_ARGS=--quick`
# for 10,000); the cost pages on the same data; the background worker (500 running jobs, 1 and 2
# db_worker processes, against the code before issue 15); the targets against baselines (1k/10k/100k
# jobs, `--quick` 1k/10k; in process and over HTTP against gunicorn); last the load test on
# PostgreSQL (2 web and 2 worker processes, 20 jobs, 50 pollers, 60 s; `LOAD_BENCH_ARGS`; it skips
# without PostgreSQL). All run even when one misses a target; the exit status is non-zero when one
# fails (only the job page's and the load test's checks fail; the others only if they crash).
bench: export DEBUG ?= true
bench: $(VENV)/.dev
	$(PY) bench/job_page.py; status=$$?; $(PY) bench/history.py $(BENCH_ARGS) || status=$$?; \
	$(PY) bench/costs.py $(BENCH_ARGS) || status=$$?; \
	$(PY) bench/worker.py $(WORKER_BENCH_ARGS) || status=$$?; \
	$(PY) bench/baselines.py $(BENCH_ARGS) || status=$$?; \
	$(PY) bench/load.py $(LOAD_BENCH_ARGS) || status=$$?; exit $$status

lint:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm .sandbox-jobs.jsonl
