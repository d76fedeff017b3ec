"""The streaming reads auditors need: every event in (case, seq) order with its case's head, in one snapshot.

An audit reads millions of rows: they come in batches (`yield_per`, a server-side cursor on PostgreSQL)
and are turned into events by position, not by name, because that conversion runs once per row.
On PostgreSQL the whole audit reads one REPEATABLE READ snapshot, so a case advanced meanwhile can
neither look tampered with (new event, old head) nor disagree with its replay.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, NamedTuple

from sqlalchemy import bindparam, column, exists, func, select, table
from sqlalchemy.engine import Connection

from engine.domain.events import Event
from engine.store.database import Store
from engine.store.prepared import Prepared
from engine.store.tables import UTCDateTime, cases, events, rungs

# The Event dataclass takes its fields in this order; rows are built by position.
EVENT_COLUMNS = (events.c.case_id, events.c.seq, events.c.trigger, events.c.from_state, events.c.to_state,
                 events.c.actor, events.c.role, events.c.at, events.c.recorded_at, events.c.data,
                 events.c.workflow, events.c.workflow_version, events.c.prev_hash, events.c.hash)
_WIDTH = len(EVENT_COLUMNS)
_NAMES = tuple(c.name for c in EVENT_COLUMNS)
Head = tuple[int, str]  # (version, last_hash) as the case row states them


@contextmanager
def snapshot(store: Store) -> Iterator[Connection]:
    """A read-only transaction that sees one consistent state of the whole database until it ends."""
    with store.translated(), store.db_engine.connect() as conn:
        if not store.is_sqlite:
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        # SQLite in WAL mode: a deferred BEGIN takes its snapshot at the first read and keeps it.
        with conn.begin():
            yield conn


_WITH_HEADS = Prepared(select(*EVENT_COLUMNS, cases.c.version, cases.c.last_hash)
                       .select_from(events.outerjoin(cases, cases.c.id == events.c.case_id))
                       .order_by(events.c.case_id, events.c.seq))
_ALL = Prepared(select(*EVENT_COLUMNS).order_by(events.c.case_id, events.c.seq))


def _within(statement, reach):
    """`statement` over the cases `reach` covers (None: every case); an event without a case row is in none."""
    from engine.store.case_search import within_reach
    return statement.where(*within_reach(reach))


def events_with_heads(conn: Connection, *, batch: int = 5000, reach=None) -> Iterator[tuple[Event, Head | None]]:
    """Every event by case then seq, each with its case row's head (None when the case row is missing); with a
    reader's `reach`, of the cases it covers."""
    if reach is not None:
        statement = _within(select(*EVENT_COLUMNS, cases.c.version, cases.c.last_hash)
                            .select_from(events.join(cases, cases.c.id == events.c.case_id)), reach)
        for row in conn.execution_options(stream_results=True, yield_per=batch).execute(
                statement.order_by(events.c.case_id, events.c.seq)):
            yield Event(*row[:_WIDTH]), (row[_WIDTH], row[_WIDTH + 1])
        return
    make = _event_maker(_WITH_HEADS.processors(conn))
    for rows in _WITH_HEADS.chunks(conn, batch=batch):
        for row in rows:
            yield make(row), None if row[_WIDTH] is None else (row[_WIDTH], row[_WIDTH + 1])


def all_events(conn: Connection, *, batch: int = 5000, reach=None) -> Iterator[Event]:
    """Every event by case then seq (with a reader's `reach`, of the cases it covers)."""
    if reach is not None:
        statement = _within(select(*EVENT_COLUMNS).select_from(events.join(cases, cases.c.id == events.c.case_id)),
                            reach)
        for row in conn.execution_options(stream_results=True, yield_per=batch).execute(
                statement.order_by(events.c.case_id, events.c.seq)):
            yield Event(*row)
        return
    make = _event_maker(_ALL.processors(conn))
    for rows in _ALL.chunks(conn, batch=batch):
        for row in rows:
            yield make(row)


def _event_maker(processors):
    """Row -> the event `Event(*row[:14])` of the converted row gives, built without the frozen dataclass's
    per-field set-up and converting only the three columns that need it (an audit makes one of every event)."""
    at, recorded, data = (processors[i] or _same for i in (7, 8, 9))
    assert _NAMES == ("case_id", "seq", "trigger", "from_state", "to_state", "actor", "role", "at", "recorded_at",
                      "data", "workflow", "workflow_version", "prev_hash", "hash")
    new, set_attribute = object.__new__, object.__setattr__

    def make(row) -> Event:
        when, written, payload = row[7], row[8], row[9]
        # None stays None, as the converting read leaves it (the columns are NOT NULL: only a damaged store has one)
        when_at = when if when is None else at(when)
        # Most events were recorded when they took effect: the same stored value, converted once (an instant is
        # immutable, so the two attributes may share it).
        written_at = when_at if written == when and at is recorded else (
            written if written is None else recorded(written))
        event = new(Event)
        set_attribute(event, "__dict__", {
            "case_id": row[0], "seq": row[1], "trigger": row[2], "from_state": row[3], "to_state": row[4],
            "actor": row[5], "role": row[6], "at": when_at, "recorded_at": written_at,
            "data": payload if payload is None else data(payload), "workflow": row[10], "workflow_version": row[11],
            "prev_hash": row[12], "hash": row[13]})
        return event
    return make


