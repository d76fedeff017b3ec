"""Write rows back out as a ledger people open in Excel: xlsx (date cells, column widths, a bold frozen
header) or CSV (UTF-8 with a BOM, so a Chinese Excel does not read it as GB18030).

Reading what this writes gives the same values back: headers are the first synonym of each field in
headers.yaml (or the field names), level and state words are the first of their words, dates are date
cells (xlsx) or ISO text (CSV); one exception: a moment at exactly 00:00:00 reads back from xlsx as its day,
since calamine reports such a cell as a date whatever its format. Text is never written as a formula: xlsx cells are strings, and a CSV cell
that Excel would run (`=`, `+`, `-`, `@` first, or full-width `＝ ＋ － ＠`, or a tab or carriage return) is guarded with a leading apostrophe the reader removes.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from engine.domain.clock import SHANGHAI
from engine.domain.errors import InvalidInput
from engine.ledger.grid import FORMULA_START
from engine.ledger.rows import DATE_FIELDS, MULTILINE
from engine.domain.values import cell_text
from engine.ledger.words import Words, shipped_words

TRANSLATED = {"level": "level", "state": "progress", "progress": "progress"}
MIN_WIDTH, MAX_WIDTH = 6, 60
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def header_labels(columns: list[str], *, headers: str = "chinese", words: Words | None = None) -> list[str]:
    if headers not in ("chinese", "fields"):
        raise InvalidInput(f"headers must be 'chinese' or 'fields', not '{headers}'")
    words = words or shipped_words()
    return list(columns) if headers == "fields" else [words.labels.get(c, c) for c in columns]


def display_width(text: str) -> int:
    """Columns a text takes on screen: a Chinese character is two."""
    line = max(text.split("\n"), key=len) if "\n" in text else text
    line = line[:MAX_WIDTH]
    if line.isascii():
        return len(line)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in line)


def _as_time(field: str, value) -> date | datetime | None:
    """A date field's value as a date or an aware datetime, whichever form the row gives it in."""
    if isinstance(value, (date, datetime)):
        return value
    if field in DATE_FIELDS or field.endswith("_at"):
        text = str(value)
        try:
            if _ISO_DAY.match(text):
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)
    return None


def _local(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)  # Excel has no time zones: Shanghai wall time


def _shown(field: str, value, translate: dict) -> object:
    """The value as the sheet shows it: a word for level/state, a date, a Decimal for funds, else text."""
    if value is None or value == "":
        return ""
    table = TRANSLATED.get(field)
    if table and translate.get(table) and str(value) in translate[table]:
        return translate[table][str(value)]
    moment = _as_time(field, value)
    if moment is not None:
        return moment
    if field == "funds":
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return str(value)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else cell_text(value)


def write_ledger(path: str | Path, rows: list[dict], *, columns: list[str], headers: str = "chinese",
                 sheet: str = "台账", title: str | None = None, words: Words | None = None) -> int:
    """Write `rows` (dicts by field name) in `columns` order to an .xlsx or .csv file; returns rows written."""
    words = words or shipped_words()
    labels = header_labels(columns, headers=headers, words=words)
    translate = words.value_labels if headers == "chinese" else {}
    suffix = Path(path).suffix.lower()
    table = [[_shown(field, row.get(field), translate) for field in columns] for row in rows]
    if suffix == ".xlsx":
        _write_xlsx(Path(path), labels, columns, table, sheet=sheet, title=title)
    elif suffix == ".csv":
        _write_csv(Path(path), labels, table, title=title)
    else:
        raise InvalidInput(f"{path}: write a .xlsx or a .csv file")
    return len(table)


def _widths(labels: list[str], table: list[list]) -> list[int]:
    widths = [display_width(label) for label in labels]
    for row in table:
        for i, value in enumerate(row):
            if isinstance(value, str):
                w = display_width(value) if value else 0
            elif isinstance(value, datetime):
                w = 16
            elif isinstance(value, date):
                w = 10
            else:
                w = len(f"{value:,.2f}") if isinstance(value, Decimal) else len(cell_text(value))
            if w > widths[i]:
                widths[i] = w
    return [min(max(w + 2, MIN_WIDTH), MAX_WIDTH) for w in widths]


def _write_xlsx(path: Path, labels: list[str], columns: list[str], table: list[list], *, sheet: str,
                title: str | None) -> None:
    import xlsxwriter  # here: reading ledgers does not need it

    try:
        book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                               "strings_to_urls": False, "strings_to_numbers": False})
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        ws = book.add_worksheet(sheet[:31])
    except Exception as exc:  # xlsxwriter's InvalidWorksheetName: []:*?/\ or a leading apostrophe
        raise InvalidInput(f"sheet name '{sheet}' cannot be used in xlsx ({exc})") from None
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "vcenter", "align": "center", "border": 1})
    heading = book.add_format({"bold": True, "font_size": 14, "align": "center"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    money = book.add_format({"num_format": "#,##0.00"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    for i, width in enumerate(_widths(labels, table)):  # constant_memory needs widths before the first row
        ws.set_column(i, i, width)
    top = 0
    if title:
        ws.merge_range(0, 0, 0, max(len(labels) - 1, 1), title, heading)
        top = 1
    ws.write_row(top, 0, labels, bold)
    ws.freeze_panes(top + 1, 0)
    multiline = [c in MULTILINE for c in columns]
    for r, row in enumerate(table, start=top + 1):
        for c, value in enumerate(row):
            if value == "":
                continue
            if isinstance(value, datetime):
                ws.write_datetime(r, c, _local(value), moment)
            elif isinstance(value, date):
                ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
            elif isinstance(value, Decimal):
                ws.write_number(r, c, float(value), money)
            elif isinstance(value, (int, float)):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, value, wrap if multiline[c] and "\n" in value else None)
    try:
        book.close()
    except Exception as exc:  # xlsxwriter wraps OSError in its own FileCreateError
        raise InvalidInput(f"{path}: cannot write ({exc})") from None


def _csv_cell(value) -> str:
    if isinstance(value, datetime):
        return _local(value).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    text = cell_text(value)
    guarded = text.lstrip("'")[:1] in FORMULA_START  # the reader drops one apostrophe from such a cell
    return "'" + text if guarded else text


def _write_csv(path: Path, labels: list[str], table: list[list], *, title: str | None) -> None:
    try:
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out)
            if title:
                writer.writerow([title])
            writer.writerow(labels)
            writer.writerows([_csv_cell(v) for v in row] for row in table)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot write ({exc.strerror or exc})") from None
