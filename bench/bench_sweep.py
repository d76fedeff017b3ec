"""One escalation sweep over N open major-hazard cases of which D have a rung due, against the bare SQL floor.

    .venv/bin/python bench/bench_sweep.py [--cases 100000] [--due 10000] [--db URL] [--profile] [--keep] [--reuse]
    .venv/bin/python bench/bench_sweep.py --cases 1000000 --db 'postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench_sweep'

Seeding (timed, not compared): case HZ-2026-000001 is reported, assigned and started through the service;
its rows are the template. Every other case is a copy of them with its own id, written with executemany
(SQLite) or COPY (PostgreSQL): a `hazard_case` row (rectifying, clocks JSON, fields) and the 7 rung rows the
service schedules on assign. The D due cases have deadline 2026-04-30 and their own hash-chained report,
assign and start events (so the sweep appends to a valid chain); the others have deadline 2026-12-31 and no
event rows (a sweep never reads them). The sweep runs at 2026-04-28T00:30, 30 minutes after each due case's
yellow warning (within the 60-minute grace): D rungs fire.

Engine: `engine.app.sweep.sweep(service, now=...)` on a fresh service, as `hazard escalate` does; then a second
sweep at the same time, which finds nothing due (`empty`: what every idle scheduler tick costs).

Baseline, same process, same database, same rows (reset in between): the DBAPI connection runs the same
claim statement (UPDATE ... WHERE id IN (SELECT ... ORDER BY due_at LIMIT 200 [FOR UPDATE SKIP LOCKED])
RETURNING, committed), then per batch in one transaction reads the cases' chain heads, inserts one
hash-chained `escalate` event per rung and marks the rung rows fired; the "+case" variant also moves each
case row's version and head, as the engine must for exactly-once. It decides nothing: it is the floor.

A schema given with `?options=-csearch_path%3DNAME` on PostgreSQL is created first and dropped at the end
(without one, the schema `bench_sweep`: the bench never writes into a database's own schema).
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.domain import case as case_model# noqa: E402
from engine.domain.clock import FixedClock, parse_time# noqa: E402
from engine.domain.escalation import ladder# noqa: E402
from engine.domain.events import GENESIS, Event# noqa: E402
from engine.app import Engine# noqa: E402
from engine.store import cases as case_store# noqa: E402
from engine.store.database import Store# noqa: E402
from engine.store.tables import cases as cases_table, events as events_table, rungs as rungs_table# noqa: E402

SEEDED_AT = "2026-03-02T09:00"
SWEEP_AT = "2026-04-28T00:30"
DUE_DEADLINE = "2026-04-30"
OPEN_DEADLINE = "2026-12-31"
FIVE = {"responsible_unit": "某化工有限公司", "responsible_person": "王五", "measures": "加装可燃气体泄漏报警装置",
        "funds": "15万", "deadline": OPEN_DEADLINE, "emergency_plan": "液氨泄漏专项应急预案"}
BATCH = 200  # the engine sweep's default batch


@dataclass
class Seeded:
    cases: int
    due_cases: list[str]
    due_rungs: int
    rung_rows: int
    seconds: float
    due_case_heads: list[dict]  # the seeded (id, version, fired, last_hash, updated_at) of due cases, for reset


# -- seeding ----------------------------------------------------------------------------------------------------

def _service(url: str, at: str) -> Engine:
    return Engine(Store(url, create=True), clock=FixedClock(parse_time(at)), trust_backdating=True)


def _template(service: Engine):
    """Case 1 through the real service: its events and the loaded definition are what every copy mirrors."""
    service.init(admin="li", admin_regions=["37"])
    for name, role, region in (("ent", "enterprise", "371721"), ("zhang", "supervisor", "3717")):
        service.commands.add_user(name, roles=[role], regions=[region], actor="li")
    case = service.commands.report_case(actor="ent", workflow="major-hazard", title="液氨储罐区未设置泄漏报警装置",
                               enterprise="某化工有限公司", region="371721", industry="危险化学品", level="major",
                               source="inspection")
    service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    service.commands.advance_case(case.id, "start", actor="ent")
    with service.store.read() as conn:
        run = service.registry.loaded(conn, "major-hazard")
    return service.queries.history(case.id), run


def _copy(template_events: list[Event], run, case_id: str, deadline: str):
    """The case, its events (re-chained for `case_id`) and its planned rung rows, as the service writes them."""
    case, prev, chain = None, GENESIS, []
    for e in template_events:
        data = e.data
        if e.trigger == "assign":
            # The copies issue no rectification order of their own: the template's notice (its number, its stored
            # text) belongs to case 1 alone, and a copy sealing it would be a notice "no longer stored".
            data = {k: v for k, v in data.items() if k != "notice"}
            data = {**data, "fields": {**data["fields"], "deadline": deadline}}
        event = replace(e, case_id=case_id, data=data, prev_hash=prev, hash="").sealed()
        chain.append(event)
        prev = event.hash
        case = case_model.apply(case, event, run.definition)
    planned = ladder.plan(run.definition, case.clocks, case.fields, case.fired, run.calendar)
    rung_rows = [{"case_id": case_id, "clock": p.clock, "cycle": p.cycle, "rung": p.rung, "action": p.action,
                  "due_at": p.due_at, "provisional": p.provisional, "status": p.status, "fired_at": None,
                  "sweep_id": None, "claimed_by": None, "lease_until": None} for p in planned]
    return case, chain, rung_rows


class _Writer:
    """Rows in bulk: raw executemany on SQLite, COPY on PostgreSQL, values converted as SQLAlchemy binds them."""

    def __init__(self, store: Store):
        self.store = store
        self.dialect = store.db_engine.dialect
        self.postgres = self.dialect.name == "postgresql"

    def columns(self, table) -> list[str]:
        return [c.name for c in table.columns if not (c.primary_key and c.name == "id" and table is not cases_table)]

    def tuple_of(self, table, values: dict) -> tuple:
        out = []
        for name in self.columns(table):
            column, value = table.c[name], values[name]
            if self.postgres and value is not None and column.type.__class__.__name__ == "JSON":
                out.append(json.dumps(value, ensure_ascii=False))
                continue
            process = column.type._cached_bind_processor(self.dialect)
            out.append(process(value) if process else value)
        return tuple(out)

    def write(self, table, rows: list[tuple]) -> None:
        if not rows:
            return
        names = self.columns(table)
        raw = self.store.db_engine.raw_connection()
        try:
            if self.postgres:
                with raw.driver_connection.cursor() as cur:
                    with cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                raw.driver_connection.commit()
            else:
                cur = raw.driver_connection.cursor()
                cur.execute("BEGIN IMMEDIATE")
                cur.executemany(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                                rows)
                cur.execute("COMMIT")
        finally:
            raw.close()


def seed(url: str, *, cases: int, due: int, now: str = SWEEP_AT, due_deadline: str = DUE_DEADLINE,
         chunk: int = 50_000, log=lambda line: None) -> Seeded:
    """Seed `cases` open major hazards (case 1 through the service, the rest copied), `due` of them due at `now`."""
    started = time.perf_counter()
    service = _service(url, SEEDED_AT)
    template_events, run = _template(service)
    writer = _Writer(service.store)
    _, _, open_rungs = _copy(template_events, run, "HZ-2026-TEMPLATE", OPEN_DEADLINE)
    open_case, _, _ = _copy(template_events, run, "HZ-2026-TEMPLATE", OPEN_DEADLINE)
    open_values = case_store.case_values(open_case)
    case_cols, rung_cols = writer.columns(cases_table), writer.columns(rungs_table)
    id_at, case_id_at = case_cols.index("id"), rung_cols.index("case_id")
    open_case_row = writer.tuple_of(cases_table, open_values)
    open_rung_rows = [writer.tuple_of(rungs_table, r) for r in open_rungs]

    numbers = range(2, cases + 1)
    step = max((cases - 1) // max(due, 1), 1)
    due_numbers = set(list(numbers[::step])[:due]) if due else set()
    due_ids, heads, rung_count = [], [], len(open_rungs)  # case 1 has its rungs already
    for first in range(0, len(numbers), chunk):
        case_rows, rung_rows, event_rows = [], [], []
        for n in numbers[first:first + chunk]:
            case_id = f"HZ-2026-{n:06d}"
            if n in due_numbers:
                case, chain, rows = _copy(template_events, run, case_id, due_deadline)
                case_rows.append(writer.tuple_of(cases_table, case_store.case_values(case)))
                event_rows.extend(writer.tuple_of(events_table, case_store.event_values(e)) for e in chain)
                rung_rows.extend(writer.tuple_of(rungs_table, r) for r in rows)
                due_ids.append(case_id)
                heads.append({"id": case_id, "version": case.version, "fired": [], "last_hash": case.last_hash,
                              "updated_at": case.updated_at})
            else:
                row = list(open_case_row)
                row[id_at] = case_id
                case_rows.append(tuple(row))
                for template in open_rung_rows:
                    r = list(template)
                    r[case_id_at] = case_id
                    rung_rows.append(tuple(r))
        writer.write(cases_table, case_rows)
        writer.write(events_table, event_rows)
        writer.write(rungs_table, rung_rows)
        rung_count += len(rung_rows)
        log(f"  seeded {min(first + chunk, len(numbers)) + 1:,} cases, {rung_count:,} rung rows "
            f"({time.perf_counter() - started:.0f} s)")
    from sqlalchemy import func, select, text, update

    from engine.store.tables import counters
    with service.store.write() as conn:
        conn.execute(update(counters).where(counters.c.year == 2026).values(last=cases))
    if writer.postgres:
        with service.store.db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    with service.store.read() as conn:
        due_rungs = conn.execute(select(func.count()).select_from(rungs_table).where(
            rungs_table.c.status == "pending", rungs_table.c.due_at <= parse_time(now))).scalar_one()
    service.store.dispose()
    return Seeded(cases, due_ids, due_rungs, rung_count, time.perf_counter() - started, heads)


def reseeded(url: str, now: str = SWEEP_AT) -> Seeded:
    """What `seed` returned, read back from a database it seeded earlier (for --reuse)."""
    from sqlalchemy import and_, func, select

    store = Store(url, create=True)
    with store.read() as conn:
        count = conn.execute(select(func.count()).select_from(cases_table)).scalar_one()
        rung_rows = conn.execute(select(func.count()).select_from(rungs_table)).scalar_one()
        due = select(cases_table.c.id).where(cases_table.c.deadline == DUE_DEADLINE)
        heads = [{"id": r.case_id, "version": 3, "fired": [], "last_hash": r.hash, "updated_at": r.at}
                 for r in conn.execute(select(events_table.c.case_id, events_table.c.hash, events_table.c.at).where(
                     and_(events_table.c.seq == 3, events_table.c.case_id.in_(due))))]
    store.dispose()
    seeded = Seeded(count, [h["id"] for h in heads], 0, rung_rows, 0.0, heads)
    reset(url, seeded)
    store = Store(url, create=True)
    with store.read() as conn:
        seeded.due_rungs = conn.execute(select(func.count()).select_from(rungs_table).where(
            rungs_table.c.status == "pending", rungs_table.c.due_at <= parse_time(now))).scalar_one()
    store.dispose()
    return seeded


def reset(url: str, seeded: Seeded) -> None:
    """Undo a sweep over the seeded cases: no escalate events, rung rows pending, case rows at their seeded head."""
    from sqlalchemy import bindparam, delete, update

    from engine.store.tables import sweeps
    store = Store(url, create=True)
    with store.write() as conn:
        conn.execute(delete(events_table).where(events_table.c.trigger == "escalate"))
        conn.execute(update(rungs_table).where(rungs_table.c.status.in_(("fired", "skipped"))).values(
            status="pending", fired_at=None, sweep_id=None, claimed_by=None, lease_until=None))
        conn.execute(update(rungs_table).where(rungs_table.c.claimed_by.is_not(None)).values(claimed_by=None,
                                                                                               lease_until=None))
        conn.execute(update(cases_table).where(cases_table.c.id == bindparam("case_id")).values(
            version=bindparam("v"), fired=bindparam("f"), last_hash=bindparam("h"), updated_at=bindparam("u")),
            [{"case_id": h["id"], "v": h["version"], "f": h["fired"], "h": h["last_hash"], "u": h["updated_at"]}
             for h in seeded.due_case_heads])
        conn.execute(delete(sweeps))
    store.dispose()


# -- the two runs -----------------------------------------------------------------------------------------------

def run_engine(url: str, now: str, profile: bool = False, memory: bool = False):
    """One engine sweep; with `memory`, also the peak of Python memory it allocated (tracemalloc)."""
    import tracemalloc

    from engine.app.sweep import sweep

    service = _service(url, now)
    at = parse_time(now)
    profiler = cProfile.Profile() if profile else None
    if memory:
        tracemalloc.start()
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    result = sweep(service, now=at)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - start
    if memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result.peak_bytes = peak
    service.store.dispose()
    return elapsed, result, profiler


def run_raw(url: str, now: str, *, with_case: bool) -> tuple[float, int]:
    """The floor: the same claim statement, then the event inserts and rung updates, on the bare DBAPI connection."""
    store = Store(url, create=True)
    postgres = store.dialect == "postgresql"
    raw = store.db_engine.raw_connection()
    conn = raw.driver_connection
    at = parse_time(now)
    p = "%s" if postgres else "?"

    def ts(value: datetime):  # what the column stores: aware on PostgreSQL, naive-UTC text on SQLite
        return value if postgres else rungs_table.c.due_at.type._cached_bind_processor(store.db_engine.dialect)(value)

    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    claim_sql = (f"UPDATE rung SET claimed_by={p}, lease_until={p} WHERE id IN (SELECT id FROM rung "
                 f"WHERE status = 'pending' AND due_at <= {p} AND (claimed_by IS NULL OR lease_until < {p}) "
                 f"ORDER BY due_at LIMIT {BATCH}{lock}) RETURNING id, case_id, clock, cycle, rung, action, due_at")
    cols = ("case_id", "seq", "trigger", "from_state", "to_state", "actor", "role", "at", "recorded_at", "data",
            "workflow", "workflow_version", "prev_hash", "hash")
    insert_sql = f"INSERT INTO case_event ({', '.join(cols)}) VALUES ({', '.join([p] * len(cols))})"
    case_sql = (f"UPDATE hazard_case SET version={p}, last_hash={p}, updated_at={p} "
                f"WHERE id={p} AND version={p}")
    mark_sql = (f"UPDATE rung SET status='fired', fired_at={p}, sweep_id={p}, claimed_by=NULL, lease_until=NULL "
                f"WHERE id={p} AND status='pending' AND claimed_by={p}")
    sweep_id = f"raw-{os.getpid()}"
    if postgres:
        from psycopg.types.json import Json
        as_json = Json
    else:
        def as_json(value):
            return json.dumps(value)

    def begin(cur):
        if not postgres:
            cur.execute("BEGIN IMMEDIATE")

    def commit(cur):
        if postgres:
            conn.commit()
        else:
            cur.execute("COMMIT")

    fired = 0
    start = time.perf_counter()
    cur = conn.cursor()
    while True:
        begin(cur)
        cur.execute(claim_sql, (sweep_id, ts(at + timedelta(minutes=5)), ts(at), ts(at)))
        claimed = cur.fetchall()
        commit(cur)
        if not claimed:
            break
        begin(cur)
        ids = list({r[1] for r in claimed})
        cur.execute(f"SELECT id, version, last_hash FROM hazard_case WHERE id IN ({', '.join([p] * len(ids))})", ids)
        heads = {r[0]: [r[1], r[2]] for r in cur.fetchall()}
        events, moved, marks = [], [], []
        recorded = datetime.now(at.tzinfo)
        for rung_id, case_id, clock, cycle, rung, action, due_at in claimed:
            version, prev = heads[case_id]
            if not postgres:
                due_at = parse_time(due_at.replace(" ", "T") + "+00:00")
            data = {"clock": clock, "cycle": cycle, "rung": rung, "action": action, "status": "fired",
                    "due_at": due_at.isoformat(), "late_seconds": (at - due_at).total_seconds(), "sweep": sweep_id}
            content = json.dumps({"case_id": case_id, "seq": version + 1, "prev_hash": prev, "data": data,
                                  "at": at.isoformat()}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            digest = hashlib.sha256(content.encode()).hexdigest()
            events.append((case_id, version + 1, "escalate", "rectifying", "rectifying", "scheduler", "system", ts(at),
                           ts(recorded), as_json(data), "major-hazard", 1, prev, digest))
            moved.append((version + 1, digest, ts(at), case_id, version))
            heads[case_id] = [version + 1, digest]
            marks.append((ts(at), sweep_id, rung_id, sweep_id))
        cur.executemany(insert_sql, events)
        if with_case:
            cur.executemany(case_sql, moved)
        cur.executemany(mark_sql, marks)
        commit(cur)
        fired += len(claimed)
    # No release pass: every claimed row was marked. The engine's release (an UPDATE by sweep id) is what the
    # `empty` line measures: a sweep that finds nothing pays only for its claim and that release.
    elapsed = time.perf_counter() - start
    cur.close()
    raw.close()
    store.dispose()
    return elapsed, fired


# -- PostgreSQL schema from the URL -----------------------------------------------------------------------------

def pg_schema(url: str) -> str | None:
    """The schema named by `?options=-csearch_path%3DNAME`, if any."""
    options = parse_qs(urlsplit(url).query).get("options", [""])[0]
    options = unquote(options)
    if "search_path=" in options:
        return options.split("search_path=", 1)[1].split()[0].split(",")[0]
    return None


def pg_admin(url: str, sql: str) -> None:
    from sqlalchemy import create_engine, text
    base = url.split("?", 1)[0]
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="open cases (the issue's figure: 1000000)")
    parser.add_argument("--due", type=int, default=10_000, help="cases with one rung due at the sweep")
    parser.add_argument("--db", default=None, help="database URL (default: a new SQLite file in a temp folder)")
    parser.add_argument("--profile", action="store_true", help="run the engine sweep once more under cProfile")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, the best counts (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the database (SQLite file or PostgreSQL schema)")
    parser.add_argument("--reuse", action="store_true", help="skip seeding: reset and reuse a database seeded "
                        "before (with --keep for PostgreSQL)")
    args = parser.parse_args()

    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp(prefix='hazard-bench-sweep-')) / 'sweep.db'}"
    postgres = url.startswith("postgres")
    schema = pg_schema(url) if postgres else None
    if postgres and schema is None:  # never into the database's own schema: one of the bench's own, dropped after
        schema = "bench_sweep"
        url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    if schema and not args.reuse:
        pg_admin(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        pg_admin(url, f'CREATE SCHEMA "{schema}"')
    try:
        print(f"database: {Store(url, create=True).safe_url}", flush=True)
        if args.reuse:
            seeded = reseeded(url)
            print(f"reused   : {seeded.cases:,} open cases, {seeded.rung_rows:,} rung rows, "
                  f"{seeded.due_rungs:,} rungs due at {SWEEP_AT}", flush=True)
        else:
            seeded = seed(url, cases=args.cases, due=args.due,
                          log=lambda line: print(line, file=sys.stderr, flush=True))
            print(f"seed     : {seeded.seconds:8.1f} s  {seeded.cases:,} open cases, {seeded.rung_rows:,} rung rows, "
                  f"{seeded.due_rungs:,} rungs due at {SWEEP_AT}", flush=True)
        assert seeded.due_rungs == args.due, (seeded.due_rungs, args.due)

        engine_s, result, _ = run_engine(url, SWEEP_AT)
        for _ in range(args.repeat - 1):  # the best of several: a busy machine slows each run differently
            reset(url, seeded)
            engine_s = min(engine_s, run_engine(url, SWEEP_AT)[0])
        counts = result.counts
        assert counts["fired"] == args.due and counts["conflicts"] == 0, counts
        print(f"engine   : {engine_s:8.2f} s  {args.due / engine_s:9.0f} rungs/s  "
              f"(fired {counts['fired']}, skipped {counts['skipped']})", flush=True)
        empty_s, empty, _ = run_engine(url, SWEEP_AT)
        assert empty.fired == []
        print(f"empty    : {empty_s:8.2f} s  (a second engine sweep at the same time, nothing left to fire)",
              flush=True)
        raw_s = raw_case_s = float("inf")
        for _ in range(args.repeat):
            reset(url, seeded)
            took, fired = run_raw(url, SWEEP_AT, with_case=False)
            assert fired == args.due, fired
            raw_s = min(raw_s, took)
            reset(url, seeded)
            took, fired_case = run_raw(url, SWEEP_AT, with_case=True)
            raw_case_s = min(raw_case_s, took)
        print(f"raw      : {raw_s:8.2f} s  {fired / raw_s:9.0f} rungs/s  (claim + event inserts + rung updates)")
        print(f"raw+case : {raw_case_s:8.2f} s  {fired_case / raw_case_s:9.0f} rungs/s  (... + case version/head update)")
        reset(url, seeded)
        _, measured, _ = run_engine(url, SWEEP_AT, memory=True)
        print(f"memory   : {measured.peak_bytes / 1024:8.0f} KiB peak while sweeping {seeded.cases:,} open cases: "
              f"{measured.peak_bytes / seeded.cases:.1f} bytes per open case (goal: at most 1 KiB)")
        print(f"ratio    : {engine_s / raw_s:8.2f}x raw, {engine_s / raw_case_s:.2f}x raw+case")
        if args.profile:
            reset(url, seeded)
            profiled_s, _, profiler = run_engine(url, SWEEP_AT, profile=True)
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(30)
            stats.sort_stats("tottime").print_stats(20)
            print(f"\nprofile of the engine sweep ({profiled_s:.2f} s under cProfile):\n{out.getvalue()}")
    finally:
        if schema and not args.keep:
            pg_admin(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        elif not postgres:
            print(f"database file: {url.split('///', 1)[1]}")


if __name__ == "__main__":
    main()
