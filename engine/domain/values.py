"""Values as offices write them, read into the text the engine stores; anything else is InvalidInput.

One reader per kind of value, for every way in: a ledger's cells (`hazard import`), the options and `--set`
values of the live commands, and any other face. A cell arrives as calamine gives it (str, float for every
number, bool, date, datetime, time, timedelta) or as CSV text; an option as text. Every parser here accepts
any of those and raises nothing but InvalidInput, whose message says what is wrong with the value (the caller
puts the file and row, the field or the option in front). Days and moments are written as `engine.domain.clock`
reads them (`written_time`), region codes and names as `engine.domain.regions` reads them; case ids are read here.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from engine.domain.clock import SHANGHAI, written_time
from engine.domain import limits
from engine.domain.errors import InvalidInput, NotFound

# The engine's own bounds (engine/domain/limits.py), the same as `case report` applies: dates in MIN_YEAR..MAX_YEAR
# (a date outside is a typo: a year of 20026, a serial number in the wrong column), money up to MAX_MONEY to
# the fen. Text has the ceiling of the engine's longest text here; each field's own limit is the row reader's.
EARLIEST_YEAR, LATEST_YEAR = limits.MIN_YEAR, limits.MAX_YEAR
TEXT_LIMIT = limits.MAX_TEXT_CHARS
MONEY_LIMIT = limits.MAX_MONEY
BLANK = frozenset({"/", "-", "--", "—", "——", "－", "无", "暂无", "n/a", "N/A", "NA", "null", "NULL", "None"})

_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 = 1900-01-01, counting Excel's phantom 1900-02-29
_FIRST_SERIAL = (date(EARLIEST_YEAR, 1, 1) - _EXCEL_EPOCH).days
_LAST_SERIAL = (date(LATEST_YEAR, 12, 31) - _EXCEL_EPOCH).days
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPECIAL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"[ \t\u3000]*\n\s*")
_SERIAL = re.compile(r"^\d{5}(?:\.\d{1,12})?$")
_MONEY = re.compile(r"^(?:¥|RMB)?([0-9]{1,60}(?:,[0-9]{3})*(?:\.[0-9]{1,6})?)(万元|万|元)?整?$")
_WIDE = ("W", "F")


def cell_text(raw: object) -> str:
    """A cell as the text a person reads in it: whole numbers without `.0`, dates in ISO form."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return ""
        return str(int(raw)) if raw.is_integer() and abs(raw) < 1e15 else repr(raw)
    if isinstance(raw, datetime):
        return raw.isoformat(sep=" ")
    if isinstance(raw, (date, time)):
        return raw.isoformat()
    return "" if raw is None else str(raw)


def _join_lines(match: re.Match) -> str:
    text, start, end = match.string, match.start(), match.end()
    wide = start > 0 and end < len(text) and _is_wide(text[start - 1]) and _is_wide(text[end])
    return "" if wide else " "  # a break Excel put inside 某化工\n有限公司 is no space in Chinese


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in _WIDE


def clean_text(raw: object, *, limit: int | None = TEXT_LIMIT, multiline: bool = False) -> str:
    """Trimmed text, '' for a blank or a placeholder such as `/` or `无`; line breaks kept only if `multiline`;
    at most `limit` characters (None: the caller bounds it)."""
    text = (raw if raw.__class__ is str else cell_text(raw)).strip()
    if not text or text in BLANK:
        return ""
    if _SPECIAL.search(text):  # rare: line breaks, tabs, control characters
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        bad = _CONTROL.search(text)
        if bad:
            raise InvalidInput(f"contains a control character (U+{ord(bad.group()):04X}) at position {bad.start() + 1}")
        if "\n" in text and not multiline:
            text = _LINE_BREAK.sub(_join_lines, text)
        text = text.replace("\t", " ")
    if limit is not None and len(text) > limit:
        raise InvalidInput(f"{len(text):,} characters is more than the limit of {limit:,}")
    return text


def _half_width(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _outside(shown: object) -> InvalidInput:
    return InvalidInput(f"{limits.shown(cell_text(shown))} is outside the years {EARLIEST_YEAR}-{LATEST_YEAR} the "
                        "engine accepts")


def _bounded(day: date, shown: object) -> None:
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise _outside(shown)


def _not_a_date(shown: object) -> InvalidInput:
    return InvalidInput(f"'{cell_text(shown)[:60]}' is not a date (e.g. 2026-03-05, 2026/3/5, 2026年3月5日)")


def _from_serial(serial: float, shown: object) -> date | datetime:
    if 0 <= serial < 1000:
        raise InvalidInput(f"'{cell_text(shown)}' is not a date (a number of days? write the date itself)")
    if not _FIRST_SERIAL <= serial < _LAST_SERIAL + 1:
        raise _outside(shown)
    days = int(serial)
    seconds = round((serial - days) * 86400)
    day = _EXCEL_EPOCH + timedelta(days=days)
    if seconds == 0:
        return day
    return datetime.combine(day, time(0), tzinfo=SHANGHAI) + timedelta(seconds=seconds)


def parse_date(raw: object) -> date | datetime | None:
    """A day (date) or a moment (aware, Asia/Shanghai); None for a blank cell. Excel's serial numbers (46082,
    as a number or as text) are days too: a cell formatted as text keeps them."""
    if isinstance(raw, datetime):
        value = raw.replace(tzinfo=SHANGHAI) if raw.tzinfo is None else raw.astimezone(SHANGHAI)
        _bounded(value.date(), raw)
        return value
    if isinstance(raw, date):
        _bounded(raw, raw)
        return raw
    if isinstance(raw, bool) or isinstance(raw, (time, timedelta)):
        raise _not_a_date(raw)
    if isinstance(raw, (int, float)):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise _not_a_date(raw)
        return _from_serial(float(raw), raw)
    text = clean_text(raw)
    if not text:
        return None
    try:
        value = written_time(text)
    except ValueError:
        raise InvalidInput(f"'{cell_text(raw)[:60]}' is not a real date or time") from None
    if value is None:
        if _SERIAL.match(_half_width(text)):
            return _from_serial(float(_half_width(text)), raw)
        raise _not_a_date(raw)
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI)
        _bounded(value.date(), raw)
    else:
        _bounded(value, raw)
    return value


