"""Which rows of a ledger the register holds already, and which repeat an earlier row of the same sheet (*app*:
it reads the register through engine/store/held.py, in the caller's transaction).

A row is held when a hazard in the register (not a linked case, not voided) has
- the same sheet code (隐患编号, kept as the case's `ledger_id`) and the same enterprise, or
- the same enterprise, title and found day (the day in Asia/Shanghai, whatever time the sheet gives).
The code is matched within its enterprise: enterprises number their own hazards (001, 002, ...), and a
department's sheet of several enterprises would otherwise take one enterprise's 001 for another's. A code
held under another enterprise is no match; the row is then matched by its title, or is new.

Within one sheet, a row with the same key as an earlier new row (the same code and enterprise, or the same
enterprise, title and found day) is the same hazard written twice: it is imported once, as the earlier row,
and reported as repeating it. So a sheet imported again, or a corrected copy of it, maps every row it held
before onto the same cases, and its rows count once in every figure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from engine.domain.clock import local_date, start_of_day
from engine.ledger.history import instant

BY_CODE = "code"     # the same 隐患编号 within the enterprise
BY_TITLE = "title"   # the same enterprise, title and found day


@dataclass
class Recognition:
    new: list = field(default_factory=list)        # the rows to import, in sheet order
    existing: list = field(default_factory=list)   # {"row", "case_id", "by"}: held already
    repeated: list = field(default_factory=list)   # {"row", "same_as", "by"}: an earlier row of this sheet


def _day(row) -> date:
    return local_date(instant(row.values["found_at"]))


def _title_key(row) -> tuple[str, str, date]:
    return row.values["enterprise"], row.values["title"], _day(row)


def _code_key(row) -> tuple[str, str] | None:
    code = row.values.get("id")
    return (row.values["enterprise"], code) if code else None


def _id_key(case_id: str) -> tuple[int, int]:
    _, year, number = case_id.split("-")
    return int(year), int(number)


def recognise(conn, rows: list) -> Recognition:
    """Split checked rows into new, held and repeated (see the module docstring)."""
    by_code, by_title = _held(conn, rows)
    out = Recognition()
    seen_codes: dict[tuple, int] = {}
    seen_titles: dict[tuple, int] = {}
    for row in rows:
        code, title = _code_key(row), _title_key(row)
        if code is not None and code in by_code:
            out.existing.append({"row": row.number, "case_id": by_code[code], "by": BY_CODE})
        elif title in by_title:
            out.existing.append({"row": row.number, "case_id": by_title[title], "by": BY_TITLE})
        elif code is not None and code in seen_codes:
            out.repeated.append({"row": row.number, "same_as": seen_codes[code], "by": BY_CODE})
        elif title in seen_titles:
            out.repeated.append({"row": row.number, "same_as": seen_titles[title], "by": BY_TITLE})
        else:
            out.new.append(row)
            if code is not None:
                seen_codes[code] = row.number
            seen_titles[title] = row.number
    return out


def _held(conn, rows: list) -> tuple[dict, dict]:
    """(enterprise, code) -> case id and (enterprise, title, day) -> case id of the hazards held; where several
    hazards share a key, the first reported (the smallest id)."""
    from engine.store import held as held_store
    codes = {row.values["id"] for row in rows if row.values.get("id")}
    days: dict[str, tuple[date, date]] = {}  # enterprise -> its first and last found day in the sheet
    for row in rows:
        enterprise, day = row.values["enterprise"], _day(row)
        first, last = days.get(enterprise, (day, day))
        days[enterprise] = (min(first, day), max(last, day))
    by_code: dict[tuple, str] = {}
    by_title: dict[tuple, str] = {}
    for case in held_store.by_codes(conn, codes) if codes else ():
        _keep(by_code, (case.enterprise, case.ledger_id), case.id)
    spans = {name: (start_of_day(first), start_of_day(last + timedelta(days=1))) for name, (first, last) in days.items()}
    for case in held_store.by_enterprises(conn, spans):
        _keep(by_title, (case.enterprise, case.title, local_date(case.found_at)), case.id)
    return by_code, by_title


def _keep(found: dict, key: tuple, case_id: str) -> None:
    if key not in found or _id_key(case_id) < _id_key(found[key]):
        found[key] = case_id
