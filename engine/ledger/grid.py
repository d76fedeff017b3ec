"""A spreadsheet file as a grid of cell values and its merged ranges: xlsx/xls/ods via calamine, or CSV text.

Row i of the grid is the row Excel shows as i+1 (empty leading rows are kept, not skipped). xlsx cells come
as calamine gives them (float for every number, date/datetime for date cells, '' for empty); CSV cells are
text. CSV is decoded as UTF-16 (a BOM: Excel's "Unicode text"), UTF-8 with or without BOM, or GB18030 (what a
Chinese Excel saves as "CSV"), and split on commas or tabs, whichever the first lines use more.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from engine.domain.errors import InvalidInput
from engine.domain.limits import MAX_CELLS, MAX_CSV_LINE_CHARS
from engine.ledger.bounds import MAX_COLUMNS, MAX_ROWS, check_workbook

_PIECE = 1 << 20
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"
# A CSV written by our exporter guards text that Excel would run as a formula with a leading apostrophe: a cell
# starting with = + - @, their full-width forms (a Chinese or Japanese Excel takes ＝ as =), or a tab or carriage
# return (OWASP's CSV injection list). The reader drops that one apostrophe again.
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\t", "\r")


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
    if is_workbook(data):
        return _read_workbook(data, name=name, sheet=sheet)
    return read_csv_stream(io.BytesIO(data), name=name, sheet=sheet)


def is_workbook(head: bytes) -> bool:
    return head.startswith(_ZIP) or head.startswith(_OLE)


def _read_workbook(data: bytes, *, name: str, sheet: str | None) -> Grid:
    import python_calamine  # imported here: the CSV path and the pure modules do not need the Rust extension

    check_workbook(data, name=name)  # the zip's parts inflated and counted before the reader holds any of them
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


def detect_encoding(binary: BinaryIO, *, name: str) -> str:
    """The file's encoding, read through once in pieces (nothing held): UTF-16 by its BOM, else UTF-8 (with or
    without BOM) if every byte decodes so, else GB18030."""
    head = binary.read(4)
    binary.seek(0)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "gb18030"]
    decoders = {encoding: codecs.getincrementaldecoder(encoding)() for encoding in candidates}
    while decoders:
        piece = binary.read(_PIECE)
        for encoding, decoder in list(decoders.items()):
            try:
                decoder.decode(piece, final=not piece)
            except UnicodeDecodeError:
                del decoders[encoding]
        if not piece:
            break
    binary.seek(0)
    for encoding in candidates:
        if encoding in decoders:
            return encoding
    raise InvalidInput(f"{name}: the file is neither a spreadsheet nor text in UTF-8, GB18030 or UTF-16 "
                       f"(save it from Excel as .xlsx or as CSV UTF-8)")


def sniff_delimiter(text: str) -> str:
    sample = text[:65536].split("\n", 20)[:20]
    joined = "\n".join(sample)
    return "\t" if joined.count("\t") > joined.count(",") else ","


def _lines(text: io.TextIOBase, *, name: str):
    """The file's lines, each read with a bound: a line longer than MAX_CSV_LINE_CHARS is refused when its first
    MAX_CSV_LINE_CHARS characters are read, before the rest is."""
    number = 0
    while True:
        line = text.readline(MAX_CSV_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_CSV_LINE_CHARS:
            raise InvalidInput(f"{name}:{number}: a line of more than {MAX_CSV_LINE_CHARS:,} characters (the bound "
                               f"on a CSV line); refused before reading the rest", field="file")
        yield line


def read_csv_stream(binary: BinaryIO, *, name: str, sheet: str | None = None) -> Grid:
    """A CSV file's grid, decoded and split as it is read (the text is never held whole)."""
    if sheet is not None:
        raise InvalidInput(f"{name}: a CSV file has no sheets (sheet '{sheet}' asked for)", field="sheet")
    encoding = detect_encoding(binary, name=name)
    text = io.TextIOWrapper(binary, encoding=encoding, newline="")
    try:
        sample = text.read(65536)
        delimiter = sniff_delimiter(sample)
        text.seek(0)
        reader = csv.reader(_lines(text, name=name), delimiter=delimiter)
        rows: list[list] = []
        cells = 0
        try:
            for row in reader:
                if len(row) > MAX_COLUMNS:
                    raise InvalidInput(f"{name}:{reader.line_num}: {len(row):,} columns (at most {MAX_COLUMNS})")
                cells += len(row)
                if cells > MAX_CELLS:
                    raise InvalidInput(f"{name}:{reader.line_num}: more than {MAX_CELLS:,} cells (the bound on a "
                                       f"sheet's cells): split it", field="file")
                if "'" in "".join(row):  # a cell our exporter guarded: its apostrophe dropped
                    row = [c[1:] if c[:1] == "'" and c.lstrip("'")[:1] in FORMULA_START else c for c in row]
                rows.append(row)
                if len(rows) > MAX_ROWS:
                    raise InvalidInput(f"{name}: more than {MAX_ROWS:,} rows: split it")
        except csv.Error as exc:
            raise InvalidInput(f"{name}:{reader.line_num}: not CSV as Excel writes it ({exc})") from None
    finally:
        text.detach()
    return Grid(rows=rows, sheet=None, kind="csv")
