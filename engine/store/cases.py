"""Cases and their events in the database: the register's rows, read and written with prepared statements.

The unit of work (`engine/app/unit.py`) is the only writer: it inserts new cases and events and updates each
projection `WHERE version = :expected`, in batches, in the caller's transaction; a lost race becomes
`Conflict`. Reads for the register's filters are built here, so no SQL lives outside `engine/store/`.
"""
from __future__ import annotations

import operator
from typing import Callable, Iterable, Iterator, NamedTuple, Sequence

from sqlalchemy import JSON, and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine.domain.case import Case, digest, encoded
from engine.domain.escalation.decisions import has_pending
from engine.domain.errors import Conflict, NotFound
from engine.domain.events import Encoded, Event, canonical_text, utc_text
from engine.domain.events import encoded as encoded_event
from engine.domain.actor import Actor
from engine.domain.reach import Reach
from engine.store.case_search import within_reach
from engine.store.prepared import Prepared, insert_rows, instant_writer, update_rows
from engine.store.users import standing_seq
from engine.store.tables import UTCDateTime, cases, counters, events, user_grants, users

CASE_COLUMNS = tuple(c.name for c in cases.c)
EVENT_COLUMNS = ("case_id", "seq", "trigger", "from_state", "to_state", "actor", "role", "at", "recorded_at",
                 "data", "workflow", "workflow_version", "prev_hash", "hash")
_WIDTH = len(CASE_COLUMNS)
_AT = {name: i for i, name in enumerate(CASE_COLUMNS)}
# How columns are written: JSON as its text, instants as UTC; a column named otherwise than the case's attribute.
_JSON = frozenset(c.name for c in cases.c if isinstance(c.type, JSON))
_INSTANTS = frozenset(c.name for c in cases.c if isinstance(c.type, UTCDateTime))
_ATTRIBUTE = {"calendar_hash": "calendar"}

# Hot statements, built once and compiled once per dialect.
_LOAD = Prepared(select(cases).where(cases.c.id == bindparam("case_id")))
# What a command loads is checked against what produced it: the hash of the event the row says is its last
# (by the unique key (case_id, seq): one index probe), read with the row.
_HEAD = and_(events.c.case_id == cases.c.id, events.c.seq == cases.c.version)
_LOAD_SEALED = Prepared(select(*cases.c, events.c.hash).select_from(cases.outerjoin(events, _HEAD))
                        .where(cases.c.id == bindparam("case_id")))
# The case, the acting user and the last grant of the users' log that made them who they are (what the user's row
# is checked against, `engine.store.users.checked_actor`) in one round trip: every command needs all three.
_LOAD_FOR = Prepared(select(*cases.c, events.c.hash, users.c.name, users.c.roles, users.c.regions,
                            users.c.enterprise, *user_grants.c)
                     .select_from(cases.outerjoin(events, _HEAD).outerjoin(users, users.c.name == bindparam("actor"))
                                  .outerjoin(user_grants, user_grants.c.seq == standing_seq(bindparam("actor"))))
                     .where(cases.c.id == bindparam("case_id")))
_INSERT_EVENT = Prepared(events.insert().values({n: bindparam(n) for n in EVENT_COLUMNS}).inline())
_EVENTS_OF = Prepared(select(*(events.c[n] for n in EVENT_COLUMNS)).where(events.c.case_id == bindparam("case_id"))
                      .order_by(events.c.seq))


def case_values(case: Case, *, sealed: bool = True) -> dict:
    """The row of a case; with `sealed`, its digest too (what a command checks the row against when it loads it)."""
    fields = case.fields
    values = {
        "id": case.id, "workflow": case.workflow, "workflow_version": case.workflow_version, "state": case.state,
        "version": case.version, "level": case.level, "title": case.title, "enterprise": case.enterprise,
        "region": case.region, "industry": case.industry, "source": case.source, "found_at": case.found_at,
        "deadline": fields.get("deadline"), "due_at": case.due_at, "paused_at": case.paused_at,
        "met_at": case.met_at, "rectified_at": case.rectified_at, "accepted_at": case.accepted_at,
        "voided_at": case.voided_at, "judged_at": case.judged_at, "decisions": case.decisions,
        "pending_decision": has_pending(case.decisions),
        "responsible_unit": fields.get("responsible_unit"), "responsible_person": fields.get("responsible_person"),
        "department": fields.get("department"), "ledger_id": fields.get("ledger_id"), "fields": fields,
        "flags": list(case.flags), "signers": case.signers, "clocks": case.clocks,
        "fired": [list(f) for f in case.fired], "parent_id": case.parent_id, "calendar_hash": case.calendar,
        "is_final": case.is_final,
        "created_at": case.created_at, "updated_at": case.updated_at, "acted_at": case.acted_at,
        "closed_at": case.closed_at,
        "last_hash": case.last_hash,
    }
    if sealed:
        values["row_hash"] = digest(case)
    return values


