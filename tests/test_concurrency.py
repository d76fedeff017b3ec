"""Two or more writers on one case: exactly one wins each step, losers get Conflict, history stays whole."""
from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

import pytest

import engine.store.cases as case_store
from engine.domain.errors import Conflict, Refused
from engine.domain.events import verify_chain
from engine.app import Engine
from engine.store.database import Store
from tests.conftest import FIVE
from tests.conftest import FIVE, report, run_to


def assert_whole(service, case_id):
    """The case's history has seqs 1..version with no gap or duplicate, and its chain verifies to the head."""
    case = service.queries.case(case_id)
    history = service.queries.history(case_id)
    assert [e.seq for e in history] == list(range(1, case.version + 1))
    assert list(verify_chain(history, head=(case.version, case.last_hash))) == []
    assert history[-1].to_state == case.state
    return case, history


def other_service(db_url, clock):
    return Engine(Store(db_url, create=True), clock=clock, trust_backdating=True)


# -- deterministic interleavings ---------------------------------------------------------------------------
# A command reads and writes in one transaction. On PostgreSQL a second writer can change the case between
# the read and the write: the write `WHERE version = :expected` finds nothing and the command is a Conflict.
# On SQLite the write transaction is taken first (BEGIN IMMEDIATE), so a second writer waits and then sees
# the first one's result: its command is judged on the new state.

@pytest.fixture
def after_first_load(monkeypatch):
    """Run a callback in another thread right after the next case load, and wait for it where it can finish."""
    def install(callback, *, sqlite: bool):
        real, fired, threads = case_store.load_for, [], []

        def load_for(conn, case_id, actor):
            found = real(conn, case_id, actor)
            if not fired:
                fired.append(True)
                thread = threading.Thread(target=callback)
                thread.start()
                threads.append(thread)
                if not sqlite:  # PostgreSQL: the other writer commits before this one writes
                    thread.join(30)
            return found
        monkeypatch.setattr(case_store, "load_for", load_for)
        return threads
    return install


def _outcome(results, call):
    try:
        results.append(call())
    except Exception as exc:  # noqa: BLE001 - the test inspects what the other writer got
        results.append(exc)


def test_the_slower_of_two_supervisors_gets_conflict(service, db_url, clock, after_first_load):
    """A loads the case, B starts it meanwhile: on PostgreSQL A's write conflicts; on SQLite B waits and is refused."""
    sqlite = service.store.is_sqlite
    case = report(service)
    run_to(service, case.id, "assigned")
    other = other_service(db_url, clock)
    theirs = []
    threads = after_first_load(lambda: _outcome(theirs, lambda: other.commands.advance_case(
        case.id, "start", actor="zhang")), sqlite=sqlite)
    if sqlite:
        mine = service.commands.advance_case(case.id, "start", actor="ent")
        threads[0].join(30)
        assert mine.version == 3 and isinstance(theirs[0], Refused) and theirs[0].rule == "state"
        winner = "ent"
    else:
        with pytest.raises(Conflict) as caught:
            service.commands.advance_case(case.id, "start", actor="ent")
        assert caught.value.case_id == case.id and caught.value.expected_version == 2
        assert theirs[0].version == 3
        winner = "zhang"
    final, history = assert_whole(service, case.id)
    assert final.state == "rectifying" and final.version == 3
    assert [(e.trigger, e.actor) for e in history[-1:]] == [("start", winner)]
    other.store.dispose()


def test_verify_and_reject_at_once_one_wins(service, db_url, clock, after_first_load):
    """One supervisor verifies while another rejects the same submission: exactly one of the two is written."""
    sqlite = service.store.is_sqlite
    case = report(service)
    run_to(service, case.id, "verifying")
    other = other_service(db_url, clock)
    theirs = []
    threads = after_first_load(lambda: _outcome(theirs, lambda: other.commands.advance_case(
        case.id, "reject", actor="liu", fields={"opinion": "不合格"})), sqlite=sqlite)
    if sqlite:
        service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "合格"})
        threads[0].join(30)
        assert isinstance(theirs[0], Refused)
    else:
        with pytest.raises(Conflict):
            service.commands.advance_case(case.id, "verify", actor="zhang", fields={"opinion": "合格"})
    final, history = assert_whole(service, case.id)
    triggers = [e.trigger for e in history]
    assert triggers.count("verify") + triggers.count("reject") == 1
    assert final.state == ("verified" if sqlite else "rectifying")
    other.store.dispose()


