"""Data to stdout (one JSON document, or tables that align Chinese text), messages to stderr.

Tables fit the terminal: ids, dates, codes and numbers never wrap; long text (titles, enterprises, measures)
is cut with an ellipsis, whole with `--wide` (or `--json`). Piped output is as wide as `COLUMNS` says, or
100 columns: a reader of a log or `grep` wants lines, not 300-character rows. The tables are drawn here
with the display width of each character (a Chinese character takes two columns), which costs nothing to
import: a command's start-up is most of what a supervisor waits for.

When a table is wider than the terminal it gives up room in this order, each step only if the one before
was not enough (`layout`):
1. columns with a narrow form show it (`Forms`: 重大 for 重大事故隐患, 曹县 for `371721 曹县`);
2. the `optional` columns are left out, the last named first, while the text columns would otherwise get
   less than `READABLE` columns each, or their own `readable` width (a note on stderr names them);
3. the gap between columns narrows to one space;
4. the text columns are cut below `READABLE`, down to a character and the ellipsis;
5. only then, the terminal being narrower than the ids and dates alone, columns that were not optional go:
   text columns first (rightmost first), then the others from the right, the first column always staying.
So a status or an overdue column is never left out while a free-text column is shown, and the text a user
recognises a row by is cut last. The wide forms are shown only where the text columns still get
`GENEROUS` columns each beside them.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import unicodedata
from dataclasses import dataclass

import click

PIPE_WIDTH = 100
# Columns whose values are prose: they give up width first and are cut with an ellipsis.
TEXT_COLUMNS = frozenset({"title", "enterprise", "data", "signed", "measures", "note", "reason", "file", "label",
                          "state label", "action label", "what", "detail", "summary", "roles", "regions"})
GAP = "  "
GENEROUS = 20   # display columns a text column keeps before wide forms give way to narrow ones (10 characters)
READABLE = 10   # ... before optional columns are left out (4 Chinese characters and the ellipsis)
LEAST = 4       # ... before columns that are not optional are left out (one character and the ellipsis)


@dataclass(frozen=True)
class Forms:
    """A cell with a wide and a narrow form: a narrow table shows the narrow form of the whole column (重大
    rather than 重大事故隐患, 曹县 rather than `371721 曹县`) before it cuts text or leaves a column out."""

    wide: str
    narrow: str

    def __str__(self) -> str:
        return self.wide


def print_json(document) -> None:
    from engine.domain.documents import json_default
    ctx = click.get_current_context(silent=True)
    if isinstance(document, dict) and getattr(ctx.find_root().obj if ctx else None, "drill", False):
        document = {**document, "drill": True}  # a drill database's documents say so, as its stderr does
    click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=json_default))


def counted(n: int, noun: str) -> str:
    """`1 case`, `2 cases`: a count with its noun as English writes it."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def message(text: str) -> None:
    click.echo(text, err=True)


def _wide() -> bool:
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx else None
    return bool(getattr(obj, "wide", False))


def width() -> int:
    """Columns available: the terminal's, else COLUMNS, else 100; unbounded with --wide."""
    if _wide():
        return 1_000_000
    if sys.stdout.isatty():
        return shutil.get_terminal_size((PIPE_WIDTH, 24)).columns
    try:
        return int(os.environ.get("COLUMNS", "")) or PIPE_WIDTH
    except ValueError:
        return PIPE_WIDTH


def cell_len(text: str) -> int:
    """Display columns of `text`: East Asian wide and full-width characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def fit(text: str, columns: int) -> str:
    """`text` cut to `columns` display columns, ending in an ellipsis when it had to be cut."""
    if cell_len(text) <= columns:
        return text
    kept, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > columns - 1:
            break
        kept.append(ch)
        used += w
    return "".join(kept) + "…"


def _pad(text: str, columns: int) -> str:
    return text + " " * max(columns - cell_len(text), 0)


@dataclass(frozen=True)
class Layout:
    """How a table is drawn at a width: the columns kept and their widths, which went, which forms show."""

    keep: list[int]          # indexes of the columns shown, in order
    widths: dict[int, int]   # display columns of each shown column
    narrow: bool             # the columns with a narrow form (`Forms`) show it
    gap: str
    hidden: list[str]        # the columns left out, in the order they went
    is_text: list[bool]      # per column: prose, cut with an ellipsis to its width


def cell_text(value, *, narrow: bool = False) -> str:
    """What a cell prints: its narrow or wide form, on one line."""
    if isinstance(value, Forms):
        value = value.narrow if narrow else value.wide
    return " ".join(("" if value is None else str(value)).split("\n"))


def layout(columns: list[str], rows: list[list], *, available: int, text=(), optional=(), readable=None,
           wide: bool = False) -> Layout:
    """The table's layout at `available` display columns (see the module docstring for the order)."""
    is_text = [name in TEXT_COLUMNS or name in text for name in columns]
    floors = {columns.index(name): least for name, least in (readable or {}).items() if name in columns}

    def full_widths(narrow: bool) -> list[int]:
        return [max([cell_len(name)] + [cell_len(cell_text(r[i], narrow=narrow)) for r in rows if i < len(r)])
                for i, name in enumerate(columns)]

    wide_full = full_widths(False)
    keep = list(range(len(columns)))
    if wide:
        return Layout(keep, dict(enumerate(wide_full)), False, GAP, [], is_text)
    narrow_full = full_widths(True)

    def need(full: list[int], floor: int | None, gap: int) -> int:
        """Columns the kept columns take with each text column at `floor` (its own readable width where None),
        or its whole width where that is less."""
        return sum(min(full[i], floors.get(i, READABLE) if floor is None else floor) if is_text[i] else full[i]
                   for i in keep) + gap * (len(keep) - 1)

    hidden: list[str] = []

    def leave_out(i: int) -> None:
        keep.remove(i)
        hidden.append(columns[i])

    narrow = narrow_full != wide_full and need(wide_full, GENEROUS, len(GAP)) > available
    full = narrow_full if narrow else wide_full
    for name in reversed(optional):
        if need(full, None, len(GAP)) <= available:
            break
        if name in columns and columns.index(name) in keep and len(keep) > 1:
            leave_out(columns.index(name))
    gap = len(GAP) if need(full, None, len(GAP)) <= available else 1
    # The last resort: the ids and dates alone are wider than the terminal (a table would wrap its dates).
    for i in [i for i in reversed(keep[1:]) if is_text[i]] + [i for i in reversed(keep[1:]) if not is_text[i]]:
        if need(full, LEAST, gap) <= available:
            break
        leave_out(i)
    widths = {i: full[i] for i in keep}
    prose = [i for i in keep if is_text[i]]
    spare = available - sum(full[i] for i in keep if not is_text[i]) - gap * (len(keep) - 1)
    if prose and sum(full[i] for i in prose) > spare:
        widths.update(_share(spare, {i: full[i] for i in prose}, {i: floors.get(i, READABLE) for i in prose}))
    return Layout(keep, widths, narrow, " " * gap, hidden, is_text)


