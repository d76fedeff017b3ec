"""Build real spreadsheet files for the ledger tests: xlsx through xlsxwriter (merged cells, date cells), CSV bytes."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_cell_to_rowcol


def make_xlsx(path: Path, rows: list[list], *, merges: tuple[str, ...] = (), sheet: str = "台账",
              before: tuple[str, ...] = (), hidden: tuple[str, ...] = ()) -> Path:
    """Write `rows` (row 0 = Excel row 1); `merges` as "A1:M1" ranges holding their top-left value; dates as date cells.

    `before` adds empty sheets ahead of this one, `hidden` hidden ones ahead of those.
    """
    book = xlsxwriter.Workbook(str(path))
    for name in hidden:
        book.add_worksheet(name).hide()
    for name in before:
        book.add_worksheet(name)
    ws = book.add_worksheet(sheet)
    ws.activate()  # xlsxwriter will not hide the active sheet, which is the first unless told
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    covered, spans = set(), []
    for ref in merges:
        first, last = ref.split(":")
        (r0, c0), (r1, c1) = xl_cell_to_rowcol(first), xl_cell_to_rowcol(last)
        spans.append((r0, c0, r1, c1))
        covered |= {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if (r, c) in covered or value is None or value == "":
                continue
            write(ws, r, c, value, day, moment)
    for r0, c0, r1, c1 in spans:
        value = rows[r0][c0] if r0 < len(rows) and c0 < len(rows[r0]) else ""
        ws.merge_range(r0, c0, r1, c1, "")
        if value not in ("", None):
            write(ws, r0, c0, value, day, moment)
    book.close()
    return path


def write(ws, r: int, c: int, value, day, moment) -> None:
    if isinstance(value, datetime):
        ws.write_datetime(r, c, value, moment)
    elif isinstance(value, date):
        ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ws.write_number(r, c, value)
    else:
        ws.write_string(r, c, str(value))