def read_date(text: str) -> date | datetime:
    """A day or a moment typed by a user (an option, `--set deadline=...`): the forms a ledger's text cells
    may hold, but no Excel serial numbers (a 5-digit number typed as a date is a slip, not a day)."""
    text = str(text).strip()
    if _SERIAL.match(_half_width(text)):
        raise _not_a_date(text)
    value = parse_date(text)
    if value is None:  # empty, or a ledger's placeholder for nothing (`/`, `无`): no date typed
        raise _not_a_date(text)
    return value


def date_text(value: date | datetime) -> str:
    """The engine's form: `2026-03-05` for a day, `2026-03-05T09:30:00+08:00` for a moment."""
    return value.isoformat()


def parse_money(raw: object, *, scale: int = 1) -> str | None:
    """Yuan with two decimals (`150000.00`); `15万`, `1,200.50元`, `15.5万元`; a bare number times `scale`."""
    if isinstance(raw, bool):
        raise InvalidInput(f"'{cell_text(raw)}' is not an amount of money (e.g. 150000, 15万, 1,200.50元)")
    if isinstance(raw, (int, float)):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise InvalidInput(f"'{raw}' is not an amount of money")
        text, unit = repr(raw), None
        if raw < 0:
            raise InvalidInput(f"'{cell_text(raw)}' is negative: funds are an amount spent")
    else:
        cleaned = clean_text(raw)
        if not cleaned:
            return None
        match = _MONEY.match(_half_width(cleaned).replace(" ", "").upper()) if len(cleaned) <= 60 else None
        if not match:
            raise InvalidInput(f"'{cleaned[:60]}' is not an amount of money (e.g. 150000, 15万, 1,200.50元; commas "
                               "only between groups of three digits)")
        text, unit = match[1].replace(",", ""), match[2]
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"'{cell_text(raw)[:60]}' is not an amount of money") from None
    amount *= 10000 if unit in ("万", "万元") else 1 if unit == "元" else scale
    if amount > MONEY_LIMIT:
        raise InvalidInput(f"{limits.shown(cell_text(raw))} is more than the limit of {MONEY_LIMIT:,} yuan")
    if unit is None and isinstance(raw, float):
        amount = round(amount, 6)  # a number cell's binary noise (0.30000000000000004) is no fraction of a fen
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(f"{limits.shown(cell_text(raw))} has a fraction of a fen (0.01 yuan)")
    return f"{amount.quantize(Decimal('0.01'))}"


def parse_region(raw: object, *, within: tuple[str, ...] = ()) -> str | None:
    """A division of the national list as its six-digit code: a code (371721; 3717 = 371700; a number cell
    `371721.0` reads as the code) or a name (曹县, 菏泽市, 菏泽); see `engine.domain.regions.read`."""
    if isinstance(raw, float) and raw.is_integer() and 0 <= raw < 1e6:
        raw = f"{int(raw):06d}" if raw >= 100000 else str(int(raw))
    from engine.domain import regions  # here: most commands that read values never read a region
    text = clean_text(raw)
    if not text:
        return None
    return regions.six_digits(regions.read(text, within=within))


_CASE_ID = re.compile(r"^HZ-?([0-9]{4})-?([0-9]{1,9})$")


def read_case_id(raw: object) -> str:
    """A case id as users type it: `hz-2026-000001`, ` HZ-2026-000001 `, full-width forms, the number without
    its leading zeros (HZ-2026-1); always read as the register writes it, HZ-2026-000001. Text of no case id's
    form names no case: NotFound, as for an id the register does not hold."""
    text = _half_width(str(raw if raw is not None else "")).strip()
    match = _CASE_ID.match(text.upper())
    if not match:
        raise NotFound(f"no case {limits.shown(text)} (a case id reads like HZ-2026-000123)", kind="case", key=text)
    return f"HZ-{match[1]}-{int(match[2]):06d}"


def lookup(raw: object, table: dict, *, key) -> tuple[str, str | None]:
    """The cell's cleaned text and the canonical value its word stands for (None when not a known word)."""
    text = clean_text(raw)
    if not text:
        return "", None
    return text, table.get(key(text))


def read_assignments(items) -> dict[str, str]:
    """`FIELD=VALUE` texts (`--set`, an upload's `set` fields) as {field: value}; a text without `=` or a field given
    twice is InvalidInput (keeping the last silently would record what the user did not mean)."""
    fields: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidInput(f"{limits.shown(item)} is not FIELD=VALUE", field="set")
        if name in fields:
            raise InvalidInput(f"field '{name}' is given twice ({limits.shown(fields[name])} and {limits.shown(value)}): "
                               "give it once", field="set")
        fields[name] = value
    return fields