def test_a_lost_race_writes_no_rung_rows(service, store, db_url, clock, after_first_load):
    """The loser of a race on 'assign' leaves exactly the winner's escalation rungs, none of its own."""
    from sqlalchemy import func, select

    from engine.store.tables import rungs
    sqlite = service.store.is_sqlite
    case = report(service)
    other = other_service(db_url, clock)
    theirs = []
    threads = after_first_load(lambda: _outcome(theirs, lambda: other.commands.advance_case(
        case.id, "assign", actor="liu", fields={**FIVE, "deadline": "2026-05-31"})), sqlite=sqlite)
    if sqlite:
        service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
        threads[0].join(30)
        assert isinstance(theirs[0], Refused)
    else:
        with pytest.raises(Conflict):
            service.commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    final, _ = assert_whole(service, case.id)
    assert final.deadline == ("2026-04-30" if sqlite else "2026-05-31")
    with store.db_engine.connect() as conn:
        per_rung = conn.execute(select(rungs.c.rung, func.count()).where(rungs.c.case_id == case.id)
                                .group_by(rungs.c.rung)).all()
    assert per_rung and all(n == 1 for _, n in per_rung)
    other.store.dispose()


def test_both_decide_from_the_same_version_in_threads(service, db_url, clock, monkeypatch):
    """Two threads start one case at once: exactly one start is written, the other is a Conflict or refused."""
    case = report(service)
    run_to(service, case.id, "assigned")
    sqlite = service.store.is_sqlite
    # On PostgreSQL both load version 2 before either writes (a barrier after the load); SQLite's write
    # lock lets only one read-and-write at a time, so there the threads just race for it.
    barrier = threading.Barrier(2, timeout=20)
    real_load = case_store.load_for

    def load_for(conn, case_id, actor):
        found = real_load(conn, case_id, actor)
        if not sqlite:
            barrier.wait()
        return found
    monkeypatch.setattr(case_store, "load_for", load_for)
    outcomes = []

    def advance(actor):
        svc = other_service(db_url, clock)
        try:
            outcomes.append(svc.commands.advance_case(case.id, "start", actor=actor).version)
        except (Conflict, Refused) as exc:
            outcomes.append(exc)
        finally:
            svc.store.dispose()
    threads = [threading.Thread(target=advance, args=(a,)) for a in ("ent", "zhang")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    monkeypatch.setattr(case_store, "load_for", real_load)
    assert 3 in outcomes and len(outcomes) == 2
    loser = next(o for o in outcomes if o != 3)
    assert isinstance(loser, Refused if sqlite else Conflict)
    final, _ = assert_whole(service, case.id)
    assert final.version == 3


# -- real races --------------------------------------------------------------------------------------------

def race(db_url, clock, n, job):
    """Run job(service, i) in n threads started together; return what each returned or raised."""
    barrier = threading.Barrier(n, timeout=30)
    results = [None] * n

    def run(i):
        svc = other_service(db_url, clock)
        try:
            barrier.wait()
            results[i] = job(svc, i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each writer got
            results[i] = exc
        finally:
            svc.store.dispose()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return results


def test_many_writers_fire_the_same_trigger_exactly_one_wins(service, db_url, clock):
    """Eight threads fire 'start' on one assigned case: one wins, the rest get Conflict or a state refusal."""
    case = report(service)
    run_to(service, case.id, "assigned")
    actors = ["ent", "zhang", "liu"]
    results = race(db_url, clock, 8, lambda svc, i: svc.commands.advance_case(case.id, "start", actor=actors[i % 3]))
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(e, Conflict) or (isinstance(e, Refused) and e.rule == "state") for e in losers), losers
    final, history = assert_whole(service, case.id)
    assert final.version == 3 and [e.trigger for e in history].count("start") == 1


def test_hammering_one_case_loses_nothing_and_duplicates_nothing(service, db_url, clock):
    """Six threads each try ten corrections of the title; every success is one event, in an unbroken chain."""
    case = report(service)
    run_to(service, case.id, "assigned")

    def job(svc, i):
        got = Counter()
        for j in range(10):
            try:
                svc.commands.correct_case(case.id, actor="zhang" if i % 2 else "liu",
                                          changes={"title": f"液氨储罐 w{i}-{j}"}, reason=f"w{i}-{j}")
                got["ok", f"w{i}-{j}"] += 1
            except Conflict:
                got["conflict"] += 1
        return got
    results = race(db_url, clock, 6, job)
    assert not [r for r in results if isinstance(r, Exception)], results
    won = {key[1] for r in results for key in r if isinstance(key, tuple)}
    conflicts = sum(r["conflict"] for r in results)
    assert len(won) + conflicts == 60
    final, history = assert_whole(service, case.id)
    extends = [e.data["reason"] for e in history if e.trigger == "correct"]
    assert len(extends) == len(set(extends)) == len(won) and set(extends) == won
    assert final.version == 2 + len(won)


def _process_hammer(db_url, case_id, worker, rounds, queue):
    from engine.domain.clock import FixedClock, parse_time
    svc = Engine(Store(db_url, create=True), clock=FixedClock(parse_time("2026-03-02T10:00")), trust_backdating=True)
    ok = conflicts = 0
    for j in range(rounds):
        try:
            svc.commands.correct_case(case_id, actor="zhang", changes={"title": f"液氨储罐 p{worker}-{j}"},
                                      reason=f"p{worker}-{j}")
            ok += 1
        except Conflict:
            conflicts += 1
    svc.store.dispose()
    queue.put((ok, conflicts))


@pytest.mark.slow
def test_several_processes_hammering_one_case(service, db_url):
    """Four processes correct one case's title concurrently; successes equal new events and the chain verifies."""
    case = report(service)
    run_to(service, case.id, "assigned")
    # fork: the children inherit the imported engine (a spawned child spends seconds importing SQLAlchemy);
    # each child opens its own Store and never touches the parent's pooled connections.
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_process_hammer, args=(db_url, case.id, w, 15, queue)) for w in range(4)]
    for p in procs:
        p.start()
    counts = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    ok = sum(c[0] for c in counts)
    assert ok + sum(c[1] for c in counts) == 60 and ok >= 1
    final, _ = assert_whole(service, case.id)
    assert final.version == 2 + ok


