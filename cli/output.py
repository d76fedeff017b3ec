"""Data to stdout (one JSON document, or tables that align Chinese text), messages to stderr."""
from __future__ import annotations

import json
import sys

import click


def print_json(document) -> None:
    from engine.documents import json_default
    click.echo(json.dumps(document, ensure_ascii=False, indent=2, default=json_default))


def message(text: str) -> None:
    click.echo(text, err=True)


def console():
    from rich.console import Console
    # Piped or captured output is read by scripts and tests: never truncate it to an 80-column guess.
    width = None if sys.stdout.isatty() else 4000
    return Console(file=sys.stdout, width=width, soft_wrap=False, highlight=False, emoji=False)


def table(columns: list[str], rows: list[list], *, title: str | None = None) -> None:
    """A table whose columns line up for wide (CJK) characters too."""
    from rich import box
    from rich.table import Table

    t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    for name in columns:
        t.add_column(name, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    console().print(t)


def pairs(rows: list[tuple[str, object]], *, title: str | None = None) -> None:
    from rich import box
    from rich.table import Table

    t = Table(show_header=False, title=title, box=box.SIMPLE, title_justify="left", pad_edge=False)
    t.add_column(style="bold")
    t.add_column()
    for key, value in rows:
        t.add_row(key, "" if value is None else str(value))
    console().print(t)


def short_time(value) -> str:
    from engine.clock import local
    if value is None:
        return ""
    return local(value).strftime("%Y-%m-%d %H:%M")


def error_document(exc) -> dict:
    doc = {"type": type(exc).__name__, "message": str(exc), "exit_code": exc.exit_code}
    for attr in ("rule", "missing", "case_id", "trigger", "actor", "kind", "key", "field", "problems"):
        value = getattr(exc, attr, None)
        if value not in (None, (), []):
            doc[attr] = list(value) if isinstance(value, tuple) else value
    if "problems" in doc:
        doc["problems"] = [{"file": f, "line": line, "message": m} for f, line, m in doc["problems"]]
    return {"error": doc}
