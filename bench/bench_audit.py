"""Audit throughput on N events: `audit verify` and `audit replay --all` in events per second, against raw floors.

    .venv/bin/python bench/bench_audit.py [--events 200000] [--db URL] [--keep]

Seeding: N/6 major-hazard cases, each the same valid 6-event lifecycle (report, assign, start, submit, verify,
close) with a real hash chain, the projection `apply` gives and the rung rows the engine leaves a closed case
(every rung of its three clocks, cancelled, due when the ladder's plan says), written with Core executemany in
batches. Default database: a temporary SQLite file; with a PostgreSQL URL the bench works in a schema of its own
and drops it afterwards (unless --keep).

Engine: `Auditor.verify()` (stream events with their case heads, recompute every hash, check links and heads)
and `Auditor.replay_all()` (stream events, check each against its definition's machine, fold with `apply`,
compare every column of each case row and each of its rung rows with what the fold and the ladder give), as
`hazard audit verify` / `replay --all` run them.

Floors, same process, same rows, through the bare DB-API driver:
 - verify floor: every event in (case, seq) order; build the same canonical content and compare its SHA-256
   with the stored hash;
 - replay floor: what replay must read, no less, no more: every event in (case, seq) order, its payload decoded
   and the state folded through a dict of (state, trigger) -> state; every case row; every rung row.
The floors check nothing else (no heads, no links, no projections): they are the price of reading and hashing.
Figures only; nothing is asserted.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.app.auditor import Auditor# noqa: E402
from engine.domain.case import apply# noqa: E402
from engine.domain.clock import FixedClock, parse_time# noqa: E402
from engine.domain.events import Event, canonical_text# noqa: E402
from engine.app import Engine# noqa: E402
from engine.store.cases import case_values, event_values# noqa: E402
from engine.store.database import Store# noqa: E402
from engine.domain.escalation import ladder# noqa: E402
from engine.store.tables import cases, counters, events, rungs# noqa: E402

START = parse_time("2026-03-02T09:00")
FIVE = {"responsible_unit": "某化工有限公司", "responsible_person": "王五", "measures": "加装泄漏报警并联锁",
        "funds": "150000.00", "deadline": "2026-12-31", "emergency_plan": "液氨泄漏专项应急预案"}
LIFECYCLE = [("report", None, "reported", "ent", "enterprise"), ("assign", "reported", "assigned", "zhang", "supervisor"),
             ("start", "assigned", "rectifying", "ent", "enterprise"), ("submit", "rectifying", "verifying", "ent", "enterprise"),
             ("verify", "verifying", "verified", "liu", "supervisor"), ("close", "verified", "closed", "li", "committee")]


def lifecycle(case_id: str, definition, version: int) -> tuple[dict, list[dict]]:
    """One case's six sealed events and the projection they fold to (`apply`), as row values."""
    attrs = {"title": "液氨储罐区未设置泄漏报警装置", "enterprise": "某化工有限公司", "region": "371721",
             "industry": "危险化学品", "level": "major", "source": "self_check", "found_at": START.isoformat()}
    data = [{"case": attrs, "fields": {}}, {"fields": FIVE}, {"fields": {}}, {"fields": {"report_note": "已整改"}},
            {"fields": {"opinion": "验收合格"}}, {"fields": {}}]
    case, prev, rows = None, None, []
    for seq, ((trigger, src, dest, actor, role), payload) in enumerate(zip(LIFECYCLE, data), start=1):
        when = START + timedelta(days=seq)
        event = Event(case_id=case_id, seq=seq, trigger=trigger, from_state=src, to_state=dest, actor=actor, role=role,
                      at=when, recorded_at=when, data=payload, workflow="major-hazard", workflow_version=version,
                      **({"prev_hash": prev} if prev else {})).sealed()
        case = apply(case, event, definition)
        prev = event.hash
        rows.append(event_values(event))
    return case, rows


def closed_rungs(case, run, calendar) -> list[dict]:
    """The rung rows a closed case keeps: every rung of every clock it started, cancelled when the clock stopped,
    due when the ladder planned it (what the unit of work's rung sync leaves behind)."""
    return [{"clock": p.clock, "cycle": p.cycle, "rung": p.rung, "action": p.action, "due_at": p.due_at,
             "provisional": p.provisional, "status": p.status}
            for p in ladder.plan(run.definition, case.clocks, case.fields, case.fired, calendar)]


