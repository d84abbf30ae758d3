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
# The IAM evaluator of tests/infra (npm @cloud-copilot/iam-simulate, pinned by its package-lock.json). Without
# node and npm it is not installed, and the permission tests fail saying so: they never skip.
IAM_DIR   := tests/infra/iam
IAM_STAMP := $(IAM_DIR)/node_modules/.installed

.PHONY: run test lint install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,sandbox]'
	touch $(STAMP)

$(IAM_STAMP): $(IAM_DIR)/package.json $(IAM_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(IAM_DIR) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else \
	  echo "make: npm is missing, so the IAM permission tests (tests/infra) will fail: install Node.js 20+ and npm"; \
	fi

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
