"""A `CaseFilter` as SQL over the register: the WHERE clauses and the ORDER BY of `hazard case list`.

Overdue is the one definition of `engine.case`: open, not met, not rectified, and
`due_at <= COALESCE(paused_at, :now)` (the `ix_case_open_due` index serves the first two terms and the range).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, literal

from engine.filters import CaseFilter
from engine.store.tables import UTCDateTime, cases


def overdue_at(now: datetime):
    return and_(cases.c.is_final.is_(False), cases.c.met_at.is_(None), cases.c.rectified_at.is_(None),
                cases.c.due_at.isnot(None),
                # typed, or SQLite would compare the stored UTC text with the driver's own rendering of `now`
                cases.c.due_at <= func.coalesce(cases.c.paused_at, literal(now, UTCDateTime)))


def _like(column, text: str):
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped.lower()}%", escape="\\")


def immutable_conditions(spec: CaseFilter) -> list:
    """Conditions on what a case keeps from its report on: safe to apply before replaying it."""
    c = cases.c
    found_start, found_end = spec.found_range
    where = []
    if spec.region:
        where.append(c.region.startswith(spec.region))
    if spec.level:
        where.append(c.level == spec.level)
    if spec.workflow:
        where.append(c.workflow == spec.workflow)
    if spec.enterprise:
        where.append(_like(c.enterprise, spec.enterprise))
    if spec.industry:
        where.append(c.industry == spec.industry)
    if spec.source:
        where.append(c.source == spec.source)
    if spec.search:
        where.append(_like(c.title, spec.search))
    if found_start is not None:
        where.append(c.found_at >= found_start)
    if found_end is not None:
        where.append(c.found_at < found_end)
    return where


def conditions(spec: CaseFilter, now: datetime) -> list:
    """Every condition of the filter on today's rows."""
    c = cases.c
    where = immutable_conditions(spec)
    if spec.state:
        where.append(c.state == spec.state)
    if spec.overdue:
        where.append(overdue_at(now))
    if spec.responsible_unit:
        where.append(_like(c.responsible_unit, spec.responsible_unit))
    if spec.responsible_person:
        where.append(_like(c.responsible_person, spec.responsible_person))
    if spec.deadline_before:
        where.append(and_(c.deadline.isnot(None), c.deadline < spec.deadline_before.isoformat()))
    return where


def order_by(spec: CaseFilter) -> list:
    key, descending = spec.sort_key()
    if key == "id":
        return [cases.c.id.desc()] if descending else []
    column = cases.c[key]
    # NULLs last either way, as a reader of the register expects (no deadline yet sorts after every date).
    return [column.is_(None), column.desc() if descending else column.asc()]



