"""N major-hazard cases through the whole loop: transitions per second, against the raw driver doing the same rows.

    .venv/bin/python bench/bench_lifecycle.py [--cases 2000] [--repeat 3] [--batch 100] [--db-dir /tmp] [--pg URL]

Engine, one command per transaction, as the CLI does: `Commands.report_case`, then assign, start, submit, verify,
close through `Commands.advance_case`, with `Commands.attach` of the rectification photo before submit (roles, region, fields and guards checked by the transitions Machine;
events hashed; the projection and the rung rows written by the unit of work).
Engine, batch: the same commands, `--batch` cases (seven commands each) per `Engine.batch()` transaction, as the
ledger import and migration write.

Baselines, same process, same rows (the ones the engine wrote, read back before timing):
- per transaction: the raw driver (sqlite3, or psycopg with `--pg`) per transition reads the case's version,
  state and chain head, hashes the same event content, updates the case row `WHERE version = ?` (the columns a
  step can change) and inserts the event and the rung rows the engine wrote, one transaction each. It decides
  nothing: it is the floor.
- batch: the same statements, per transition, with one transaction per `--batch` cases: the floor for work
  written many commands to a transaction, as a workflow library that keeps all its rows in one transaction
  writes them. On PostgreSQL the batch goes in psycopg's pipeline mode and reads no version back: no round trip
  per statement (a floor that made one was no floor: the engine "beat" it).
Each figure is the best of `--repeat` runs, engine and floor alternating, so a busy machine slows both alike.
Pages written (SQLite, untimed, once): with auto-checkpoint off the WAL only grows, so the frames each commit
appends are the pages that command wrote; per command by trigger, engine against the floor (goal: at most 8 per
advance, the mean of the five).
The last line is the per-transaction ratio on SQLite (read by other tools).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.app import Engine# noqa: E402
from engine.domain.clock import FixedClock, parse_time# noqa: E402
from engine.store.database import Store# noqa: E402

FIVE = {"responsible_unit": "某化工有限公司", "responsible_person": "王五", "measures": "加装泄漏报警并联锁",
        "funds": "15万", "deadline": "2026-04-30", "emergency_plan": "液氨泄漏专项应急预案"}
PHOTO = Path(__file__).resolve().parent.parent / "docs" / "examples" / "rectified.png"
os.environ.setdefault("HAZARD_FILES", tempfile.mkdtemp(prefix="bench-evidence-"))  # PostgreSQL has no default store
STEPS = [("assign", "zhang", FIVE), ("start", "ent", {}), ("submit", "ent", {}),
         ("verify", "liu", {"opinion": "验收合格"}), ("close", "li", {})]
# What a transition can change in the projection; the floor writes these on every step.
STEP_COLUMNS = ("state", "version", "updated_at", "last_hash", "fields", "signers", "clocks", "deadline", "due_at",
                "paused_at", "met_at", "rectified_at", "responsible_unit", "responsible_person", "is_final",
                "closed_at")


def new_engine(url: str) -> Engine:
    clock = FixedClock(parse_time("2026-03-02T09:00"))
    engine = Engine(Store(url, create=True), clock=clock, trust_backdating=True)
    engine.init(admin="li", admin_regions=["37"])
    for name, role, region in (("ent", "enterprise", "371721"), ("zhang", "supervisor", "3717"),
                               ("liu", "supervisor", "3717")):
        engine.commands.add_user(name, roles=[role], regions=[region], actor="li")
    return engine


def lifecycle(commands) -> None:
    case = commands.report_case(actor="ent", workflow="major-hazard", title="液氨储罐区未设置泄漏报警装置",
                                enterprise="某化工有限公司", region="371721", industry="危险化学品", level="major",
                                source="self_check")
    for trigger, actor, fields in STEPS:
        if trigger == "submit":  # the shipped workflow submits on evidence: the rectification photo first
            commands.attach(case.id, [str(PHOTO)], actor="ent", kind="rectified")
        commands.advance_case(case.id, trigger, actor=actor, fields=fields)


def run_engine(engine: Engine, cases: int, batch: int | None) -> float:
    start = time.perf_counter()
    if batch is None:
        for _ in range(cases):
            lifecycle(engine.commands)
            engine.clock.advance(seconds=1)
    else:
        for first in range(0, cases, batch):
            with engine.batch() as commands:
                for _ in range(min(batch, cases - first)):
                    lifecycle(commands)
            engine.clock.advance(seconds=1)
    return time.perf_counter() - start


# -- the floor -------------------------------------------------------------------------------------------------
class Floor:
    """The rows an engine run wrote, and the raw driver writing them again into a fresh copy of the schema."""

    def __init__(self, engine: Engine):
        self.dialect = engine.store.dialect
        raw = engine.store.db_engine.raw_connection()
        cursor = raw.cursor()
        self.marker = "?" if self.dialect == "sqlite" else "%s"

        def fetch(sql):
            cursor.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        self.events = fetch("SELECT * FROM case_event ORDER BY case_id, seq")
        self.cases = {r["id"]: r for r in fetch("SELECT * FROM hazard_case WHERE id LIKE 'HZ-%'")}
        self.rungs: dict[str, list] = {}
        for r in fetch("SELECT * FROM rung ORDER BY id"):
            self.rungs.setdefault(r["case_id"], []).append(r)
        raw.close()
        if self.dialect == "postgresql":
            from psycopg.types.json import Jsonb  # noqa: F401 - the driver's own JSON wrapper
            from psycopg.types.json import Json
            wrap = lambda row: {k: Json(v) if isinstance(v, (dict, list)) else v for k, v in row.items()}  # noqa: E731
            self.events = [wrap(e) for e in self.events]
            self.cases = {k: wrap(v) for k, v in self.cases.items()}
            self.rungs = {k: [wrap(r) for r in v] for k, v in self.rungs.items()}
        self.event_cols = [k for k in self.events[0] if k != "id"]
        self.case_cols = list(next(iter(self.cases.values())))
        self.rung_cols = [k for k in next(iter(self.rungs.values()))[0] if k != "id"]

    def _sql(self, table: str, cols: list[str]) -> str:
        return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([self.marker] * len(cols))})"

    def _hash(self, row: dict) -> str:
        content = {k: (v.obj if hasattr(v, "obj") else v) for k, v in row.items() if k in (
            "case_id", "seq", "trigger", "to_state", "actor", "role", "at", "recorded_at", "workflow",
            "workflow_version", "prev_hash", "data")}
        content = {k: (json.loads(v) if k == "data" and isinstance(v, str) else v) for k, v in content.items()}
        return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False, default=str,
                                         separators=(",", ":")).encode()).hexdigest()

    def per_transaction(self, conn, batch: int | None = None, committed=None) -> float:
        """Every transition's statements; a transaction each, or one per `batch` cases."""
        m = self.marker
        insert_event = self._sql("case_event", self.event_cols)
        insert_case = self._sql("hazard_case", self.case_cols)
        insert_rung = self._sql("rung", self.rung_cols)
        update_case = (f"UPDATE hazard_case SET {', '.join(f'{c}={m}' for c in STEP_COLUMNS)} "
                       f"WHERE id={m} AND version={m}")
        select = f"SELECT version, state, last_hash FROM hazard_case WHERE id = {m}"
        begin = "BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN"
        per_batch = None if batch is None else batch * (len(STEPS) + 1)
        # A batch on PostgreSQL is sent in pipeline mode, no round trip per statement, and reads no version back
        # (the floor knows it): the least a batch of these rows can cost there.
        piped = batch is not None and self.dialect == "postgresql"
        pipeline = conn.driver_connection.pipeline() if piped else contextlib.nullcontext()
        cur = conn.cursor()
        start = time.perf_counter()
        with pipeline:
            self._write(cur, per_batch, piped, insert_event, insert_case, insert_rung, update_case, select, begin,
                        committed)
        return time.perf_counter() - start

    def _write(self, cur, per_batch, piped, insert_event, insert_case, insert_rung, update_case, select, begin,
               committed):
        m = self.marker
        for n, e in enumerate(self.events):
            final = self.cases[e["case_id"]]
            self._hash(e)
            if per_batch is None or n % per_batch == 0:
                cur.execute(begin)
            if e["seq"] == 1:
                cur.execute(insert_case, [final[c] if c not in ("version", "state") else
                                          (1 if c == "version" else e["to_state"]) for c in self.case_cols])
            else:
                if piped:
                    version = e["seq"] - 1
                else:
                    cur.execute(select, (e["case_id"],))
                    version = cur.fetchone()[0]
                values = [e["to_state"] if c == "state" else e["seq"] if c == "version" else
                          e["at"] if c == "updated_at" else e["hash"] if c == "last_hash" else final[c]
                          for c in STEP_COLUMNS]
                cur.execute(update_case, values + [e["case_id"], version])
            cur.execute(insert_event, [e[c] for c in self.event_cols])
            case_rungs = self.rungs.get(e["case_id"], [])
            if e["trigger"] == "assign":
                cur.executemany(insert_rung, [[r[c] for c in self.rung_cols] for r in case_rungs
                                              if r["clock"] == "rectification"])
            elif e["trigger"] == "submit":
                cur.execute(f"UPDATE rung SET status='paused' WHERE case_id={m} AND status='pending'", (e["case_id"],))
                cur.executemany(insert_rung, [[r[c] for c in self.rung_cols] for r in case_rungs
                                              if r["clock"] == "verification"])
            elif e["trigger"] == "verify":
                cur.execute(f"UPDATE rung SET status='cancelled' WHERE case_id={m} AND status IN ('pending','paused')",
                            (e["case_id"],))
            if per_batch is None or (n + 1) % per_batch == 0 or n + 1 == len(self.events):
                cur.execute("COMMIT")
                if committed is not None:
                    committed(e["trigger"])


