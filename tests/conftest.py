"""Shared fixtures: a clock at a Shanghai time, a store on SQLite and on PostgreSQL, a service, a CLI runner.

Every test that takes `store` (or `service`) runs once per database. PostgreSQL comes from
HAZARD_TEST_PG (default: the local server); where it is unreachable those runs are skipped, unless
HAZARD_REQUIRE_PG=1 (set by .ci/run), where they fail. HAZARD_TEST_DB=sqlite or postgres runs only one.
"""
from __future__ import annotations

import os
import uuid

import pytest

from engine.clock import FixedClock, parse_time

PG_URL = os.environ.get("HAZARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = {"sqlite": ["sqlite"], "postgres": ["postgres"]}.get(os.environ.get("HAZARD_TEST_DB", ""), ["sqlite", "postgres"])
START = "2026-03-02T09:00"


@pytest.fixture
def clock():
    return FixedClock(parse_time(START))


def _pg_schema_url():
    """A fresh schema for this test session on the PostgreSQL server, or a reason why not."""
    from sqlalchemy import create_engine, text

    schema = f"hz_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means: no server here
        return None, schema, f"PostgreSQL unreachable at {PG_URL}: {type(exc).__name__}"
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}", schema, None


@pytest.fixture(scope="session")
def pg_url():
    url, schema, reason = _pg_schema_url()
    if url is None:
        if os.environ.get("HAZARD_REQUIRE_PG") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield url
    from sqlalchemy import create_engine, text
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A database URL with the schema created and empty, once per backend."""
    from engine.store.database import Store

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hazard.db'}"
        Store(url).create_schema()
        return url
    url = request.getfixturevalue("pg_url")
    store = Store(url)
    store.create_schema()
    from sqlalchemy import text
    from engine.store import tables
    names = ", ".join(t.name for t in (tables.events, tables.rungs, tables.cases, tables.users,
                                         tables.workflow_versions, tables.calendars, tables.counters, tables.sweeps))
    with store.db_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    store.dispose()
    return url


@pytest.fixture
def store(db_url):
    from engine.store.database import Store
    s = Store(db_url)
    yield s
    s.dispose()


@pytest.fixture
def service(store, clock):
    """A service with the built-in workflows and a few users across Heze (3717)."""
    from engine.service import HazardService
    svc = HazardService(store, clock)
    svc.init()
    svc.add_user("wang", roles=["inspector"], regions=["371721"])
    svc.add_user("ent", roles=["enterprise"], regions=["371721"])
    svc.add_user("zhang", roles=["supervisor"], regions=["371700"])
    svc.add_user("liu", roles=["supervisor"], regions=["371700"])
    svc.add_user("li", roles=["committee"], regions=["37"])
    svc.add_user("far", roles=["supervisor"], regions=["4101"])
    svc.add_user("audit", roles=["auditor"], regions=["37"])
    return svc


FIVE = {"responsible_unit": "某化工有限公司", "responsible_person": "王五", "measures": "加装可燃气体泄漏报警装置",
        "funds": "15万", "deadline": "2026-04-30", "emergency_plan": "液氨泄漏专项应急预案"}


def report(service, **overrides):
    """Report a major hazard in county 371721 as the enterprise; returns the case."""
    args = dict(actor="ent", workflow="major-hazard", title="液氨储罐区未设置泄漏报警装置", enterprise="某化工有限公司",
                region="371721", industry="危险化学品", level="major", source="inspection")
    args.update(overrides)
    return service.report_case(**args)


def run_to(service, case_id, state, *, fields=None):
    """Advance a major-hazard case along the happy path until it reaches `state`."""
    path = [("assign", "zhang", fields or FIVE), ("start", "ent", {}), ("submit", "ent", {}),
            ("verify", "zhang", {"opinion": "整改到位"}), ("close", "li", {})]
    order = ["reported", "assigned", "rectifying", "verifying", "verified", "closed"]
    case = service.get_case(case_id)
    for trigger, actor, given in path[order.index(case.state):order.index(state)]:
        case = service.advance_case(case_id, trigger, actor=actor, fields=given)
    return case


@pytest.fixture
def runner():
    from click.testing import CliRunner
    return CliRunner()