def case_from_tuple(row: Sequence) -> Case:
    a = _AT
    return Case(
        id=row[a["id"]], workflow=row[a["workflow"]], workflow_version=row[a["workflow_version"]],
        state=row[a["state"]], version=row[a["version"]], level=row[a["level"]], title=row[a["title"]],
        enterprise=row[a["enterprise"]], region=row[a["region"]], industry=row[a["industry"]],
        source=row[a["source"]], found_at=row[a["found_at"]], fields=dict(row[a["fields"]]),
        flags=tuple(row[a["flags"]]), signers=dict(row[a["signers"]]), clocks=dict(row[a["clocks"]]),
        fired=tuple(tuple(f) for f in row[a["fired"]]), parent_id=row[a["parent_id"]],
        calendar=row[a["calendar_hash"]], is_final=bool(row[a["is_final"]]), due_at=row[a["due_at"]],
        paused_at=row[a["paused_at"]], met_at=row[a["met_at"]], rectified_at=row[a["rectified_at"]],
        accepted_at=row[a["accepted_at"]], voided_at=row[a["voided_at"]], judged_at=row[a["judged_at"]],
        decisions=dict(row[a["decisions"]]),
        created_at=row[a["created_at"]], updated_at=row[a["updated_at"]], acted_at=row[a["acted_at"]],
        closed_at=row[a["closed_at"]],
        last_hash=row[a["last_hash"]],
    )


def case_from_row(row) -> Case:
    return case_from_tuple(tuple(row))


def event_values(e: Event) -> dict:
    return {name: getattr(e, name) for name in EVENT_COLUMNS}


def event_from_row(row) -> Event:
    m = row._mapping
    return Event(*(m[name] for name in EVENT_COLUMNS))


# -- reads ------------------------------------------------------------------------------------------------------
def load(conn: Connection, case_id: str, *, reach: Reach | None = None) -> Case:
    """The case; NotFound when there is none, or (given a reader's `reach`) when it is outside it: the same error."""
    if reach is None:
        row = _LOAD.first(conn, {"case_id": case_id})
    else:
        row = conn.execute(select(cases).where(cases.c.id == case_id, *within_reach(reach))).first()
    if row is None:
        raise NotFound(f"no case '{case_id}'", kind="case", key=case_id)
    return case_from_tuple(row)


class Seal(NamedTuple):
    """What a loaded row is checked against: its own digest as written, and the hash of the event it names last.
    `texts`: the row's JSON columns and instants as stored, in the digest's terms (`stored_texts`; None when the
    driver decoded them itself), for `engine.domain.case.encoded_as_stored`."""

    row_hash: str | None
    head_hash: str | None
    texts: dict | None = None


# The columns a case row stores as text in the digest's own terms (when the engine wrote it): JSON columns hold the
# canonical JSON it hashed, instants the UTC text it hashed, written as `sqlite_instant` writes it.
_STORED_JSON = tuple((_ATTRIBUTE.get(n, n), _AT[n]) for n in CASE_COLUMNS if n in _JSON)
_STORED_INSTANTS = tuple((n, _AT[n]) for n in CASE_COLUMNS if n in _INSTANTS)


