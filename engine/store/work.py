"""我的待办 as SQL (engine/app/work.py says what it is): the open cases of a reader's reach grouped by workflow
version and state, a page of those in the (workflow, version, state) groups the reader may act on (overdue first),
the next pending rung of each, and the cases with a decision pending.

The groups are one GROUP BY over `ix_case_work` (open cases only); the page one ordered scan of the same rows, so a
supervisor with 10,000 open cases costs two index reads and no case is judged one by one.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case as when, func, or_, select, true
from sqlalchemy.engine import Connection

from engine.domain.case import Case
from engine.domain.reach import Reach
from engine.store.case_search import overdue_at, within_reach
from engine.store.cases import case_from_row
from engine.store.tables import cases, rungs


def _open(reach: Reach) -> list:
    c = cases.c
    return [c.is_final.is_(False), c.voided_at.is_(None), *within_reach(reach)]


def groups(conn: Connection, reach: Reach, now: datetime) -> list[tuple[str, int, str, int, int]]:
    """(workflow, version, state, open cases, of which overdue) of the open cases `reach` covers."""
    c = cases.c
    late = func.sum(when((overdue_at(now), 1), else_=0))
    stmt = (select(c.workflow, c.workflow_version, c.state, func.count(), late).where(*_open(reach))
            .group_by(c.workflow, c.workflow_version, c.state))
    return [(w, v, s, n, int(o or 0)) for w, v, s, n, o in conn.execute(stmt)]


def page(conn: Connection, reach: Reach, keys: list[tuple[str, int, str]], now: datetime, *, limit: int,
         offset: int) -> list[tuple[Case, bool]]:
    """(case, overdue) of the open cases in the groups `keys`, overdue first, then by due time (none last).

    Two reads: the page's ids in order from `ix_case_work` alone (the sort is over the index's narrow entries,
    never over the rows with their JSON), then those rows by primary key."""
    if not keys:
        return []
    c = cases.c
    late = overdue_at(now)
    stmt = (select(c.id, when((late, True), else_=False))
            .where(*_open(reach), or_(*(and_(c.workflow == w, c.workflow_version == v, c.state == s)
                                        for w, v, s in keys)))
            .order_by(when((late, 0), else_=1), c.due_at.is_(None), c.due_at, c.id).limit(limit).offset(offset))
    ordered = [(case_id, bool(overdue)) for case_id, overdue in conn.execute(stmt)]
    if not ordered:
        return []
    rows = {row.id: case_from_row(row) for row in conn.execute(select(cases).where(c.id.in_([i for i, _ in ordered])))}
    return [(rows[case_id], overdue) for case_id, overdue in ordered if case_id in rows]


def next_rungs(conn: Connection, case_ids: list[str]) -> dict[str, tuple[str, datetime | None]]:
    """The earliest pending rung (name, due time) of each case."""
    if not case_ids:
        return {}
    r = rungs.c
    stmt = (select(r.case_id, r.rung, r.due_at).where(r.case_id.in_(case_ids), r.status == "pending")
            .order_by(r.case_id, r.due_at.is_(None), r.due_at, r.id))
    found: dict = {}
    for case_id, rung, due_at in conn.execute(stmt):
        found.setdefault(case_id, (rung, due_at))
    return found


def with_pending_decisions(conn: Connection, reach: Reach, *, limit: int) -> list[Case]:
    """Open cases of `reach` on which a decision is pending (the `pending_decision` column, by
    `ix_case_pending_decision`); the caller picks those `engine.domain.escalation.decisions.awaiting` gives the
    reader."""
    # `= true`, which an index serves (PostgreSQL searches no index for `IS TRUE`)
    stmt = (select(cases).where(cases.c.pending_decision == true(), *_open(reach))
            .order_by(cases.c.due_at.is_(None), cases.c.due_at, cases.c.id).limit(limit))
    return [case_from_row(row) for row in conn.execute(stmt)]
