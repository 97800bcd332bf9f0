# Plain verbs. `make run` starts everything; `make test` runs the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export DEBUG ?= true

.PHONY: install run demo worker web test test-dates test-postgres bench screenshots lint typecheck contracts format migrations-check check clean

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

# Wall-clock instants where calendars break: ISO week 53 just before midnight, New Year just after
# midnight, the first of a month, the evening before a month ends. `now` is the real clock.
TEST_DATES ?= now 2026-12-28T23:50:00 2027-01-01T00:30:00 2027-03-01 2027-07-31T22:10:00
TEST_DATES_ARGS ?= -x -q -p no:randomly

test-dates: install  ## the suite at each of TEST_DATES, every process's wall clock shifted there
	@set -e; for when in $(TEST_DATES); do \
		echo "== test suite at $$when"; \
		if [ "$$when" = now ]; then \
			$(VENV)/bin/pytest $(TEST_DATES_ARGS); \
		else \
			DHIS2SYNC_FAKE_NOW=$$when DHIS2SYNC_FAKE_OFFSET= \
			PYTHONPATH=$(CURDIR)/tests/clockshift$${PYTHONPATH:+:$$PYTHONPATH} \
			$(VENV)/bin/pytest $(TEST_DATES_ARGS); \
		fi; \
	done

bench: install  ## benchmarks on loopback simulators, table + .local/bench.json (BENCH_ARGS=--large)
	$(PY) -m benchmarks $(BENCH_ARGS)

screenshots: install  ## the browser tests, also writing the README's pictures to docs/screenshots/
	DOCS_SCREENSHOTS=1 $(VENV)/bin/pytest tests/browser -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install  ## mypy (strict, django-stubs) over every module but tests and migrations
	$(VENV)/bin/mypy

contracts: install  ## import-linter: dhis2 and the operation cores import no Django, no app imports simulator
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) .local/test-db*.sqlite3*
