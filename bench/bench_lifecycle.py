"""N major-hazard cases through the whole loop on SQLite: transitions per second, against raw sqlite3.

    .venv/bin/python bench/bench_lifecycle.py [--cases 2000] [--db-dir /tmp]

Engine: `Commands.report_case` then assign, start, submit, verify, close through `advance_case`, one
write transaction per command, as the CLI does (roles, region, fields and guards checked; events hashed;
rung rows scheduled, paused, cancelled).

Baseline, same process, same rows: plain `sqlite3` on a file with the same schema and pragmas; per
transition it reads the case's version and chain head, hashes the same event content, updates the case
row `WHERE version = ?`, inserts the same event row and writes the same rung rows the engine wrote (copied
from the engine's database), one `BEGIN IMMEDIATE ... COMMIT` each. It decides nothing: it is the floor.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.clock import FixedClock, parse_time  # noqa: E402
from engine.app import Engine  # noqa: E402
from engine.store.database import Store  # noqa: E402

FIVE = {"responsible_unit": "某化工有限公司", "responsible_person": "王五", "measures": "加装泄漏报警并联锁",
        "funds": "15万", "deadline": "2026-04-30", "emergency_plan": "液氨泄漏专项应急预案"}
STEPS = [("assign", "zhang", FIVE), ("start", "ent", {}), ("submit", "ent", {}),
         ("verify", "liu", {"opinion": "验收合格"}), ("close", "li", {})]


def run_engine(path: str, cases: int) -> tuple[float, int]:
    clock = FixedClock(parse_time("2026-03-02T09:00"))
    service = Engine(Store(f"sqlite:///{path}", create=True), clock=clock)
    service.init(admin="li", admin_regions=["37"])
    for name, role, region in (("ent", "enterprise", "371721"), ("zhang", "supervisor", "3717"),
                               ("liu", "supervisor", "3717")):
        service.commands.add_user(name, roles=[role], regions=[region], actor="li")
    start = time.perf_counter()
    for _ in range(cases):
        case = service.commands.report_case(actor="ent", workflow="major-hazard", title="液氨储罐区未设置泄漏报警装置",
                                   enterprise="某化工有限公司", region="371721", industry="危险化学品",
                                   level="major", source="self_check")
        for trigger, actor, fields in STEPS:
            service.commands.advance_case(case.id, trigger, actor=actor, fields=fields)
        clock.advance(seconds=1)
    elapsed = time.perf_counter() - start
    service.store.dispose()
    return elapsed, cases * (len(STEPS) + 1)


def load_writes(path: str):
    """The rows the engine wrote, per case in order: events, final case row, rung rows."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    events = conn.execute("SELECT * FROM case_event ORDER BY case_id, seq").fetchall()
    cases = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM hazard_case")}
    rungs: dict[str, list] = {}
    for r in conn.execute("SELECT * FROM rung ORDER BY id"):
        rungs.setdefault(r["case_id"], []).append(dict(r))
    schema = [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")]
    conn.close()
    return events, cases, rungs, schema


def run_baseline(path: str, events, cases, rungs, schema) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    for ddl in schema:
        conn.execute(ddl)
    event_cols = [k for k in events[0].keys() if k != "id"]
    case_cols = list(next(iter(cases.values())).keys())
    rung_cols = [k for k in next(iter(rungs.values()))[0].keys() if k != "id"]
    insert_event = f"INSERT INTO case_event ({', '.join(event_cols)}) VALUES ({', '.join('?' * len(event_cols))})"
    insert_case = f"INSERT INTO hazard_case ({', '.join(case_cols)}) VALUES ({', '.join('?' * len(case_cols))})"
    insert_rung = f"INSERT INTO rung ({', '.join(rung_cols)}) VALUES ({', '.join('?' * len(rung_cols))})"
    # The engine rewrites the whole projection row; so does the floor (the same columns, the final values).
    set_cols = [c for c in case_cols if c not in ("id", "state", "version", "updated_at", "last_hash")]
    update_case = (f"UPDATE hazard_case SET state=?, version=?, updated_at=?, last_hash=?, "
                   f"{', '.join(f'{c}=?' for c in set_cols)} WHERE id=? AND version=?")
    start = time.perf_counter()
    for e in events:
        row = dict(e)
        final = cases[row["case_id"]]
        content = {k: row[k] for k in ("case_id", "seq", "trigger", "to_state", "actor", "role", "at", "recorded_at",
                                       "workflow", "workflow_version", "prev_hash")}
        content["data"] = json.loads(row["data"])
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False,
                                           separators=(",", ":")).encode()).hexdigest()
        conn.execute("BEGIN IMMEDIATE")
        if row["seq"] == 1:
            conn.execute(insert_case, [final[c] if c not in ("version", "state") else
                                       (1 if c == "version" else row["to_state"]) for c in case_cols])
        else:
            current = conn.execute("SELECT version, state, last_hash FROM hazard_case WHERE id = ?",
                                   (row["case_id"],)).fetchone()
            conn.execute(update_case, (row["to_state"], row["seq"], row["at"], digest,
                                       *(final[c] for c in set_cols), row["case_id"], current[0]))
        conn.execute(insert_event, [row[c] for c in event_cols])
        case_rungs = rungs.get(row["case_id"], [])
        if row["trigger"] == "assign":
            conn.executemany(insert_rung, [[r[c] for c in rung_cols] for r in case_rungs if r["clock"] == "rectification"])
        elif row["trigger"] == "submit":
            conn.execute("UPDATE rung SET status='paused' WHERE case_id=? AND status='pending'", (row["case_id"],))
            conn.executemany(insert_rung, [[r[c] for c in rung_cols] for r in case_rungs if r["clock"] == "verification"])
        elif row["trigger"] == "verify":
            conn.execute("UPDATE rung SET status='cancelled' WHERE case_id=? AND status IN ('pending','paused')",
                         (row["case_id"],))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--db-dir", default=None)
    args = parser.parse_args()
    folder = Path(args.db_dir or tempfile.mkdtemp(prefix="hazard-bench-"))
    engine_db, raw_db = folder / "engine.db", folder / "raw.db"
    for p in (engine_db, raw_db):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{p}{suffix}").unlink(missing_ok=True)
    engine_s, transitions = run_engine(str(engine_db), args.cases)
    events, cases, rungs, schema = load_writes(str(engine_db))
    assert len(events) == transitions, (len(events), transitions)
    raw_s = run_baseline(str(raw_db), events, cases, rungs, schema)
    print(f"cases: {args.cases}, transitions (report + 5 advances each): {transitions}, SQLite file, "
          "one transaction per transition")
    print(f"engine   : {engine_s:8.2f} s  {transitions / engine_s:9.0f} transitions/s")
    print(f"raw      : {raw_s:8.2f} s  {transitions / raw_s:9.0f} transitions/s  (same rows, no decisions)")
    print(f"ratio    : {engine_s / raw_s:8.2f}x the raw sqlite3 floor")
    print(f"databases in {folder}")


if __name__ == "__main__":
    main()
