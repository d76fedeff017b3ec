"""Exactly once under concurrency: several `hazard escalate` processes on one PostgreSQL database, two sweeps at
once on SQLite, and a crashed sweep whose lease expires.

The thousands of due rungs are seeded with bench/bench_sweep.py's `seed`: case 1 through the service, the rest
copies of its rows (case row, hash-chained report/assign/start events, rung rows) written in bulk.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from engine.domain.clock import FixedClock, parse_time
from engine.domain.events import verify_chain
from engine.app import Engine
from engine.store import cases as case_store
from engine.store import rungs as rung_store
from engine.store.database import Store
from engine.store.tables import events, rungs
from engine.app.sweep import sweep
from tests.conftest import report, run_to

HAZARD = Path(sys.executable).with_name("hazard")
NOW = "2026-05-01T00:30"  # 30 minutes after the deadline 2026-04-30: red warning and notice on time, yellow missed


def _bench():
    if "bench_sweep" not in sys.modules:
        path = Path(__file__).parent.parent / "bench" / "bench_sweep.py"
        spec = importlib.util.spec_from_file_location("bench_sweep", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_sweep"] = module  # its dataclasses look their module up while being defined
        spec.loader.exec_module(module)
    return sys.modules["bench_sweep"]


def _empty_pg(pg_url: str) -> str:
    """The session's PostgreSQL schema with every table empty."""
    from engine.store import tables
    store = Store(pg_url, create=True)
    store.create_schema()
    names = ", ".join(t.name for t in tables.METADATA.sorted_tables)
    with store.db_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    store.dispose()
    return pg_url


def _tally(url: str) -> dict:
    """What the database says was fired: rung rows by status, escalate events, duplicates, chain breaks."""
    store = Store(url, create=True)
    try:
        with store.read() as conn:
            statuses = dict(conn.execute(select(rungs.c.status, func.count()).group_by(rungs.c.status)).all())
            due_pending = conn.execute(select(func.count()).select_from(rungs).where(
                rungs.c.status == "pending", rungs.c.due_at <= parse_time(NOW))).scalar_one()
            keys = Counter()
            for case_id, data in conn.execute(select(events.c.case_id, events.c.data).where(events.c.trigger == "escalate")):
                keys[(case_id, data["clock"], data["cycle"], data["rung"])] += 1
            breaks = []
            chain, current = [], None
            for row in conn.execute(select(events).order_by(events.c.case_id, events.c.seq)):
                event = case_store.event_from_row(row)
                if event.case_id != current and chain:
                    breaks += list(verify_chain(chain))
                    chain = []
                current = event.case_id
                chain.append(event)
            breaks += list(verify_chain(chain))
    finally:
        store.dispose()
    return {"statuses": statuses, "due_pending": due_pending, "events": sum(keys.values()),
            "twice": [k for k, n in keys.items() if n > 1], "breaks": breaks}


# -- PostgreSQL: several processes -------------------------------------------------------------------------------

CASES = 700  # x 3 due rungs: 2,100; the engine fires about 100 rungs/s per process on PostgreSQL here


