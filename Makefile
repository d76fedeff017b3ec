# Two commands a new machine needs: `make demo` (set up, then run the demo on SQLite) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	touch $@

.PHONY: install demo test bench
install: $(BIN)/.installed

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash docs/demo.sh

# Runs on SQLite and on the PostgreSQL in HAZARD_TEST_PG (default: the local server; skipped if unreachable
# unless HAZARD_REQUIRE_PG=1).
test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/bench_lifecycle.py
