"""Schema migrations: a database the first release made is carried forward without loss, on both databases."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from cli.main import cli
from engine.store import schema
from engine.store.database import Store
from tests.conftest import PG_URL

FIXTURES = Path(__file__).parent / "fixtures"


def hazard(url: str, *args: str):
    return CliRunner().invoke(cli, ["--db", url, *args])


def counts(url: str) -> dict:
    engine = create_engine(Store(url).url)
    with engine.connect() as conn:
        found = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("hazard_case", "case_event", "rung")}
        found["hashes"] = [r[0] for r in conn.execute(text("SELECT hash FROM case_event ORDER BY case_id, seq"))]
    engine.dispose()
    return found


@pytest.fixture(params=["sqlite", "postgres"])
def first_release(request, tmp_path):
    """A database exactly as the first release's `hazard init` and demo left it."""
    if request.param == "sqlite":
        path = tmp_path / "first.db"
        shutil.copyfile(FIXTURES / "first-release.db", path)
        yield f"sqlite:///{path}"
        return
    if os.environ.get("HAZARD_TEST_DB") == "sqlite":
        pytest.skip("PostgreSQL runs are off (HAZARD_TEST_DB=sqlite)")
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("no psql to restore the PostgreSQL fixture")
    request.getfixturevalue("pg_url")  # skips (or fails under HAZARD_REQUIRE_PG=1) without a server
    name = f"hz_first_{uuid.uuid4().hex[:8]}"
    dump = (FIXTURES / "first-release-postgres.sql").read_text(encoding="utf-8").replace("hz_first_release", name)
    target = create_engine(PG_URL).url
    done = subprocess.run([psql, "-q", "-v", "ON_ERROR_STOP=1", "-h", target.host or "127.0.0.1", "-p",
                           str(target.port or 5432), "-U", target.username or "postgres", "-d", target.database],
                          input=dump, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{name}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    admin.dispose()


def test_a_first_release_database_upgrades_without_loss(first_release):
    """`db current` says 0001, init refuses and says to upgrade, `db upgrade` carries it to HEAD keeping every
    event (same hashes), and afterwards replay, verify, the register and new commands all work."""
    url = first_release
    before = counts(url)
    assert json.loads(hazard(url, "--json", "db", "current").stdout) == {"revision": "0001", "head": schema.HEAD,
                                                                        "current": False}
    refused = hazard(url, "init")
    assert refused.exit_code == 8 and "hazard db upgrade" in refused.stderr
    done = json.loads(hazard(url, "--json", "db", "upgrade").stdout)
    assert (done["from"], done["to"], done["cases"], done["events"], done["users"]) == (
        "0001", schema.HEAD, before["hazard_case"], before["case_event"], 5)
    assert counts(url) == before
    assert hazard(url, "audit", "replay", "--all").exit_code == 0
    assert hazard(url, "audit", "verify").exit_code == 0
    overdue = json.loads(hazard(url, "--json", "--now", "2026-05-01T09:00", "case", "list", "--overdue").stdout)
    assert [c["id"] for c in overdue] == ["HZ-2026-000004"]  # the demo's case left in rectification
    closed = json.loads(hazard(url, "--json", "case", "show", "HZ-2026-000001").stdout)
    assert closed["state"] == "closed" and closed["rectified_at"] is not None  # counted as rectified when closed
    assert hazard(url, "init").exit_code == 4  # the new built-in versions need the committee's hand
    assert hazard(url, "--actor", "li", "init").exit_code == 0
    log = json.loads(hazard(url, "--json", "user", "log").stdout)
    assert [g["actor"] for g in log][:5] == ["system"] * 5  # the first release's users, adopted into the log
    again = json.loads(hazard(url, "--json", "db", "upgrade").stdout)
    assert again["from"] == again["to"] == schema.HEAD and again["cases"] == 0


def test_an_empty_database_upgraded_has_the_schema_init_creates(db_url):
    """Migrating from nothing gives exactly today's tables: the migrations and the table definitions agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = Store(db_url)
    metadatas = schema.all_metadata()
    with store.db_engine.begin() as conn:
        names = [t.name for m in metadatas for t in reversed(m.sorted_tables)] + ["alembic_version"]
        for name in names:
            conn.execute(text(f"DROP TABLE IF EXISTS {name} CASCADE" if not store.is_sqlite
                              else f"DROP TABLE IF EXISTS {name}"))
    assert schema.upgrade(store) == (None, schema.HEAD)
    differences = []
    with store.db_engine.connect() as conn:
        for metadata in metadatas:  # each compared with the tables it describes (the others are another's)
            own = {t.name for t in metadata.sorted_tables}
            differences += [d for d in compare_metadata(MigrationContext.configure(conn), metadata)
                            if d[0] not in ("remove_table", "remove_index") or
                            (d[0] == "remove_index" and d[1].table.name in own)]
    store.dispose()
    assert differences == []


def test_head_is_the_newest_migration():
    """engine/store/schema.py's HEAD names the newest script, so init stamps what upgrade reaches."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == schema.HEAD


def test_a_new_database_is_stamped_current(tmp_path):
    """`hazard init` on a new file records the newest revision."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert hazard(url, "init").exit_code == 0
    assert json.loads(hazard(url, "--json", "db", "current").stdout)["current"] is True


@pytest.mark.parametrize("args", [
    ["--actor", "ent", "--now", "2026-03-05T09:00", "case", "report", "--title", "配电箱未接地", "--enterprise", "某木业有限公司",
     "--region", "371721", "--industry", "工贸", "--level", "general", "--source", "inspection"],
    ["case", "list"],
], ids=["write", "read"])
def test_a_command_on_a_first_release_database_says_to_upgrade(first_release, args):
    """`case report` on the first release's database said 'database unavailable: table hazard_case has no
    column named due_at': every command that meets the older layout says to run `hazard db upgrade`."""
    before = counts(first_release)
    result = hazard(first_release, *args)
    assert result.exit_code == 8, result.output
    assert "hazard db upgrade" in result.stderr and "Traceback" not in result.output
    assert counts(first_release) == before
