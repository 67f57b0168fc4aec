# The README's commands. Each creates .venv if missing and installs the project first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: demo test ui lint format install clean chromium report pg-server
PG_BIN ?= /usr/lib/postgresql/15/bin

# The browser tests drive Debian's Chromium through Playwright (the python package comes with the dev
# extras). `playwright install` is never used: it downloads browsers, which fails offline.
CHROMIUM := /usr/bin/chromium

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		echo "installing chromium (browser tests)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

demo: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/tracer demo $(DEMO_ARGS)

# the Postgres-instance test starts a throwaway server from Debian's binaries: install them if missing
pg-server:
	@test -x $(PG_BIN)/initdb || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15; }

test: $(STAMP) chromium pg-server
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q $(PYTEST_ARGS)

report: $(STAMP)
	$(BIN)/tracer report $(REPORT_ARGS)

ui: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/tracer recover
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -m tracer_assets.definitions

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf data_lake/* data_lake_sim_truth outbox .dagster_home
