"""Files the command line makes (issue 17): the SQLite database is its owner's only, and every file a command
writes (an export, `audit anchor --heads`, `report bulletin/lists --output`, `audit dossier --output`) is whole
or not there: a failed, full or killed write leaves the old file, and says the path with exit 8.

The database tests run on SQLite and PostgreSQL (the register is read from either; the files are local).
"""
from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.conftest import report

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-04-01T09:00"
OLD = "the file as it was before\n"


def hazard(url: str, *args: str, env=None):
    return CliRunner(env=env or {}).invoke(cli, ["--db", url, "--now", NOW, *args])


# -- the database file ------------------------------------------------------------------------------------------
def test_init_makes_the_sqlite_file_and_its_companions_readable_by_their_owner_only(tmp_path):
    """With the usual umask 022 the database (password hashes and all) was 0644: now it, its -wal and its -shm
    are 0600."""
    from sqlalchemy import text

    from engine.store.database import Store
    path = tmp_path / "office.db"
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(cli, ["--db", f"sqlite:///{path}", "init", "--admin", "li", "--region", "37"])
        assert result.exit_code == 0, result.output
        store = Store(f"sqlite:///{path}")
        with store.write() as conn:  # an open writer: SQLite keeps its -wal and -shm files beside the database
            conn.execute(text("UPDATE setting SET value = value WHERE key = 'none'"))
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        store.dispose()
    finally:
        os.umask(old)
    assert modes == {"office.db": 0o600, "office.db-wal": 0o600, "office.db-shm": 0o600}


# -- a folder the command may not write to ----------------------------------------------------------------------
def _can_create(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return False
    probe.unlink()
    return True


@pytest.fixture
def sealed(tmp_path):
    """A folder holding `old.*` files that nobody may add a file to: its mode bits, or (for root, whom they do not
    stop) the immutable flag."""
    folder = tmp_path / "sealed"
    folder.mkdir()
    for name in ("old.csv", "old.txt", "old.html", "old.xlsx"):
        (folder / name).write_text(OLD)
    folder.chmod(0o555)
    immutable = _can_create(folder) and subprocess.run(["chattr", "+i", str(folder)]).returncode == 0
    assert not _can_create(folder), "cannot make a folder unwritable here (mode bits and chattr +i both fail)"
    yield folder
    if immutable:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o755)


WRITERS = {
    "export": lambda path: ["export", path],
    "anchor-heads": lambda path: ["audit", "anchor", "--heads", path],
    "bulletin": lambda path: ["report", "bulletin", "--period", "month", "--date", "2026-03-31", "--region", "3717",
                              "--format", "html", "--output", path],
    "lists": lambda path: ["report", "lists", "--format", "xlsx", "--output", path],
    "dossier": lambda path: ["audit", "dossier", "HZ-2026-000001", "--output", path],
}
SUFFIX = {"export": ".csv", "anchor-heads": ".txt", "bulletin": ".html", "lists": ".xlsx", "dossier": ".html"}


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_an_unwritable_folder_is_an_output_error_naming_the_path_and_leaves_what_was_there(service, seeded_url,
                                                                                          sealed, command):
    """Each command that writes a file exits 8 (not 2: an I/O failure is no usage error) naming the path; a new
    file is not made and an old one keeps its content."""
    report(service, now="2026-03-10T09:00")
    suffix = SUFFIX[command]
    for name in (f"new{suffix}", f"old{suffix}"):
        target = sealed / name
        result = hazard(seeded_url, *WRITERS[command](str(target)))
        assert result.exit_code == 8, (name, result.output)
        assert f"Error: {target}: cannot write" in result.stderr and "Traceback" not in result.output
    assert not (sealed / f"new{suffix}").exists()
    assert (sealed / f"old{suffix}").read_text() == OLD
    assert sorted(p.name for p in sealed.iterdir()) == ["old.csv", "old.html", "old.txt", "old.xlsx"]


def test_the_json_error_of_a_file_not_written_carries_its_path(seeded_url, sealed):
    result = hazard(seeded_url, "--json", "export", str(sealed / "x.csv"))
    error = json.loads(result.stdout)["error"]
    assert (result.exit_code, error["type"], error["path"]) == (8, "WriteFailed", str(sealed / "x.csv"))


