"""Rung rows: the durable timers. Scheduled from the pure plan, claimed by sweeps, fired at most once.

A rung row is never a job inside APScheduler nor an in-process timer: a restart loses nothing, and the
unique key (case, clock, cycle, rung) makes a second firing impossible whatever runs twice. The unit of
work decides what to insert, move or mark; this module only runs the statements, in batches.
"""
from __future__ import annotations

from datetime import datetime

from typing import NamedTuple

from sqlalchemy import Integer, and_, bindparam, func, literal_column, or_, select, update
from sqlalchemy.engine import Connection

from engine.store.prepared import Prepared, insert_rows, instant_writer, marker, run_sql
from engine.store.tables import UTCDateTime, cases, rungs, sweeps

OPEN = ("pending", "paused", "cancelled")
# `status = 'pending'` written into the statement, not bound: it is the predicate of ix_rung_pending, and PostgreSQL
# uses a partial index for a prepared statement's generic plan only when the query states its predicate itself.
PENDING = rungs.c.status == literal_column("'pending'")
STATE_COLUMNS = (rungs.c.id, rungs.c.clock, rungs.c.cycle, rungs.c.rung, rungs.c.status, rungs.c.due_at,
                 rungs.c.provisional)
_STATES_OF = Prepared(select(*STATE_COLUMNS).where(rungs.c.case_id == bindparam("case_id")))
_MOVE = Prepared(update(rungs).where(rungs.c.id == bindparam("row_id")).values(
    due_at=bindparam("new_due_at"), provisional=bindparam("new_provisional"), status=bindparam("new_status"),
    claimed_by=None, lease_until=None))
# Only if this sweep still holds the row and nobody fired it first: the guard of exactly-once.
_MARK = Prepared(update(rungs).where(and_(rungs.c.id == bindparam("row_id"), rungs.c.status == "pending",
                                          rungs.c.claimed_by == bindparam("sweep_id"))).values(
    status=bindparam("new_status"), fired_at=bindparam("fired_at"), sweep_id=bindparam("sweep_id"),
    # The claim ends with the mark: a fired row left claimed would stay in ix_rung_claimed for ever, and each
    # later mark of the sweep would walk every row it had marked (a sweep's cost growing with its square).
    claimed_by=None, lease_until=None))


def states_of(conn: Connection, case_id: str) -> list[tuple]:
    """(id, clock, cycle, rung, status, due_at, provisional) of every rung row of the case."""
    return _STATES_OF.rows(conn, {"case_id": case_id})


_NEW = ("case_id", "clock", "cycle", "rung", "action", "due_at", "provisional", "status")


def insert(conn: Connection, rows: list[dict]) -> None:
    instant = instant_writer(conn)
    insert_rows(conn, rungs.name, _NEW, [(r["case_id"], r["clock"], r["cycle"], r["rung"], r["action"],
                                          instant(r["due_at"]), r["provisional"], r["status"]) for r in rows])


def insert_settled(conn: Connection, rows: list[dict]) -> None:
    """Rows already fired or skipped when written (a ledger import skips the rungs due before it)."""
    instant = instant_writer(conn)
    insert_rows(conn, rungs.name, (*_NEW, "fired_at", "sweep_id"), [
        (r["case_id"], r["clock"], r["cycle"], r["rung"], r["action"], instant(r["due_at"]), r["provisional"],
         r["status"], instant(r["fired_at"]), r["sweep_id"]) for r in rows])


def move(conn: Connection, rows: list[dict]) -> None:
    """Rows as {row_id, new_due_at, new_provisional, new_status, status_only}; any claim is dropped. Rows whose due
    time and provisional mark stay (`status_only`: a pause, a cancellation) are written one statement per status."""
    by_status: dict[str, list[int]] = {}
    moved = []
    for row in rows:
        if row.get("status_only"):
            by_status.setdefault(row["new_status"], []).append(row["row_id"])
        else:
            moved.append(row)
    for status, ids in by_status.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            _set_status(conn, status, chunk)
    _MOVE.executemany(conn, moved)


_SET_STATUS: dict[tuple[str, int], str] = {}


def _set_status(conn: Connection, status: str, ids: list[int]) -> None:
    """`status` on the rows `ids` (by primary key), their claims dropped: what _MOVE writes when only the status moves."""
    mark = marker(conn)
    sql = _SET_STATUS.get((mark, len(ids)))
    if sql is None:
        sql = _SET_STATUS[(mark, len(ids))] = (
            f"UPDATE {rungs.name} SET status = {mark}, claimed_by = NULL, lease_until = NULL "
            f"WHERE id IN ({', '.join([mark] * len(ids))})")
    run_sql(conn, sql, [status, *ids])


def mark(conn: Connection, rows: list[dict]) -> int:
    """Rows as {row_id, new_status, fired_at, sweep_id}; returns how many this sweep really marked."""
    return _MARK.executemany(conn, rows)


def of_case(conn: Connection, case_id: str) -> list:
    stmt = select(rungs).where(rungs.c.case_id == case_id).order_by(rungs.c.clock, rungs.c.cycle, rungs.c.due_at,
                                                                    rungs.c.id)
    return list(conn.execute(stmt))


def due(conn: Connection, *, now: datetime, limit: int | None = None) -> list:
    stmt = select(rungs).where(and_(PENDING, rungs.c.due_at <= now)).order_by(rungs.c.due_at,
                                                                                                   rungs.c.case_id)
    return list(conn.execute(stmt.limit(limit) if limit else stmt))


class Claimed(NamedTuple):
    id: int
    case_id: str
    clock: str
    cycle: int
    rung: str
    due_at: datetime


