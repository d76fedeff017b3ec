"""Report figures over N hazards (default 1,000,000) against the bare SQL of the same GROUP BY, and a bulletin.

    .venv/bin/python bench/bench_report.py [--cases 1000000] [--db URL] [--keep PATH] [--reuse] [--repeat 3]
    .venv/bin/python bench/bench_report.py --db 'postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench_report'

Seeding (timed, not compared): five cases go through the engine (a general hazard fixed on the spot and
verified; one assigned with a deadline; one only reported; a major hazard taken to verified; one left overdue
and swept, so it carries a red warning and a real-name notice). Every other case is a copy of one of them
with its own id, county (Shandong's 136), industry, department, enterprise and dates spread over 2025-2026,
written with executemany (SQLite) or COPY (PostgreSQL): the `hazard_case` row and its events. About 83 % are
rectified, 5 % are major. Copied events keep the template's data; their hashes are stand-ins (the chain is
not verified here, and the anchor only reads them).

Timed, best of --repeat (the engine and its baselines run in turns), same process, same database:
- `stats by county`: `engine.reports.stats(by=["county"], region="37")`: the GROUP BY over every case, the
  roll-up and the 136 rows with their rates; `stats by industry` likewise; `stats by county, one month`: found
  in June 2026 (the found_at index);
- each against the bare SQL: the very statement the engine sends, compiled once, its parameters bound once,
  executed on the DBAPI cursor and fetched (no transaction set-up, no Python after the fetch). The engine
  groups by a prefix of the report index (`by industry` is sent as GROUP BY region, industry and summed
  in Python: the index is read in order, no sort); the unwidened GROUP BY is timed beside it for reference;
- `bulletin month`: `engine.reports.bulletin(period="month", date="2026-06-30", region="37")` rendered to
  Markdown and HTML, with the anchor (a GROUP BY over every event) timed on its own beside it.

The closing `ratio` line is the worse of the two whole-register stats ratios (the goal: at most 1.50x, and
under 1 s). `--plans` prints each statement's query plan.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.app import Engine# noqa: E402
from engine.domain.clock import FixedClock, parse_time# noqa: E402
from engine.store import cases as case_store# noqa: E402
from engine.store.database import Store# noqa: E402
from engine.store.tables import cases as cases_table, events as events_table# noqa: E402

PHOTO = Path(__file__).resolve().parent.parent / "docs" / "examples" / "rectified.png"  # a submit needs evidence
os.environ.setdefault("HAZARD_FILES", tempfile.mkdtemp(prefix="bench-evidence-"))  # PostgreSQL has no default store
NOW = "2026-07-15T09:00"
UTC = timezone.utc
START = datetime(2025, 1, 1, 1, 0, tzinfo=UTC)
SPAN_DAYS = 540
DEPARTMENTS = ("市应急局", "市住建局", "市交通运输局", "市市场监管局", "市消防救援支队", None, None)
INDUSTRIES = ("工贸", "危险化学品", "建筑施工", "道路交通", "城镇燃气", "消防", "特种设备", "非煤矿山", "烟花爆竹", "商贸")
FIVE = {"responsible_unit": "某化工有限公司", "responsible_person": "王五", "measures": "加装可燃气体泄漏报警装置",
        "funds": "15万", "emergency_plan": "液氨泄漏专项应急预案"}


# -- seeding ----------------------------------------------------------------------------------------------------
def _templates(engine: Engine) -> dict[str, tuple]:
    """Five cases through the engine; for each, its stored row and events, and their times from its report."""
    c, at = engine.commands, parse_time("2026-03-02T09:00")
    engine.init(now=at, admin="li", admin_regions=["37"])
    for name, role, region in (("ent", "enterprise", "371721"), ("zhang", "supervisor", "37"),
                               ("liu", "supervisor", "37")):
        c.add_user(name, roles=[role], regions=[region], now=at, actor="li")
    general = dict(actor="zhang", workflow="general-hazard", title="消防通道堵塞", enterprise="某木业有限公司",
                   region="371721", industry="工贸", level="general", source="self_check")
    major = dict(actor="ent", workflow="major-hazard", title="液氨储罐区未设置泄漏报警装置", enterprise="某化工有限公司",
                 region="371721", industry="危险化学品", level="major", source="inspection")
    spot = c.report_case(now=at, **general)
    c.advance_case(spot.id, "fix", actor="zhang", fields={"measures": "清理"}, now=at + timedelta(hours=1))
    c.advance_case(spot.id, "verify", actor="liu", fields={"opinion": "合格"}, now=at + timedelta(days=2))
    assigned = c.report_case(now=at, **general)
    c.advance_case(assigned.id, "assign", actor="zhang", now=at + timedelta(hours=1),
                   fields={"responsible_person": "赵六", "measures": "接地", "deadline": "2026-03-12"})
    reported = c.report_case(now=at, **general)
    verified = c.report_case(now=at, **major)
    for trigger, actor, fields, later in (("assign", "zhang", {**FIVE, "deadline": "2026-03-30"}, 1),
                                          ("start", "ent", {}, 2), ("submit", "ent", {}, 10),
                                          ("verify", "zhang", {"opinion": "整改到位"}, 12)):
        if trigger == "submit":  # the shipped workflow submits on evidence: the rectification photo first
            c.attach(verified.id, [str(PHOTO)], actor="ent", kind="rectified", now=at + timedelta(days=later))
        c.advance_case(verified.id, trigger, actor=actor, fields=fields, now=at + timedelta(days=later))
    overdue = c.report_case(now=at, **major)
    c.advance_case(overdue.id, "assign", actor="zhang", fields={**FIVE, "deadline": "2026-03-12"}, now=at)
    c.advance_case(overdue.id, "start", actor="ent", now=at)
    engine.sweep(now=parse_time("2026-03-13T01:00"))
    out = {}
    for name, case in (("spot", spot), ("assigned", assigned), ("reported", reported), ("verified", verified),
                       ("overdue", overdue)):
        stored = engine.queries.case(case.id)
        out[name] = (case_store.case_values(stored), engine.queries.history(case.id), at)
    return out


INSTANTS = ("found_at", "created_at", "updated_at", "closed_at", "due_at", "paused_at", "met_at", "rectified_at")


class _Rows:
    """Rows as the driver takes them: each template's row and events formatted once; a copy changes a few cells."""

    def __init__(self, postgres: bool, templates: dict, counties: list[str]):
        self.postgres, self.counties = postgres, counties
        self.case_names = [col.name for col in cases_table.columns]
        self.event_names = list(case_store.EVENT_COLUMNS)
        self.at = {name: self.case_names.index(name) for name in self.case_names}
        self.templates = {kind: self._template(values, log, base) for kind, (values, log, base) in templates.items()}

    def naive(self, value):
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def text(self, naive):
        if naive is None:
            return None
        return naive.isoformat() + "+00:00" if self.postgres else naive.isoformat(sep=" ", timespec="microseconds")

    def _template(self, values: dict, log, base):
        row = []
        for name in self.case_names:
            value, kind = values[name], cases_table.c[name].type.__class__.__name__
            if value is None or name in INSTANTS:
                row.append(None)
            elif kind == "UTCDateTime":
                row.append(self.text(self.naive(value)))
            elif kind == "JSON":
                row.append(json.dumps(value, ensure_ascii=False))
            elif kind == "Boolean" and not self.postgres:
                row.append(int(value))
            else:
                row.append(value)
        instants = [(self.at[name], self.naive(values[name])) for name in INSTANTS if values[name] is not None]
        events = [(e.seq, e.trigger, e.from_state, e.to_state, e.actor, e.role, self.naive(e.at),
                   self.text(self.naive(e.recorded_at)), json.dumps(e.data, ensure_ascii=False), e.workflow,
                   e.workflow_version) for e in log]
        return row, instants, events, self.naive(base)


