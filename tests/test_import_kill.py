"""An import killed with SIGKILL while it writes leaves nothing behind, and the same command then completes it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROWS = 6_000  # one transaction of about 3 s on an idle 2-core machine: long enough to be killed inside
NOW = "2026-04-01T09:00"


def big_ledger(path: Path) -> Path:
    lines = ["某县隐患排查治理台账", "企业名称,隐患内容,排查日期,隐患级别,行业,隐患来源,整改措施,责任人,整改期限,隐患状态"]
    lines += [f"第{i % 500}号化工有限公司,第{i}号储罐液位计失效,2026-0{1 + i % 3}-{1 + i % 28:02d},{'一般' if i % 3 else '重大'},"
              f"危险化学品,执法检查,更换液位计,王{i % 50},2026-06-30,整改中" for i in range(ROWS)]
    path.write_text("\n".join(lines), encoding="utf-8-sig")
    return path


def hazard(url: str, *args: str) -> subprocess.Popen:
    code = "import sys; from cli.main import cli; sys.exit(cli())"
    return subprocess.Popen([sys.executable, "-c", code, "--db", url, "--actor", "zhang", "--now", NOW, *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def register(url: str) -> tuple[int, int]:
    """(cases, import records) as another process sees them."""
    from engine.app import Engine
    from engine.store import records

    hz = Engine.open(url)
    try:
        total = hz.queries.cases(limit=1).total
        with hz.store.read() as conn:
            return total, len(records.all_imports(conn))
    finally:
        hz.close()


@pytest.mark.slow
def test_an_import_killed_while_writing_leaves_nothing_and_a_rerun_completes_it(seeded_url, tmp_path):
    """kill -9 after the import began writing (still running): no case, no import record; run again: all rows."""
    path = big_ledger(tmp_path / "台账.csv")
    process = hazard(seeded_url, "import", str(path), "--set", "region=371721")
    guard = threading.Timer(120, process.kill)
    guard.start()
    try:
        for line in process.stderr:
            if "writing" in line:
                break
        time.sleep(0.5)  # a few chunks of cases, events and rungs are in the open transaction by now
        assert process.poll() is None, "the import ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        guard.cancel()
    assert process.returncode == -signal.SIGKILL
    assert register(seeded_url) == (0, 0)
    again = hazard(seeded_url, "--json", "import", str(path), "--set", "region=371721")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert register(seeded_url) == (ROWS, 1)
