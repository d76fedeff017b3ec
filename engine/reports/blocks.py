"""A printed report as plain blocks (headings, paragraphs, tables, a chart), the one shape every format renders.

Bulletins, the four lists and the stats table are built as a `Page`; engine/reports/output.py turns a page
into Markdown, self-contained HTML or xlsx. Table cells hold real values: counts as int, rates as the
rounded Decimal (or None: printed with the zero text), dates as dates, regions as codes shown by name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from engine.domain import regions
from engine.domain.clock import local
from engine.reports.figures import DEFAULT_ROUNDING, Rounding, format_rate

KINDS = ("text", "id", "count", "rank", "rate", "score", "date", "region")  # id: a case number, never wrapped
# rank: a place (1, 2, 3 or a word such as 不参与排名), a number in xlsx, printed as written elsewhere
RUNG_LABELS = {"remind": "预警", "notice": "通报", "interview": "约谈", "post_supervision": "挂牌督办",
               "expose": "公开曝光", "suspend": "停产整顿"}
LEVEL_LABELS = {"major": "重大", "general": "一般"}
# The flags the ladder sets (engine/domain/escalation/actions.py: expose, suspend), named after the actions that set
# them, for a vocabulary that does not carry flags; where engine/domain/data/vocabulary.yaml has a `flags:` list
# (vocabularies.flags()), its labels are the ones printed, as in the dossier. A flag in neither prints as stored.
def flag_labels(flags) -> list[str]:
    from engine.domain import vocabularies
    return [vocabularies.label_of("flags", f) for f in flags or ()]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[dict]
    sheet: str = ""          # the xlsx sheet's name; the title when empty
    empty: str = "无"         # printed instead of a table without rows
    total: dict | None = None  # a last row set apart (合计)
    # a row may hold "_kinds": {key: kind} for cells whose kind is not their column's (the 整改率 row of a table
    # of counts); see kind_of


def kind_of(row: dict, column: Column) -> str:
    """The kind of one cell: the row's own for that key ("_kinds"), else the column's."""
    return (row.get("_kinds") or {}).get(column.key, column.kind)


@dataclass
class Paragraph:
    text: str
    style: str = ""          # "" | lead | note | anchor


@dataclass
class Heading:
    text: str


@dataclass
class Chart:
    title: str
    bars: list[tuple[str, Decimal | None]]
    target: Decimal | None = None
    note: str = ""
    sheet: str = ""          # xlsx: the sheet of the table it is drawn from, where a native chart goes


@dataclass
class Page:
    title: str
    blocks: list = field(default_factory=list)
    issuer: str = ""
    number: str = ""
    date_line: str = ""
    footer: str = ""
    rounding: Rounding = DEFAULT_ROUNDING

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]


def cell_text(value, kind: str, rounding: Rounding = DEFAULT_ROUNDING) -> str:
    """A cell as printed: region names, rates with the report's rounding, dates as YYYY-MM-DD."""
    if kind == "rate":
        return format_rate(value, rounding) if value is None or isinstance(value, Decimal) else str(value)
    if kind == "score":
        return "—" if value is None else f"{value:.2f}" if isinstance(value, (Decimal, float)) else str(value)
    if value is None or value == "":
        return "—"
    if kind == "region":
        # a code is shown by its name; a row label such as 合计 stands as written
        return regions.label(value) if str(value).isascii() and str(value).isdigit() else str(value)
    if isinstance(value, datetime):
        return local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return "、".join(str(v) for v in value) or "—"
    return str(value)


def rung_label(action) -> str:
    return RUNG_LABELS.get(action, action or "—")
