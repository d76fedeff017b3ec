"""The reports' reads: figures as one GROUP BY over the register, and the rows bulletins and lists name.

Hazards are the cases with no parent (interviews and posted supervisions are linked cases). A report looks at
the hazards in a `CaseScope` (engine/reports/tally.py) as of a moment `at`, by the rules written there, on the
basis the report definition gives (`rectified_at`, rectification complete, or `accepted_at`, accepted):
rectified by `at`; accepted by `at`; overdue at `at` (not rectified, not met, not final by then, and `due_at`
passed by `at`, or by the pause when the clock was paused by then; at `now` on the `rectified` basis this is
`register.overdue_at(now)` exactly); rectified on time (met or rectified by `due_at`, or no deadline). The
GROUP BY returns the counts per county code (and the other columns asked); rolling regions up and adding the
divisions with nothing is the caller's.
Regions are matched as a range of six-digit codes (`3717` -> 371700..371799), which an index serves on both
databases whatever the collation.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterator

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from engine.domain.case import Case
from engine.domain.events import Event
from engine.reports.figures import Counts
from engine.reports.tally import FIELD_GROUPS, CaseScope
from engine.store import cases as case_store
from engine.store.case_search import region_range, within_reach
from engine.store.tables import UTCDateTime, cases, events

c = cases.c
INDEX_PREFIX = ("region", "industry", "level", "department")  # ix_case_report's leading columns after parent_id


def attribute_conditions(scope: CaseScope, table=cases) -> list:
    """What never changes after the report (region, level, industry, the tag field), and the reader's reach."""
    return _attributes(scope, table) + within_reach(scope.reach, table)


def _attributes(scope: CaseScope, table=cases) -> list:
    t = table.c
    where = []
    if scope.region:
        where.append(region_range(t.region, scope.region))
    if scope.levels:
        where.append(t.level.in_(scope.levels))
    if scope.industries:
        where.append(t.industry.in_(scope.industries))
    if scope.tag:
        where.append(t.fields["tag"].as_string() == scope.tag)
    return where


def scope_conditions(scope: CaseScope, *, replayed: bool = False) -> list:
    """The hazards in scope as the register holds them today: voided ones are counted nowhere. For a replay
    (`replayed`), the candidates whose history may have been in scope: a voided case counted until it was voided,
    and a corrected one wherever it stood then (the fold decides, `CaseScope.matches`)."""
    attributes = _attributes(scope)
    if replayed and attributes:
        corrected = select(events.c.case_id).where(events.c.trigger == "correct")
        attributes = [or_(and_(*attributes), c.id.in_(corrected))]
    # The reach is the row's as it stands today, replayed or not: a case is the reader's or it is not.
    where = [c.parent_id.is_(None), *attributes, *within_reach(scope.reach)]
    if not replayed:
        where.append(c.voided_at.is_(None))
    if scope.found_from is not None:
        where.append(c.found_at >= scope.found_from)
    if scope.found_to is not None:
        where.append(c.found_at < scope.found_to)
    return where


def _at(moment: datetime):
    # typed, or SQLite would compare the stored UTC text with the driver's own rendering of the instant
    return literal(moment, UTCDateTime)


def _done(basis: str):
    """The column that says when a case came to count as rectified on `basis` (engine/reports/tally.py)."""
    return c.accepted_at if basis == "accepted" else c.rectified_at


def rectified_by(at: datetime, basis: str = "rectified"):
    done = _done(basis)
    return and_(done.isnot(None), done <= _at(at))


def accepted_by(at: datetime):
    return and_(c.accepted_at.isnot(None), c.accepted_at <= _at(at))


def overdue_by(at: datetime, basis: str = "rectified"):
    moment, done = _at(at), _done(basis)
    return and_(or_(done.is_(None), done > moment), or_(c.met_at.is_(None), c.met_at > moment),
                or_(c.closed_at.is_(None), c.closed_at > moment), c.due_at.isnot(None), c.due_at <= moment,
                or_(c.paused_at.is_(None), c.paused_at > moment, c.due_at <= c.paused_at))


def on_time_by(at: datetime, basis: str = "rectified"):
    return and_(rectified_by(at, basis),
                or_(c.due_at.is_(None), func.coalesce(c.judged_at, c.met_at, _done(basis)) <= c.due_at))


def _count(condition):
    return func.sum(case((condition, 1), else_=0))


COUNTED = ("rectified", "overdue", "rectified_on_time", "accepted")  # after `found`, in the statement's order


def counts_statement(scope: CaseScope, columns: tuple[str, ...], at: datetime, basis: str = "rectified"):
    """The one GROUP BY: found, rectified, overdue, rectified on time, accepted per combination of `columns`."""
    keys = [cases.c.fields[name].as_string().label(name) if name in FIELD_GROUPS else c[name] for name in columns]
    return select(*keys, func.count().label("found"), _count(rectified_by(at, basis)).label("rectified"),
                  _count(overdue_by(at, basis)).label("overdue"), _count(on_time_by(at, basis)).label("on_time"),
                  _count(accepted_by(at)).label("accepted")) \
        .where(*scope_conditions(scope)).group_by(*keys)


