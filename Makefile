# Two entry points that need only Python 3.11+: everything else comes from uv.lock.
#   make demo   the whole pipeline on the embedded default (SQLite, no servers, VK emulator)
#   make test   the whole test suite
PY ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
VENV := .venv

# uv installs into ./.venv with the interpreter that runs make, and never downloads a Python.
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON := $(shell command -v $(PY))
export UV_PYTHON_DOWNLOADS := never

.PHONY: demo test lint install clean

$(UV):
	$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "vkpipe needs Python 3.11 or newer")'
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Compiled bytecode, for the installed packages and this checkout alike: `vkpipe` starts in a
# fraction of a second only when nothing is compiled at run time (bench/startup.py).
$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --all-groups --compile-bytecode
	$(VENV)/bin/python -m compileall -q parser_pipeline workers migrations celeryconfig.py beat_schedule.py
	touch $@

install: $(VENV)/.synced

demo: $(VENV)/.synced
	$(VENV)/bin/vkpipe demo

# Two xdist workers (this is a 2-core machine; most of the suite waits on processes and timers).
# Each worker has Redis databases of its own (tests/servicecheck.py), so two fleets never share
# a broker. pytest's exit code 5 means "no tests ran": that is a failure here, never a silent pass.
PYTEST_ARGS ?= -n 2 --dist loadfile --durations=25
test: $(VENV)/.synced
	$(VENV)/bin/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(TOOLS) $(VENV)