def seed(store: Store, service: Engine, n_events: int, batch: int = 12000) -> tuple[int, int]:
    """Every case runs the same lifecycle at the same times: only its id, and so every hash, differ.

    The projection is folded once with `apply` and copied with each case's id and last hash, which is what
    folding each case would give; hashing stays per event (it covers the case id). Returns (events, rung rows).
    """
    with store.read() as conn:
        run = service.registry.loaded(conn, "major-hazard")
        template_case, template_events = lifecycle("HZ-2026-000000", run.definition, run.version)
        template_rungs = closed_rungs(template_case, run, service.registry.calendar_of(conn, template_case, run))
    n_cases = n_events // len(LIFECYCLE)
    case_rows, event_rows, rung_rows = [], [], []
    for n in range(1, n_cases + 1):
        case_id, prev = f"HZ-2026-{n:06d}", None
        for values in template_events:
            event = Event(**{**values, "case_id": case_id, **({"prev_hash": prev} if prev else {})}).sealed()
            prev = event.hash
            event_rows.append(event_values(event))
        case = replace(template_case, id=case_id, last_hash=prev)
        case_rows.append(case_values(case))
        rung_rows.extend({**row, "case_id": case_id} for row in template_rungs)
        if len(event_rows) >= batch or n == n_cases:
            with store.write() as conn:
                conn.execute(cases.insert(), case_rows)
                conn.execute(events.insert(), event_rows)
                if rung_rows:
                    conn.execute(rungs.insert(), rung_rows)
            case_rows, event_rows, rung_rows = [], [], []
    with store.write() as conn:  # the year's counter, as reporting the cases would have left it (verify checks it)
        conn.execute(counters.delete().where(counters.c.year == 2026))
        conn.execute(counters.insert(), {"year": 2026, "last": n_cases})
    return n_cases * len(LIFECYCLE), n_cases * len(template_rungs)


# -- floors: the bare driver ------------------------------------------------------------------------------------
_COLUMNS = "case_id, seq, trigger, from_state, to_state, actor, role, at, recorded_at, data, workflow, " \
           "workflow_version, prev_hash, hash"


def _utc_text(value) -> str:
    if isinstance(value, str):  # SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
        value = datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def raw_rows(store: Store, sql: str = f"SELECT {_COLUMNS} FROM case_event ORDER BY case_id, seq"):
    """The rows of `sql` (by default the event rows in (case, seq) order) through the DB-API driver alone, streamed."""
    raw = store.db_engine.raw_connection()
    try:
        if store.is_sqlite:
            cursor = raw.cursor()
        else:
            cursor = raw.driver_connection.cursor(name=f"floor_{uuid.uuid4().hex[:8]}")
            cursor.itersize = 5000
        cursor.execute(sql)
        while True:
            chunk = cursor.fetchmany(5000)
            if not chunk:
                break
            yield from chunk
        cursor.close()
    finally:
        raw.close()


def floor_verify(store: Store) -> tuple[int, int]:
    seen = matched = 0
    for row in raw_rows(store):
        data = json.loads(row[9]) if isinstance(row[9], str) else row[9]
        content = {"case_id": row[0], "seq": row[1], "trigger": row[2], "from": row[3], "to": row[4], "actor": row[5],
                   "role": row[6], "at": _utc_text(row[7]), "recorded_at": _utc_text(row[8]), "data": data,
                   "workflow": row[10], "workflow_version": row[11], "prev_hash": row[12]}
        matched += hashlib.sha256(canonical_text(content).encode()).hexdigest() == row[13]
        seen += 1
    return seen, matched


_RUNG_COLUMNS = "case_id, clock, cycle, rung, action, status, due_at, provisional, fired_at"