def grouping(columns: tuple[str, ...]) -> tuple[str, ...]:
    """The columns the GROUP BY really uses: grouped by a prefix of `ix_case_report` (region, industry, level,
    department), the database reads that index in order and sorts nothing, so a grouping on any of those is
    widened to the prefix holding them (a few thousand groups at most) and summed back by the caller."""
    if columns and all(column in INDEX_PREFIX for column in columns):
        return INDEX_PREFIX[:max(INDEX_PREFIX.index(column) for column in columns) + 1]
    return columns


def counts(conn: Connection, scope: CaseScope, *, columns: tuple[str, ...], at: datetime,
           basis: str = "rectified") -> dict[tuple, Counts]:
    """Counts per combination of `columns` (one GROUP BY; see `grouping`)."""
    used = grouping(columns)
    width, pick = len(used), [used.index(column) for column in columns]
    summed: dict[tuple, list[int]] = {}
    for row in conn.execute(counts_statement(scope, used, at, basis)):
        key = tuple(row[i] for i in pick)
        total = summed.setdefault(key, [0] * (1 + len(COUNTED)))
        for i in range(len(total)):
            total[i] += int(row[width + i] or 0)
    return {key: Counts(found=v[0], **dict(zip(COUNTED, v[1:]))) for key, v in summed.items()}


def major_enterprises(conn: Connection, scope: CaseScope, *, at: datetime,
                      basis: str = "rectified") -> list[tuple[str, str, int, int]]:
    """(county code, enterprise, major hazards, of them rectified) per enterprise with a major hazard in scope."""
    stmt = select(c.region, c.enterprise, func.count(), _count(rectified_by(at, basis))) \
        .where(*scope_conditions(scope.narrowed(levels=("major",)))).group_by(c.region, c.enterprise)
    return [(r, e, n, int(k or 0)) for r, e, n, k in conn.execute(stmt)]


def found_regions(conn: Connection, scope: CaseScope) -> set[str]:
    """County codes with at least one hazard found in scope."""
    return {row[0] for row in conn.execute(select(c.region).where(*scope_conditions(scope)).distinct())}


def region_span(conn: Connection, scope: CaseScope) -> tuple[str | None, str | None]:
    row = conn.execute(select(func.min(c.region), func.max(c.region)).where(*scope_conditions(scope))).first()
    return (row[0], row[1]) if row else (None, None)


def open_hazards(conn: Connection, scope: CaseScope, *, at: datetime, overdue_only: bool,
                 basis: str = "rectified") -> list[Case]:
    """Hazards in scope not rectified by `at` (only those overdue then, with `overdue_only`), by due time."""
    done = _done(basis)
    condition = overdue_by(at, basis) if overdue_only else or_(done.is_(None), done > _at(at))
    return case_store.query(conn, where=[*scope_conditions(scope), condition], order_by=[c.due_at, c.region])


def hazards(conn: Connection, scope: CaseScope) -> list[Case]:
    """Every hazard in scope as the register holds it, by region and enterprise (the four lists' candidates)."""
    return case_store.query(conn, where=scope_conditions(scope), order_by=[c.region, c.enterprise])


def hazard_events(conn: Connection, scope: CaseScope, *, as_of: datetime, batch: int = 5000) -> Iterator[Event]:
    """The events of the hazards in scope reported by `as_of`, by case and seq; the replay stops each case's
    log at `as_of` (a prefix, as the log is in force).

    No condition on the events' own time: with one, PostgreSQL without fresh statistics (right after a bulk
    load) intersects the time index with each case's events, once per case, and takes seconds per thousand.
    """
    stmt = select(*(events.c[n] for n in case_store.EVENT_COLUMNS)).join(cases, c.id == events.c.case_id) \
        .where(c.created_at <= _at(as_of), *scope_conditions(scope, replayed=True)) \
        .order_by(events.c.case_id, events.c.seq)
    for row in conn.execution_options(stream_results=True, yield_per=batch).execute(stmt):
        yield Event(*row)


# -- what the ladder did: notices, interviews, posted supervisions ----------------------------------------------
def _action(table=events):
    return table.c.data["action"].as_string()


def _carried_out():
    """An escalate event that fired its rung, or a decision that approved a proposed sanction: what was done."""
    return or_(and_(events.c.trigger == "escalate", events.c.data["status"].as_string() == "fired"),
               and_(events.c.trigger == "decide", events.c.data["decision"].as_string() == "approve",
                    events.c.data["rung"].as_string() != "extension"))


