"""`hazard serve` as a user runs it: a real server process that says where it listens, answers over HTTP, and stops
cleanly on SIGTERM and Ctrl-C; and the other commands do not pay for the web face."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HAZARD = str(Path(sys.executable).parent / "hazard")
WEB_PACKAGES = ("fastapi", "starlette", "uvicorn", "multipart", "python_multipart", "jinja2", "httpx", "web")


def _environment(db_url: str) -> dict:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")}, "HAZARD_DB": db_url}


class Served:
    """A `hazard serve` process, its `listening on` address, and its stderr so far."""

    def __init__(self, db_url: str, *args: str):
        self.process = subprocess.Popen([HAZARD, "serve", "--port", "0", *args], env=_environment(db_url),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        while True:  # bounded by the process: it either says where it listens or ends
            line = self.process.stderr.readline()
            if not line:
                raise AssertionError(f"hazard serve ended before listening: {''.join(self.lines)}")
            self.lines.append(line)
            if line.startswith("listening on http://"):
                self.url = line.split()[-1]
                return

    def stop(self, signum: int) -> tuple[int, str]:
        self.process.send_signal(signum)
        _, rest = self.process.communicate(timeout=60)
        return self.process.returncode, "".join(self.lines) + rest


def _get(url: str, **kwargs):
    import httpx
    for _ in range(50):  # a worker process may still be starting behind the bound socket
        try:
            return httpx.get(url, timeout=10, **kwargs)
        except httpx.TransportError:
            time.sleep(0.1)
    return httpx.get(url, timeout=10, **kwargs)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_says_where_it_listens_answers_and_stops_cleanly(service, seeded_url, signum):
    """`hazard serve` prints `listening on http://HOST:PORT`, answers /healthz and the API over loopback, and
    stops with status 0 on SIGTERM or Ctrl-C."""
    token = service.commands.issue_token("zhang", actor="li")[0].text
    served = Served(seeded_url)
    assert served.url.startswith("http://127.0.0.1:")
    try:
        assert _get(f"{served.url}/healthz").json() == {"status": "ok"}
        me = _get(f"{served.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["name"] == "zhang"
        assert _get(f"{served.url}/api/v1/me").status_code == 401
    finally:
        code, stderr = served.stop(signum)
    assert code == 0, stderr
    assert stderr.splitlines()[-1] == "stopped" and "Traceback" not in stderr


@pytest.mark.slow
def test_several_workers_share_the_port_and_stop_together(seeded_url):
    """With --workers 2 both processes serve the same port; SIGTERM stops the lot with status 0."""
    served = Served(seeded_url, "--workers", "2")
    try:
        assert all(_get(f"{served.url}/healthz").status_code == 200 for _ in range(10))
    finally:
        code, stderr = served.stop(signal.SIGTERM)
    assert code == 0, stderr


def test_serve_refuses_a_database_that_is_not_there(tmp_path):
    """No database at --db: the usual error and exit 8, before any port is opened."""
    done = subprocess.run([HAZARD, "serve", "--port", "0"], env=_environment(f"sqlite:///{tmp_path}/none.db"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 8, done.stderr
    assert "no database" in done.stderr and "listening" not in done.stderr


def test_serve_refuses_a_database_without_tables(tmp_path):
    """A database file with no tables (never initialised): exit 8 with the hint to run init, no port opened."""
    import sqlite3
    sqlite3.connect(tmp_path / "empty.db").close()
    done = subprocess.run([HAZARD, "serve", "--port", "0"], env=_environment(f"sqlite:///{tmp_path}/empty.db"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 8, done.stderr
    assert "hazard init" in done.stderr and "listening" not in done.stderr


def test_serve_runs_on_the_real_clock(tmp_path):
    done = subprocess.run([HAZARD, "--now", "2026-03-02", "serve"], env=_environment(f"sqlite:///{tmp_path}/x.db"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "real clock" in done.stderr


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"], ["case", "list", "--help"]])
def test_commands_import_no_web_package_until_serve_runs(args):
    """`hazard --help` (and any command but serve itself) loads neither FastAPI, Starlette, uvicorn nor web/."""
    probe = ("import sys, json, runpy\nsys.argv = ['hazard'] + json.loads(sys.argv[1])\ncode = 0\n"
             f"try:\n    runpy.run_path({HAZARD!r}, run_name='__main__')\n"
             "except SystemExit as e:\n    code = e.code or 0\n"
             f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {WEB_PACKAGES!r})), file=sys.stderr)\n"
             "sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", probe, json.dumps(args)], capture_output=True, text=True,
                          env=_environment("sqlite:///unused.db"), cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def test_no_asset_of_the_web_face_comes_from_elsewhere():
    """Every asset ships in the package: nothing under web/ loads a script, a style or a font from another host."""
    import re
    shipped = [p for p in (ROOT / "web").rglob("*") if p.is_file() and p.suffix in (".html", ".css", ".js", ".py")]
    remote = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import\s+url\(\s*["']?(?:https?:)?//|"""
                        r"""url\(\s*["']?(?:https?:)?//""")
    found = [str(p.relative_to(ROOT)) for p in shipped if remote.search(p.read_text(encoding="utf-8"))]
    assert shipped and found == []