def stored_texts(raw) -> dict | None:
    """The texts a driver row of a case holds for its JSON columns and instants, as `encoded` writes them: the JSON
    text as it is, an instant `2026-03-02 01:00:02.000000` as `"2026-03-02T01:00:02.000000+00:00"`. None when the
    driver gave decoded values (PostgreSQL). What is not in the engine's form is left out (encoded from its value)."""
    texts = {}
    for attribute, i in _STORED_JSON:
        value = raw[i]
        if value.__class__ is not str:
            return None
        texts[attribute] = value
    for attribute, i in _STORED_INSTANTS:
        value = raw[i]
        if value is None:
            texts[attribute] = "null"
        elif value.__class__ is str and len(value) == 26 and value[10] == " ":
            texts[attribute] = f'"{value[:10]}T{value[11:]}+00:00"'
    return texts


def _first_sealed(statement: Prepared, conn: Connection, params: dict) -> tuple[tuple, dict | None] | None:
    """The first row, converted, with the stored texts of its case's columns."""
    raw = statement.raw(conn, params)
    if not raw:
        return None
    return statement.processed(conn, raw[:1])[0], stored_texts(raw[0])


def load_sealed(conn: Connection, case_id: str) -> tuple[Case, Seal]:
    found = _first_sealed(_LOAD_SEALED, conn, {"case_id": case_id})
    if found is None:
        raise NotFound(f"no case '{case_id}'", kind="case", key=case_id)
    row, texts = found
    return case_from_tuple(row), Seal(row[_AT["row_hash"]], row[_WIDTH], texts)


def load_for(conn: Connection, case_id: str, actor: str) -> tuple[Case, Seal, Actor | None, tuple | None]:
    """The case, what it is checked against, the registered user `actor` (None when there is no such user) and the
    row of the users' log's grant the user's row is checked against (`engine.store.users.standing`; None: none)."""
    found = _first_sealed(_LOAD_FOR, conn, {"case_id": case_id, "actor": actor})
    if found is None:
        raise NotFound(f"no case '{case_id}'", kind="case", key=case_id)
    row, texts = found
    head, name, roles, regions, enterprise = row[_WIDTH:_WIDTH + 5]
    user = None if name is None else Actor(name, _split(roles), _split(regions), enterprise or None)
    grant = row[_WIDTH + 5:]
    return case_from_tuple(row), Seal(row[_AT["row_hash"]], head, texts), user, None if grant[0] is None else grant


def _split(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.split(",") if x)


_LOAD_MANY: dict[tuple[int, bool], Prepared] = {}
_BUCKETS = (1, 8, 32, 128, 512)


def load_many(conn: Connection, case_ids: Iterable[str]) -> dict[str, Case]:
    """The cases with these ids, in statements prepared for a few list sizes (the list is padded up to one)."""
    return {case_id: case_from_tuple(row) for case_id, row in _rows_of(conn, case_ids).items()}


def load_many_sealed(conn: Connection, case_ids: Iterable[str]) -> dict[str, tuple[Case, Seal]]:
    """`load_many`, each case with what it is checked against."""
    return {case_id: (case_from_tuple(row), Seal(row[_AT["row_hash"]], row[_WIDTH]))
            for case_id, row in _rows_of(conn, case_ids, sealed=True).items()}


def rows_of(conn: Connection, case_ids: Iterable[str]) -> dict[str, dict]:
    """The stored rows of these cases, every column by name (what an auditor compares with the events)."""
    return {case_id: dict(zip(CASE_COLUMNS, row)) for case_id, row in _rows_of(conn, case_ids).items()}


def stored_rows_of(conn: Connection, case_ids: Iterable[str]) -> dict[str, tuple]:
    """`rows_of` as tuples in the order of CASE_COLUMNS."""
    return _rows_of(conn, case_ids)


_ROW_VALUES = operator.itemgetter(*CASE_COLUMNS)


def same_row(values: dict, row: tuple) -> bool:
    """Whether a stored row (as `stored_rows_of` gives it) holds exactly these `case_values`, compared in one go;
    False says only that some column differs or is compared by value (a tuple stored as a list), not which."""
    if len(values) != _WIDTH:
        return False
    try:
        return _ROW_VALUES(values) == row
    except KeyError:  # not the table's columns
        return False


