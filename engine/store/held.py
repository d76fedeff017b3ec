"""The hazards a ledger import already holds: found by the sheet's own code (隐患编号, the `ledger_id` column) or
by enterprise and found time; engine/ledger/app_recognition.py decides which row is which.

Hazards only (no linked interviews or posted supervisions) and not voided ones: a case voided as a mistake
does not keep its row out of a corrected sheet. Both reads take a few hundred keys a statement, each served by
an index (`ix_case_ledger_id`, `ix_case_enterprise_found`), and each statement is built once: a sheet of
100,000 rows asks a few hundred statements, not 100,000, and builds no expression per row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from engine.store.tables import UTCDateTime, cases

c = cases.c
KEYS_A_STATEMENT = 500


@dataclass(frozen=True)
class HeldCase:
    id: str
    enterprise: str
    title: str
    found_at: datetime
    ledger_id: str | None


_COLUMNS = (c.id, c.enterprise, c.title, c.found_at, c.ledger_id)
_HAZARDS = (c.parent_id.is_(None), c.voided_at.is_(None))
_BY_CODES = select(*_COLUMNS).where(*_HAZARDS, c.ledger_id.in_(bindparam("codes", expanding=True)))
_BY_ENTERPRISES = select(*_COLUMNS).where(*_HAZARDS, c.enterprise.in_(bindparam("names", expanding=True)),
                                          c.found_at >= bindparam("start", type_=UTCDateTime),
                                          c.found_at < bindparam("end", type_=UTCDateTime))


def _batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def by_codes(conn: Connection, codes: Iterable[str]) -> list[HeldCase]:
    """The hazards whose sheet code is one of `codes`."""
    found: list[HeldCase] = []
    for part in _batches(sorted(set(codes)), KEYS_A_STATEMENT):
        found.extend(HeldCase(*row) for row in conn.execute(_BY_CODES, {"codes": part}))
    return found


def by_enterprises(conn: Connection, spans: dict[str, tuple[datetime, datetime]]) -> list[HeldCase]:
    """The hazards of each enterprise found within its span [start, end), and perhaps others of the same
    enterprises found around it: a statement reads its enterprises over the span of them all (the caller keeps
    what it looks for). Enterprises are taken in the order of their spans, so a statement's span stays narrow."""
    found: list[HeldCase] = []
    ordered = sorted(spans, key=lambda name: (spans[name], name))
    for part in _batches(ordered, KEYS_A_STATEMENT):
        start, end = min(spans[n][0] for n in part), max(spans[n][1] for n in part)
        found.extend(HeldCase(*row) for row in conn.execute(_BY_ENTERPRISES, {"names": part, "start": start,
                                                                               "end": end}))
    return found
