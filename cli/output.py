"""Data to stdout (one JSON document, or tables that align Chinese text), messages to stderr.

Tables fit the terminal: ids, dates, codes and numbers never wrap; long text (titles, enterprises, measures)
is cut with an ellipsis, whole with `--wide` (or `--json`). Piped output is as wide as `COLUMNS` says, or
100 columns: a reader of a log or `grep` wants lines, not 300-character rows.
"""
from __future__ import annotations

import json
import os
import sys

import click

PIPE_WIDTH = 100
# Columns whose values are prose: they give up width first and are cut with an ellipsis.
TEXT_COLUMNS = frozenset({"title", "enterprise", "data", "signed", "measures", "note", "reason", "file", "label",
                          "state label", "action label", "what", "detail", "summary", "roles", "regions"})


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


def console():
    from rich.console import Console
    if _wide():
        width = 100_000
    elif sys.stdout.isatty():
        width = None
    else:
        try:
            width = int(os.environ.get("COLUMNS", "")) or PIPE_WIDTH
        except ValueError:
            width = PIPE_WIDTH
    return Console(file=sys.stdout, width=width, soft_wrap=False, highlight=False, emoji=False,
                   force_terminal=False if not sys.stdout.isatty() else None)


def table(columns: list[str], rows: list[list], *, title: str | None = None, text: tuple[str, ...] = (),
          optional: tuple[str, ...] = ()) -> None:
    """A table whose columns line up for wide (CJK) characters too; see the module docstring for widths.

    When the ids, dates and codes alone do not fit, the `optional` columns go first (a note on stderr says
    which); the table is never squeezed into splitting an id.
    """
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table

    cells = [["" if v is None else str(v) for v in row] for row in rows]
    wide = _wide()
    out = console()
    is_text = [name in TEXT_COLUMNS or name in text for name in columns]
    widths = [min(len(name), 8) if prose else max([cell_len(name)] + [cell_len(r[i]) for r in cells if i < len(r)])
              for i, (name, prose) in enumerate(zip(columns, is_text))]
    keep = list(range(len(columns)))
    # Each column: its cells, a padding space each side and one divider; plus the two edges.
    need = lambda: sum(widths[i] + 3 for i in keep) + 1  # noqa: E731
    hidden = []
    for name in reversed(optional):
        if wide or need() <= out.width:
            break
        if name in columns:
            index = columns.index(name)
            keep.remove(index)
            hidden.append(name)
    if need() > out.width:
        out.width = need()  # longer lines rather than ids cut in half
    prose = [i for i in keep if is_text[i]]
    room = out.width - sum(widths[i] + 3 for i in keep if not is_text[i]) - 3 * len(prose) - 1
    share = max(room // len(prose), 8) if prose else 0
    t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False, expand=False)
    for i in keep:
        if is_text[i]:
            t.add_column(columns[i], no_wrap=not wide, overflow="fold" if wide else "ellipsis",
                         max_width=None if wide else share)
        else:
            t.add_column(columns[i], no_wrap=True, min_width=widths[i])
    for row in cells:
        t.add_row(*(row[i] if i < len(row) else "" for i in keep))
    _print(out, t)
    if hidden:
        message(f"(not shown at this width: {', '.join(reversed(hidden))}; --wide or --json shows everything)")


def _print(out, renderable) -> None:
    """Print without the trailing blanks rich pads lines with (piped output is read by people and grep)."""
    with out.capture() as captured:
        out.print(renderable)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def pairs(rows: list[tuple[str, object]], *, title: str | None = None) -> None:
    from rich import box
    from rich.table import Table

    t = Table(show_header=False, title=title, box=box.SIMPLE, title_justify="left", pad_edge=False)
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    for key, value in rows:
        t.add_row(key, "" if value is None else str(value))
    _print(console(), t)


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