def _same(value):
    return value


def events_of(conn: Connection, case_id: str) -> list[Event]:
    stmt = select(*EVENT_COLUMNS).where(events.c.case_id == case_id).order_by(events.c.seq)
    return [Event(*row) for row in conn.execute(stmt)]


def events_of_cases(conn: Connection, case_ids: list[str]) -> Iterator[Event]:
    """The events of these cases, by case then seq."""
    for start in range(0, len(case_ids), 500):
        stmt = select(*EVENT_COLUMNS).where(events.c.case_id.in_(case_ids[start:start + 500])) \
            .order_by(events.c.case_id, events.c.seq)
        for row in conn.execute(stmt):
            yield Event(*row)


def heads_without_events(conn: Connection, *, reach=None) -> Iterator[tuple[str, Head]]:
    """Case rows whose whole log is gone (every event deleted)."""
    stmt = _within(select(cases.c.id, cases.c.version, cases.c.last_hash)
                   .where(~exists().where(events.c.case_id == cases.c.id)), reach).order_by(cases.c.id)
    for row in conn.execute(stmt):
        yield row.id, (row.version, row.last_hash)


def count_events(conn: Connection, *, reach=None) -> int:
    if reach is None:
        return conn.execute(select(func.count()).select_from(events)).scalar_one()
    return conn.execute(_within(select(func.count()).select_from(events.join(cases, cases.c.id == events.c.case_id)),
                                reach)).scalar_one()


def count_cases(conn: Connection, *, reach=None) -> int:
    return conn.execute(_within(select(func.count()).select_from(cases), reach)).scalar_one()


class StoredRung(NamedTuple):
    """A rung row as replay compares it with the ladder's plan and the log."""

    clock: str
    cycle: int
    rung: str
    action: str
    status: str
    due_at: object
    provisional: bool
    fired_at: object


_RUNG_COLUMNS = (rungs.c.case_id, rungs.c.clock, rungs.c.cycle, rungs.c.rung, rungs.c.action, rungs.c.status,
                 rungs.c.due_at, rungs.c.provisional, rungs.c.fired_at)


def rungs_of(conn: Connection, case_ids: list[str]) -> dict[str, list]:
    """The rung rows of these cases (clock, cycle, rung, action, status, due_at, provisional, fired_at), by case."""
    found: dict[str, list] = {}
    for start in range(0, len(case_ids), 500):
        stmt = select(*_RUNG_COLUMNS).where(rungs.c.case_id.in_(case_ids[start:start + 500]))
        for row in conn.execute(stmt):
            found.setdefault(row.case_id, []).append(row)
    return found


_RUNGS_OF: dict[int, Prepared] = {}
_BUCKETS = (1, 8, 32, 128, 512)


def raw_rungs_of(conn: Connection, case_ids: list[str]) -> dict[str, list[tuple]]:
    """The rung rows of these cases as the driver gives them, unconverted, by case: (clock, cycle, rung, action,
    status, due_at, provisional, fired_at), in statements prepared for a few list sizes (the list padded up to
    one). Replay compares most of them as they are (200,000 rows for a register of 20,000 closed cases);
    `stored_rungs` converts the rows of a case it has to look into."""
    found: dict[str, list[tuple]] = {}
    ids = list(dict.fromkeys(case_ids))
    for start in range(0, len(ids), _BUCKETS[-1]):
        chunk = ids[start:start + _BUCKETS[-1]]
        statement = _rungs_statement(next(b for b in _BUCKETS if b >= len(chunk)))
        padded = chunk + [chunk[-1]] * (statement.size - len(chunk))
        for row in statement.prepared.raw(conn, {f"id{i}": case_id for i, case_id in enumerate(padded)}):
            rows = found.get(row[0])
            if rows is None:
                rows = found[row[0]] = []
            rows.append(row[1:])
    return found


class _RungsStatement(NamedTuple):
    size: int
    prepared: Prepared


def _rungs_statement(size: int) -> _RungsStatement:
    statement = _RUNGS_OF.get(size)
    if statement is None:
        statement = _RUNGS_OF[size] = _RungsStatement(size, Prepared(select(*_RUNG_COLUMNS).where(
            rungs.c.case_id.in_([bindparam(f"id{i}") for i in range(size)])).order_by(rungs.c.case_id, rungs.c.id)))
    return statement