def _rows_of(conn: Connection, case_ids: Iterable[str], *, sealed: bool = False) -> dict[str, tuple]:
    ids = list(dict.fromkeys(case_ids))
    found: dict[str, tuple] = {}
    for start in range(0, len(ids), _BUCKETS[-1]):
        chunk = ids[start:start + _BUCKETS[-1]]
        size = next(b for b in _BUCKETS if b >= len(chunk))
        statement = _LOAD_MANY.get((size, sealed))
        if statement is None:
            chosen = select(*cases.c, events.c.hash).select_from(cases.outerjoin(events, _HEAD)) if sealed \
                else select(cases)
            statement = _LOAD_MANY[(size, sealed)] = Prepared(chosen.where(
                cases.c.id.in_([bindparam(f"id{i}") for i in range(size)])))
        padded = chunk + [chunk[-1]] * (size - len(chunk))
        for row in statement.rows(conn, {f"id{i}": case_id for i, case_id in enumerate(padded)}):
            found[row[_AT["id"]]] = row
    return found


def events_of(conn: Connection, case_id: str) -> list[Event]:
    return [Event(*row) for row in _EVENTS_OF.rows(conn, {"case_id": case_id})]


# A submit on evidence asks only what was attached: the other events' payloads need not be read and decoded.
_ATTACH_EVENTS_OF = Prepared(select(*(events.c[n] for n in EVENT_COLUMNS))
                             .where(events.c.case_id == bindparam("case_id"), events.c.trigger == "attach")
                             .order_by(events.c.seq))


def attach_events_of(conn: Connection, case_id: str) -> list[Event]:
    """The case's `attach` events, oldest first."""
    return [Event(*row) for row in _ATTACH_EVENTS_OF.rows(conn, {"case_id": case_id})]


def exists(conn: Connection, case_id: str) -> bool:
    return conn.execute(select(cases.c.id).where(cases.c.id == case_id)).first() is not None


def open_cases_of(conn: Connection, workflow: str) -> list[Case]:
    rows = conn.execute(select(cases).where(and_(cases.c.workflow == workflow, cases.c.is_final.is_(False)))
                        .order_by(cases.c.id))
    return [case_from_row(r) for r in rows]


def open_cases_with_clocks(conn: Connection, *, other_than_calendar: str) -> list[Case]:
    """Open cases counting working days with another calendar than `other_than_calendar`."""
    stmt = select(cases).where(and_(cases.c.is_final.is_(False), or_(cases.c.calendar_hash.is_(None),
                                                                     cases.c.calendar_hash != other_than_calendar)))
    return [c for c in (case_from_row(r) for r in conn.execute(stmt.order_by(cases.c.id))) if c.clocks]


# Every linked case of the case (a few), by ix_case_report's leading parent_id; whether each is final is judged
# here: given `is_final IS 0` too, SQLite's planner takes ix_case_open_due and walks every open case instead.
_LINKED = Prepared(select(cases.c.id, cases.c.workflow, cases.c.is_final).where(cases.c.parent_id == bindparam("case_id")))


def linked_open(conn: Connection, case_id: str) -> dict[str, str]:
    """The case's linked cases not yet final: id -> workflow."""
    return {linked_id: workflow for linked_id, workflow, final in _LINKED.rows(conn, {"case_id": case_id}) if not final}


def linked(conn: Connection, case_id: str, *, reach: Reach | None = None) -> list[Case]:
    rows = conn.execute(select(cases).where(cases.c.parent_id == case_id, *within_reach(reach))
                        .order_by(cases.c.created_at, cases.c.id))
    return [case_from_row(r) for r in rows]


def linked_ids(conn: Connection, case_id: str, *, reach: Reach | None = None) -> list[str]:
    """Cases opened from this one (interviews, posted supervision), oldest first."""
    stmt = select(cases.c.id).where(cases.c.parent_id == case_id, *within_reach(reach)) \
        .order_by(cases.c.created_at, cases.c.id)
    return [row.id for row in conn.execute(stmt)]


def count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(cases)).scalar_one()


# -- writes (the unit of work's) ------------------------------------------------------------------------------
# How each column of a new case row is written from the case and the texts `encoded` gave (its JSON and instants).
_FROM_FIELDS = frozenset({"deadline", "responsible_unit", "responsible_person", "department", "ledger_id"})


