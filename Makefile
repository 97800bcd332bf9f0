# Plain verbs. `make run` starts everything; `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export DEBUG ?= true

.PHONY: install run demo worker web test test-postgres lint format migrations-check check clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: install  ## migrate, make sure an admin exists, start web + worker (+ demo DHIS2s when none is configured)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	$(PY) manage.py serve --demo auto

demo: install  ## like run, always with the two simulated DHIS2 instances
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	$(PY) manage.py serve --demo on

web: install
	$(PY) manage.py runserver

worker: install
	$(PY) manage.py qcluster

test: install  ## the test suite (SQLite unless DATABASE_URL says otherwise)
	$(VENV)/bin/pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) .local/test-db.sqlite3*
