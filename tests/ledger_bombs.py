"""Hostile ledger files made in the test, small on disk and quick to make: an xlsx whose sheet inflates to more
than a GiB, a sheet whose last cell is far from A1, a CSV with one endless line, an .ods whose repeated cell
stands for 50 million."""
from __future__ import annotations

import zipfile
from pathlib import Path

_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
          'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
          '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
          'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
          'spreadsheetml.worksheet+xml"/></Types>')
_ROOT_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
              '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
              'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
             '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
             'name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>')
_BOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
              '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
              'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
               'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>隐患内容</t></is></c>'
               '<c r="B1" t="inlineStr"><is><t>排查日期</t></is></c></row>')
_SHEET_TAIL = "</sheetData></worksheet>"


def _workbook(path: Path, write_sheet) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", _TYPES)
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _BOOK_RELS)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            write_sheet(sheet)
    return path


def sheet_bomb(path: Path, *, inflated: int = (1 << 30) + (64 << 20)) -> Path:
    """An xlsx whose one sheet inflates to `inflated` bytes (default 1.06 GiB) of cells in row 2 written without
    references (each one column further), from a few MB on disk."""
    cell = b'<c t="inlineStr"><is><t>x</t></is></c>'
    block = cell * ((1 << 20) // len(cell))

    def write(sheet):
        sheet.write(_SHEET_HEAD.encode() + b"<row>")
        written = 0
        while written < inflated:
            sheet.write(block)
            written += len(block)
        sheet.write(b"</row>" + _SHEET_TAIL.encode())
    return _workbook(path, write)


def far_cell(path: Path, ref: str) -> Path:
    """An xlsx of a header and one cell at `ref` (the reader would make the rectangle A1:ref whole)."""
    return _workbook(path, lambda sheet: sheet.write(
        (_SHEET_HEAD + f'<row r="2"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row>' + _SHEET_TAIL).encode()))


def long_line_csv(path: Path, *, chars: int = 40_000_000) -> Path:
    """A CSV with a header and then one line of `chars` characters (under the file-size bound)."""
    with path.open("wb") as out:
        out.write("隐患内容,排查日期,隐患级别\n".encode())
        block = b"x" * (1 << 20)
        for _ in range(chars // len(block)):
            out.write(block)
        out.write(b",2026-03-01,\xe4\xb8\x80\xe8\x88\xac\n")
    return path


_ODS_MANIFEST = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                 'opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
                 'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
                 'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
_ODS_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:'
             'opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
             'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:calcext="urn:org:documentfoundation:'
             'names:experimental:calc:xmlns:calcext:1.0" office:version="1.2"><office:body><office:spreadsheet>'
             '<table:table table:name="台账">')
_ODS_HEADER = ('<table:table-row><table:table-cell office:value-type="string"><text:p>隐患内容</text:p>'
               '</table:table-cell><table:table-cell office:value-type="string"><text:p>排查日期</text:p>'
               '</table:table-cell></table:table-row>')
_ODS_TAIL = "</table:table></office:spreadsheet></office:body></office:document-content>"


def ods(path: Path, rows_xml: str, *, header: bool = True) -> Path:
    """An .ods of a header row (隐患内容, 排查日期; `header=False`: none) and then `rows_xml` (table:table-row
    elements, and table:table-column ones before them)."""
    with zipfile.ZipFile(path, "w") as book:
        book.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        book.writestr("META-INF/manifest.xml", _ODS_MANIFEST, zipfile.ZIP_DEFLATED)
        book.writestr("content.xml", _ODS_HEAD + (_ODS_HEADER if header else "") + rows_xml + _ODS_TAIL,
                      zipfile.ZIP_DEFLATED)
    return path


def ods_repeated(path: Path, *, rows: int, columns: int) -> Path:
    """An .ods of a few hundred bytes whose one filled cell is repeated `columns` times across and its row `rows`
    times down (table:number-columns-repeated, table:number-rows-repeated): rows x columns cells when read."""
    return ods(path, f'<table:table-row table:number-rows-repeated="{rows}"><table:table-cell '
                     f'table:number-columns-repeated="{columns}" office:value-type="string"><text:p>x</text:p>'
                     f'</table:table-cell></table:table-row>')