def floor_replay(store: Store, definition) -> tuple[int, int, int]:
    """What replay reads, no less, no more: every event (its payload decoded, the state folded by a dict), every
    case row, every rung row (the columns replay compares), each in case order. Returns how many of each."""
    table = {(src, t.trigger): t.dest for t in definition.transitions for src in t.sources}
    case_id, state, seen = None, None, 0
    for row in raw_rows(store):
        if not isinstance(row[9], dict):
            json.loads(row[9])  # a fold has to read the payload
        if row[0] != case_id:
            case_id, state = row[0], row[4]
        elif table.get((state, row[2])) == row[4]:
            state = row[4]
        seen += 1
    case_rows = sum(1 for _ in raw_rows(store, "SELECT * FROM hazard_case ORDER BY id"))
    rung_rows = sum(1 for _ in raw_rows(store, f"SELECT {_RUNG_COLUMNS} FROM rung ORDER BY case_id"))
    return seen, case_rows, rung_rows


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events to seed (6 per case)")
    parser.add_argument("--db", default=None, help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--keep", action="store_true", help="keep the seeded database or schema")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, the best counts (default 3)")
    args = parser.parse_args()

    folder, schema = None, None
    url = args.db
    if url is None:
        folder = tempfile.mkdtemp(prefix="bench_audit_")
        url = f"sqlite:///{folder}/audit.db"
    elif not url.startswith("sqlite"):
        schema = f"bench_audit_{os.getpid()}"
        from sqlalchemy import create_engine, text
        admin = create_engine(Store(url, create=True).url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url += ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"
    store = Store(url, create=True)
    # Grants recorded at START too: replay checks each event's signer against the users' log as it stood then.
    service = Engine(store, clock=FixedClock(START), recorded_clock=FixedClock(START), trust_backdating=True)
    try:
        service.init(admin="admin", admin_regions=["37"])
        for user, role in (("ent", "enterprise"), ("zhang", "supervisor"), ("liu", "supervisor"), ("li", "committee")):
            service.commands.add_user(user, roles=[role], regions=["371721"], actor="admin")
        print(f"database: {store.safe_url.split('?')[0]} ({store.dialect})")
        (n, n_rungs), seconds = timed(lambda: seed(store, service, args.events))
        print(f"seeded {n:,} events ({n // 6:,} cases, {n_rungs:,} rung rows) in {seconds:.1f} s "
              f"({n / seconds:,.0f} events/s, Core executemany)")
        auditor = service.audit
        with store.read() as conn:
            definition = service.registry.loaded(conn, "major-hazard").definition

        before = rss_mb()
        best = {}
        for _ in range(args.repeat):  # engine and floor alternate; the best of each counts
            verified, took = timed(auditor.verify)
            best["verify"] = min(best.get("verify", took), took)
            assert not verified.breaks, verified.breaks[:3]
            (seen, matched), took = timed(lambda: floor_verify(store))
            best["floor verify"] = min(best.get("floor verify", took), took)
            replayed, took = timed(auditor.replay_all)
            best["replay"] = min(best.get("replay", took), took)
            assert not replayed.disagreements, replayed.disagreements[:3]
            (floor_seen, floor_cases, floor_rungs), took = timed(lambda: floor_replay(store, definition))
            best["floor replay"] = min(best.get("floor replay", took), took)
        t_verify, t_floor_verify, t_replay, t_floor_replay = (best[k] for k in (
            "verify", "floor verify", "replay", "floor replay"))
        assert seen == matched == floor_seen == verified.tally.events == replayed.events == n
        assert floor_cases == replayed.cases == n // 6 and floor_rungs == n_rungs

        print(f"{'':24}{'seconds':>9}{'events/s':>12}{'x floor':>9}")
        for name, seconds, floor in (("verify (engine)", t_verify, t_floor_verify),
                                     ("verify floor (driver)", t_floor_verify, t_floor_verify),
                                     ("replay --all (engine)", t_replay, t_floor_replay),
                                     ("replay floor (driver)", t_floor_replay, t_floor_replay)):
            print(f"{name:24}{seconds:9.2f}{n / seconds:12,.0f}{seconds / floor:9.2f}")
        print("verify floor: every event read and re-hashed; replay floor: every event read (payload decoded, state "
              f"folded), every case row ({floor_cases:,}) and every rung row ({floor_rungs:,}) read")
        print(f"peak RSS {rss_mb():.0f} MB (before the audits: {before:.0f} MB)")
    finally:
        store.dispose()
        if folder and not args.keep:
            import shutil
            shutil.rmtree(folder, ignore_errors=True)
        if schema and not args.keep:
            from sqlalchemy import create_engine, text
            admin = create_engine(Store(args.db, create=True).url)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
