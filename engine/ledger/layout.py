"""Where the data is in a sheet kept by hand: the header row, its columns, and which rows below are data.

The header row is the row among the first ten with the most known headers. Above it: title rows and
`LABEL：value` metadata rows. A header cell merged over several columns is one logical column; one merged
over two rows counts for both; in a two-row header (a group title such as 五落实 over its sub-headers) the
lower row names the columns, and a column headed only in the upper row keeps that header: an upper header
merged across columns is a group title only when the lower row has sub-headers under its span (隐患内容 merged
over two columns with nothing under it heads them both), and a known field header is never taken for a group
title over sub-headers none of which is known. Below: blank rows,
rows with nothing but numbers (pre-numbered 序号, column numbers), metadata rows (填表人：…) and totals rows
(the first or second filled cell saying 合计, 总计, 小计, or 合计：12项) are skipped;
a notes block (说明：…, 备注：…) ends the data. A value merged down over several data rows belongs to each.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterator

from engine.domain.errors import InvalidInput
from engine.ledger.grid import Grid
from engine.domain.values import cell_text
from engine.ledger.words import IGNORE, Words, header_key, header_scale, value_key

HEADER_SEARCH_ROWS = 10
MIN_HEADER_SCORE = 2
_LABEL = re.compile(r"\s*([^\s:：]{1,12})\s*[:：]")
_PAIR = re.compile(r"([^\s:：]{1,12})\s*[:：]\s*(.*?)(?=\s+[^\s:：]{1,12}\s*[:：]|$)", re.S)
_NOTE_FOLLOWS = re.compile(r"$|[:：、.．\s\d(（]")
_SERIAL_TEXT = re.compile(r"^\s*\d{1,5}\s*$")
_TOTAL_REST = re.compile(r":?(?:共?\d+(?:\.\d+)?(?:项|条|处|个|家|户|起)?)?$")  # after 合计: `：12项`, `共12项`
MAX_TOTAL_CELL = 30


@dataclass(frozen=True)
class Column:
    index: int            # first physical column, 0-based
    last: int             # last physical column (a header merged across columns covers several)
    header: str           # as written, whitespace collapsed
    field: str | None     # None: not imported (see `note`)
    scale: int = 1        # 10000 for a money column headed （万元）
    note: str = ""
    why: str = ""         # how the header was matched to its field: exact, `contains 整改期限`, ...

    @property
    def letter(self) -> str:
        return column_letter(self.index)


@dataclass(frozen=True)
class Layout:
    header_row: int       # Excel's number of the (lower) header row
    data_start: int       # grid index of the first row under the header
    columns: tuple[Column, ...]
    titles: tuple[str, ...]
    metadata: dict


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _cell(grid: Grid, r: int, c: int):
    row = grid.rows[r] if r < len(grid.rows) else ()
    return row[c] if c < len(row) else ""


def _blank(value) -> bool:
    return value == "" or value is None or (isinstance(value, str) and not value.strip())


class _Header:
    """The top rows with merges resolved: a cell under a vertical merge reads the merge's value."""

    def __init__(self, grid: Grid, words: Words):
        self.grid, self.words = grid, words
        self.depth = min(len(grid.rows), HEADER_SEARCH_ROWS)
        self.width = max((len(grid.rows[r]) for r in range(self.depth)), default=0)
        self.merge_of: dict = {}
        for merge in grid.merges:
            r0, c0, r1, c1 = merge
            for r in range(r0, min(r1, self.depth + 1) + 1):
                for c in range(c0, min(c1, self.width - 1) + 1):
                    self.merge_of[(r, c)] = merge

    def text(self, r: int, c: int) -> str:
        merge = self.merge_of.get((r, c))
        if merge and merge[1] == c:
            r, c = merge[0], merge[1]
        elif merge:
            return ""  # a later column under a header merged across: part of the first column
        value = _cell(self.grid, r, c)
        return "" if _blank(value) else " ".join(cell_text(value).split())

    def known(self, text: str) -> bool:
        return bool(text) and self.words.match(text).target is not None

    def field_of(self, text: str) -> str | None:
        """The field a header names (None: not a known header, or one that is ignored, such as 序号)."""
        return self.words.match(text).field if text else None

    def headers_of(self, r: int) -> tuple[dict, bool, dict]:
        """Column -> header text for row r, filled from the row above where r has a gap; whether it was; and
        column -> last physical column for a header taken from a cell merged sideways in the row above.

        A header merged across columns in the upper row is a group title (五落实) only when row r has sub-headers
        under its span; with nothing under it, it is the header of the columns it spans. A known field header
        (隐患内容) over sub-headers none of which is known is not lost either: it heads its span, whose cells are
        read together."""
        texts = {c: self.text(r, c) for c in range(self.width)}
        spans: dict[int, int] = {}
        own = sum(self.known(t) for t in texts.values())
        borrowed = False
        if r > 0 and own:
            for c in range(self.width):
                upper = self.merge_of.get((r - 1, c))
                if not upper or upper[1] != c or upper[3] <= c or upper[2] != r - 1:
                    continue  # not the first cell of a header merged sideways in the upper row only
                above = self.text(r - 1, c)
                if not self.known(above):
                    continue
                under = list(range(c, min(upper[3], self.width - 1) + 1))
                lower = [self.merge_of[(r, i)] for i in under if (r, i) in self.merge_of]
                if any(m[1] < c or m[3] > upper[3] for m in lower):
                    continue  # row r's own merges reach past the span: its columns are not the span's
                subs = [texts[i] for i in under if texts[i]]
                if subs and (self.field_of(above) is None or any(self.known(t) for t in subs)):
                    continue  # a group title over its sub-headers
                for i in under:
                    texts[i] = ""
                texts[c], spans[c], borrowed = above, under[-1], True
            covered = {i for first, last in spans.items() for i in range(first + 1, last + 1)}
            for c, text in texts.items():
                if text or c in covered or (self.merge_of.get((r, c)) and self.merge_of[(r, c)][1] != c):
                    continue
                above = self.text(r - 1, c)
                upper = self.merge_of.get((r - 1, c))
                if self.known(above) and not (upper and upper[3] > upper[1]):
                    texts[c], borrowed = above, True
        return texts, borrowed, spans

    def score(self, r: int) -> int:
        texts, _, _ = self.headers_of(r)
        return sum(self.known(t) for t in texts.values())


