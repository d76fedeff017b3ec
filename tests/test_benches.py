"""Every bench in bench/ still runs and prints its ratios, at a size that takes seconds.

The figures are not checked here (speed is measured by running the benches, never asserted in the suite);
what is checked is that a bench a reader is told to run does not rot as the engine's API moves on.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import PG_URL

BENCH = Path(__file__).parent.parent / "bench"
SMALL = {
    "bench_lifecycle.py": ["--cases", "20", "--repeat", "1", "--batch", "10"],
    "bench_sweep.py": ["--cases", "300", "--due", "60", "--repeat", "1"],
    "bench_attach.py": ["--photos", "20", "--mb", "0.2", "--per-command", "5"],
    "bench_audit.py": ["--events", "600", "--repeat", "1"],
    "bench_import.py": ["--rows", "300"],
    "bench_report.py": ["--cases", "2000", "--repeat", "1"],
    "bench_startup.py": ["--runs", "1"],
    "bench_credentials.py": ["--checks", "50", "--logins", "1"],
    "bench_ledger_read.py": ["--rows", "300"],
    "bench_limits.py": ["--repeat", "1", "--scale", "0.05"],  # the hostile texts at 5% of the limits: 3 s, not 26
    "bench_report_render.py": [],
    "bench_http.py": ["--count", "10", "--open", "60", "--workers", "1", "--clients", "2"],
    "bench_work.py": ["--cases", "200", "--runs", "2"],
    "bench_peers.py": ["--cases", "10", "--repeat", "1"],  # every row: `make install` brings the bench extra
    "bench_notify.py": ["--cases", "10", "--repeat", "1", "--mails", "10"],
}


def _run(name: str, *args: str, tmp_path: Path) -> str:
    done = subprocess.run([sys.executable, str(BENCH / name), *args], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert re.search(r"\dx\b|x floor", done.stdout), done.stdout[-2000:]  # it printed its ratios
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_each_bench_runs_to_its_ratio(name, tmp_path):
    _run(name, *SMALL[name], tmp_path=tmp_path)


def test_every_bench_is_in_the_smoke_run():
    """A bench added to bench/ is added here too."""
    assert {p.name for p in BENCH.glob("bench_*.py")} == set(SMALL) | {"bench_growth.py"}


@pytest.mark.slow
@pytest.mark.postgres
def test_the_growth_bench_runs_on_postgresql(pg_session, tmp_path):
    schema = f"bench_smoke_{uuid.uuid4().hex[:8]}"
    url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    out = _run("bench_growth.py", "--sizes", "300,600", "--due", "50", "--workers", "2", "--commands", "40",
               "--db", url, tmp_path=tmp_path)
    assert "curve    :" in out