def fresh_schema(url_of):
    """A new empty database (SQLite file or PostgreSQL schema) with the engine's schema; its URL."""
    url = url_of()
    Store(url, create=True).create_schema()
    return url


def raw_connection(url: str):
    store = Store(url)
    conn = store.db_engine.raw_connection()
    if store.is_sqlite:
        conn.driver_connection.isolation_level = None
    else:
        conn.driver_connection.autocommit = True  # BEGIN/COMMIT are the floor's own statements
    return conn


# -- pages written ---------------------------------------------------------------------------------------------
TRIGGERS = ("report", "assign", "start", "attach", "submit", "verify", "close")
ADVANCES = ("assign", "start", "submit", "verify", "close")


class WalCounter:
    """WAL frames appended since the last call: with auto-checkpoint off (set on every connection by the caller)
    the WAL is never reset, so its size says how many pages the commits in between wrote."""

    def __init__(self, path: str, page_size: int):
        self.wal, self.frame = f"{path}-wal", page_size + 24
        self.last = self._frames()
        self.pages: dict[str, list[int]] = {}

    def _frames(self) -> int:
        size = os.path.getsize(self.wal) if os.path.exists(self.wal) else 0
        return max(size - 32, 0) // self.frame

    def __call__(self, trigger: str) -> None:
        now = self._frames()
        self.pages.setdefault(trigger, []).append(now - self.last)
        self.last = now

    def mean(self, trigger: str) -> float:
        found = self.pages.get(trigger) or [0]
        return sum(found) / len(found)


