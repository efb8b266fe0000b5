# One entry point for newcomers and CI. `make test` works on a fresh clone:
# it builds .venv, installs every package editable plus the published langgraph,
# then runs every package's tests (PostgreSQL and Redis are started by the tests).
PYTHON ?=
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LIBS := libs/checkpoint libs/checkpoint-sqlite libs/checkpoint-postgres libs/checkpoint-conformance
PYTEST_ARGS ?=

.PHONY: install demo test bench lint format clean

$(STAMP): $(foreach l,$(LIBS),$(l)/pyproject.toml) scripts/install.sh
	PYTHON=$(PYTHON) bash scripts/install.sh
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

test: $(STAMP)
	bash scripts/test-services.sh
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/run.py $(if $(COMPARE),--compare,)

lint: $(STAMP)
	$(VENV)/bin/ruff check libs tests bench examples testsupport
	$(VENV)/bin/ruff format --check libs tests bench examples testsupport

format: $(STAMP)
	$(VENV)/bin/ruff format libs tests bench examples testsupport
	$(VENV)/bin/ruff check --fix libs tests bench examples testsupport

clean:
	rm -rf $(VENV) demo-data .bench
