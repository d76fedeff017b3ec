"""Rung rows: the durable timers. Scheduled from the pure plan, claimed by sweeps, fired at most once.

A rung row is never a job inside APScheduler nor an in-process timer: a restart loses nothing, and the
unique key (case, clock, cycle, rung) makes a second firing impossible whatever runs twice.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.engine import Connection

from engine.escalation.ladder import PlannedRung
from engine.store.tables import rungs

OPEN = ("pending", "paused", "cancelled")
# Built once: building SQLAlchemy expressions per call costs more than running them on SQLite.
_OF_CASE = select(rungs).where(rungs.c.case_id == bindparam("case_id"))
_MOVE = update(rungs).where(rungs.c.id == bindparam("row_id")).values(
    due_at=bindparam("due_at"), provisional=bindparam("provisional"), status=bindparam("status"),
    claimed_by=None, lease_until=None)


def sync(conn: Connection, case_id: str, planned: list[PlannedRung], *, new_case: bool = False) -> None:
    """Make the case's unfired rung rows match the plan: insert new ones, move or cancel the rest."""
    existing = {} if new_case else {(r.clock, r.cycle, r.rung): r for r in conn.execute(_OF_CASE, {"case_id": case_id})}
    new, seen, moved = [], set(), []
    for p in planned:
        key = (p.clock, p.cycle, p.rung)
        seen.add(key)
        row = existing.get(key)
        if row is None:
            new.append({"case_id": case_id, "clock": p.clock, "cycle": p.cycle, "rung": p.rung, "action": p.action,
                        "due_at": p.due_at, "provisional": p.provisional, "status": p.status})
        elif row.status in OPEN and (row.due_at, bool(row.provisional), row.status) != (p.due_at, p.provisional, p.status):
            moved.append({"row_id": row.id, "due_at": p.due_at, "provisional": p.provisional, "status": p.status})
    moved += [{"row_id": row.id, "due_at": row.due_at, "provisional": row.provisional, "status": "cancelled"}
              for key, row in existing.items() if key not in seen and row.status in ("pending", "paused")]
    if moved:
        conn.execute(_MOVE, moved)
    if new:
        conn.execute(insert(rungs), new)


def of_case(conn: Connection, case_id: str) -> list:
    stmt = select(rungs).where(rungs.c.case_id == case_id).order_by(rungs.c.clock, rungs.c.cycle, rungs.c.due_at, rungs.c.id)
    return list(conn.execute(stmt))


def due_query(now: datetime):
    return select(rungs).where(and_(rungs.c.status == "pending", rungs.c.due_at <= now))


def claim(conn: Connection, *, now: datetime, sweep_id: str, lease_until: datetime, limit: int, postgres: bool) -> list:
    """Take up to `limit` due rungs no live sweep holds; the caller commits before working on them."""
    free = or_(rungs.c.claimed_by.is_(None), rungs.c.lease_until < now)
    if postgres:
        ids = select(rungs.c.id).where(and_(rungs.c.status == "pending", rungs.c.due_at <= now, free)) \
            .order_by(rungs.c.due_at).limit(limit).with_for_update(skip_locked=True).scalar_subquery()
    else:
        # SQLite has no SKIP LOCKED (SQLAlchemy drops it silently); its single writer makes UPDATE ... RETURNING atomic.
        ids = select(rungs.c.id).where(and_(rungs.c.status == "pending", rungs.c.due_at <= now, free)) \
            .order_by(rungs.c.due_at).limit(limit).scalar_subquery()
    stmt = update(rungs).where(rungs.c.id.in_(ids)).values(claimed_by=sweep_id, lease_until=lease_until) \
        .returning(*rungs.c)
    claimed = list(conn.execute(stmt))
    if not claimed:
        return claimed
    # Take the other due rungs of the same cases too: catch-up policies decide over a whole clock cycle.
    case_ids = sorted({r.case_id for r in claimed})
    rest = select(rungs.c.id).where(and_(rungs.c.case_id.in_(case_ids), rungs.c.status == "pending",
                                         rungs.c.due_at <= now, free))
    if postgres:
        rest = rest.with_for_update(skip_locked=True)
    more = update(rungs).where(rungs.c.id.in_(rest.scalar_subquery())).values(
        claimed_by=sweep_id, lease_until=lease_until).returning(*rungs.c)
    return claimed + list(conn.execute(more))


def mark(conn: Connection, row_id: int, *, status: str, fired_at: datetime, sweep_id: str) -> bool:
    """Record a rung as fired or skipped, only if this sweep still holds it and nobody fired it first."""
    result = conn.execute(update(rungs).where(and_(rungs.c.id == row_id, rungs.c.status == "pending",
                                                   rungs.c.claimed_by == sweep_id)),
                          {"status": status, "fired_at": fired_at, "sweep_id": sweep_id, "lease_until": None})
    return result.rowcount == 1


def release(conn: Connection, sweep_id: str, row_ids: list[int]) -> None:
    """Hand back the rows a sweep claimed but did not fire (by id: no scan of every pending row)."""
    for start in range(0, len(row_ids), 500):
        chunk = row_ids[start:start + 500]
        # By primary key and claim only: a status filter makes SQLite walk the (status, due_at) index instead.
        conn.execute(update(rungs).where(and_(rungs.c.id.in_(chunk), rungs.c.claimed_by == sweep_id)),
                     {"claimed_by": None, "lease_until": None})


def listing(conn: Connection, *, now: datetime, due_only: bool, limit: int | None = None) -> list:
    stmt = select(rungs)
    if due_only:
        stmt = stmt.where(and_(rungs.c.status == "pending", rungs.c.due_at <= now))
    stmt = stmt.order_by(rungs.c.due_at, rungs.c.case_id)
    if limit:
        stmt = stmt.limit(limit)
    return list(conn.execute(stmt))


def with_workflow(conn: Connection, rows: list) -> list:
    """The rows' ids and due times with the workflow and version their case runs under."""
    from engine.store.tables import cases
    ids = [r.id for r in rows]
    if not ids:
        return []
    stmt = select(rungs.c.id, rungs.c.due_at, cases.c.workflow, cases.c.workflow_version) \
        .join(cases, cases.c.id == rungs.c.case_id).where(rungs.c.id.in_(ids))
    return list(conn.execute(stmt))
