"""The suite's own switches do what the README says (HAZARD_TEST_DB, HAZARD_REQUIRE_PG, HAZARD_REQUIRE_BROWSER).

Each check runs pytest on a few chosen tests in a process of its own, with a server that cannot answer
(127.0.0.1, port 1): a test that still reached for PostgreSQL would then fail, not run. Several processes of a
few seconds each: marked slow (out of the quick lane).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/none"


def _pytest(*args: str, **settings: str) -> tuple[int, str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")}, **settings}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rfEs", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    return done.returncode, done.stdout + done.stderr


def _tally(output: str) -> dict:
    last = output.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|error|errors|deselected)", last)}


def test_sqlite_only_runs_no_postgresql_test_even_those_that_ask_for_the_server_directly():
    """HAZARD_TEST_DB=sqlite skips the tests that take `pg_url` or `pg_session` (three used to run), so a
    required but absent server fails none of them."""
    code, output = _pytest("tests/test_benches.py", "tests/test_sweep_concurrent.py", "tests/test_migrations.py",
                           "-k", "postgres or postgresql", HAZARD_TEST_DB="sqlite", HAZARD_TEST_PG=NOWHERE,
                           HAZARD_REQUIRE_PG="1")
    tally = _tally(output)
    assert code == 0 and "failed" not in tally and not {"error", "errors"} & set(tally), output[-3000:]
    assert tally.get("skipped", 0) >= 5 and "passed" not in tally, output[-3000:]
    assert "HAZARD_TEST_DB=sqlite" in output  # the reason each skip gives


def test_a_required_postgresql_that_does_not_answer_fails_the_tests_that_need_it():
    """The other side of the switch: both backends, HAZARD_REQUIRE_PG=1, no server: a failure, not a skip."""
    code, output = _pytest("tests/test_sweep_concurrent.py", "-k", "postgresql", HAZARD_TEST_PG=NOWHERE,
                           HAZARD_REQUIRE_PG="1")
    assert code != 0 and "PostgreSQL unreachable at" in output, output[-3000:]


def test_browser_tests_skip_without_chromium_and_fail_when_it_is_required(tmp_path):
    """Where no Chromium is found (here: a PATH with nothing on it) the browser tests skip and say how to install
    it; with HAZARD_REQUIRE_BROWSER=1, as in CI, they fail instead of vanishing."""
    skipped_code, skipped = _pytest("tests/test_report_browser.py", PATH=str(tmp_path))
    assert skipped_code == 0 and "passed" not in _tally(skipped) and _tally(skipped).get("skipped", 0) >= 3, skipped[-3000:]
    assert "no Chromium installed: make system-deps" in skipped
    failed_code, failed = _pytest("tests/test_report_browser.py", PATH=str(tmp_path), HAZARD_REQUIRE_BROWSER="1")
    assert failed_code == 1 and _tally(failed).get("failed", 0) + _tally(failed).get("error", 0) + \
        _tally(failed).get("errors", 0) >= 3, failed[-3000:]
    assert "HAZARD_REQUIRE_BROWSER=1 but no Chromium installed" in failed
