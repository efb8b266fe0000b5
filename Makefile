# One entry point for newcomers and CI. `make test` works on a fresh clone:
# it builds .venv, installs every package editable plus the published langgraph,
# then runs every package's tests (PostgreSQL and Redis are started by the tests),
# then the published langgraph's own test suite on our savers (test-upstream).
PYTHON ?=
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LIBS := libs/checkpoint libs/checkpoint-sqlite libs/checkpoint-postgres libs/checkpoint-conformance
PYTEST_ARGS ?=
UPSTREAM_ARGS ?=

.PHONY: install demo test test-upstream bench lint format sync clean

$(STAMP): $(foreach l,$(LIBS),$(l)/pyproject.toml) scripts/install.sh
	PYTHON=$(PYTHON) bash scripts/install.sh
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

# Both runs happen even when the first fails, so one CI run reports both.
test: $(STAMP)
	bash scripts/test-services.sh
	status=0; $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; \
	bash scripts/upstream-tests.sh $(UPSTREAM_ARGS) || status=$$?; \
	$(UPSTREAM_COMPACT_RUN) || status=$$?; \
	exit $$status

# LangGraph's suite again with every SQL saver in compact mode (its SQL saver tests only).
UPSTREAM_COMPACT_RUN = UPSTREAM_COMPACT=1 bash scripts/upstream-tests.sh -k "sqlite or postgres" $(UPSTREAM_ARGS)

test-upstream: $(STAMP)
	bash scripts/test-services.sh
	status=0; bash scripts/upstream-tests.sh $(UPSTREAM_ARGS) || status=$$?; \
	$(UPSTREAM_COMPACT_RUN) || status=$$?; \
	exit $$status

bench: $(STAMP)
	$(PY) bench/run.py $(if $(COMPARE),--compare,) $(if $(SCALE),--scale,) $(if $(CLI),--cli,) $(if $(RETENTION),--retention,) $(if $(GROWTH),--growth,)

# Sync modules are generated from their async source (scripts/async_to_sync.py).
sync: $(STAMP)
	$(PY) scripts/async_to_sync.py

lint: $(STAMP)
	$(PY) scripts/async_to_sync.py --check
	$(PY) -m mypy
	$(VENV)/bin/ruff check libs tests bench examples testsupport scripts
	$(VENV)/bin/ruff format --check libs tests bench examples testsupport scripts

format: $(STAMP)
	$(VENV)/bin/ruff format libs tests bench examples testsupport scripts
	$(VENV)/bin/ruff check --fix libs tests bench examples testsupport scripts

clean:
	rm -rf $(VENV) demo-data .bench
