# Two commands a new machine needs: `make demo` (set up, then run the demo on SQLite) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# Editable: the tests and `hazard` run the working tree. pyproject.toml's `package-dir` makes it a plain
	# path entry (no import hook at start-up), as the transitional `editable_mode=compat` once did.
	# `bench`: the peers' libraries of bench/bench_peers.py, so its smoke run (tests/test_benches.py) runs every row.
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	# Bytecode now, so no command compiles the project's modules at start-up (nor every time, where
	# PYTHONDONTWRITEBYTECODE is set): about a third of a short command's own time otherwise.
	$(BIN)/python -m compileall -q engine cli web workflows >/dev/null
	# The same for the methods dataclasses writes for the project's classes (cli/dataclass_code.py).
	$(BIN)/python -m cli.dataclass_code >/dev/null
	touch $@

.PHONY: install demo test bench system-deps
install: $(BIN)/.installed

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash docs/demo.sh

# Runs on SQLite and on the PostgreSQL in HAZARD_TEST_PG (default: the local server; skipped if unreachable
# unless HAZARD_REQUIRE_PG=1).
test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/bench_lifecycle.py

# Chromium, its driver and a Chinese font for the browser tests (bulletin, dossier, the web console's pages).
# Installs them with apt-get when run as root on Debian (CI does); elsewhere it says so and those tests skip with
# the same hint (or fail, under HAZARD_REQUIRE_BROWSER=1, as in CI).
system-deps:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
	    && fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  echo "system-deps: chromium, chromium-driver and a Chinese font are installed"; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "system-deps: not root or no apt-get; the browser tests will skip (fail with HAZARD_REQUIRE_BROWSER=1)" \
	       "(as root: apt-get install chromium chromium-driver fonts-wqy-microhei)"; \
	else \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	     chromium chromium-driver fonts-wqy-microhei fontconfig >/dev/null) \
	  && echo "system-deps: installed chromium, chromium-driver and fonts-wqy-microhei" \
	  || echo "system-deps: apt-get failed; the browser tests will skip (fail with HAZARD_REQUIRE_BROWSER=1)"; \
	fi
