"""A spreadsheet file as a grid of cell values and its merged ranges: xlsx/xls/ods via calamine, or CSV text.

Row i of the grid is the row Excel shows as i+1 (empty leading rows are kept, not skipped). xlsx cells come
as calamine gives them (float for every number, date/datetime for date cells, '' for empty); CSV cells are
text. CSV is decoded as UTF-16 (a BOM: Excel's "Unicode text"), UTF-8 with or without BOM, or GB18030 (what a
Chinese Excel saves as "CSV"), and split on commas or tabs, whichever the first lines use more.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from engine.domain.errors import InvalidInput

MAX_ROWS = 1_000_000  # Excel's own limit is 1,048,576; a bigger "ledger" is not one
MAX_COLUMNS = 500
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
# A CSV written by our exporter guards text that Excel would run as a formula with a leading apostrophe: a cell
# starting with = + - @, their full-width forms (a Chinese or Japanese Excel takes ＝ as =), or a tab or carriage
# return (OWASP's CSV injection list). The reader drops that one apostrophe again.
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\t", "\r")
_GUARDED = re.compile("(?:^|[,\t\n])\"?'+[" + re.escape("".join(FORMULA_START)) + "]")


@dataclass
class Grid:
    rows: list[list]
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # (row0, col0, row1, col1), inclusive
    sheet: str | None = None
    kind: str = "csv"


def read_grid(data: bytes, *, name: str, sheet: str | None = None) -> Grid:
    """The grid of one sheet (`sheet` by name; default the first visible one) or of a CSV text."""
    if not data:
        raise InvalidInput(f"{name}: the file is empty")
    if data.startswith(_ZIP) or data.startswith(_OLE):
        return _read_workbook(data, name=name, sheet=sheet)
    if sheet is not None:
        raise InvalidInput(f"{name}: a CSV file has no sheets (sheet '{sheet}' asked for)", field="sheet")
    return _read_csv(data, name=name)


def _read_workbook(data: bytes, *, name: str, sheet: str | None) -> Grid:
    import python_calamine  # imported here: the CSV path and the pure modules do not need the Rust extension

    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own errors and also plain ones for a damaged zip
        raise InvalidInput(f"{name}: not a readable spreadsheet ({type(exc).__name__}: {str(exc)[:200]})") from None
    with book:
        names = list(book.sheet_names)
        if sheet is None:
            visible = [m.name for m in book.sheets_metadata
                       if m.visible == python_calamine.SheetVisibleEnum.Visible
                       and m.typ == python_calamine.SheetTypeEnum.WorkSheet]
            if not visible:
                raise InvalidInput(f"{name}: the workbook has no visible worksheet")
            sheet = visible[0]
        elif sheet not in names:
            raise InvalidInput(f"{name}: no sheet named '{sheet}' (the sheets are: {', '.join(names)})")
        try:
            found = book.get_sheet_by_name(sheet)
            rows, columns = (found.end[0] + 1, found.end[1] + 1) if found.end else (0, 0)  # counted from A1
            if rows > MAX_ROWS or columns > MAX_COLUMNS:
                raise InvalidInput(f"{name}: sheet '{sheet}' reaches row {rows:,} and column {columns:,} "
                                   f"(at most {MAX_ROWS:,} and {MAX_COLUMNS}): split it")
            rows = found.to_python(skip_empty_area=False)
            merges = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in (found.merged_cell_ranges or [])]
        except InvalidInput:
            raise
        except Exception as exc:
            raise InvalidInput(f"{name}: sheet '{sheet}' cannot be read ({type(exc).__name__}: {str(exc)[:200]})") from None
    return Grid(rows=rows, merges=merges, sheet=sheet, kind="workbook")


def decode(data: bytes, *, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(f"{name}: the file is neither a spreadsheet nor text in UTF-8, GB18030 or UTF-16 "
                       f"(save it from Excel as .xlsx or as CSV UTF-8)")


def sniff_delimiter(text: str) -> str:
    sample = text[:65536].split("\n", 20)[:20]
    joined = "\n".join(sample)
    return "\t" if joined.count("\t") > joined.count(",") else ","


def _read_csv(data: bytes, *, name: str) -> Grid:
    text = decode(data, name=name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(text))
    rows: list[list] = []
    try:
        for row in reader:
            rows.append(row)
            if len(row) > MAX_COLUMNS:
                raise InvalidInput(f"{name}:{len(rows)}: {len(row):,} columns (at most {MAX_COLUMNS})")
            if len(rows) > MAX_ROWS:
                raise InvalidInput(f"{name}: more than {MAX_ROWS:,} rows: split it")
    except csv.Error as exc:
        raise InvalidInput(f"{name}:{reader.line_num}: not CSV as Excel writes it ({exc})") from None
    if _GUARDED.search(text):
        rows = [[c[1:] if c[:1] == "'" and c.lstrip("'")[:1] in FORMULA_START else c for c in row] for row in rows]
    return Grid(rows=rows, sheet=None, kind="csv")