def _plan(rows: _Rows, n: int):
    """Case number n: which template, and its row and events moved to its own county, industry and dates."""
    rng = (n * 2654435761) % 4294967296
    major = rng % 20 == 0
    kind = ("verified" if rng % 7 else "overdue") if major else \
        ("spot" if rng % 100 < 85 else "assigned" if rng % 100 < 93 else "reported")
    template, instants, events, base = rows.templates[kind]
    found = START.replace(tzinfo=None) + timedelta(days=n % SPAN_DAYS, minutes=rng % 600)
    shift = found - base
    case_id = f"HZ-B-{n:07d}"
    row, at = list(template), rows.at
    for position, value in instants:
        row[position] = rows.text(value + shift)
    row[at["id"]], row[at["region"]] = case_id, rows.counties[rng % len(rows.counties)]
    row[at["industry"]] = "危险化学品" if major else INDUSTRIES[(rng >> 8) % len(INDUSTRIES)]
    row[at["enterprise"]], row[at["department"]] = f"某企业{rng % 60000}", DEPARTMENTS[(rng >> 4) % len(DEPARTMENTS)]
    row[at["found_at"]] = rows.text(found)
    prev, event_rows = "0" * 64, []
    for seq, trigger, source, target, actor, role, when, recorded, data, workflow, version in events:
        digest = hashlib.sha256(f"{case_id}#{seq}".encode()).hexdigest()
        event_rows.append((case_id, seq, trigger, source, target, actor, role, rows.text(when + shift), recorded, data,
                           workflow, version, prev, digest))
        prev = digest
    row[at["last_hash"]] = prev
    return tuple(row), event_rows


