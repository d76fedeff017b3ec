"""Issued notices (文书) and their numbering: the SQL of engine/app/notices.py."""
from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from engine.domain.errors import Conflict
from engine.store.prepared import Prepared
from engine.store.tables import notice_counters, notices

COLUMNS = ("number", "kind", "office", "year", "n", "case_id", "seq", "region", "issued_at", "title", "text", "sha256")


class Notice(NamedTuple):
    number: str
    kind: str
    office: str
    year: int
    n: int
    case_id: str
    seq: int
    region: str
    issued_at: object
    title: str
    text: str
    sha256: str


# Prepared (engine/store/prepared.py): an assign issues a notice, and SQLAlchemy's own execution of these two
# statements cost more than the rest of the notice's writes.
_RESERVE: dict[str, Prepared] = {}
_INSERT = Prepared(notices.insert().values({name: bindparam(name) for name in COLUMNS}))


def take_number(conn: Connection, kind: str, office: str, year: int, dialect: str) -> int:
    """The next number of (kind, office, year); the counter row stays locked until the transaction ends, so two
    issuers never share a number, and a rolled-back issue gives its number back (no gap)."""
    if dialect not in _RESERVE:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        stmt = upsert(notice_counters).values(kind=bindparam("kind"), office=bindparam("office"),
                                              year=bindparam("year"), last=1)
        stmt = stmt.on_conflict_do_update(index_elements=["kind", "office", "year"],
                                          set_={"last": notice_counters.c.last + 1})
        _RESERVE[dialect] = Prepared(stmt.returning(notice_counters.c.last))
    found = _RESERVE[dialect].rows(conn, {"kind": kind, "office": office, "year": year})
    if len(found) != 1:
        raise RuntimeError(f"the notice counter gave {len(found)} rows for ({kind}, {office}, {year})")
    return found[0][0]


def insert(conn: Connection, rows: list[Notice]) -> None:
    try:
        _INSERT.executemany(conn, [r._asdict() for r in rows])
    except IntegrityError:
        raise Conflict(f"notice {rows[0].number} was issued by someone else meanwhile; nothing was written",
                       case_id=rows[0].case_id) from None


def find(conn: Connection, *, number: str | None = None, case_id: str | None = None, kind: str | None = None,
         year: int | None = None, reach=None, limit: int | None = None) -> list[Notice]:
    """Notices matching every filter given, by issue time then number; `reach`: only notices of the cases the
    reader's reach covers as they stand today (engine/domain/reach.py); None: every notice."""
    stmt = select(*(notices.c[c] for c in COLUMNS))
    if reach is not None:
        from engine.store.case_search import within_reach
        from engine.store.tables import cases
        stmt = stmt.join(cases, cases.c.id == notices.c.case_id).where(*within_reach(reach))
    if number is not None:
        stmt = stmt.where(notices.c.number == number)
    if case_id is not None:
        stmt = stmt.where(notices.c.case_id == case_id)
    if kind is not None:
        stmt = stmt.where(notices.c.kind == kind)
    if year is not None:
        stmt = stmt.where(notices.c.year == year)
    stmt = stmt.order_by(notices.c.issued_at, notices.c.number)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [Notice(*row) for row in conn.execute(stmt)]


def all_notices(conn: Connection):
    """Every notice, for `audit verify` (streamed)."""
    result = conn.execution_options(stream_results=True, yield_per=1000).execute(
        select(*(notices.c[c] for c in COLUMNS)).order_by(notices.c.case_id, notices.c.seq))
    for row in result:
        yield Notice(*row)


def services(conn: Connection, case_ids: list[str]) -> list[dict]:
    """The `served` data of every `serve_notice` event of these cases, in sequence order."""
    from engine.store.tables import events
    found = []
    for start in range(0, len(case_ids), 500):
        stmt = (select(events.c.data).where(events.c.trigger == "serve_notice", events.c.case_id.in_(case_ids[start:start + 500]))
                .order_by(events.c.case_id, events.c.seq))
        for (data,) in conn.execute(stmt):
            if isinstance(data, dict) and isinstance(data.get("served"), dict):
                found.append(data["served"])
    return found


def of_cases(conn: Connection, case_ids: list[str]) -> list[Notice]:
    """The notices of these cases, by issue time then number."""
    found = []
    for start in range(0, len(case_ids), 500):
        stmt = (select(*(notices.c[c] for c in COLUMNS)).where(notices.c.case_id.in_(case_ids[start:start + 500]))
                .order_by(notices.c.issued_at, notices.c.number))
        found += [Notice(*row) for row in conn.execute(stmt)]
    return found
