"""Cases and their events in the database, with Core statements (the ORM unit of work is 13-28x slower).

`append` is the only way a case changes: it inserts the new events and updates the projection
`WHERE version = :expected` in the caller's transaction; a lost race becomes `Conflict`.
"""
from __future__ import annotations

from typing import Iterable, Iterator

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine.case import Case
from engine.errors import Conflict, NotFound
from engine.events import Event
from engine.store.tables import cases, counters, events

_EVENT_COLUMNS = ("case_id", "seq", "trigger", "from_state", "to_state", "actor", "role", "at", "recorded_at",
                  "data", "workflow", "workflow_version", "prev_hash", "hash")


# Hot-path statements, built once (building expressions per call costs more than running them on SQLite).
_LOAD = select(cases).where(cases.c.id == bindparam("case_id"))
_INSERT_CASE = insert(cases)
_INSERT_EVENTS = insert(events)
_UPDATE_CASE = update(cases).where(and_(cases.c.id == bindparam("case_id"), cases.c.version == bindparam("expected")))


def case_values(case: Case) -> dict:
    return {
        "id": case.id, "workflow": case.workflow, "workflow_version": case.workflow_version, "state": case.state,
        "version": case.version, "level": case.level, "title": case.title, "enterprise": case.enterprise,
        "region": case.region, "industry": case.industry, "source": case.source, "found_at": case.found_at,
        "deadline": case.deadline, "deadline_at": case.deadline_at, "fields": case.fields,
        "flags": list(case.flags), "signers": case.signers, "clocks": case.clocks,
        "fired": [list(f) for f in case.fired], "parent_id": case.parent_id, "calendar_hash": case.calendar,
        "is_final": case.is_final,
        "created_at": case.created_at, "updated_at": case.updated_at, "closed_at": case.closed_at,
        "last_hash": case.last_hash,
    }


def case_from_row(row) -> Case:
    m = row._mapping
    return Case(
        id=m["id"], workflow=m["workflow"], workflow_version=m["workflow_version"], state=m["state"],
        version=m["version"], level=m["level"], title=m["title"], enterprise=m["enterprise"], region=m["region"],
        industry=m["industry"], source=m["source"], found_at=m["found_at"], fields=dict(m["fields"]),
        flags=tuple(m["flags"]), signers=dict(m["signers"]), clocks=dict(m["clocks"]),
        fired=tuple(tuple(f) for f in m["fired"]), parent_id=m["parent_id"], calendar=m["calendar_hash"],
        is_final=m["is_final"],
        created_at=m["created_at"], updated_at=m["updated_at"], closed_at=m["closed_at"], last_hash=m["last_hash"],
    )


def event_values(e: Event) -> dict:
    return {name: getattr(e, name) for name in _EVENT_COLUMNS}


def event_from_row(row) -> Event:
    m = row._mapping
    return Event(**{name: m[name] for name in _EVENT_COLUMNS})


def load(conn: Connection, case_id: str) -> Case:
    row = conn.execute(_LOAD, {"case_id": case_id}).first()
    if row is None:
        raise NotFound(f"no case '{case_id}'", kind="case", key=case_id)
    return case_from_row(row)


def load_many(conn: Connection, case_ids: Iterable[str]) -> dict[str, Case]:
    ids = list(case_ids)
    if not ids:
        return {}
    return {row.id: case_from_row(row) for row in conn.execute(select(cases).where(cases.c.id.in_(ids)))}


def insert_new(conn: Connection, case: Case, new_events: list[Event]) -> None:
    conn.execute(_INSERT_CASE, [case_values(case)])
    conn.execute(_INSERT_EVENTS, [event_values(e) for e in new_events])


