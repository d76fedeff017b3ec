"""`hazard document ...`: the numbered notices (文书) the engine issued (docs/notices.md)."""
from __future__ import annotations

import click

from cli.options import is_json, json_option


@click.group()
def document():
    """Notices (文书) issued by workflow steps: list, show, print."""


@document.command("list")
@click.option("--case", "case_id", default=None, metavar="CASE", help="Only the notices of this case.")
@click.option("--kind", default=None, help="Only this kind of notice (e.g. rectification-order).")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="Only notices numbered in this year.")
@json_option
@click.pass_context
def list_documents(ctx, case_id, kind, year):
    """List the notices issued, oldest first (those of cases in the reader's reach).

    \b
    Example:
      hazard --actor zhang document list --case HZ-2026-000001 --json
    """
    from cli.output import message, print_json, short_time, table
    from engine.app.notices import notice_dict

    rows = ctx.obj.engine.notices.list(actor=ctx.obj.actor_name, case_id=case_id, kind=kind, year=year)
    if is_json(ctx):
        print_json([notice_dict(r) for r in rows])
        return
    if not rows:
        message("no notices")
        return
    table(["number", "kind", "case", "issued", "sha256"],
          [[r.number, r.title, r.case_id, short_time(r.issued_at), r.sha256[:12]] for r in rows])


@document.command()
@click.argument("number", metavar="NO")
@json_option
@click.pass_context
def show(ctx, number):
    """Show the notice numbered NO as text (its stored, sealed text).

    \b
    Example:
      hazard --actor zhang document show '371721安监责改〔2026〕1号'
    """
    from cli.output import print_json
    from engine.app.notices import notice_dict
    from engine.domain.notices import plain_text

    row = ctx.obj.engine.notices.get(number, actor=ctx.obj.actor_name)
    if is_json(ctx):
        print_json({**notice_dict(row), "text": row.text})
        return
    click.echo(plain_text(row.text), nl=False)


@document.command("print")
@click.argument("number", metavar="NO")
@click.option("--format", "fmt", type=click.Choice(["html"]), default="html", show_default=True,
              help="A printable A4 page (print it to PDF from a browser).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout (whole or not at all: a failed write leaves the old file).")
@click.pass_context
def print_document(ctx, number, fmt, output):
    """Write the notice numbered NO as a printable page: A4, its number, its text, a box for the office's seal.

    \b
    Example:
      hazard --actor zhang document print '371721安监责改〔2026〕1号' --format html --output notice.html
    """
    from cli.output import message
    from engine.domain.notices import to_html

    row = ctx.obj.engine.notices.get(number, actor=ctx.obj.actor_name)
    page = to_html(title=row.title, number=row.number, text=row.text, case_id=row.case_id, sha256=row.sha256)
    if output:
        from cli.files import write_file
        write_file(output, page)
        message(f"{number}: written to {output}")
    else:
        click.echo(page, nl=False)
