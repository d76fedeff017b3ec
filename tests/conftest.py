"""Shared fixtures: a clock at a Shanghai time, a store on SQLite and on PostgreSQL, an engine, a CLI runner.

Every test that takes `store` (or `service`) runs once per database. PostgreSQL comes from
HAZARD_TEST_PG (default: the local server); where it is unreachable those runs are skipped, unless
HAZARD_REQUIRE_PG=1 (set by .ci/run), where they fail. HAZARD_TEST_DB=sqlite or postgres runs only one:
with `sqlite`, every test on PostgreSQL is skipped, also those that ask for `pg_url` or `pg_session` directly.

The schema, the built-in workflows and the usual users are built once per session into templates (a
SQLite file, a PostgreSQL schema); each test starts from a copy: a file copy, or TRUNCATE and INSERT ...
SELECT from the template schema, a few milliseconds instead of an `init` per test.
"""
from __future__ import annotations

import gc
import os
import shutil
import uuid
from pathlib import Path

import pytest

from engine.domain.clock import FixedClock, parse_time

PG_URL = os.environ.get("HAZARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = {"sqlite": ["sqlite"], "postgres": ["postgres"]}.get(os.environ.get("HAZARD_TEST_DB", ""), ["sqlite", "postgres"])
START = "2026-03-02T09:00"
# li, the provincial committee office, is the first administrator and adds the others; li's second region
# (41, Henan) is there so that li may add `far`, the supervisor outside Shandong.
ADMIN = ("li", "committee", ("37", "41"))
USERS = [("wang", "inspector", "371721"), ("ent", "enterprise", "371721"), ("zhang", "supervisor", "371700"),
         ("liu", "supervisor", "371700"), ("far", "supervisor", "4101"), ("audit", "auditor", "37")]


@pytest.fixture
def clock():
    return FixedClock(parse_time(START))


def seed(url: str) -> None:
    """What the `service` fixture's database holds: the built-in workflows and the usual users."""
    from engine.app import Engine
    from engine.store.database import Store

    # The recording clock fixed too: the users' log is then the same on every run, and so is an anchor over it
    # (docs/bulletin-from-engine.md prints one).
    engine = Engine(Store(url, create=True), clock=FixedClock(parse_time(START)),
                    recorded_clock=FixedClock(parse_time(START)), trust_backdating=True)
    name, role, regions = ADMIN
    engine.init(admin=name, admin_regions=regions)
    for user, role, region in USERS:
        engine.commands.add_user(user, roles=[role], regions=[region], actor=name)
    engine.close()


def _table_names() -> list[str]:
    from sqlmodel import SQLModel

    import engine.store.campaign_records  # noqa: F401 - the SQLModel records are part of the schema too
    from engine.store import records# noqa: F401 - the cold records' tables (ledger imports)
    from engine.store.tables import METADATA
    return [t.name for t in METADATA.sorted_tables] + [t.name for t in SQLModel.metadata.sorted_tables]


# -- SQLite: template files ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory):
    from engine.store.database import Store

    folder = tmp_path_factory.mktemp("templates")
    empty, seeded = folder / "empty.db", folder / "seeded.db"
    store = Store(f"sqlite:///{empty}", create=True)
    store.create_schema()
    store.dispose()
    seed(f"sqlite:///{seeded}")
    for path in (empty, seeded):  # fold the WAL into the file so a plain copy is the whole database
        import sqlite3
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
    return {"empty": empty, "seeded": seeded}


# -- PostgreSQL: a working schema and template schemas --------------------------------------------------------------
def _pg_schema(name: str):
    from sqlalchemy import create_engine, text
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{name}"


@pytest.fixture(scope="session")
def pg_session():
    """(working url, {template: schema name}) on the server, or a skip (a failure with HAZARD_REQUIRE_PG=1; a
    skip whatever that says when HAZARD_TEST_DB=sqlite)."""
    from engine.store.database import Store

    if "postgres" not in BACKENDS:  # every PostgreSQL test comes through here: pg_url, the module databases
        pytest.skip("PostgreSQL runs are off (HAZARD_TEST_DB=sqlite)")
    base = f"hz_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    names = {"work": base, "empty": f"{base}_empty", "seeded": f"{base}_seeded"}
    try:
        urls = {key: _pg_schema(name) for key, name in names.items()}
    except Exception as exc:  # noqa: BLE001 - any failure means: no server here
        reason = f"PostgreSQL unreachable at {PG_URL}: {type(exc).__name__}"
        if os.environ.get("HAZARD_REQUIRE_PG") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    for key in ("work", "empty"):
        store = Store(urls[key])
        store.create_schema()
        store.dispose()
    seed(urls["seeded"])
    yield urls["work"], names
    from sqlalchemy import create_engine, text
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        for name in names.values():
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def pg_url(pg_session):
    return pg_session[0]


def _pg_reset(pg_session, template: str) -> str:
    """Make the working schema a copy of the template's rows (identities moved past them)."""
    from sqlalchemy import create_engine, text

    url, names = pg_session
    tables = _table_names()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        from engine.store.tables import METADATA
        for table in METADATA.sorted_tables:  # by name: a test may have rebuilt a table in another column order
            cols = ", ".join(f'"{c.name}"' for c in table.columns)
            conn.execute(text(f'INSERT INTO "{names["work"]}".{table.name} ({cols}) '
                              f'SELECT {cols} FROM "{names[template]}".{table.name}'))
        for table in ("case_event", "rung", "workflow_version", "ledger_import"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))
    engine.dispose()
    return url