def _share(spare: int, full: dict[int, int], readable: dict[int, int]) -> dict[int, int]:
    """Widths of the text columns in `spare` display columns: each its readable width first (or, where even
    that does not fit, the least), then what is left shared out evenly, a column never wider than its text."""
    widths = {i: min(full[i], readable[i]) for i in full}
    if sum(widths.values()) > spare:
        widths = {i: min(full[i], LEAST) for i in full}
    left = spare - sum(widths.values())
    growing = sorted(full, key=lambda i: full[i] - widths[i])
    while growing and left > 0:
        i = growing.pop(0)
        extra = min(full[i] - widths[i], -(-left // (len(growing) + 1)))  # a column odd by one keeps it
        widths[i] += extra
        left -= extra
    return widths


def table(columns: list[str], rows: list[list], *, title: str | None = None, text: tuple[str, ...] = (),
          optional: tuple[str, ...] = (), readable: dict[str, int] | None = None) -> None:
    """A table whose columns line up for wide (CJK) characters too, fitted to the terminal.

    `text` names columns of prose besides `TEXT_COLUMNS` (cut with an ellipsis when narrow); `optional` the
    columns that may be left out, most useful first (the last named goes first); `readable` a text column's
    own width below which the optional columns go before it is cut further (default `READABLE`); a cell may
    be `Forms` (a wide and a narrow form). The module docstring says in which order a table gives up room.
    """
    wide, available = _wide(), width()
    plan = layout(columns, rows, available=available, text=text, optional=optional, readable=readable, wide=wide)
    lines = [] if title is None else [title if wide else fit(title, available), ""]
    lines.append(plan.gap.join(_pad(fit(columns[i], plan.widths[i]), plan.widths[i]) for i in plan.keep).rstrip())
    lines.append("─" * cell_len(lines[-1]))
    for row in rows:
        values = [cell_text(row[i], narrow=plan.narrow) if i < len(row) else "" for i in plan.keep]
        lines.append(plan.gap.join(_pad(fit(v, plan.widths[i]) if plan.is_text[i] and not wide else v, plan.widths[i])
                                   for i, v in zip(plan.keep, values)).rstrip())
    click.echo("\n".join(lines))
    if plan.hidden:
        shown_order = sorted(plan.hidden, key=columns.index)
        message(f"(not shown at this width: {', '.join(shown_order)}; --wide or --json shows everything)")


def level_forms(level: str) -> Forms:
    """重大事故隐患, or 重大 where the table is narrow."""
    from engine.domain.vocabularies import label_of
    return Forms(label_of("level", level), label_of("level", level, short=True))


def deadline_forms(case) -> Forms | str:
    """The current deadline; an extended one says so: `2026-06-30 (原 2026-04-30)`, narrow `2026-06-30*`."""
    from engine.domain.escalation.decisions import original_deadline
    first = original_deadline(case.decisions, case.deadline)
    if case.deadline and first and first != case.deadline:
        return Forms(f"{case.deadline} (原 {first})", f"{case.deadline}*")
    return case.deadline or ""


def region_forms(code: str) -> Forms:
    """`371721 曹县`, or 曹县 where the table is narrow."""
    from engine.domain import regions
    return Forms(regions.code_and_name(code), regions.name_or_code(code))


def key_values(mapping: dict) -> str:
    """`name=value; name=value`: what an event signed, in the fewest columns a table can give it."""
    return "; ".join(f"{k}={_written(v)}" for k, v in mapping.items())


def _written(value) -> str:
    """A signed value as a reader takes it: lists and mappings as JSON (no Python reprs), the rest as text."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def pairs(rows: list[tuple[str, object]], *, title: str | None = None) -> None:
    """Name and value per line, the values lined up; long values wrap under themselves, never cut."""
    keys = [str(k) for k, _ in rows]
    left = max((cell_len(k) for k in keys), default=0)
    lines = [] if title is None else [title, ""]
    for key, (_, value) in zip(keys, rows):
        lines.append(f"{_pad(key, left)}   {'' if value is None else value}".rstrip())
    click.echo("\n".join(lines))


def short_time(value) -> str:
    from engine.domain.clock import local
    if value is None:
        return ""
    return local(value).strftime("%Y-%m-%d %H:%M")