def stored_rungs(conn: Connection, raw_rows: list[tuple]) -> list[StoredRung]:
    """Rows of `raw_rungs_of` converted as a Core read converts them: each a `StoredRung` (only the two instants
    and the flag need converting)."""
    processors = _rungs_statement(_BUCKETS[0]).prepared.processors(conn)
    due, provisional, fired = (processors[i] or _same for i in (6, 7, 8))
    make = StoredRung._make
    return [make((row[0], row[1], row[2], row[3], row[4], row[5] if row[5] is None else due(row[5]),
                  row[6] if row[6] is None else provisional(row[6]), row[7] if row[7] is None else fired(row[7])))
            for row in raw_rows]


def stored_rungs_of(conn: Connection, case_ids: list[str]) -> dict[str, list[StoredRung]]:
    """`rungs_of` as replay reads it, for many cases: each row a `StoredRung` of the same values."""
    return {case_id: stored_rungs(conn, rows) for case_id, rows in raw_rungs_of(conn, case_ids).items()}


def definition_texts(conn: Connection) -> list[tuple[str, int, str, str]]:
    from engine.store.tables import workflow_versions as w
    return [tuple(r) for r in conn.execute(select(w.c.name, w.c.version, w.c.content_hash, w.c.source_text)
                                           .order_by(w.c.name, w.c.version))]


def calendar_data(conn: Connection) -> list[tuple[str, dict]]:
    from engine.store.tables import calendars
    return [tuple(r) for r in conn.execute(select(calendars.c.content_hash, calendars.c.data))]


def counters(conn: Connection) -> dict[int, int]:
    from engine.store.tables import counters as table
    return {row.year: row.last for row in conn.execute(select(table.c.year, table.c.last))}


def case_ids(conn: Connection) -> Iterator[str]:
    for row in conn.execution_options(stream_results=True, yield_per=10000).execute(
            select(cases.c.id).order_by(cases.c.id)):
        yield row.id


def _heads_statement() -> Prepared:
    last = select(events.c.case_id, func.max(events.c.seq).label("seq"), func.count().label("events")) \
        .where(events.c.at <= bindparam("as_of", type_=UTCDateTime)).group_by(events.c.case_id).subquery()
    return Prepared(select(last.c.case_id, last.c.seq, events.c.hash, last.c.events)
                    .join(events, (events.c.case_id == last.c.case_id) & (events.c.seq == last.c.seq)))


_HEADS = _heads_statement()


def chain_heads(conn: Connection, *, as_of) -> tuple[list[tuple[str, int, str]], int]:
    """Every case's last event in force at `as_of` as (case id, seq, hash), and how many events are in force.

    Read from the events alone (never the case rows): the anchor vouches for the log itself. One row per case,
    fetched on the driver's cursor (a million of them through Result rows would cost seconds).
    """
    rows = _HEADS.rows(conn, {"as_of": as_of})
    return [(case_id, seq, digest) for case_id, seq, digest, _ in rows], sum(row[3] for row in rows)


def users_head(conn: Connection, *, as_of) -> tuple[int, str] | None:
    """(seq, hash) of the last grant of the users' log in force at `as_of` (effective time at or before it)."""
    from engine.store.tables import user_grants as g
    row = conn.execute(select(g.c.seq, g.c.hash).where(g.c.at <= bindparam("as_of", as_of, type_=UTCDateTime))
                       .order_by(g.c.seq.desc()).limit(1)).first()
    return None if row is None else (row.seq, row.hash)


def grant_hash(conn: Connection, seq: int) -> str | None:
    from engine.store.tables import user_grants as g
    return conn.execute(select(g.c.hash).where(g.c.seq == seq)).scalar()


# Campaigns are a SQLModel record (engine/store/campaign_records.py); named here as a plain table so an audit does
# not import SQLModel.
_CAMPAIGNS = table("campaign_version", column("name"), column("version"), column("source_text"),
                   column("installed_at", UTCDateTime))


def stored_definitions(conn: Connection, *, as_of) -> tuple[list, list, list]:
    """What was stored by `as_of` (installed at or before it): workflow versions (name, version, text, calendar
    hash), calendars (content hash, data) and campaign versions (name, version, text)."""
    from engine.store.tables import calendars as c
    from engine.store.tables import workflow_versions as w
    moment = bindparam("as_of", as_of, type_=UTCDateTime)
    workflows = [tuple(r) for r in conn.execute(select(w.c.name, w.c.version, w.c.source_text, w.c.calendar_hash)
                                                .where(w.c.installed_at <= moment))]
    calendars = [tuple(r) for r in conn.execute(select(c.c.content_hash, c.c.data).where(c.c.installed_at <= moment))]
    campaigns = [tuple(r) for r in conn.execute(select(_CAMPAIGNS.c.name, _CAMPAIGNS.c.version, _CAMPAIGNS.c.source_text)
                                                .where(_CAMPAIGNS.c.installed_at <= moment))]
    return workflows, calendars, campaigns
