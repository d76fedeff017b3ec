"""A `Page` as Markdown, as one self-contained HTML file (inline CSS and SVG, A4), or as an xlsx workbook.

HTML: no script, no link, no font or image fetched; Chinese text with the CJK fonts Debian ships named first;
`@page { size: A4 }` so a browser prints it as the office files it. xlsx (xlsxwriter): a first sheet with the
title and the text, then one sheet per table; counts are numbers, rates are numbers with a percent format of
the report's decimals (a missing rate is the zero text), column widths fit the content, and a bar chart of
the rates sits beside the table it was drawn from.
"""
from __future__ import annotations

import io
import re
from datetime import date, datetime, time
from decimal import Decimal
from html import escape
from importlib import resources
from string import Template

from engine.domain.clock import local
from engine.reports.chart import _display_width, bar_chart, text_bars
from engine.reports.figures import Rounding, format_rate
from engine.reports.blocks import Chart, Heading, Page, Paragraph, Table, cell_text, kind_of

SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


# -- Markdown -------------------------------------------------------------------------------------------------
def to_markdown(page: Page) -> str:
    out = [f"# {_md(page.title)}", ""]
    meta = [m for m in (page.issuer, page.number, page.date_line) if m]
    if meta:
        out += [_md("　".join(meta)), ""]
    for block in page.blocks:
        if isinstance(block, Heading):
            out += [f"## {block.text}", ""]
        elif isinstance(block, Paragraph):
            text = _md(block.text)
            out += [f"> {text}" if block.style == "anchor" else f"*{text}*" if block.style == "note" else text, ""]
        elif isinstance(block, Table):
            out += _md_table(block, page) + [""]
        elif isinstance(block, Chart):
            out += [f"**{_md(block.title)}**", "", "```text", text_bars(block.bars, rounding=page.rounding), "```", ""]
            if block.target is not None:
                below = [label for label, value in block.bars if value is not None and value < block.target]
                out += [f"*目标 {_md(format_rate(block.target, Rounding(decimals=0)))}"
                        + (f"，低于目标：{_md('、'.join(below))}" if below else "，均已达到") + "*", ""]
    if page.footer:
        out += ["---", "", _md(page.footer), ""]
    return "\n".join(out).rstrip() + "\n"


# Text from the register (a title, an enterprise) is data, never Markdown: a backslash before each character that
# could start emphasis, a link or image (`[x](javascript:...)`, `![x](...)`, a reference `[x]: ...`), a code span
# or a table cell; `<` as an entity, so no autolink (`<javascript:...>`) or HTML tag opens.
_MD_ESCAPED = str.maketrans({c: "\\" + c for c in "\\`*_[]|"} | {"<": "&lt;", "\n": " "})
# What would make a block of its own where a paragraph starts: a heading, a quote, a list item, a fence, a
# thematic break (`91.80%` or `-5` stay as they are: a list marker needs a space after it).
_MD_BLOCK_START = re.compile(r"^(\s*)(#{1,6}(?=\s|$)|>|[-+](?=\s|$|-)|~~~)")
_MD_ORDERED = re.compile(r"^(\s*\d{1,9})([.)])(?=\s|$)")


def _md(text: str) -> str:
    escaped = _MD_BLOCK_START.sub(r"\1\\\2", str(text).translate(_MD_ESCAPED))
    return _MD_ORDERED.sub(r"\1\\\2", escaped)


