"""Data to stdout (one JSON document, or tables that align Chinese text), messages to stderr.

Tables fit the terminal: ids, dates, codes and numbers never wrap; long text (titles, enterprises, measures)
is cut with an ellipsis, whole with `--wide` (or `--json`). Piped output is as wide as `COLUMNS` says, or
100 columns: a reader of a log or `grep` wants lines, not 300-character rows. The tables are drawn here
with the display width of each character (a Chinese character takes two columns), which costs nothing to
import: a command's start-up is most of what a supervisor waits for.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import unicodedata

import click

PIPE_WIDTH = 100
# Columns whose values are prose: they give up width first and are cut with an ellipsis.
TEXT_COLUMNS = frozenset({"title", "enterprise", "data", "signed", "measures", "note", "reason", "file", "label",
                          "state label", "action label", "what", "detail", "summary", "roles", "regions"})
GAP = "  "


def print_json(document) -> None:
    from engine.documents import json_default
    ctx = click.get_current_context(silent=True)
    if isinstance(document, dict) and getattr(ctx.find_root().obj if ctx else None, "drill", False):
        document = {**document, "drill": True}  # a drill database's documents say so, as its stderr does
    click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=json_default))


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


def table(columns: list[str], rows: list[list], *, title: str | None = None, text: tuple[str, ...] = (),
          optional: tuple[str, ...] = ()) -> None:
    """A table whose columns line up for wide (CJK) characters too; see the module docstring for widths.

    When the ids, dates and codes alone do not fit, the `optional` columns go first (a note on stderr says
    which); the table is never squeezed into splitting an id.
    """
    cells = [[" ".join(("" if v is None else str(v)).split("\n")) for v in row] for row in rows]
    wide, available = _wide(), width()
    is_text = [name in TEXT_COLUMNS or name in text for name in columns]
    full = [max([cell_len(columns[i])] + [cell_len(r[i]) for r in cells if i < len(r)]) for i in range(len(columns))]
    least = [min(full[i], 6) if is_text[i] else full[i] for i in range(len(columns))]
    keep = list(range(len(columns)))
    need = lambda: sum(least[i] for i in keep) + len(GAP) * (len(keep) - 1)  # noqa: E731
    hidden = []
    # The optional columns go first, then (ids, dates and codes never being cut) the rightmost ones, the first
    # column always staying: a table wider than the terminal would wrap its dates across lines.
    for i in [columns.index(name) for name in reversed(optional) if name in columns] + list(range(len(columns) - 1, 0, -1)):
        if wide or need() <= available:
            break
        if i in keep and len(keep) > 1:
            keep.remove(i)
            hidden.append(columns[i])
    widths = {i: full[i] for i in keep}
    prose = [i for i in keep if is_text[i]]
    spare = available - sum(full[i] for i in keep if not is_text[i]) - len(GAP) * (len(keep) - 1)
    if prose and not wide and sum(full[i] for i in prose) > spare:
        # Share what is left among the prose columns, the narrow ones keeping their whole width.
        for i in sorted(prose, key=lambda i: full[i]):
            share = max(spare // len(prose), least[i])
            widths[i] = min(full[i], share)
            spare -= widths[i]
            prose = [j for j in prose if j != i]
    lines = [] if title is None else [title if wide else fit(title, available), ""]
    lines.append(GAP.join(_pad(fit(columns[i], widths[i]), widths[i]) for i in keep).rstrip())
    lines.append("─" * cell_len(lines[-1]))
    for row in cells:
        values = [row[i] if i < len(row) else "" for i in keep]
        lines.append(GAP.join(_pad(fit(v, widths[i]) if is_text[i] and not wide else v, widths[i])
                              for i, v in zip(keep, values)).rstrip())
    click.echo("\n".join(lines))
    if hidden:
        message(f"(not shown at this width: {', '.join(reversed(hidden))}; --wide or --json shows everything)")


def pairs(rows: list[tuple[str, object]], *, title: str | None = None) -> None:
    """Name and value per line, the values lined up; long values wrap under themselves, never cut."""
    keys = [str(k) for k, _ in rows]
    left = max((cell_len(k) for k in keys), default=0)
    lines = [] if title is None else [title, ""]
    for key, (_, value) in zip(keys, rows):
        lines.append(f"{_pad(key, left)}   {'' if value is None else value}".rstrip())
    click.echo("\n".join(lines))


def short_time(value) -> str:
    from engine.clock import local
    if value is None:
        return ""
    return local(value).strftime("%Y-%m-%d %H:%M")


def error_document(exc, *, hint: str | None = None) -> dict:
    doc = {"type": type(exc).__name__, "message": str(exc), "exit_code": exc.exit_code}
    for attr in ("rule", "missing", "case_id", "trigger", "actor", "kind", "key", "field", "problems"):
        value = getattr(exc, attr, None)
        if value not in (None, (), [], ""):
            doc[attr] = list(value) if isinstance(value, tuple) else value
    if "problems" in doc:
        doc["problems"] = [{"file": f, "line": line, "message": m} for f, line, m in doc["problems"]]
    if hint:
        doc["hint"] = hint
    return {"error": doc}