# -- a write that fails half-way, or is killed --------------------------------------------------------------------
def _register_of(service, count: int) -> None:
    with service.batch() as batch:
        for n in range(count):
            report(batch, title=f"第{n}号储罐液位计失效，储罐区可燃气体检测报警装置未定期检定", enterprise=f"第{n % 40}号化工有限公司",
                   level="general", workflow="general-hazard", now="2026-03-10T09:00")


def _spawn(url: str, *args: str, prelude: str = "") -> subprocess.Popen:
    code = f"import sys\n{prelude}\nfrom cli.main import cli\nsys.exit(cli())"
    return subprocess.Popen([sys.executable, "-c", code, "--db", url, "--now", NOW, *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_an_export_that_runs_out_of_room_half_way_leaves_the_old_file(service, seeded_url, tmp_path):
    """A file size limit (as a full disk would) stops the export's CSV half-way: the old export is still there,
    whole, no part file is left, and the error names the path, exit 8."""
    _register_of(service, 200)
    target = tmp_path / "台账.csv"
    target.write_text(OLD)
    limit = 40_000  # above SQLite's 32 KiB shared-memory file; the export is about twice as long
    prelude = ("import resource, signal\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
               f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))")
    done = _spawn(seeded_url, "export", str(target), prelude=prelude)
    out, err = done.communicate(timeout=120)
    assert done.returncode == 8, err
    assert f"{target}: cannot write" in err and "Traceback" not in err
    assert target.read_text() == OLD
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    whole = hazard(seeded_url, "export", str(target))  # without the limit it is written whole
    assert whole.exit_code == 0, whole.output
    assert target.stat().st_size > limit and target.read_text(encoding="utf-8-sig").count("\n") == 202


PAUSED = """
import csv, os, time
import engine.ledger.writer as writer
class Pausing:
    def __init__(self, out):
        self.out, self.inner, self.rows = out, csv.writer(out), 0
    def writerow(self, row):
        self.inner.writerow(row)
    def writerows(self, rows):
        for row in rows:
            self.inner.writerow(row)
            self.rows += 1
            if self.rows == 50:  # half-way: what is written so far is on disk, then wait to be killed
                self.out.flush()
                os.fsync(self.out.fileno())
                open(os.environ["HAZARD_TEST_READY"], "w").close()
                time.sleep(120)
class PausingCsv:
    writer = Pausing
writer.csv = PausingCsv
"""


def test_an_export_killed_mid_write_leaves_the_old_file(service, seeded_url, tmp_path, monkeypatch):
    """kill -9 while the export has written 50 of 100 rows: the file under the target's name is the old one, whole;
    the command run again replaces it with the new one."""
    _register_of(service, 100)
    target, ready = tmp_path / "台账.csv", tmp_path / "ready"
    target.write_text(OLD)
    monkeypatch.setenv("HAZARD_TEST_READY", str(ready))
    killed = _spawn(seeded_url, "export", str(target), prelude=PAUSED)
    try:
        while not ready.exists() and killed.poll() is None:
            time.sleep(0.05)
        assert ready.exists(), killed.communicate()[1]
        killed.send_signal(signal.SIGKILL)
    finally:
        killed.kill()
        killed.communicate()
    assert killed.returncode == -signal.SIGKILL
    assert target.read_text() == OLD
    again = hazard(seeded_url, "export", str(target))
    assert again.exit_code == 0, again.output
    assert target.read_text(encoding="utf-8-sig").count("\n") == 102


# -- the helper itself --------------------------------------------------------------------------------------------
def test_a_new_file_follows_the_umask_and_a_rewritten_one_keeps_its_mode(tmp_path):
    """Writing by rename must not turn a report into a private 0600 file (as a bare mkstemp would), nor open up one
    the office made 0640."""
    from cli.files import write_file
    old = os.umask(0o022)
    try:
        write_file(tmp_path / "new.md", "# 通报\n")
        kept = tmp_path / "kept.md"
        kept.write_text("old")
        kept.chmod(0o640)
        write_file(kept, b"new")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.md").stat().st_mode) == 0o644
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.md", "new.md"]