@pytest.mark.slow
@pytest.mark.postgres
def test_several_escalate_processes_fire_every_rung_exactly_once_on_postgresql(pg_url):
    """Four `hazard escalate` processes racing over 2,100 due rungs fire or skip each exactly once between them."""
    url = _empty_pg(pg_url)
    seeded = _bench().seed(url, cases=CASES + 1, due=CASES, now=NOW)
    assert seeded.due_rungs == 3 * CASES  # yellow (missed: skip), red warning and notice per due case
    procs = [subprocess.Popen([str(HAZARD), "--db", url, "--now", NOW, "escalate", "--json"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
    docs = [json.loads(out) for out, _ in outputs]
    reported = Counter((r["case_id"], r["clock"], r["cycle"], r["rung"]) for d in docs for r in d["rungs"])
    assert [k for k, n in reported.items() if n > 1] == []
    leftover = sum(d["conflicts"] for d in docs)
    if leftover:  # cases another process changed meanwhile are left for the next sweep, never lost
        store = Store(url, create=True)
        follow = sweep(Engine(store, clock=FixedClock(parse_time(NOW)), trust_backdating=True), now=parse_time(NOW))
        store.dispose()
        reported.update((r["case_id"], r["clock"], r["cycle"], r["rung"]) for r in follow.fired)
    assert len(reported) == seeded.due_rungs and max(reported.values()) == 1
    tally = _tally(url)
    assert tally["due_pending"] == 0 and tally["twice"] == [] and tally["breaks"] == []
    assert (tally["statuses"]["fired"], tally["statuses"]["skipped"]) == (2 * CASES, CASES)
    assert sum(1 for d in docs if d["rungs"]) >= 2  # the work was really shared
    assert tally["events"] == seeded.due_rungs


# -- SQLite: two sweeps at once ----------------------------------------------------------------------------------

def test_two_sweeps_at_once_on_sqlite_are_harmless(tmp_path):
    """Two sweeps in two threads over one SQLite file fire or skip each of 900 due rungs exactly once."""
    url = f"sqlite:///{tmp_path / 'hazard.db'}"
    seeded = _bench().seed(url, cases=301, due=300, now=NOW)
    assert seeded.due_rungs == 900
    results, errors = [], []

    def one():
        store = Store(url, create=True)
        try:
            results.append(sweep(Engine(store, clock=FixedClock(parse_time(NOW)),
                                        trust_backdating=True), now=parse_time(NOW), batch=50))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            store.dispose()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and len(results) == 2
    entries = Counter((f["case_id"], f["rung"]) for r in results for f in r.fired)
    assert len(entries) == 900 and max(entries.values()) == 1 and sum(r.conflicts for r in results) == 0
    tally = _tally(url)
    assert tally["due_pending"] == 0 and tally["twice"] == [] and tally["breaks"] == []
    assert (tally["statuses"]["fired"], tally["statuses"]["skipped"], tally["events"]) == (600, 300, 900)


# -- a crashed sweep -----------------------------------------------------------------------------------------

def test_a_crashed_sweeps_rows_wait_for_its_lease_to_expire(service):
    """Rows claimed by a sweep that died are left alone until its 5-minute lease ends by the real clock (whatever
    engine time later sweeps run at), then fired by a later sweep."""
    from datetime import datetime, timezone

    from freezegun import freeze_time

    ids = [run_to(service, report(service).id, "rectifying").id for _ in range(3)]
    now = parse_time(NOW)
    real = datetime.now(timezone.utc)
    with service.store.write() as conn:
        crashed = rung_store.claim(conn, now=now, real_now=real, sweep_id="crashed-sweep",
                                   lease_until=real + timedelta(minutes=5), limit=4,
                                   postgres=not service.store.is_sqlite)
    taken = {(r.case_id, r.rung) for r in crashed}
    # A claim takes whole cases (catch-up policies decide over a clock cycle): every due rung of each case it touched.
    assert len(crashed) >= 4 and taken == {(c, r) for c in {r.case_id for r in crashed}
                                            for r in ("yellow-warning", "red-warning", "notice")}
    first = sweep(service, now=now)
    assert {(f["case_id"], f["rung"]) for f in first.fired} == {(c, r) for c in ids for r in
                                                               ("yellow-warning", "red-warning", "notice")} - taken
    # An engine time a day later (a drill, a forged --now) does not end a lease: only real time does.
    assert sweep(service, now=now + timedelta(days=1)).fired == []
    with freeze_time(real + timedelta(minutes=4, seconds=59)):
        assert sweep(service, now=now).fired == []
    with freeze_time(real + timedelta(minutes=5, seconds=1)):
        late = sweep(service, now=now)
    assert {(f["case_id"], f["rung"]) for f in late.fired} == taken
    with service.store.write() as conn:
        assert not rung_store.mark(conn, [{"row_id": crashed[0].id, "new_status": "fired", "fired_at": now,
                                           "sweep_id": "crashed-sweep"}])
    events_per_rung = Counter((e.case_id, e.data["rung"]) for c in ids for e in service.queries.history(c)
                              if e.trigger == "escalate")
    assert len(events_per_rung) == 9 and set(events_per_rung.values()) == {1}


@pytest.mark.postgres
def test_two_sweeps_crossing_over_the_same_cases_both_finish(pg_url, monkeypatch):
    """Sweep A holding (X, Y) and sweep B holding (Y, X), each locked on its first case, both end without error."""
    from engine.app import sweep as sweep_module
    from sqlalchemy import update

    url = _empty_pg(pg_url)
    setup = Engine(Store(url, create=True), clock=FixedClock(parse_time("2026-03-02T09:00")), trust_backdating=True)
    setup.init(admin="li", admin_regions=["37"])
    setup.commands.add_user("ent", roles=["enterprise"], regions=["371721"], actor="li")
    setup.commands.add_user("zhang", roles=["supervisor"], regions=["3717"], actor="li")
    x, y = (run_to(setup, report(setup).id, "rectifying").id for _ in range(2))
    now = parse_time(NOW)

    def claim(sweep_id, keys):  # what rung_store.claim returns, with a chosen split of the due rows
        with setup.store.write() as conn:
            return [row for case_id, name in keys for row in conn.execute(
                update(rungs).where(rungs.c.case_id == case_id, rungs.c.rung == name)
                .values(claimed_by=sweep_id, lease_until=now + timedelta(minutes=5)).returning(*rungs.c))]

    held = {"A": claim("A", [(x, "red-warning"), (y, "red-warning")]), "B": claim("B", [(y, "notice"), (x, "notice")])}
    setup.store.dispose()
    barrier, first = threading.Barrier(2, timeout=3), threading.local()
    original = sweep_module._fire_case

    def fire_case_then_meet(*args, **kwargs):  # both sweeps hold their first case's row before either goes on
        entries = original(*args, **kwargs)
        if not getattr(first, "met", False):
            first.met = True
            try:
                barrier.wait()
            except threading.BrokenBarrierError:  # the other sweep waits for our lock: no crossing to provoke
                pass
        return entries

    monkeypatch.setattr(sweep_module, "_fire_case", fire_case_then_meet)
    errors, results = [], {}

    def run(name):
        store = Store(url, create=True)
        result = sweep_module.SweepResult(name, now)
        try:
            sweep_module._fire_batch(Engine(store, clock=FixedClock(now),
                                            trust_backdating=True), held[name], now, result)
            results[name] = result
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
        finally:
            store.dispose()

    threads = [threading.Thread(target=run, args=(name,)) for name in held]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    fired = [(f["case_id"], f["rung"]) for r in results.values() for f in r.fired]
    assert len(set(fired)) == len(fired)
    assert len(fired) + sum(r.conflicts for r in results.values()) == 4  # a conflict is left for the next sweep
