"""A workbook's zip checked before any spreadsheet reader sees it: each part inflated here, in pieces, counting
what comes out, so that a zip bomb is refused after reading a bound's worth of it, not after the reader has
tried to hold gigabytes (python-calamine's Rust code aborts the process when an allocation fails).

Per part: the inflated size (MAX_ZIP_PART_BYTES; the part's own stated size is not trusted: the stream is
inflated until it ends) and the compression ratio (MAX_ZIP_RATIO, for parts past 1 MiB); all parts together
MAX_ZIP_TOTAL_BYTES. Per worksheet: the rectangle from A1 to its last row and column, which the reader fills
whole (MAX_CELLS, and MAX_ROWS / MAX_COLUMNS), taken from every `r="..."` reference, the `<dimension>` and the
cells written without one; shared strings count as cells too. Each refusal is InvalidInput naming the file,
the part and the bound (exit 2). An xls (OLE) file is not compressed: its size is its bound.

An .ods keeps every sheet in `content.xml`, where one cell may stand for many: `number-columns-repeated` and
`number-rows-repeated` (a few hundred bytes can say 100,000 rows of 500 filled cells, which the reader would make
whole and abort the process on). Its tags are read as they inflate (`_OdsContent`), each table's extent counted
as the reader fills it: from A1 to the last row and column holding a value, repeats multiplied out; the empty
cells and rows a spreadsheet writes after its data (LibreOffice repeats an empty cell to column AMJ and an empty
row to row 1,048,576) reach nothing, as they do not in the reader. The same bounds as a worksheet's.
"""
from __future__ import annotations

import functools
import html
import re
import struct
import zipfile
import zlib
from io import BytesIO

from engine.domain.errors import InvalidInput
from engine.domain.limits import MAX_CELLS, MAX_ZIP_PART_BYTES, MAX_ZIP_RATIO, MAX_ZIP_TOTAL_BYTES

MAX_ROWS = 1_000_000  # Excel's own limit is 1,048,576; a bigger "ledger" is not one
MAX_COLUMNS = 500
_PIECE = 1 << 20
_RATIO_FROM = 1 << 20
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")
# Cells and rows with their references (as Excel, WPS, LibreOffice and the usual libraries write them: `r` first),
# the sheet's dimension; tags with a namespace prefix are read without it.
_ROW_REF = re.compile(rb'<row r="(\d{1,9})"')
_COLUMN_REF = {3: re.compile(rb'<c r="([A-Z]{3})\d'), 2: re.compile(rb'<c r="([A-Z]{2})\d'),
               1: re.compile(rb'<c r="([A-Z])\d')}
_DIMENSION = re.compile(rb"""<dimension\s[^>]*?\bref\s*=\s*["']([A-Za-z]{0,3})(\d{1,9})(?::([A-Za-z]{0,3})(\d{1,9}))?["']""")
_PREFIX = re.compile(rb"<(/?)[A-Za-z_][\w.-]*:")
_SCANNED = re.compile(r"^xl/(worksheets/[^/]+\.xml|sharedStrings\.xml)$", re.IGNORECASE)


def check_workbook(data: bytes, *, name: str) -> None:
    """Refuse an xlsx/ods whose parts inflate past the bounds; an OLE (xls) file passes (nothing inflates)."""
    if not data.startswith(b"PK"):
        return
    try:
        book = zipfile.ZipFile(BytesIO(data))
        infos = book.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidInput(f"{name}: not a readable spreadsheet (a damaged zip: {exc})") from None
    sheets: list[_Sheet] = []
    total = 0
    kept: dict[str, bytes] = {}
    for info in infos:
        scan = _Sheet() if _SCANNED.match(info.filename) else _OdsContent() if info.filename == _ODS_CONTENT \
            else _Kept() if info.filename in _NAMING else None
        total += _inflate(data, info, name=name, scan=scan, room=MAX_ZIP_TOTAL_BYTES - total)
        if isinstance(scan, _Kept):
            kept[info.filename] = b"".join(scan.pieces)
        elif isinstance(scan, _OdsContent):
            scan.check(name=name)
        elif scan is not None:
            scan.parts.append(info.filename)
            sheets.append(scan)
    names = _sheet_names(kept)
    for scan in sheets:
        part = scan.parts[0]
        scan.check(name=name, part=f"sheet '{names[part]}'" if part in names else f"part {part}")