def _md_table(table: Table, page: Page) -> list[str]:
    lines = [f"**{_md(table.title)}**", ""] if table.title else []
    if not table.rows:
        return lines + [_md(table.empty)]
    right = ("count", "rate", "score")
    lines.append("| " + " | ".join(_md(c.label) for c in table.columns) + " |")
    lines.append("|" + "|".join("---:" if c.kind in right else "---" for c in table.columns) + "|")
    for row in table.rows + ([table.total] if table.total else []):
        cells = [_md(cell_text(row.get(c.key), kind_of(row, c), page.rounding)) for c in table.columns]
        if row is table.total:
            cells = [f"**{c}**" if c else c for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


# -- HTML -----------------------------------------------------------------------------------------------------
def to_html(page: Page) -> str:
    template = Template(resources.files("engine.reports").joinpath("bulletin.html").read_text(encoding="utf-8"))
    body = [f"<header><div class='issuer'>{escape(page.issuer)}</div>" if page.issuer else "<header>"]
    if page.number or page.date_line:
        body.append(f"<div class='meta'><span>{escape(page.number)}</span><span>{escape(page.date_line)}</span></div>")
    body.append(f"<h1>{escape(page.title)}</h1></header>")
    for block in page.blocks:
        if isinstance(block, Heading):
            body.append(f"<h2>{escape(block.text)}</h2>")
        elif isinstance(block, Paragraph):
            body.append(f"<p class='{escape(block.style)}'>{escape(block.text)}</p>")
        elif isinstance(block, Table):
            body.append(_html_table(block, page))
        elif isinstance(block, Chart):
            body.append(f"<figure>{bar_chart(block.title, block.bars, target=block.target, rounding=page.rounding)}"
                        + (f"<figcaption>{escape(block.note)}</figcaption>" if block.note else "") + "</figure>")
    if page.footer:
        body.append(f"<footer>{escape(page.footer)}</footer>")
    return template.substitute(page_title=escape(page.title), body="\n".join(body))


def _html_table(table: Table, page: Page) -> str:
    head = f"<h3>{escape(table.title)}</h3>" if table.title else ""
    if not table.rows:
        return f"{head}<p class='empty'>{escape(table.empty)}</p>"
    ths = "".join(f"<th class='{c.kind}'>{escape(c.label)}</th>" for c in table.columns)
    body = []
    for row in table.rows + ([table.total] if table.total else []):
        cls = " class='total'" if row is table.total else ""
        tds = "".join(f"<td class='{kind_of(row, c)}'>{escape(cell_text(row.get(c.key), kind_of(row, c), page.rounding))}"
                      "</td>" for c in table.columns)
        body.append(f"<tr{cls}>{tds}</tr>")
    return f"{head}<table><thead><tr>{ths}</tr></thead><tbody>{''.join(body)}</tbody></table>"


# -- xlsx -----------------------------------------------------------------------------------------------------
def to_xlsx(page: Page) -> bytes:
    import xlsxwriter  # imported here: only xlsx output needs it

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    formats = {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "head": book.add_format({"bold": True, "bg_color": "#EEEEEE", "border": 1, "text_wrap": True,
                                 "valign": "vcenter"}),
        "text": book.add_format({"border": 1, "text_wrap": True, "valign": "top"}),
        "count": book.add_format({"border": 1, "num_format": "#,##0"}),
        "rate": book.add_format({"border": 1, "num_format": "0" + ("." + "0" * page.rounding.decimals
                                                                  if page.rounding.decimals else "") + "%"}),
        "score": book.add_format({"border": 1, "num_format": "0.00"}),
        "date": book.add_format({"border": 1, "num_format": "yyyy-mm-dd", "align": "left"}),
        "time": book.add_format({"border": 1, "num_format": "yyyy-mm-dd hh:mm", "align": "left"}),
        "rank": book.add_format({"border": 1, "num_format": "0", "align": "center"}),
        "missing": book.add_format({"border": 1, "align": "right"}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
    }
    names: set[str] = set()
    summary = book.add_worksheet(_sheet_name("概要", names))
    summary.set_column(0, 0, 110)
    summary.write(0, 0, page.title, formats["title"])
    row = 1
    for text in [m for m in (page.issuer, page.number, page.date_line) if m]:
        summary.write(row, 0, text)
        row += 1
    for block in page.blocks:
        if isinstance(block, (Heading, Paragraph)):
            summary.write(row, 0, block.text, formats["title"] if isinstance(block, Heading) else formats["wrap"])
            row += 1
    charts = {b.sheet: b for b in page.blocks if isinstance(b, Chart) and b.sheet}
    for index, table in enumerate(page.tables()):
        sheet = book.add_worksheet(_sheet_name(table.sheet or table.title or f"表{index + 1}", names))
        _write_table(sheet, table, formats, page)
        chart = charts.get(table.sheet)
        if chart and table.rows:
            _add_chart(book, sheet, table, chart)
    book.close()
    return buffer.getvalue()


def _write_table(sheet, table: Table, formats: dict, page: Page) -> None:
    sheet.write(0, 0, table.title, formats["title"])
    widths = [_display_width(c.label) for c in table.columns]
    for col, column in enumerate(table.columns):
        sheet.write(1, col, column.label, formats["head"])
    rows = table.rows + ([table.total] if table.total else [])
    for r, row in enumerate(rows, start=2):
        for col, column in enumerate(table.columns):
            value, kind = row.get(column.key), kind_of(row, column)
            shown = cell_text(value, kind, page.rounding)
            widths[col] = max(widths[col], _display_width(shown))
            number = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
            if kind in ("count", "rank") and isinstance(value, int) and not isinstance(value, bool):
                sheet.write_number(r, col, value, formats[kind])
            elif kind == "rate" and number:
                sheet.write_number(r, col, float(Decimal(value) / 100), formats["rate"])  # 0.918, not 0.9179999
            elif kind == "score" and number:
                sheet.write_number(r, col, float(value), formats["score"])
            elif kind == "date" and isinstance(value, datetime):
                sheet.write_datetime(r, col, local(value).replace(tzinfo=None), formats["time"])
            elif kind == "date" and isinstance(value, date):
                sheet.write_datetime(r, col, datetime.combine(value, time()), formats["date"])
            elif kind in ("count", "rate", "score", "rank"):
                sheet.write_string(r, col, shown, formats["missing"])
            else:
                sheet.write_string(r, col, shown, formats["text"])
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(max(width + 2, 6), 60))
    sheet.freeze_panes(2, 0)
    if not table.rows:
        sheet.write(2, 0, table.empty)


def _add_chart(book, sheet, table: Table, chart: Chart) -> None:
    rate_col = next((i for i, c in enumerate(table.columns) if c.kind == "rate"), None)
    if rate_col is None:
        return
    name = sheet.get_name()
    last = 1 + len(table.rows)
    bar = book.add_chart({"type": "bar"})
    bar.add_series({"name": chart.title, "categories": [name, 2, 0, last, 0],
                    "values": [name, 2, rate_col, last, rate_col], "fill": {"color": "#2F5D8A"},
                    "data_labels": {"value": True}})
    bar.set_title({"name": chart.title})
    bar.set_x_axis({"min": 0, "max": 1, "num_format": "0%"})
    bar.set_y_axis({"reverse": True})
    bar.set_legend({"none": True})
    sheet.insert_chart(last + 2, 0, bar, {"x_scale": 1.4, "y_scale": 1.2})


def _sheet_name(wanted: str, taken: set[str]) -> str:
    base = (wanted.translate(SHEET_FORBIDDEN).strip("'") or "表")[:28]
    name, n = base, 2
    while name.lower() in {t.lower() for t in taken}:
        name, n = f"{base[:26]}_{n}", n + 1
    taken.add(name)
    return name
