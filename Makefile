# Make is the interface: README and .ci/run call these targets only.
# Every target that needs Python creates the virtual environment first (fresh machine friendly).

SHELL := /bin/bash
VENV ?= .venv
PORT ?= 3000
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-stamp

# Python 3.12 is the Lambda runtime. Use a working python3.12 (a pyenv shim that is not active
# does not count), else a pyenv-installed 3.12, else python3 with a warning.
PYTHON312 := $(shell for c in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	if $$c -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then echo $$c; break; fi; done)

# checkov pins boto3/botocore 1.35, which the moto pins (1.44) exclude: it gets a venv of its own,
# inside $(VENV) so it is ignored and cleaned with it (tests/static/test_checkov.py runs it).
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.deps-stamp-$(CHECKOV_VERSION)

# The SAM CLI (for `make deploy` only) pins its own boto3 and pydantic: a venv of its own too.
SAM_VERSION := 1.170.0
SAM_VENV := $(VENV)/sam
SAM_STAMP := $(SAM_VENV)/.deps-stamp-$(SAM_VERSION)

.PHONY: browser help venv checkov-venv sam-venv test test-fast lint run bench bench-results check rules-check schedules openapi deploy clean

help:
	@echo "make run          local stack (moto + WeCom sandbox) on 127.0.0.1:$(PORT)"
	@echo "make test         every test and static check"
	@echo "make bench        benchmarks, each budget pass or fail (BENCH=bench_rules to pick); make bench-results also writes bench/RESULTS.md"
	@echo "make check        every config file (file:line: key path), approval rules and samples, and the"
	@echo "                  people, departments and robots they name against the directory (DIRECTORY=file.yaml)"
	@echo "make deploy       make check, then sam build + sam deploy --guided (SAM CLI $(SAM_VERSION) in its own venv)"
	@echo "make schedules    copy the schedule times of config/digests.yaml into template.yaml"
	@echo "make openapi      write docs/openapi.json from the API's routers (local mode serves it at /_docs)"

venv: $(STAMP)

$(STAMP): requirements-dev.txt layers/common/requirements.txt
	@if [ ! -x $(PY) ]; then \
		if [ -n "$(PYTHON312)" ]; then echo "creating $(VENV) with $(PYTHON312)"; $(PYTHON312) -m venv $(VENV); \
		else echo "WARNING: no python3.12 found; falling back to $$(python3 --version). Lambda runs 3.12." >&2; python3 -m venv $(VENV); fi; \
	fi
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt 2>&1 | { grep -v "is ignored: it is neither" || true; }; test $${PIPESTATUS[0]} -eq 0
	touch $(STAMP)

checkov-venv: $(CHECKOV_STAMP)

$(CHECKOV_STAMP): | $(STAMP)
	@if [ ! -x $(CHECKOV_VENV)/bin/python ]; then echo "creating $(CHECKOV_VENV)"; $(or $(PYTHON312),python3) -m venv $(CHECKOV_VENV); fi
	$(CHECKOV_VENV)/bin/python -m pip install --disable-pip-version-check -q "checkov==$(CHECKOV_VERSION)" 2>&1 | { grep -v "is ignored: it is neither" || true; }; test $${PIPESTATUS[0]} -eq 0
	rm -f $(CHECKOV_VENV)/.deps-stamp-*
	touch $(CHECKOV_STAMP)

sam-venv: $(SAM_STAMP)

$(SAM_STAMP):
	@if [ ! -x $(SAM_VENV)/bin/python ]; then echo "creating $(SAM_VENV)"; $(or $(PYTHON312),python3) -m venv $(SAM_VENV); fi
	$(SAM_VENV)/bin/python -m pip install --disable-pip-version-check -q "aws-sam-cli==$(SAM_VERSION)" 2>&1 | { grep -v "is ignored: it is neither" || true; }; test $${PIPESTATUS[0]} -eq 0
	rm -f $(SAM_VENV)/.deps-stamp-*
	touch $(SAM_STAMP)

# `sam build` needs python3.12 on PATH (the functions' runtime): the one the venv was made with goes first.
# DEPLOY_ARGS replaces --guided once samconfig.toml holds your answers (e.g. DEPLOY_ARGS="--no-confirm-changeset").
deploy: check sam-venv
	@$(SAM_VENV)/bin/python -c "import boto3; boto3.client('sts').get_caller_identity()" >/dev/null 2>&1 || { \
		echo "make deploy: no usable AWS credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and AWS_REGION)" >&2; exit 2; }
	PATH="$(abspath $(dir $(or $(PYTHON312),python3))):$$PATH" $(SAM_VENV)/bin/sam build
	PATH="$(abspath $(dir $(or $(PYTHON312),python3))):$$PATH" $(SAM_VENV)/bin/sam deploy $(or $(DEPLOY_ARGS),--guided)

# pytest exits 5 when it collected no test: say so plainly instead of failing obscurely.
# Tests on a fast real-time virtual clock (marker scaled_clock) run alone after the parallel run:
# at 50 000x a second of another worker's load is 14 virtual hours.
# Browser tests (tests/browser) drive Debian's chromium through Playwright and need a CJK font for
# readable screenshots: installed here when absent (root, or sudo), never downloaded by Playwright.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || { \
	  echo "installing chromium and fonts-wqy-zenhei for the browser tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }

test: venv checkov-venv browser
	@$(PY) -m pytest -q -n 2 --dist loadgroup -m "not scaled_clock"; rc=$$?; \
	if [ $$rc -ne 0 ] && [ $$rc -ne 5 ]; then exit $$rc; fi; \
	$(PY) -m pytest -q -n 0 -m scaled_clock; rc2=$$?; \
	if [ $$rc -eq 5 ] && [ $$rc2 -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; \
	if [ $$rc2 -eq 5 ]; then exit 0; fi; exit $$rc2

test-fast: venv
	$(PY) -m pytest -q -x -m "not slow"

lint: venv
	$(PY) -m ruff check .

run: venv
	PORT=$(PORT) PYTHONPATH=layers/common:. $(PY) -m local.server

bench: venv
	PYTHONPATH=layers/common:. $(PY) -m bench $(BENCH)

bench-results: venv
	PYTHONPATH=layers/common:. $(PY) -m bench --write $(BENCH)

check: venv
	PYTHONPATH=layers/common:. $(PY) -m wecom_oa.cli.rules_check $(if $(DIRECTORY),--directory $(DIRECTORY))

rules-check: check

schedules: venv
	PYTHONPATH=layers/common:. $(PY) -m wecom_oa.cli.schedules

openapi: venv
	PYTHONPATH=layers/common:. $(PY) -m wecom_oa.openapi docs/openapi.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .aws-sam
