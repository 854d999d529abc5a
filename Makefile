# ndxsim: `make demo` plays the demo scenario, `make test` runs every test tier.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JARS := .cache/kafka/.fetched
AUDIT_KEY := .cache/secrets/audit.key
# Test brokers live for seconds: compiled by C1 alone they start sooner and spend less CPU.
TEST_KAFKA_OPTS ?= -XX:TieredStopAtLevel=1

.PHONY: compare-bulk tax-figures setup demo up down status test lint growth capacity compare bench clean system-deps jars

setup: $(STAMP) $(JARS) $(AUDIT_KEY)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(JARS): deploy/kafka/pom.xml $(STAMP)
	$(VENV)/bin/ndxsim fetch
	touch $(JARS)

jars: $(JARS)

# This installation's audit key (mode 0600, never printed); NDX_AUDIT_KEY overrides it.
$(AUDIT_KEY): $(STAMP)
	$(PY) -m services.security.auditkey

system-deps:
	bash deploy/install-system-deps.sh

demo: setup
	$(VENV)/bin/ndxsim demo

up: setup
	$(VENV)/bin/ndxsim up

growth: setup
	$(VENV)/bin/ndxsim run loadtests/scenarios/growth-2023-2024.yaml

capacity: setup
	$(VENV)/bin/ndxsim capacity loadtests/scenarios/demo.yaml

compare: setup
	$(VENV)/bin/ndxsim compare loadtests/scenarios/peak-hour.yaml \
		--design deploy/designs/baseline.yaml --design deploy/designs/ministry-cache.yaml

compare-bulk: setup
	$(VENV)/bin/ndxsim compare loadtests/scenarios/ecommerce-tax.yaml \
		--design deploy/designs/bulk-shared.yaml --design deploy/designs/bulk-lane.yaml \
		--design deploy/designs/bulk-quota.yaml

tax-figures: setup
	$(VENV)/bin/ndxsim run loadtests/scenarios/ecommerce-tax-2022-2023.yaml \
		--design deploy/designs/bulk-lane.yaml

bench: setup
	$(PY) -m loadtests.bench $(BENCH_ARGS)

down:
	@if [ -x $(VENV)/bin/ndxsim ]; then $(VENV)/bin/ndxsim down; fi

status: $(STAMP)
	@$(VENV)/bin/ndxsim status

# The unit and contract tiers share no broker, so they run on two processes; the broker tiers
# run after them in one, sharing their clusters.
test: setup system-deps lint
	@$(PY) -m pytest -n 2 tests/unit tests/contract; fast=$$?; \
	export KAFKA_OPTS="$(TEST_KAFKA_OPTS)"; \
	$(PY) -m pytest -n 2 --dist loadfile -m "not alone" tests/integration tests/e2e; slow=$$?; \
	$(PY) -m pytest -m alone tests/integration tests/e2e; alone=$$?; \
	for code in $$fast $$slow $$alone; do \
	  if [ $$code -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; \
	done; \
	for code in $$fast $$slow; do if [ $$code -ne 0 ]; then exit $$code; fi; done; exit $$alone

lint: $(STAMP)
	$(VENV)/bin/ruff check services loadtests tests
	$(VENV)/bin/ruff format --check services loadtests tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/deptry .

clean:
	rm -rf .cache/brokers runs