def fired_actions(conn: Connection, case_ids: list[str] | None = None, scope: CaseScope | None = None, *,
                  until: datetime | None = None) -> dict[str, set[str]]:
    """The rung actions carried out (fired, or approved when proposed; not skipped, declined or pending) on each
    hazard, by `until` if given: of `case_ids`, or of every hazard in `scope`."""
    stmt = select(events.c.case_id, _action()).where(_carried_out())
    if until is not None:
        stmt = stmt.where(events.c.at <= _at(until))
    if scope is not None:
        stmt = stmt.join(cases, c.id == events.c.case_id).where(*scope_conditions(scope))
    found: dict[str, set[str]] = {}
    ids = case_ids if case_ids is not None else [None]
    for start in range(0, len(ids), 500):
        part = stmt if case_ids is None else stmt.where(events.c.case_id.in_(ids[start:start + 500]))
        for case_id, action in conn.execute(part):
            found.setdefault(case_id, set()).add(action)
    return found


def cases_with_proposals(conn: Connection, scope: CaseScope, *, until: datetime) -> list[Case]:
    """The hazards in scope on which the ladder proposed a sanction by `until` (their rows hold what became of
    each proposal, and when)."""
    proposed = select(events.c.case_id).where(events.c.trigger == "escalate", events.c.at <= _at(until),
                                              events.c.data["status"].as_string() == "proposed")
    return case_store.query(conn, where=[c.id.in_(proposed), c.parent_id.is_(None), c.voided_at.is_(None),
                                         *attribute_conditions(scope)], order_by=[c.region])


def escalations(conn: Connection, scope: CaseScope, *, start: datetime, end: datetime,
                actions: tuple[str, ...]) -> list[dict]:
    """Rungs with these actions fired in [start, end] on hazards in scope or on their linked cases, with the
    hazard's unit and person (a linked case speaks for its hazard)."""
    parent = aliased(cases)
    hazard_id = func.coalesce(parent.c.id, c.id)
    stmt = select(events.c.case_id, hazard_id, events.c.at, events.c.data, c.enterprise, c.region, c.title,
                  func.coalesce(parent.c.responsible_unit, c.responsible_unit),
                  func.coalesce(parent.c.responsible_person, c.responsible_person), c.workflow, c.fields) \
        .select_from(events.join(cases, c.id == events.c.case_id).outerjoin(parent, parent.c.id == c.parent_id)) \
        .where(_carried_out(), events.c.at >= _at(start), events.c.at <= _at(end),
               _action().in_(actions), *attribute_conditions(scope),
               c.voided_at.is_(None), parent.c.voided_at.is_(None)) \
        .order_by(events.c.at, events.c.case_id)
    keys = ("case_id", "hazard_id", "at", "data", "enterprise", "region", "title", "responsible_unit",
            "responsible_person", "workflow", "fields")
    return [dict(zip(keys, row)) for row in conn.execute(stmt)]


def linked_activity(conn: Connection, scope: CaseScope, *, start: datetime, end: datetime,
                    workflows: frozenset[str]) -> list[dict]:
    """Linked cases of these workflows (interviews, posted supervisions) of hazards in scope, opened or finished
    in [start, end].

    Found through their own events of the period (the events' time index): a linked case is opened by its
    report event and finished by its last one, and there are few of them among a month's events.
    """
    parent = aliased(cases)
    moment_from, moment_to = _at(start), _at(end)
    active = select(events.c.case_id).where(events.c.at >= moment_from, events.c.at <= moment_to,
                                            events.c.workflow.in_(sorted(workflows)))
    stmt = select(c.id, c.parent_id, c.workflow, c.workflow_version, c.state, c.fields, c.created_at, c.closed_at,
                  c.region, parent.c.enterprise, parent.c.responsible_unit, parent.c.responsible_person) \
        .select_from(cases.join(parent, parent.c.id == c.parent_id)) \
        .where(c.id.in_(active), *attribute_conditions(scope), parent.c.voided_at.is_(None),
               or_(and_(c.created_at >= moment_from, c.created_at <= moment_to),
                   and_(c.closed_at >= moment_from, c.closed_at <= moment_to))) \
        .order_by(c.created_at, c.id)
    keys = ("case_id", "parent_id", "workflow", "workflow_version", "state", "fields", "created_at", "closed_at",
            "region", "enterprise", "responsible_unit", "responsible_person")
    return [dict(zip(keys, row)) for row in conn.execute(stmt)]


def escalation_counts(conn: Connection, scope: CaseScope, *, column: str, start: datetime, end: datetime) \
        -> dict[tuple[str, str], int]:
    """(group value, action) -> rungs fired in [start, end] on hazards in scope (found in its period)."""
    # grouped outside: PostgreSQL takes two renderings of one JSON path (two bound keys) for two expressions
    fired = select(c[column].label("grp"), _action().label("action")) \
        .select_from(events.join(cases, c.id == events.c.case_id)) \
        .where(_carried_out(), events.c.at >= _at(start), events.c.at <= _at(end),
               *scope_conditions(scope)).subquery()
    stmt = select(fired.c.grp, fired.c.action, func.count()).group_by(fired.c.grp, fired.c.action)
    return {(group, action): n for group, action, n in conn.execute(stmt)}
