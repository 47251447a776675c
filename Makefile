# make demo: the local demo on a moto server (no AWS account). make test: lint + every test, with coverage.
# make unit: the fast tests (unit, fuzz, template; no moto server). make lint: ruff check, ruff format --check, mypy.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# Python 3.13 (the Lambda runtime): the first candidate that really runs 3.13 (a pyenv shim may not).
PYTHON313 ?= $(shell for c in python3.13 $$(ls -d "$$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python 2>/dev/null); do \
	"$$c" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { echo "$$c"; break; }; done)
export PATH := $(abspath $(BIN)):$(PATH)
# SAM CLI would otherwise try to send usage telemetry.
export SAM_CLI_TELEMETRY := 0

.PHONY: demo test unit lint generate build validate checkov bench bench-custodian clean print-python

$(BIN)/.installed: requirements-dev.txt constraints.txt pyproject.toml
	@test -n "$(PYTHON313)" || { echo "Python 3.13 is required (python3.13 on PATH or pyenv install 3.13)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON313) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

demo: $(BIN)/.installed
	$(BIN)/remediator demo
	$(BIN)/remediator demo --org

test: $(BIN)/.installed lint
	$(BIN)/pytest -q -n 2 --dist loadfile --cov=remediator --cov-report=term:skip-covered

unit: $(BIN)/.installed
	$(BIN)/pytest -q -n 2 --dist loadfile -m "not integration" tests/unit tests/fuzz tests/template

# mypy reads its files and settings from pyproject.toml ([tool.mypy]).
lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# template.yaml's marked sections, docs/rules.md and the README's rules table, from the rule catalog.
generate: $(BIN)/.installed
	$(BIN)/python scripts/generate.py

validate: $(BIN)/.installed
	$(BIN)/sam validate --lint --template template.yaml

build: $(BIN)/.installed
	scripts/sam_build_check.sh

checkov:
	scripts/checkov.sh

bench: $(BIN)/.installed
	$(BIN)/python scripts/bench_handler.py

# Ours vs Cloud Custodian on the same events (not part of `make test`; installs c7n into .bench/ on first use).
bench-custodian: $(BIN)/.installed
	@$(BIN)/python scripts/bench_vs_custodian.py $(ARGS)

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache .mypy_cache .coverage .bench

print-python:
	@echo $(PYTHON313)