def no_autocheckpoint(dbapi_connection, _record):
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def pages_written(url_of, cases: int) -> tuple[WalCounter, WalCounter]:
    """Pages per command by trigger, the engine's (one command per transaction) and the floor's."""
    from sqlalchemy import event
    url = fresh_schema(url_of)
    engine = new_engine(url)
    engine.store.dispose()  # the pooled connections were opened before the listener: open new ones with it
    event.listen(engine.store.db_engine, "connect", no_autocheckpoint)
    path = engine.store.path
    with engine.store.read() as conn:
        page_size = conn.exec_driver_sql("PRAGMA page_size").scalar()
    counted = WalCounter(path, page_size)
    commands = engine.commands
    for _ in range(cases):
        case = commands.report_case(actor="ent", workflow="major-hazard", title="液氨储罐区未设置泄漏报警装置",
                                    enterprise="某化工有限公司", region="371721", industry="危险化学品",
                                    level="major", source="self_check")
        counted("report")
        for trigger, actor, fields in STEPS:
            if trigger == "submit":
                commands.attach(case.id, [str(PHOTO)], actor="ent", kind="rectified")
                counted("attach")
            commands.advance_case(case.id, trigger, actor=actor, fields=fields)
            counted(trigger)
        engine.clock.advance(seconds=1)
    floor = Floor(engine)
    engine.close()
    raw_url = fresh_schema(url_of)
    conn = raw_connection(raw_url)
    no_autocheckpoint(conn.driver_connection, None)
    raw = WalCounter(Store(raw_url).path, page_size)
    floor.per_transaction(conn, None, committed=raw)
    conn.close()
    print(f"  pages written per command (WAL frames, auto-checkpoint off; {cases} cases), engine / floor:")
    print("   " + ", ".join(f"{t} {counted.mean(t):.1f}/{raw.mean(t):.1f}" for t in TRIGGERS))
    mean = sum(counted.mean(t) for t in ADVANCES) / len(ADVANCES)
    floor_mean = sum(raw.mean(t) for t in ADVANCES) / len(ADVANCES)
    print(f"  per advance (mean of the five): {mean:.1f} pages, floor {floor_mean:.1f} (goal at most 8)")
    return counted, raw