def seed(url: str, count: int, log) -> float:
    from engine.domain import regions
    started = time.perf_counter()
    engine = Engine(Store(url, create=True), clock=FixedClock(parse_time(NOW)), trust_backdating=True)
    rows = _Rows(engine.store.dialect == "postgresql", _templates(engine), regions.units("37", "county"))
    raw = engine.store.db_engine.raw_connection()
    try:
        for first in range(0, count, 50_000):
            planned = [_plan(rows, n) for n in range(first, min(first + 50_000, count))]
            _write(raw, rows, "hazard_case", rows.case_names, [p[0] for p in planned])
            _write(raw, rows, "case_event", rows.event_names, [e for p in planned for e in p[1]])
            log(f"  seeded {min(first + 50_000, count):,} cases ({time.perf_counter() - started:.0f} s)")
    finally:
        raw.close()
    if rows.postgres:
        with engine.store.db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.store.db_engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.close()
    return time.perf_counter() - started


def _write(raw, rows: _Rows, table: str, names: list[str], data: list[tuple]) -> None:
    if rows.postgres:
        with raw.driver_connection.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in data:
                    copy.write_row(row)
        raw.driver_connection.commit()
    else:
        cur = raw.driver_connection.cursor()
        cur.execute("BEGIN IMMEDIATE")
        cur.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", data)
        cur.execute("COMMIT")


# -- timing -----------------------------------------------------------------------------------------------------
def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def interleaved(calls, repeat: int) -> list[float]:
    """The best time of each call, run in turns (a, b, c, a, b, c, ...) so that a busy moment of a shared
    machine falls on all of them alike."""
    times = [[] for _ in calls]
    for _ in range(repeat):
        for i, fn in enumerate(calls):
            started = time.perf_counter()
            fn()
            times[i].append(time.perf_counter() - started)
    return [min(t) for t in times]


def bare(engine: Engine, statement):
    """The statement compiled and bound once; the returned function only executes it on the DBAPI and fetches."""
    from engine.store.prepared import Prepared
    prepared = Prepared(statement)
    with engine.store.db_engine.connect() as conn:
        compiled = prepared._compiled(conn)
        sql, params = compiled.sql, compiled._params({})
    raw = engine.store.db_engine.raw_connection()

    def run():
        cur = raw.driver_connection.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall()
        cur.close()
        raw.driver_connection.rollback()
        return rows
    return run, sql, params, raw


