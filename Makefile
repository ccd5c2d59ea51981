# yeban: the two commands a new user needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_SYS ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install models neo4j migrate redis data intent serve demo test chromium stop lint bench status notebooks

help:
	@echo "make demo   - install everything, start Neo4j, load the demo store and run the main job"
	@echo "make test   - the whole test suite (starts its own Neo4j)"
	@echo "make stop   - stop what make demo started"
	@echo "make lint | make bench | make status"

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON_SYS) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required (found " + sys.version.split()[0] + ")")'
	@command -v java >/dev/null || { echo "Java not found: install a JDK 17 or newer (Debian: apt-get install openjdk-17-jdk-headless)"; exit 1; }
	@command -v mvn >/dev/null || { echo "Maven not found: install it (Debian: apt-get install maven)"; exit 1; }
	test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)
	$(PY) -m ops.neo4j build

neo4j: install
	$(PY) -m ops.neo4j start

migrate: neo4j
	$(PY) -m graph.migrate

models: install
	$(PY) -m retrieval.models bootstrap

redis: install
	$(PY) -m ops.redis start

data: migrate models
	$(PY) -m ingest.pipeline data/demo --author demo

intent: models
	$(PY) -m retrieval.intent train

serve: data intent redis
	$(PY) -m qa_api.demo_access tokens $(YEBAN_API_TOKENS_FILE)
	$(PY) -m ops.api start

# Tokens for the consoles: fresh ones whenever make demo starts the API (kept while it runs).
DEMO_TOKENS := $(CURDIR)/var/demo/api-tokens.txt
serve demo: export YEBAN_API_TOKENS_FILE ?= $(DEMO_TOKENS)

demo: serve
	@$(PY) -m ops.neo4j status
	@$(PY) -m ops.api status
	@echo
	@echo "yeban is answering on http://$$($(PY) -c 'from schema.settings import load_settings as l; s=l(); print(f"{s.api_host}:{s.api_port}")'). Three example calls:"
	@echo
	@$(PY) -m qa_api.demo_calls
	@echo
	@$(PY) -m qa_api.demo_access show $(YEBAN_API_TOKENS_FILE)
	@echo
	@echo "Next step: test the bot on a store's own conversations before going live (and after every knowledge change):"
	@echo "  $(PY) -m dialog.store_test data/demo/store_cases.jsonl --dialogs data/demo/store_dialogs.jsonl --api http://$$($(PY) -c 'from schema.settings import load_settings as l; s=l(); print(f"{s.api_host}:{s.api_port}")')"
	@echo "  (writes var/reports/store_test-*/report.json and report.md: the figures and every failure with the reply given)"

test: models chromium
	$(PY) -m pytest

# The browser tests drive Debian's Chromium (Playwright's own browser download does not work
# offline), with a CJK font so that screenshots show the Chinese UI.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
BROWSER_PKGS := chromium fonts-wqy-microhei
chromium:
	@if ! test -x /usr/bin/chromium || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  echo "installing $(BROWSER_PKGS) from Debian for the browser tests"; \
	  $(SUDO) apt-get install -y --no-install-recommends $(BROWSER_PKGS) || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $(BROWSER_PKGS); }; fi

stop:
	-$(PY) -m ops.api stop
	-$(PY) -m ops.redis stop
	-$(PY) -m ops.neo4j stop

status:
	$(PY) -m ops.neo4j status

notebooks: install
	$(PY) -m pip install --quiet -r requirements-notebooks.txt
	$(PY) -m ipykernel install --sys-prefix --name yeban --display-name "Python 3 (yeban)"
	$(PY) -m jupyterlab --ip 127.0.0.1 --no-browser --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

lint: install
	$(PY) -m ruff check .
	$(PY) -m nbstripout --verify notebooks/*.ipynb

# Benchmarks print JSON; they expect `make demo` to have run (Neo4j with the demo store, models).
bench: install
	@for b in bench/bench_*.py; do m=$$(basename $$b .py); echo "== bench.$$m" >&2; $(PY) -m bench.$$m || exit 1; done