def find_layout(grid: Grid, words: Words, *, name: str) -> Layout:
    header = _Header(grid, words)
    scores = [header.score(r) for r in range(header.depth)]
    best = max(range(len(scores)), key=lambda r: (scores[r], -r), default=None)
    if best is None or scores[best] < MIN_HEADER_SCORE:
        raise InvalidInput(f"{name}: no header row found in the first {HEADER_SEARCH_ROWS} rows (looked for headers "
                           f"such as 隐患内容, 排查日期, 隐患级别, 企业名称; add your own in a mapping file)")
    texts, borrowed, spans = header.headers_of(best)
    found, covered = [], set()
    for c in range(header.width):
        merge = header.merge_of.get((best, c))
        if merge and merge[1] != c or c in covered:
            continue  # covered by the header merged across from its left
        text = texts[c]
        if not text:
            continue
        last = spans.get(c, merge[3] if merge else c)
        covered.update(range(c + 1, last + 1))
        found.append((c, last, text, words.match(text)))
    # A header naming its field exactly claims it before one that only contains a word of it (企业名称 before
    # 企业编码), and a longer word before a shorter one; among equals, the leftmost column.
    seen: dict[str, str] = {}
    for c, _, _, match in sorted(found, key=lambda f: (-f[3].strength, f[0])):
        if match.field and match.field not in seen:
            seen[match.field] = column_letter(c)
    columns = []
    for c, last, text, match in found:
        target = match.target
        if target == IGNORE:
            columns.append(Column(c, last, text, None, note="ignored"))
        elif target is None:
            columns.append(Column(c, last, text, None, note=match.why))
        elif seen[target] != column_letter(c):
            columns.append(Column(c, last, text, None, note=f"{target} is read from column {seen[target]}"))
        else:
            columns.append(Column(c, last, text, target, scale=header_scale(text) if target == "funds" else 1,
                                  why=match.why))
    if not seen:
        raise InvalidInput(f"{name}: the header row {best + 1} names no field to import")
    covering = [m for m in grid.merges if m[0] <= best <= m[2]]
    top = min([best] + [m[0] for m in covering] + ([best - 1] if borrowed else []))
    data_start = max([best] + [m[2] for m in covering]) + 1
    titles, metadata = [], {}
    for r in range(top):
        cells = [cell_text(v).strip() for v in grid.rows[r] if not _blank(v)]
        cells = list(dict.fromkeys(cells))
        pairs = [p for text in cells for p in metadata_pairs(text)]
        if pairs and all(_LABEL.match(text) for text in cells):
            metadata.update(pairs)
        elif cells:
            titles.append(" ".join(cells))
    return Layout(header_row=best + 1, data_start=data_start, columns=tuple(columns), titles=tuple(titles),
                  metadata=metadata)


def metadata_pairs(text: str) -> list[tuple[str, str]]:
    """`填报单位：某县应急管理局    填报时间：2026年3月5日` -> [(填报单位, 某县应急管理局), (填报时间, 2026年3月5日)]."""
    return [(label, value.strip()) for label, value in _PAIR.findall(text.strip())]


