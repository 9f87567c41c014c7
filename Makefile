# Hongyun — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test install lint proto bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The environment comes from the lock file only (--frozen): no resolution on a user's machine.
$(VENV)/.synced: $(UV) uv.lock pyproject.toml */pyproject.toml */*/pyproject.toml
	$(UV) sync --frozen --all-packages
	touch $@

install: $(VENV)/.synced

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: install
	$(PY) scripts/run_platform.py

proto: install
	scripts/gen_proto.sh

lint: install node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	npx --no-install buf lint proto

test: install lint
	$(PY) -m pytest -q

# Province scale by default (1M members, 100k organisations); SCALE=0.01 for a quick run.
SCALE ?= 1.0
bench: install
	$(PY) bench/run.py --scale $(SCALE)

clean:
	rm -rf $(VENV) $(TOOLS) node_modules .data .test-data