# Fixtures that mean "the database the usual engine works on": their db_url starts from the seeded template.
SEEDED = frozenset({"service", "seeded_url"})


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A database URL with the schema created, once per backend: empty, or seeded for `service` tests."""
    template = "seeded" if SEEDED & set(request.fixturenames) else "empty"
    if request.param == "sqlite":
        path = tmp_path / "hazard.db"
        shutil.copyfile(request.getfixturevalue("sqlite_templates")[template], path)
        return f"sqlite:///{path}"
    return _pg_reset(request.getfixturevalue("pg_session"), template)


@pytest.fixture
def seeded_url(db_url):
    """A database URL holding the built-in workflows and the usual users."""
    return db_url


@pytest.fixture
def store(db_url):
    from engine.store.database import Store
    s = Store(db_url)
    yield s
    s.dispose()


@pytest.fixture
def service(store, clock):
    """An engine with the built-in workflows and a few users across Heze (3717), its clock at START (the
    first administrator li, committee over 37 and 41, added the others)."""
    from engine.app import Engine
    engine = Engine(store, clock=clock, trust_backdating=True)
    yield engine
    engine.close()


FIVE = {"responsible_unit": "某化工有限公司", "responsible_person": "王五", "measures": "加装可燃气体泄漏报警装置",
        "funds": "15万", "deadline": "2026-04-30", "emergency_plan": "液氨泄漏专项应急预案"}


def report(service, **overrides):
    """Report a major hazard in county 371721 as the enterprise; returns the case (`service` or a batch)."""
    args = dict(actor="ent", workflow="major-hazard", title="液氨储罐区未设置泄漏报警装置", enterprise="某化工有限公司",
                region="371721", industry="危险化学品", level="major", source="inspection")
    args.update(overrides)
    return getattr(service, "commands", service).report_case(**args)


# The rectification photo (整改照片) the shipped major-hazard workflow requires before `submit`
# (`requires_attachments: [rectified, acceptance]`); docs/examples/make_rectified_photo.py draws it.
PHOTO = Path(__file__).resolve().parent.parent / "docs" / "examples" / "rectified.png"


@pytest.fixture(scope="session", autouse=True)
def _evidence_store(tmp_path_factory):
    """One evidence store (HAZARD_FILES) for the session, set before any module's database is built, so a major
    hazard can be submitted on PostgreSQL too (which has no default store) and the commands a test runs as
    processes find what its module's fixture attached. Files are content-addressed, so sharing one store is
    safe; a test that damages a store sets its own."""
    if "HAZARD_FILES" in os.environ:
        yield
        return
    os.environ["HAZARD_FILES"] = str(tmp_path_factory.mktemp("evidence"))
    try:
        yield
    finally:
        os.environ.pop("HAZARD_FILES", None)


def rectified(service, case_id, *, actor="ent", now=None):
    """Attach the rectification photo to a case (`service` or its commands), as a major hazard's submit requires."""
    commands = getattr(service, "commands", service)
    kwargs = {"now": now} if now is not None else {}
    return commands.attach(case_id, [str(PHOTO)], actor=actor, kind="rectified", **kwargs)


def run_to(service, case_id, state, *, fields=None):
    """Advance a major-hazard case along the happy path until it reaches `state` (attaching the rectification
    photo before `submit`)."""
    path = [("assign", "zhang", fields or FIVE), ("start", "ent", {}), ("submit", "ent", {}),
            ("verify", "zhang", {"opinion": "整改到位"}), ("close", "li", {})]
    order = ["reported", "assigned", "rectifying", "verifying", "verified", "closed"]
    case = service.queries.case(case_id)
    for trigger, actor, given in path[order.index(case.state):order.index(state)]:
        if trigger == "submit":
            rectified(service, case_id, actor=actor)
        case = service.commands.advance_case(case_id, trigger, actor=actor, fields=given)
    return case


# The department's users record the tests' past dates as paper records, a declared back-fill (engine/app/backfill.py):
# the CLI tests replay a spring of 2026 that is long past by the real recording time.
DEPARTMENT = frozenset({"zhang", "liu", "li", "far"})


def paper(actor: str | None) -> list[str]:
    """`--backfill REASON` for a department user acting at a past --now; nothing for anyone else."""
    return ["--backfill", "纸质台账补录"] if actor in DEPARTMENT else []


@pytest.fixture
def runner():
    from click.testing import CliRunner
    return CliRunner()


@pytest.fixture
def collected():
    """Each CLI invocation leaves its engine's connection pool to the garbage collector: a module of CLI tests
    collects after every test (`pytestmark = pytest.mark.usefixtures("collected")`), so a PostgreSQL run does not
    pile up connections on a shared server."""
    yield
    gc.collect()


def cli_on(runner, url: str, *, actor: str | None = None, now: str | None = None, papers: bool = False):
    """A function running `hazard --db URL [--now NOW] [--actor ACTOR] ARGS...` (actor and now overridable per
    call); with `papers`, a department user's step at a past time is declared a paper record (`paper`)."""
    from cli.main import cli

    def invoke(*args, actor=actor, now=now):
        head = ["--db", url] + (["--now", now] if now else []) + (["--actor", actor] if actor else [])
        return runner.invoke(cli, head + (paper(actor) if papers else []) + [str(a) for a in args])
    invoke.url = url
    return invoke