def fill_merged_data(grid: Grid, layout: Layout) -> None:
    """A value merged down over data rows (one enterprise over its several hazards) is each row's value."""
    for r0, c0, r1, _ in grid.merges:
        if r0 < layout.data_start or r1 == r0:
            continue
        value = _cell(grid, r0, c0)
        for r in range(r0 + 1, min(r1, len(grid.rows) - 1) + 1):
            row = grid.rows[r]
            if len(row) <= c0:
                row.extend([""] * (c0 + 1 - len(row)))
            if _blank(row[c0]):
                row[c0] = value


def _is_note(value, words: Words) -> bool:
    if not isinstance(value, str):
        return False
    text = unicodedata.normalize("NFKC", value.strip())
    return any(text.startswith(p) and _NOTE_FOLLOWS.match(text, len(p)) for p in words.notes)


def _totals_test(words: Words):
    """The test of one cell for a totals row's label (合计, 合 计, 合计：, 合计：12项); cheap for other cells."""
    starts = {w[:1] for w in words.totals} | {w[:1].upper() for w in words.totals}
    totals = sorted(words.totals, key=len, reverse=True)

    def is_total(value) -> bool:
        if value.__class__ is not str or len(value) > MAX_TOTAL_CELL or value.lstrip()[:1] not in starts:
            return False
        key = value_key(value)
        return any(key.startswith(w) and _TOTAL_REST.match(key, len(w)) for w in totals)
    return is_total


# A label that asks for a signature (检查人员（签字）：, 被检查单位负责人签字：) makes its row a signature row.
SIGNATURE_WORDS = ("签字", "签名", "签章", "盖章", "签收")
# Beside one, a person's column word (检查人：王建国 李明) is the signer's line too, not a data row.
SIGNER_FIELDS = frozenset({"inspector", "verifier", "responsible_person"})


def _is_metadata(values: list, words: Words) -> bool:
    """Every filled cell `LABEL：value` with a label of metadata (填报人, 审核), or a signature row: a label asking
    for a signature, the others metadata or a person's column word."""
    signed = plain = False
    for value in values:
        match = _LABEL.match(value) if value.__class__ is str else None
        if not match:
            return False
        label = header_key(match[1])
        if label in words.metadata:
            continue
        if any(word in match[1] for word in SIGNATURE_WORDS):
            signed = True
        elif words.headers.get(label) in SIGNER_FIELDS:
            plain = True
        else:
            return False
    return signed or not plain


def _is_number(value) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool) or (
        isinstance(value, str) and bool(_SERIAL_TEXT.match(value)))


def data_rows(grid: Grid, layout: Layout, words: Words) -> Iterator[tuple[int, list]]:
    """(Excel row number, the cells of the columns that have a field, in `layout.columns` order) per data row."""
    mapped = [col for col in layout.columns if col.field]
    columns = [(col.index, col.last) for col in mapped]
    simple = all(first == last for first, last in columns)
    indexes = [first for first, _ in columns]
    headers = [col.header for col in mapped]
    header_set = set(headers)
    is_total = _totals_test(words)
    for r in range(layout.data_start, len(grid.rows)):
        row = grid.rows[r]
        grid.rows[r] = None  # read once: the row's raw cells go as its values are made (memory stays one copy)
        filled = [v for v in row if v != "" and not (v.__class__ is str and v.isspace())]  # _blank, inlined: hot
        if not filled:
            continue
        if len(filled) == 1 and _is_note(filled[0], words):  # a merged notes cell holds its text in one cell
            return  # a notes block: it and everything under it are not data
        if is_total(filled[0]) or len(filled) > 1 and is_total(filled[1]):
            continue  # a totals row, labelled at its left (合计, 小计: the data may go on under a 小计)
        if all(map(_is_number, filled)) or _is_metadata(filled, words):
            continue
        width = len(row)
        if simple:
            cells = [row[i] if i < width else "" for i in indexes]
        else:
            cells = [_combined(row, first, last) for first, last in columns]
        if cells and cells[0] in header_set and _repeats_header(cells, headers):
            continue  # the header again (sheets pasted together, a header on every printed page)
        yield r + 1, cells


def _repeats_header(cells: list, headers: list[str]) -> bool:
    same = sum(isinstance(v, str) and " ".join(v.split()) == h for v, h in zip(cells, headers))
    return same >= max(2, len(headers) // 2)


def _combined(row: list, first: int, last: int):
    values = [v for v in row[first:last + 1] if not _blank(v)]
    if len(values) <= 1:
        return values[0] if values else ""
    return " ".join(cell_text(v).strip() for v in values)
