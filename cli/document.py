"""`hazard document ...`: the numbered notices (文书) the engine issued (docs/notices.md)."""
from __future__ import annotations

import click

from cli.options import is_json, json_option, version_type


@click.group()
def document():
    """Notices (文书) issued by workflow steps: list, show, serve, print."""


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

    notices = ctx.obj.engine.notices
    rows = notices.list(actor=ctx.obj.actor_name, case_id=case_id, kind=kind, year=year)
    served = notices.services(rows)
    if is_json(ctx):
        print_json([notice_dict(r, served.get(r.number)) for r in rows])
        return
    if not rows:
        message("no notices")
        return
    table(["number", "kind", "case", "issued", "served", "sha256"],
          [[r.number, r.title, r.case_id, short_time(r.issued_at), _served_short(served.get(r.number)), r.sha256[:12]]
           for r in rows])


def _served_short(service: dict | None) -> str:
    if service is None:
        return "not served"
    return f"{service['served_at'][:16].replace('T', ' ')} {service['signed_by']}"


def _served_line(service: dict | None) -> str:
    if service is None:
        return "送达: not served\n"
    receipt = service.get("receipt")
    tail = f"; receipt {receipt['name']} {receipt['sha256'][:12]}" if receipt else ""
    return (f"送达: served {service['served_at'].replace('T', ' ')} by {service['by']}, signed for by "
            f"{service['signed_by']}{tail}\n")


@document.command()
@click.argument("number", metavar="NO")
@json_option
@click.pass_context
def show(ctx, number):
    """Show the notice numbered NO as text (its stored, sealed text), and its service.

    \b
    Example:
      hazard --actor zhang document show '371721安监责改〔2026〕1号'
    """
    from cli.output import print_json
    from engine.app.notices import notice_dict
    from engine.domain.notices import plain_text

    notices = ctx.obj.engine.notices
    row = notices.get(number, actor=ctx.obj.actor_name)
    service = notices.services([row]).get(row.number)
    if is_json(ctx):
        print_json({**notice_dict(row, service), "text": row.text})
        return
    click.echo(plain_text(row.text), nl=False)
    click.echo("\n" + _served_line(service), nl=False)


@document.command()
@click.argument("number", metavar="NO")
@click.option("--by", "by", required=True, metavar="NAME", help="Who served the notice (送达人).")
@click.option("--at", "served_at", required=True, metavar="TIME",
              help="When it was served (e.g. 2026-03-03T10:00; China Standard Time unless an offset is given).")
@click.option("--signed-by", "signed_by", required=True, metavar="TEXT", help="Who signed for it (受送达人签收).")
@click.option("--receipt", default=None, type=click.Path(dir_okay=False), metavar="FILE",
              help="The signed receipt (a photo or PDF), attached to the case as evidence of kind 'notice'.")
@click.option("--expect-version", type=version_type(), default=None,
              help="Refuse with a conflict unless the case is still at this version (what you looked at).")
@json_option
@click.pass_context
def serve(ctx, number, by, served_at, signed_by, receipt, expect_version):
    """Record that the notice numbered NO was served: by whom, when, who signed for it.

    A `serve_notice` event on the notice's case seals the service (the state is kept); with --receipt the signed
    receipt is attached in the same step as evidence of kind `notice`. A supervisor or the committee over the
    case's region records it; a notice is served once.

    \b
    Example:
      hazard --actor zhang document serve '371721安监责改〔2026〕1号' --by 张三 --at 2026-03-03 --signed-by 王五
    """
    from cli.output import message, print_json

    app = ctx.obj
    after, served = app.engine.commands.serve_notice(number, actor=app.actor_name, by=by, served_at=served_at,
                                                      signed_by=signed_by, receipt=receipt,
                                                      expected_version=expect_version, now=app.now)
    if is_json(ctx):
        print_json({**served, "case_id": after.id, "version": after.version})
        return
    message(f"{number}: served {served['served_at'].replace('T', ' ')} by {served['by']}, signed for by "
            f"{served['signed_by']} ({after.id} version {after.version})")


@document.command("print")
@click.argument("number", metavar="NO")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True,
              help="html: a printable A4 page; pdf: that page printed by headless Chromium (A4, Chinese fonts).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout (whole or not at all: a failed write leaves the old file).")
@click.pass_context
def print_document(ctx, number, fmt, output):
    """Write the notice numbered NO as a printable page: A4, its number, its text, a box for the office's seal.

    --format pdf prints that page through headless Chromium (HAZARD_CHROMIUM names another browser binary);
    a PDF goes to --output, or to stdout when it is not a terminal.

    \b
    Example:
      hazard --actor zhang document print '371721安监责改〔2026〕1号' --format pdf --output notice.pdf
    """
    from cli.output import message
    from engine.domain.notices import to_html

    row = ctx.obj.engine.notices.get(number, actor=ctx.obj.actor_name)
    page = to_html(title=row.title, number=row.number, text=row.text, case_id=row.case_id, sha256=row.sha256)
    if fmt == "pdf":
        import sys

        from cli.pdf import html_to_pdf
        if not output and sys.stdout.isatty():
            raise click.UsageError("a PDF is not written to a terminal: give --output FILE (or redirect stdout)")
        data = html_to_pdf(page, target=output or "stdout")
        if output:
            from cli.files import write_file
            write_file(output, data)
            message(f"{number}: written to {output}")
        else:
            click.get_binary_stream("stdout").write(data)
        return
    if output:
        from cli.files import write_file
        write_file(output, page)
        message(f"{number}: written to {output}")
    else:
        click.echo(page, nl=False)