def _row_of(instant) -> Callable[[Case], tuple]:
    """A new case as the row tuple `insert_rows` takes, each column encoded once (shared with its digest)."""
    def row(case: Case) -> tuple:
        row_hash, texts = encoded(case)
        fields, attributes, values = case.fields, case.__dict__, []
        for kind, name in _KINDS:
            if kind == _TEXT:
                values.append(texts[name])
            elif kind == _ATTR:
                values.append(attributes[name])
            elif kind == _INSTANT:
                text = texts[name]
                values.append(None if text == "null" else instant(text[1:-1]))
            elif kind == _FIELD:
                values.append(fields.get(name))
            elif kind == _PENDING:
                values.append(has_pending(case.decisions))
            else:
                values.append(row_hash)
        return tuple(values)
    return row


# How each column is written, decided once: (kind, the attribute, text or field it is read from).
_TEXT, _ATTR, _INSTANT, _FIELD, _PENDING, _HASH = range(6)
_KINDS = tuple((_TEXT, n) if n in _JSON else (_INSTANT, n) if n in _INSTANTS else (_FIELD, n) if n in _FROM_FIELDS
               else (_PENDING, n) if n == "pending_decision" else (_HASH, n) if n == "row_hash"
               else (_ATTR, _ATTRIBUTE.get(n, n)) for n in CASE_COLUMNS)


def insert_cases(conn: Connection, new: list[Case]) -> None:
    row = _row_of(instant_writer(conn))
    try:
        insert_rows(conn, cases.name, CASE_COLUMNS, [row(c) for c in new])
    except IntegrityError:
        raise Conflict(f"case {new[0].id if len(new) == 1 else 'number'} was taken by another writer meanwhile; "
                       "nothing was written", case_id=new[0].id) from None


class Change(NamedTuple):
    """A case to write over its stored row: the row as stored (`before`, with the texts `encoded` gave of it) and
    the projection to write (`after`, its digest and texts)."""

    before: Case
    before_texts: dict
    after: Case
    row_hash: str
    texts: dict


# Each column of the row by how it is written: (name, attribute, kind). Kinds: "json" and "instant" are written
# from the attribute's text, "field" from the case's fields, "pending" from its decisions, "plain" as they are.
def _kind(name: str) -> str:
    if name in _JSON:
        return "json"
    if name in _INSTANTS:
        return "instant"
    if name in _FROM_FIELDS:
        return "field"
    return {"pending_decision": "pending", "row_hash": "row_hash", "last_hash": "last_hash",
            "id": "key"}.get(name, "plain")


_UPDATE_PLAN = tuple((name, _ATTRIBUTE.get(name, name), _kind(name)) for name in CASE_COLUMNS)


def update_cases(conn: Connection, changed: list[Change]) -> None:
    """Write each projection (`after`) over its stored row if that is still `before`; Conflict if any is not.

    Only the columns that differ are written, judged by the texts both were encoded to (the loaded row's by its
    check, the new one's by its digest, reusing the loaded texts of what the step carried over): most steps
    change the state, the version and a signer, and SQLite then touches only the indexes over those columns.
    """
    instant = instant_writer(conn)
    groups: dict[tuple, list[tuple]] = {}
    for before, old, after, row_hash, new in changed:
        columns, values = [], []
        fields_changed = new["fields"] is not old["fields"] and new["fields"] != old["fields"]
        for name, attribute, kind in _UPDATE_PLAN:
            if kind == "json" or kind == "instant" or kind == "plain":
                text = new[attribute]
                if text is old[attribute] or text == old[attribute]:
                    continue
                if kind == "json":
                    value = text
                elif kind == "instant":
                    value = None if text == "null" else instant(text[1:-1])
                else:
                    value = after.__dict__[attribute]
            elif kind == "field":
                value = after.fields.get(name)
                if not fields_changed or value == before.fields.get(name):
                    continue
            elif kind == "pending":
                if new["decisions"] is old["decisions"] or new["decisions"] == old["decisions"]:
                    continue
                value = has_pending(after.decisions)
                if value == has_pending(before.decisions):
                    continue
            elif kind == "row_hash":
                value = row_hash
            elif kind == "last_hash":
                if after.last_hash == before.last_hash:
                    continue
                value = after.last_hash
            else:
                continue  # the key
            columns.append(name)
            values.append(value)
        values += [after.id, before.version]
        groups.setdefault(tuple(columns), []).append(tuple(values))
    updated = sum(update_rows(conn, cases.name, columns, ("id", "version"), rows) for columns, rows in groups.items())
    if updated != len(changed):
        before, after = changed[0].before, changed[0].after
        which = f"case {after.id}" if len(changed) == 1 else f"one of {len(changed)} cases"
        raise Conflict(f"{which} was changed by someone else meanwhile (expected version {before.version}); "
                       "nothing was written: look at it again and retry", case_id=after.id if len(changed) == 1 else "",
                       expected_version=before.version if len(changed) == 1 else None)