def _inflate(data: bytes, info: zipfile.ZipInfo, *, name: str, scan, room: int) -> int:
    """The inflated size of one part, read in pieces; refused as soon as it passes a bound."""
    part = info.filename
    start = info.header_offset
    try:
        fields = _LOCAL_HEADER.unpack_from(data, start)
    except struct.error:
        raise InvalidInput(f"{name}: not a readable spreadsheet (a damaged zip: part {part})") from None
    if fields[0] != b"PK\x03\x04":
        raise InvalidInput(f"{name}: not a readable spreadsheet (a damaged zip: part {part})")
    begin = start + _LOCAL_HEADER.size + fields[-2] + fields[-1]
    raw = memoryview(data)[begin:begin + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        pieces = (bytes(raw[i:i + _PIECE]) for i in range(0, len(raw), _PIECE))
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        pieces = _deflated(raw)
    else:
        raise InvalidInput(f"{name}: part {part} is compressed with method {info.compress_type}, which is not read "
                           f"(save it from Excel again)")
    size = 0
    bound = min(MAX_ZIP_PART_BYTES, room)
    packed = max(info.compress_size, 1)
    for piece in pieces:
        size += len(piece)
        if size > bound:
            which = (f"more than {MAX_ZIP_PART_BYTES:,} bytes inflated (the bound on one part of a workbook)"
                     if bound == MAX_ZIP_PART_BYTES else
                     f"the parts together more than {MAX_ZIP_TOTAL_BYTES:,} bytes inflated (the bound on a workbook)")
            raise InvalidInput(f"{name}: part {part}: {which}; refused before reading it", field="file")
        if size > _RATIO_FROM and size > MAX_ZIP_RATIO * packed:
            raise InvalidInput(f"{name}: part {part}: compressed more than {MAX_ZIP_RATIO}:1 ({packed:,} bytes "
                               f"inflate past {size:,}; the bound on a workbook's compression ratio); refused before "
                               f"reading it", field="file")
        if scan is not None:
            scan.feed(piece)
    return size


def _deflated(raw: memoryview):
    inflater = zlib.decompressobj(-15)
    try:
        for i in range(0, len(raw), _PIECE):
            out = inflater.decompress(bytes(raw[i:i + _PIECE]), _PIECE)
            while True:
                yield out
                if not inflater.unconsumed_tail:
                    break
                out = inflater.decompress(inflater.unconsumed_tail, _PIECE)
            if inflater.eof:
                return
        yield inflater.flush()
    except zlib.error as exc:
        raise InvalidInput(f"not a readable spreadsheet (a damaged zip: {exc})") from None


class _Sheet:
    """The extent of a worksheet (or the count of shared strings), from its XML fed in pieces: counted with
    regular expressions over each piece (no Python step per cell)."""

    def __init__(self):
        self.rows = self.columns = 0
        self.cells = self.cell_refs = 0
        self.row_tags = self.row_refs = 0
        self.strings = 0
        self.carry = b""
        self.parts: list[str] = []

    def feed(self, piece: bytes) -> None:
        """Counted with bytes.count and a few regular expressions that match only the references that can
        raise the extent: no Python step per cell (a 100,000-row sheet is scanned in under a second)."""
        text = self.carry + piece
        cut = text.rfind(b"<")
        if cut < 0 or text.find(b">", cut) >= 0:
            cut = len(text)
        body, self.carry = text[:cut], text[cut:]
        if len(self.carry) > 1 << 16:  # a tag longer than 64 KiB is no tag a spreadsheet writes
            raise InvalidInput("a tag of more than 64 KiB")
        if b":c " in body or b":c>" in body or b":row" in body or b":si>" in body:
            body = _PREFIX.sub(rb"<\1", body)
        self.cells += body.count(b"<c ") + body.count(b"<c>") + body.count(b"<c/>")
        self.row_tags += body.count(b"<row ") + body.count(b"<row>") + body.count(b"<row/>")
        self.strings += body.count(b"<si>") + body.count(b"<si ")
        rows = _ROW_REF.findall(body)
        self.row_refs += len(rows)
        if rows:
            self.rows = max(self.rows, max(map(int, rows)))
        refs = body.count(b'<c r="')
        self.cell_refs += refs
        if refs:
            for width in (3, 2, 1):
                letters = set(_COLUMN_REF[width].findall(body))
                if letters:
                    self.columns = max(self.columns, max(map(_column, letters)))
                    break
            self.rows = max(self.rows, _rows_beyond(body, self.rows))
        for match in _DIMENSION.finditer(body):
            self.rows = max(self.rows, int(match.group(4) or match.group(2)))
            self.columns = max(self.columns, _column(match.group(3) or match.group(1)))

    def check(self, *, name: str, part: str) -> None:
        try:
            self.feed(b"")
        except InvalidInput as exc:
            raise InvalidInput(f"{name}: {part}: {exc}", field="file") from None
        # A cell or a row written without its reference follows the one before: counted as if each went one
        # column (or one row) further, which no file Excel, WPS or LibreOffice writes comes near.
        rows = self.rows + (self.row_tags - self.row_refs)
        columns = self.columns + (self.cells - self.cell_refs)
        if self.cells and not rows:
            rows = 1
        if rows > MAX_ROWS or columns > MAX_COLUMNS:
            raise InvalidInput(f"{name}: {part} reaches row {rows:,} and column {columns:,} (at most "
                               f"{MAX_ROWS:,} and {MAX_COLUMNS}): split it", field="file")
        cells = max(rows * columns, self.cells, self.strings)
        if cells > MAX_CELLS:
            raise InvalidInput(f"{name}: {part} holds {cells:,} cells (from A1 to its last row and column; at "
                               f"most {MAX_CELLS:,}, the bound on a sheet's cells): split it", field="file")


_ODS_CONTENT = "content.xml"
# The reader (calamine) knows an .ods's tables, rows and cells by these names, prefix and all; so does this count.
_ODS_STRUCTURE = re.compile(rb"""<table:table(?=[\s>])((?:[^>"']|"[^"]*"|'[^']*')*)>|"""
                            rb"""<table:table-row(?=[\s/>])((?:[^>"']|"[^"]*"|'[^']*')*?)(/?)>""")
_ROW_END = b"</table:table-row>"
_ROWS_REPEATED = re.compile(rb"""\stable:number-rows-repeated\s*=\s*["']\s*(\d{1,18})""")
_COLUMNS_REPEATED = re.compile(rb"""\stable:number-columns-repeated\s*=\s*["']\s*(\d{1,18})""")
_TABLE_NAME = re.compile(rb"""\stable:name\s*=\s*["']([^"']{0,200})""")
_CELL_STARTS = (b"<table:table-cell", b"<table:covered-table-cell")
_FILLED = (b"value-type=", b"<text:p")  # what makes a cell hold a value for the reader
_MAX_ROW_BYTES = 32 << 20  # no row a spreadsheet writes (500 columns of 20,000 characters is 10 MB)


class _OdsContent:
    """The extent of each table of an .ods's content.xml, fed in pieces: rows and columns as the reader fills
    them (to the last one holding a value), each repeat counted as the cells it stands for. A Python step per
    row, not per cell: a row's cells are counted with bytes.count up to its last filled one."""

    def __init__(self):
        self.carry = b""
        self.tables: list[list] = []  # [name, rows, columns] per table
        self.row = 0                  # rows of the current table so far
        self.open: tuple[int, int] | None = None  # a row begun in an earlier piece: (repeat, where its cells begin)

    def feed(self, piece: bytes, *, last: bool = False) -> None:
        text = self.carry + piece
        end = text.rfind(_ROW_END)
        cut = len(text) if last else end + len(_ROW_END) if end >= 0 else 0
        body, self.carry = text[:cut], text[cut:]
        if len(self.carry) > _MAX_ROW_BYTES:
            raise InvalidInput(f"a row of more than {_MAX_ROW_BYTES:,} bytes")
        chunks = body.split(_ROW_END)  # each but the last ends a row: what lies between rows, the row, its cells
        for chunk in chunks:
            self._chunk(chunk)

    def _chunk(self, chunk: bytes) -> None:
        """What comes before a row's end: tables begun and rows written whole (`<table:table-row .../>`) on the
        way, then the row's start tag and its cells (the regular expression runs up to the row's start only)."""
        at = 0
        while (match := _ODS_STRUCTURE.search(chunk, at)) is not None:
            table, attributes, empty = match.group(1), match.group(2), match.group(3)
            at = match.end()
            if table is not None:
                found = _TABLE_NAME.search(table)
                name = html.unescape(found.group(1).decode("utf-8", "replace")) if found else str(len(self.tables) + 1)
                self.tables.append([name, 0, 0])
                self.row = 0
            elif attributes is not None:
                repeat = _repeat(_ROWS_REPEATED, attributes)
                if empty:
                    self.row += repeat
                else:
                    self._row(chunk[at:], repeat)  # its cells: to the row's end, or as far as it goes
                    return

    def _row(self, cells: bytes, repeat: int) -> None:
        self.row += repeat
        filled = max(cells.rfind(marker) for marker in _FILLED)
        if filled < 0 or not self.tables:
            return
        start = max(cells.rfind(tag, 0, filled + 1) for tag in _CELL_STARTS)
        if start < 0:
            return
        head_end = cells.find(b">", start)
        before = cells[:start]
        columns = sum(before.count(tag) for tag in _CELL_STARTS)
        if b"number-columns-repeated" in before:
            columns += sum(max(int(n), 1) - 1 for n in _COLUMNS_REPEATED.findall(before))
        columns += _repeat(_COLUMNS_REPEATED, cells[start:head_end if head_end > 0 else len(cells)])
        table = self.tables[-1]
        table[1] = self.row  # every copy of a row holding a value holds it
        table[2] = max(table[2], columns)

    def check(self, *, name: str) -> None:
        try:
            self.feed(b"", last=True)
        except InvalidInput as exc:
            raise InvalidInput(f"{name}: part {_ODS_CONTENT}: {exc}", field="file") from None
        for sheet, rows, columns in self.tables:
            if rows > MAX_ROWS or columns > MAX_COLUMNS:
                raise InvalidInput(f"{name}: sheet '{sheet}' reaches row {rows:,} and column {columns:,}, its repeated "
                                   f"rows and columns counted (at most {MAX_ROWS:,} and {MAX_COLUMNS}): split it",
                                   field="file")
            if rows * columns > MAX_CELLS:
                raise InvalidInput(f"{name}: sheet '{sheet}' holds {rows * columns:,} cells (from A1 to its last row "
                                   f"and column, its repeated rows and columns counted; at most {MAX_CELLS:,}, the "
                                   f"bound on a sheet's cells): split it", field="file")


def _repeat(pattern: re.Pattern, attributes: bytes) -> int:
    found = pattern.search(attributes)
    return max(int(found.group(1)), 1) if found else 1


class _Kept:
    """A small part kept to name the sheets (the workbook and its relationships)."""

    def __init__(self):
        self.pieces: list[bytes] = []
        self.size = 0

    def feed(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size <= 1 << 20:
            self.pieces.append(piece)


_NAMING = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\s[^>]*>")
_RELATION_TAG = re.compile(rb"<(?:\w+:)?Relationship\s[^>]*>")


def _attribute(tag: bytes, attribute: str) -> str | None:
    found = re.search(rb"""\s""" + attribute.encode() + rb"""\s*=\s*["']([^"']*)["']""", tag)
    return html.unescape(found.group(1).decode("utf-8", "replace")) if found else None


def _sheet_names(kept: dict[str, bytes]) -> dict[str, str]:
    """Part -> the sheet's name as Excel shows it, for the messages."""
    targets = {}
    for tag in _RELATION_TAG.findall(kept.get(_NAMING[1], b"")):
        ident, target = _attribute(tag, "Id"), _attribute(tag, "Target")
        if ident and target:
            targets[ident] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    names = {}
    for tag in _SHEET_TAG.findall(kept.get(_NAMING[0], b"")):
        sheet, ident = _attribute(tag, "name"), _attribute(tag, "r:id")
        if sheet and ident in targets:
            names[targets[ident]] = sheet
    return names


def _rows_beyond(body: bytes, rows: int) -> int:
    """The largest row a cell's reference names, if it may be past `rows` (the rows' own references so far);
    only references of as many digits and the same leading two or more are matched (a tenth of them at most)."""
    digits = len(str(rows)) if rows else 1
    found = [int(n) for n in _refs_of(digits + 1, None).findall(body)]
    if digits >= 2:
        found += [int(n) for n in _refs_of(digits, int(str(rows)[:2])).findall(body)]
    elif not found:
        found = [int(n) for n in _refs_of(1, None).findall(body)]
    return max(found, default=0)


@functools.lru_cache(maxsize=64)
def _refs_of(digits: int, lead: int | None) -> re.Pattern:
    """References with `digits` digits (or more, when `lead` is None and digits > 1) whose first two are at least
    `lead`."""
    if lead is None:
        number = rb"\d{%d,9}" % digits if digits > 1 else rb"\d"
    else:
        first, second = divmod(lead, 10)
        alternatives = b"%d[%d-9]" % (first, second) + (rb"|[%d-9]\d" % (first + 1) if first < 9 else b"")
        number = b"(?:" + alternatives + b")" + (rb"\d{%d}" % (digits - 2) if digits > 2 else b"")
    return re.compile(rb'<c r="[A-Z]{1,3}(' + number + rb')"')


def _column(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number
