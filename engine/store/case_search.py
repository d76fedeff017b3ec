"""A `CaseFilter` as SQL over the register: the WHERE clauses and the ORDER BY of `hazard case list`, and a
reader's reach (`within_reach`), the one SQL form of `engine.domain.reach.Reach` every read applies.

Overdue is the one definition of `engine.domain.case`: open, not met, not rectified, and
`due_at <= COALESCE(paused_at, :now)`, split in two branches that indexes serve (see `overdue_at`).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, false, func, literal, or_, select

from engine.domain.enterprises import CREDIT_CODE_FIELD, is_credit_code
from engine.domain.reach import Reach
from engine.store.tables import UTCDateTime, cases, events

if TYPE_CHECKING:  # a command that reads one case needs no filter
    from engine.domain.filters import CaseFilter


def region_range(column, prefix: str):
    """A region code prefix as a range of six-digit codes (`3717` -> 371700..371799): an index serves it on both
    databases whatever the collation, as `LIKE '3717%'` is served only under C."""
    return and_(column >= prefix.ljust(6, "0"), column <= prefix.ljust(6, "9"))


def within_reach(reach: Reach | None, table=cases) -> list:
    """The cases `reach` covers, judged on their rows as they stand today: in one of the reader's regions and,
    for a reader bound to an enterprise, of that enterprise (its name, or its code in the `credit_code` field).
    No condition for an unscoped read (None)."""
    if reach is None:
        return []
    t = table.c
    where = [or_(*(region_range(t.region, prefix) for prefix in reach.regions)) if reach.regions else false()]
    if reach.enterprise is not None:
        where.append(t.fields[CREDIT_CODE_FIELD].as_string() == reach.enterprise if is_credit_code(reach.enterprise)
                     else t.enterprise == reach.enterprise)
    return where


def overdue_at(now: datetime):
    """Open and past its due time, a paused clock counting up to its pause (`due_at <= COALESCE(paused_at,
    now)`, written as two branches: a comparison of two columns can use no index, so a running clock's branch
    takes ix_case_open_region_due and a paused one's the small ix_case_overdue_paused)."""
    c = cases.c
    return and_(c.is_final.is_(False), c.met_at.is_(None), c.rectified_at.is_(None), c.due_at.isnot(None),
                # typed, or SQLite would compare the stored UTC text with the driver's own rendering of `now`
                or_(and_(c.paused_at.is_(None), c.due_at <= literal(now, UTCDateTime)),
                    and_(c.paused_at.isnot(None), c.due_at <= c.paused_at)))


def _like(column, text: str):
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"%{escaped.lower()}%", escape="\\")


def immutable_conditions(spec: CaseFilter) -> list:
    """Conditions that hold of a case's row whenever they held of the case at an earlier moment: safe to apply
    before replaying it. Its level, workflow and found date never change; its region, enterprise, industry,
    source and title only by a correction, so a corrected case is replayed whatever its row says now."""
    where, reported = _report_conditions(spec)
    if reported:
        corrected = select(events.c.case_id).where(events.c.trigger == "correct")
        where.append(or_(and_(*reported), cases.c.id.in_(corrected)))
    return where + within_reach(spec.reach)


def _report_conditions(spec: CaseFilter) -> tuple[list, list]:
    """The filter's conditions on what a case is reported with: (those no command changes, those a correction
    may change)."""
    c = cases.c
    found_start, found_end = spec.found_range
    where = []
    reported = []
    if spec.region:
        reported.append(c.region.startswith(spec.region))
    if spec.level:
        where.append(c.level == spec.level)
    if spec.workflow:
        where.append(c.workflow == spec.workflow)
    if spec.enterprise:
        reported.append(_like(c.enterprise, spec.enterprise))
    if spec.industry:
        reported.append(c.industry == spec.industry)
    if spec.source:
        reported.append(c.source == spec.source)
    if spec.search:
        reported.append(_like(c.title, spec.search))
    if found_start is not None:
        where.append(c.found_at >= found_start)
    if found_end is not None:
        where.append(c.found_at < found_end)
    return where, reported


def conditions(spec: CaseFilter, now: datetime) -> list:
    """Every condition of the filter on today's rows."""
    c = cases.c
    fixed, reported = _report_conditions(spec)
    where = fixed + reported + within_reach(spec.reach) + [c.voided_at.is_(None)]  # a voided case is in no list
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





def enterprise_names(conn, codes) -> dict[str, str]:
    """The name the register last held each unified social credit code's enterprise under (a case recording the
    code in its `credit_code` field with a name of its own, not the code standing in for it); codes it never
    named are absent."""
    codes = sorted(set(codes))
    code = cases.c.fields[CREDIT_CODE_FIELD].as_string()
    names: dict[str, str] = {}
    for start in range(0, len(codes), 500):
        rows = conn.execute(select(code, cases.c.enterprise)
                            .where(code.in_(codes[start:start + 500]), cases.c.enterprise != code)
                            .order_by(cases.c.found_at, cases.c.id)).all()
        names.update({c: name for c, name in rows})  # the latest found case's name wins
    return names