_REWRITE = Prepared(update(cases).where(cases.c.id == bindparam("k_id"))
                    .values({n: bindparam(f"v_{n}") for n in CASE_COLUMNS if n != "id"}))


def rewrite_cases(conn: Connection, rebuilt: list[Case]) -> None:
    """Every column of these cases' rows, from projections re-derived from their events (an upgrade, a repair)."""
    rows = []
    for case in rebuilt:
        values = {f"v_{k}": v for k, v in case_values(case).items() if k != "id"}
        values["k_id"] = case.id
        rows.append(values)
    _REWRITE.executemany(conn, rows)


def insert_events(conn: Connection, new: list[Event]) -> None:
    """Sealed events, written as sealing encoded them (their data's canonical JSON, their instants' UTC texts)."""
    instant = instant_writer(conn)
    rows = []
    for e in new:
        done = encoded_event(e) or Encoded(canonical_text(e.data), utc_text(e.at), utc_text(e.recorded_at))
        rows.append((e.case_id, e.seq, e.trigger, e.from_state, e.to_state, e.actor, e.role, instant(done.at),
                     instant(done.recorded_at), done.data, e.workflow, e.workflow_version, e.prev_hash, e.hash))
    try:
        insert_rows(conn, events.name, EVENT_COLUMNS, rows)
    except IntegrityError:
        raise Conflict(f"case {new[0].case_id}: event #{new[0].seq} was written by someone else meanwhile; "
                       "nothing was written", case_id=new[0].case_id) from None


_RESERVE: dict[str, Prepared] = {}


def _reserve(dialect: str) -> Prepared:
    """The upsert that takes numbers, in the dialect's own syntax (imported on first use: a read never needs it)."""
    if dialect not in _RESERVE:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        stmt = upsert(counters).values(year=bindparam("year"), last=bindparam("count"))
        stmt = stmt.on_conflict_do_update(index_elements=["year"], set_={"last": counters.c.last + stmt.excluded.last})
        _RESERVE[dialect] = Prepared(stmt.returning(counters.c.last))
    return _RESERVE[dialect]


def reserve_numbers(conn: Connection, year: int, count: int, dialect: str) -> range:
    """`count` new case numbers of the year; the counter row is the lock, so two reporters never share one."""
    (last,) = _reserve(dialect).first(conn, {"year": year, "count": count})
    return range(last - count + 1, last + 1)


# -- the register's queries -------------------------------------------------------------------------------------
def stream_register_events(conn: Connection, *, as_of, where=(), case_id: str | None = None,
                           batch: int = 5000) -> Iterator[Event]:
    """Events in force at `as_of` of the cases reported by then, filtered on what never changes after a report."""
    stmt = select(*(events.c[n] for n in EVENT_COLUMNS)).join(cases, cases.c.id == events.c.case_id).where(
        cases.c.created_at <= as_of, events.c.at <= as_of, *where)
    if case_id is not None:  # an empty id is a case that does not exist, not "every case"
        stmt = stmt.where(cases.c.id == case_id)
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(
        stmt.order_by(events.c.case_id, events.c.seq))
    for row in result:
        yield Event(*row)


def query(conn: Connection, *, where=(), order_by=(), limit: int | None = None, offset: int = 0) -> list[Case]:
    stmt = select(cases).where(*where).order_by(*order_by, cases.c.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [case_from_row(r) for r in conn.execute(stmt)]


def count_where(conn: Connection, where=()) -> int:
    return conn.execute(select(func.count()).select_from(cases).where(*where)).scalar_one()