def append(conn: Connection, case: Case, expected_version: int, new_events: list[Event]) -> None:
    """Write `new_events` and the projection `case` if the stored case is still at `expected_version`."""
    values = case_values(case)
    del values["id"]
    values.update(case_id=case.id, expected=expected_version)
    result = conn.execute(_UPDATE_CASE, values)
    if result.rowcount != 1:
        raise Conflict(f"case {case.id} was changed by someone else meanwhile (expected version {expected_version}); "
                       "nothing was written: look at it again and retry", case_id=case.id,
                       expected_version=expected_version)
    try:
        conn.execute(_INSERT_EVENTS, [event_values(e) for e in new_events])
    except IntegrityError:
        raise Conflict(f"case {case.id}: event #{new_events[0].seq} was written by someone else meanwhile; "
                       "nothing was written", case_id=case.id, expected_version=expected_version) from None


def events_of(conn: Connection, case_id: str) -> list[Event]:
    rows = conn.execute(select(events).where(events.c.case_id == case_id).order_by(events.c.seq))
    return [event_from_row(r) for r in rows]


def stream_events(conn: Connection, *, batch: int = 5000) -> Iterator[Event]:
    """Every event, by case then seq, fetched in batches so millions never sit in memory at once."""
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(
        select(events).order_by(events.c.case_id, events.c.seq))
    for row in result:
        yield event_from_row(row)


def _filtered(stmt, *, region=None, level=None, workflow=None):
    """The register's filters on what a case keeps from its report on (region prefix, level, workflow)."""
    if region:
        stmt = stmt.where(cases.c.region.startswith(region))
    if level:
        stmt = stmt.where(cases.c.level == level)
    if workflow:
        stmt = stmt.where(cases.c.workflow == workflow)
    return stmt


def stream_register_events(conn: Connection, *, as_of, region=None, level=None, workflow=None,
                           case_id: str | None = None, batch: int = 5000) -> Iterator[Event]:
    """Events in force at `as_of` of the cases reported by then, filtered on what never changes after a report."""
    stmt = _filtered(select(events).join(cases, cases.c.id == events.c.case_id).where(
        cases.c.created_at <= as_of, events.c.at <= as_of), region=region, level=level, workflow=workflow)
    if case_id is not None:  # an empty id is a case that does not exist, not "every case"
        stmt = stmt.where(cases.c.id == case_id)
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(
        stmt.order_by(events.c.case_id, events.c.seq))
    for row in result:
        yield event_from_row(row)


def open_cases_of(conn: Connection, workflow: str) -> list[Case]:
    rows = conn.execute(select(cases).where(and_(cases.c.workflow == workflow, cases.c.is_final.is_(False)))
                        .order_by(cases.c.id))
    return [case_from_row(r) for r in rows]


def next_number(conn: Connection, year: int, dialect: str) -> int:
    """The next case number of the year; the counter row is the lock, so two reporters never share one."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    stmt = upsert(counters).values(year=year, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["year"], set_={"last": counters.c.last + 1})
    return conn.execute(stmt.returning(counters.c.last)).scalar_one()


def linked_open_workflows(conn: Connection, case_id: str) -> frozenset[str]:
    rows = conn.execute(select(cases.c.workflow).where(and_(cases.c.parent_id == case_id, cases.c.is_final.is_(False))))
    return frozenset(r.workflow for r in rows)


def linked(conn: Connection, case_id: str) -> list[Case]:
    rows = conn.execute(select(cases).where(cases.c.parent_id == case_id).order_by(cases.c.created_at, cases.c.id))
    return [case_from_row(r) for r in rows]


def query(conn: Connection, *, state=None, region=None, level=None, workflow=None, overdue_at=None,
          limit: int | None = None, offset: int = 0) -> list[Case]:
    stmt = _filtered(select(cases), region=region, level=level, workflow=workflow)
    if state:
        stmt = stmt.where(cases.c.state == state)
    if overdue_at is not None:
        stmt = stmt.where(and_(cases.c.is_final.is_(False), cases.c.deadline_at <= overdue_at))
    stmt = stmt.order_by(cases.c.id).offset(offset)
    if limit:
        stmt = stmt.limit(limit)
    return [case_from_row(r) for r in conn.execute(stmt)]


def count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(cases)).scalar_one()