def _claims(postgres: bool) -> tuple[Prepared, Prepared]:
    free = or_(rungs.c.claimed_by.is_(None), rungs.c.lease_until < bindparam("real_now", type_=UTCDateTime))
    due = and_(PENDING, rungs.c.due_at <= bindparam("now", type_=UTCDateTime), free)
    ids = select(rungs.c.id).where(due).order_by(rungs.c.due_at).limit(bindparam("limit", type_=Integer))
    # The other due rungs of the cases just claimed: catch-up policies decide over a whole clock cycle.
    mine = select(rungs.c.case_id).where(rungs.c.claimed_by == bindparam("sweep_id")).scalar_subquery()
    rest = select(rungs.c.id).where(and_(rungs.c.case_id.in_(mine), due))
    if postgres:
        ids, rest = ids.with_for_update(skip_locked=True), rest.with_for_update(skip_locked=True)
    # SQLite has no SKIP LOCKED (SQLAlchemy drops it silently); its single writer makes UPDATE ... RETURNING atomic.
    take = lambda chosen: Prepared(update(rungs).where(rungs.c.id.in_(chosen.scalar_subquery())).values(  # noqa: E731
        claimed_by=bindparam("sweep_id"), lease_until=bindparam("lease_until", type_=UTCDateTime))
        .returning(*(rungs.c[n] for n in Claimed._fields)))
    return take(ids), take(rest)


_CLAIMS = {True: _claims(True), False: _claims(False)}


def claim(conn: Connection, *, now: datetime, real_now: datetime, sweep_id: str, lease_until: datetime, limit: int,
          postgres: bool) -> list[Claimed]:
    """Take up to `limit` rungs due at `now` that no live sweep holds, with the other due rungs of their cases;
    the caller commits before working on them.

    A lease is alive until `lease_until` by the real clock (`real_now`), whatever engine time a sweep runs at.
    """
    first, rest = _CLAIMS[postgres]
    params = {"now": now, "real_now": real_now, "sweep_id": sweep_id, "lease_until": lease_until, "limit": limit}
    claimed = [Claimed(*row) for row in first.rows(conn, params)]
    if not claimed:
        return claimed
    return claimed + [Claimed(*row) for row in rest.rows(conn, params)]


_CLAIM_CASE = Prepared(update(rungs).where(and_(
    rungs.c.case_id == bindparam("case_id"), rungs.c.status == "pending",
    rungs.c.due_at <= bindparam("now", type_=UTCDateTime),
    or_(rungs.c.claimed_by.is_(None), rungs.c.lease_until < bindparam("real_now", type_=UTCDateTime)))).values(
    claimed_by=bindparam("sweep_id"), lease_until=bindparam("lease_until", type_=UTCDateTime))
    .returning(*(rungs.c[n] for n in Claimed._fields)))


def claim_case(conn: Connection, case_id: str, *, now: datetime, real_now: datetime, sweep_id: str,
               lease_until: datetime) -> list[Claimed]:
    """Take one case's rungs due at `now` that no live sweep holds, in the caller's transaction (a back-dated
    write handles what was due at its recording before it takes effect)."""
    return [Claimed(*row) for row in _CLAIM_CASE.rows(conn, {"case_id": case_id, "now": now, "real_now": real_now,
                                                             "sweep_id": sweep_id, "lease_until": lease_until})]


def release(conn: Connection, sweep_id: str, row_ids: list[int]) -> None:
    """Hand back the rows a sweep claimed but did not fire (by id: no scan of every pending row)."""
    for start in range(0, len(row_ids), 500):
        chunk = row_ids[start:start + 500]
        # By primary key and claim only: a status filter makes SQLite walk the (status, due_at) index instead.
        conn.execute(update(rungs).where(and_(rungs.c.id.in_(chunk), rungs.c.claimed_by == sweep_id)),
                     {"claimed_by": None, "lease_until": None})


def release_all(conn: Connection, sweep_ids: list[str]) -> int:
    """Hand back every pending row these sweeps still hold."""
    result = conn.execute(update(rungs).where(and_(rungs.c.claimed_by.in_(sweep_ids), rungs.c.status == "pending")),
                          {"claimed_by": None, "lease_until": None})
    return result.rowcount


def listing(conn: Connection, *, now: datetime, due_only: bool, limit: int | None = None, statuses=(),
            cancelled: bool = True, reach=None) -> list:
    """Rung rows by due time; given a reader's `reach` (engine.domain.reach), of the cases it covers only."""
    stmt = select(rungs)
    if reach is not None:
        from engine.store.case_search import within_reach
        stmt = stmt.where(rungs.c.case_id.in_(select(cases.c.id).where(*within_reach(reach))))
    if due_only:
        stmt = stmt.where(and_(PENDING, rungs.c.due_at <= now))
    if statuses:
        stmt = stmt.where(rungs.c.status.in_(statuses))
    elif not cancelled:
        stmt = stmt.where(rungs.c.status != "cancelled")
    stmt = stmt.order_by(rungs.c.due_at, rungs.c.case_id)
    if limit:
        stmt = stmt.limit(limit)
    return list(conn.execute(stmt))


def with_workflow(conn: Connection, rows: list) -> list:
    """The rows' ids and due times with the workflow and version their case runs under."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    stmt = select(rungs.c.id, rungs.c.due_at, cases.c.workflow, cases.c.workflow_version) \
        .join(cases, cases.c.id == rungs.c.case_id).where(rungs.c.id.in_(ids))
    return list(conn.execute(stmt))


def count_provisional_open(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(rungs).where(
        rungs.c.provisional.is_(True), rungs.c.status.in_(("pending", "paused")))).scalar_one()


def log_sweep(conn: Connection, values: dict) -> None:
    conn.execute(sweeps.insert(), [values])