def pair(name: str, url_of, cases: int, batch: int, repeat: int, drop=None) -> dict:
    best = {"engine": float("inf"), "raw": float("inf"), "engine batch": float("inf"), "raw batch": float("inf")}
    for _ in range(repeat):
        for mode in ("per", "batch"):
            url = fresh_schema(url_of)
            engine = new_engine(url)
            took = run_engine(engine, cases, None if mode == "per" else batch)
            floor = Floor(engine)
            engine.close()
            raw_url = fresh_schema(url_of)
            conn = raw_connection(raw_url)
            raw = floor.per_transaction(conn, None if mode == "per" else batch)
            conn.close()
            key = "" if mode == "per" else " batch"
            best["engine" + key] = min(best["engine" + key], took)
            best["raw" + key] = min(best["raw" + key], raw)
            for used in (url, raw_url):
                if drop:
                    drop(used)
    transitions = cases * (len(STEPS) + 1)
    print(f"{name}: {cases} cases, {transitions} transitions (report + 5 advances each), best of {repeat}")
    for key in ("engine", "raw", "engine batch", "raw batch"):
        print(f"  {key:<13}: {best[key]:7.2f} s {transitions / best[key]:9.0f} transitions/s")
    ratios = {"per": best["engine"] / best["raw"], "batch": best["engine batch"] / best["raw batch"]}
    print(f"  per command: {ratios['per']:.2f}x its floor (goal 2x); batch of {batch} cases: "
          f"{ratios['batch']:.2f}x its batch floor (goal 1.7x)")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--db-dir", default=None)
    parser.add_argument("--pg", default=None, metavar="URL",
                        help="also on PostgreSQL (each run in a schema of its own, dropped after)")
    args = parser.parse_args()
    folder = Path(args.db_dir or tempfile.mkdtemp(prefix="hazard-bench-"))
    counter = iter(range(1_000_000))
    sqlite_url = lambda: f"sqlite:///{folder}/run{next(counter)}.db"  # noqa: E731
    sqlite = pair("SQLite file", sqlite_url, args.cases, args.batch, args.repeat)
    pages_written(sqlite_url, args.cases)
    if args.pg:
        from sqlalchemy import create_engine, text
        admin = create_engine(Store(args.pg).url)
        schemas = []

        def pg_url():
            schema = f"bench_life_{uuid.uuid4().hex[:8]}"
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            schemas.append(schema)
            sep = "&" if "?" in args.pg else "?"
            return f"{args.pg}{sep}options=-csearch_path%3D{schema}"

        def drop(url):
            schema = url.rsplit("%3D", 1)[1]
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        pair("PostgreSQL", pg_url, args.cases, args.batch, args.repeat, drop=drop)
        admin.dispose()
    print(f"ratio    : {sqlite['per']:8.2f}x the raw sqlite3 floor")
    print(f"databases in {folder}")


if __name__ == "__main__":
    main()