def test_concurrent_reports_get_distinct_consecutive_ids(service, db_url, clock):
    """Eight reporters at once get eight different ids, numbered 1 to 8 with none skipped."""
    results = race(db_url, clock, 8, lambda svc, i: report(svc, title=f"隐患{i}").id)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == [f"HZ-2026-{n:06d}" for n in range(1, 9)]
    for case_id in results:
        assert_whole(service, case_id)


@pytest.mark.slow
def test_several_inits_at_once_all_succeed_and_install_once(db_url, tmp_path):
    """Four `hazard init` processes on one new database at once, two plain and two naming the first
    administrator (a race on CREATE TABLE, on the revision's stamp, on the first version's unique key and on the
    first user): each ends well, each built-in workflow has exactly one version, and the administrator is
    there once. New means nothing at all: a new SQLite file; on PostgreSQL a schema without a single table.
    (Both kinds of init race in one run: they were two runs of the same race, four processes each.)"""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from sqlalchemy import text

    store = Store(db_url)
    if store.is_sqlite:
        db_url = f"sqlite:///{tmp_path / 'new.db'}"
    else:
        with store.db_engine.begin() as conn:
            names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()
            for table in list(names):
                conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    store.dispose()
    hazard = str(Path(sys.executable).parent / "hazard")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")}
    admin = ["--admin", "li", "--region", "37"]
    procs = [subprocess.Popen([hazard, "--db", db_url, "init", *(admin if n % 2 else [])], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for n in range(4)]
    outcomes = [(p.wait(120), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert not any("Traceback" in err for _, err in outcomes)
    store = Store(db_url)
    with store.db_engine.connect() as conn:
        versions = conn.execute(text("SELECT name, count(*) FROM workflow_version GROUP BY name")).all()
        stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        admins = conn.execute(text("SELECT name FROM app_user")).scalars().all()
    store.dispose()
    assert admins == ["li"], admins
    assert len(stamped) == 1
    assert versions and all(n == 1 for _, n in versions), versions


def test_a_write_asked_at_once_does_not_wait_for_another_writer(service, store, db_url, clock):
    """`Engine.batch(at_once=True)` (the web server's writes on its event loop): on SQLite, another writer holding
    the database is WriterBusy at once, nothing written, and the connection waits its usual time afterwards; on
    PostgreSQL the write goes ahead (its row locks are met statement by statement)."""
    import threading

    from engine.domain.errors import WriterBusy
    case = service.commands.report_case(actor="ent", workflow="major-hazard", title="液氨储罐区未设置泄漏报警装置",
                                        enterprise="某化工有限公司", region="371721", industry="危险化学品",
                                        level="major", source="self_check")
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.write():
            holding.set()
            release.wait(10)
    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    try:
        if store.dialect == "sqlite":
            with pytest.raises(WriterBusy):
                with service.batch(at_once=True) as commands:
                    commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
            assert service.queries.case(case.id).state == "reported"
        else:
            with service.batch(at_once=True) as commands:
                commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
    finally:
        release.set()
        holder.join()
    if store.dialect == "sqlite":
        import sqlite3
        other = sqlite3.connect(store.path, isolation_level=None)  # another process's writer, as SQLite sees it
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(WriterBusy):
                with service.batch(at_once=True) as commands:
                    commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
        finally:
            other.execute("ROLLBACK")
            other.close()
        with service.batch(at_once=True) as commands:
            commands.advance_case(case.id, "assign", actor="zhang", fields=FIVE)
        with store.write() as conn:  # the busy timeout is back for the connection's next write
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    assert service.queries.case(case.id).state == "assigned"