def plan_of(engine: Engine, sql: str, params) -> str:
    raw = engine.store.db_engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        prefix = "EXPLAIN QUERY PLAN " if engine.store.is_sqlite else "EXPLAIN "
        cur.execute(prefix + sql, params)
        lines = [" | ".join(str(v) for v in row[-1:]) if engine.store.is_sqlite else row[0] for row in cur.fetchall()]
        raw.driver_connection.rollback()
        return "\n".join("      " + line for line in lines)
    finally:
        raw.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--db", default=None, help="database URL (default: a SQLite file in a temporary directory)")
    parser.add_argument("--keep", default=None, help="SQLite file to seed and keep (with --reuse: to read again)")
    parser.add_argument("--reuse", action="store_true", help="do not seed: the database given is already seeded")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--plans", action="store_true", help="print each statement's query plan")
    args = parser.parse_args()
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731

    folder = tempfile.mkdtemp(prefix="hz-bench-report-")
    url = args.db or f"sqlite:///{args.keep or os.path.join(folder, 'report.db')}"
    schema = _schema_of(url)
    if schema and not args.reuse:
        _pg_admin(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
    if not args.reuse:
        log(f"seeding {args.cases:,} cases into {url.split('?')[0]} ...")
        seconds = seed(url, args.cases, log)
        print(f"seeded   : {args.cases:,} cases in {seconds:.1f} s")

    from engine.reports.tally import CaseScope
    from engine.store import reports as report_store
    engine = Engine(Store(url), clock=FixedClock(parse_time(NOW)), trust_backdating=True)
    at = parse_time(NOW)
    june = CaseScope(region="37", found_from=parse_time("2026-06-01"), found_to=parse_time("2026-07-01"))
    runs = [("stats by county", lambda: engine.reports.stats(by=["county"], region="37"), CaseScope(region="37"),
             ("region",), at),
            ("stats by industry", lambda: engine.reports.stats(by=["industry"]), CaseScope(), ("industry",), at),
            ("stats by county, one month", lambda: engine.reports.stats(by=["county"], region="37", from_="2026-06-01",
                                                                        to="2026-06-30"),
             june, ("region",), parse_time("2026-07-01"))]
    ratios = []
    with engine.store.read() as conn:
        from sqlalchemy import func, select
        total = conn.execute(select(func.count()).select_from(cases_table)).scalar_one()
        events = conn.execute(select(func.count()).select_from(events_table)).scalar_one()
    print(f"database : {engine.store.dialect}, {total:,} cases, {events:,} events")
    for name, call, scope, columns, moment in runs:
        run, sql, params, raw = bare(engine, report_store.counts_statement(scope, report_store.grouping(columns),
                                                                           moment))
        naive, naive_sql, naive_params, naive_raw = bare(engine, report_store.counts_statement(scope, columns, moment))
        call(), run(), naive()  # warm the caches (pages, compiled statements, region table) once
        engine_s, bare_s, naive_s = interleaved((call, run, naive), args.repeat)
        raw.close(), naive_raw.close()
        result = call()
        print(f"{name:27}: engine {engine_s * 1000:8.1f} ms   bare SQL {bare_s * 1000:8.1f} ms   "
              f"{engine_s / bare_s:5.2f}x   ({len(result.rows)} rows, {result.total.counts.found:,} found, "
              f"rate {result.total.texts['rate']})")
        print(f"{'':27}  (GROUP BY {', '.join(columns)} alone, unwidened: {naive_s * 1000:.1f} ms)")
        if args.plans:
            print(plan_of(engine, sql, params))
            if naive_sql != sql:
                print("    unwidened:\n" + plan_of(engine, naive_sql, naive_params))
        if "month" not in name:
            ratios.append(engine_s / bare_s)
    bulletin_s = best(lambda: _bulletin(engine), max(1, args.repeat - 1))
    anchor_s = best(lambda: engine.audit.anchor(as_of=parse_time("2026-07-01")), max(1, args.repeat - 1))
    print(f"{'bulletin month (md + html)':27}: {bulletin_s * 1000:8.1f} ms   of which the anchor over every event "
          f"{anchor_s * 1000:8.1f} ms")
    engine.close()
    if schema and not args.reuse and not args.keep:
        _pg_admin(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    shutil.rmtree(folder, ignore_errors=True)  # the default SQLite file; --keep puts it elsewhere
    print(f"ratio    : {max(ratios):.2f}x")
    return 0


def _bulletin(engine: Engine):
    made = engine.reports.bulletin(period="month", date="2026-06-30", region="37", now=NOW)
    return made.markdown(), made.html()


def _schema_of(url: str) -> str | None:
    if not url.startswith("postgresql"):
        return None
    options = parse_qs(urlsplit(url).query).get("options", [""])[0]
    options = unquote(options)
    return options.split("search_path=", 1)[1].split()[0] if "search_path=" in options else None


def _pg_admin(url: str, sql: str) -> None:
    from sqlalchemy import create_engine
    admin = create_engine(url.split("?")[0])
    with admin.begin() as conn:
        conn.exec_driver_sql(sql)
    admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
