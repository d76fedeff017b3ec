"""`hazard report ...`: figures, the four lists, bulletins and rankings. Read-only; `--json` gives exact counts.

The engine is imported inside the commands (the choices below are plain words), so `hazard --help` stays fast.
"""
from __future__ import annotations

import sys

import click

from cli.options import is_json, json_option

BY_FIELDS = ("region", "province", "city", "county", "industry", "source", "level", "department", "enterprise",
             "state", "grade")  # engine.reports.tally.GROUP_FIELDS (a test keeps them equal)
COUNT_COLUMNS = (("found", "found"), ("rectified", "rectified"), ("open", "open"), ("overdue", "overdue"),
                 ("rectified_on_time", "on time"), ("not_yet_due", "not yet due"))
RATE_COLUMNS = (("rate", "rate"), ("on_time_rate", "on-time rate"), ("accepted", "accepted"),
                ("accepted_rate", "accepted rate"))  # acceptance (验收) a further column after the rates

definition_option = click.option(
    "--definition", "definition_file", type=click.Path(exists=True, dir_okay=False), default=None,
    help="A report definition (YAML: rounding, the lists' rules, the bulletin's layout); default: the shipped one.")


@click.group()
def report():
    """Figures, the four lists (四个清单), bulletins (周简报、月通报) and rankings (考核排序); read-only."""


def read_text(path: str) -> str:
    """A definition file's text; one that is not UTF-8 is a problem of the file, not a crash."""
    from engine.domain.errors import DefinitionInvalid
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError:
        raise DefinitionInvalid([(path, 1, "not UTF-8 text")]) from None


def _definition(ctx, path: str | None):
    reports = ctx.obj.engine.reports
    return reports.definition(read_text(path), path) if path else reports.definition()


def _write(output: str | None, data, fmt: str, what: str) -> None:
    """Text or xlsx bytes to the file (whole or not at all, cli/files.py), or to stdout (xlsx only when stdout is
    not a terminal)."""
    from cli.output import message
    if output:
        from cli.files import write_file
        write_file(output, data)
        message(f"{what} written to {output}")
    elif isinstance(data, bytes):
        if sys.stdout.isatty():
            raise click.UsageError(f"--format {fmt} is a binary file: give --output FILE or redirect stdout")
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        click.echo(data, nl=not data.endswith("\n"))


def _render(page, fmt: str):
    from engine.reports import output
    return {"md": output.to_markdown, "html": output.to_html, "xlsx": output.to_xlsx}[fmt](page)


@report.command()
@click.option("--by", "by", multiple=True, type=click.Choice(BY_FIELDS), metavar="FIELD",
              help=f"Group by (repeatable): {', '.join(BY_FIELDS)}. Regions roll up county -> city -> province.")
@click.option("--from", "from_", metavar="DATE", default=None, help="Hazards found on or after this day.")
@click.option("--to", metavar="DATE", default=None, help="... and on or before this day; figures as of its end.")
@click.option("--region", metavar="PREFIX", default=None, help="Only hazards within this region code (37, 3717, 371721).")
@click.option("--level", default=None, help="Only this level: major (重大) or general (一般).")
@click.option("--as-of", "as_of", metavar="TIME", default=None,
              help="Figures as they stood at this moment, folded from the event log.")
@definition_option
@json_option
@click.pass_context
def stats(ctx, by, from_, to, region, level, as_of, definition_file):
    """Found, rectified, open, overdue, rectified on time, not yet due, accepted, and the rates, per group and in total.

    Counts hazards found in the period, as of its end (or now while it runs). Rectified means rectification
    complete (已整改), accepted means accepted by the department (已验收); a report definition may count the
    accepted ones as rectified instead (counts_as_rectified: accepted). Every division under --region
    appears, with zeros where nothing was found. --json gives the exact counts and the rounded rates.

    \b
    Example:
      hazard report stats --by county --from 2018-10-01 --to 2018-10-31 --region 3717
    """
    from cli.output import print_json
    result = ctx.obj.engine.reports.stats(by=by, from_=from_, to=to, region=region, level=level, as_of=as_of,
                                          definition=_definition(ctx, definition_file), now=ctx.obj.now,
                                          actor=ctx.obj.actor_name)
    if is_json(ctx):
        print_json(result.as_dict())
    else:
        print_stats(result)


def group_cell(field: str, value):
    from cli.output import level_forms
    from engine.domain import regions, vocabularies
    if value is None:
        return "—"
    if field in ("region", "province", "city", "county"):
        return regions.label(value)
    if field == "level":
        return level_forms(value)
    if field in ("source", "industry"):
        return {"source": vocabularies.sources, "industry": vocabularies.industries}[field]().label(value)
    return str(value)


def print_stats(result) -> None:
    from cli.output import short_time, table
    from engine.domain import regions
    by = list(result.by)
    region_fields = [f for f in by if f in ("region", "province", "city", "county")]
    columns = by + ["code"] * bool(region_fields) + [label for _, label in COUNT_COLUMNS + RATE_COLUMNS]
    rows = []
    for row in result.rows + [result.total]:
        is_total = row is result.total
        cells = [("合计" if i == 0 else "") if is_total else
                 (row.group.get("state_label") or "—") if f == "state" else group_cell(f, row.group.get(f))
                 for i, f in enumerate(by)]
        if region_fields:
            code = row.group.get(region_fields[-1])
            cells.append("" if is_total or not code else regions.six_digits(code))
        cells += [getattr(row.counts, key) for key, _ in COUNT_COLUMNS]
        cells += [row.counts.accepted if key == "accepted" else row.texts[key] for key, _ in RATE_COLUMNS]
        rows.append(cells)
    where = regions.full_name(result.region) if result.region else "all regions"
    span = f"found {result.start or '…'} .. {result.end or '…'}" if result.start or result.end else "found any time"
    how = "replayed from the events" if result.replayed else "register"
    # The rates are what offices quote; the division code (its name is there), the counts a reader can derive
    # (not yet due = open - overdue) and those behind the on-time rate go first where the terminal is narrow.
    table(columns, rows, title=f"{where}, {span}, as of {short_time(result.at)} ({how})",
          optional=("on-time rate", "code", "on time", "not yet due"))


@report.command()
@click.option("--list", "list_name", metavar="NAME", default=None,
              help="One list: industry-enterprises, key-risk-points, major-to-clear, to-suspend (default: all four).")
@click.option("--region", metavar="PREFIX", default=None, help="Only hazards within this region code.")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "xlsx"]), default="md", show_default=True,
              help="Markdown text, one self-contained HTML page, or an xlsx workbook (one sheet per list).")
@click.option("--as-of", "as_of", metavar="TIME", default=None,
              help="The lists as they stood at this moment, folded from the event log.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout (whole or not at all: a failed write leaves the old file).")
@definition_option
@json_option
@click.pass_context
def lists(ctx, list_name, region, fmt, as_of, output, definition_file):
    """The four lists (四个清单): industry enterprises, key risk points, major hazards to clear, enterprises to
    be suspended; which rows each takes is the report definition's rule.

    \b
    Example:
      hazard report lists --list major-to-clear --region 3717 --format xlsx > 整改清零重大隐患清单.xlsx
    """
    from cli.output import print_json
    result = ctx.obj.engine.reports.lists(list=list_name, region=region, definition=_definition(ctx, definition_file),
                                          now=ctx.obj.now, as_of=as_of, actor=ctx.obj.actor_name)
    if is_json(ctx):
        print_json(result.as_dict())
    else:
        _write(output, _render(result.page(), fmt), fmt, "lists")


@report.command()
@click.option("--period", type=click.Choice(["week", "month", "quarter"]), default=None,
              help="The week (Monday to Sunday), month or quarter holding --date; required unless --campaign "
                   "(then, without it: the campaign from its first day to --date or its end).")
@click.option("--date", "day", metavar="DATE", default=None,
              help="A day of the period (default: today; with --campaign, its last day once it has ended).")
@click.option("--region", metavar="PREFIX", default=None,
              help="The office's region (default: the campaign's, or the one holding the period's hazards).")
@click.option("--format", "fmt", type=click.Choice(["md", "html", "xlsx"]), default=None,
              help="Markdown, a self-contained printable HTML page (A4, chart), or xlsx (a sheet per table); "
                   "with --campaign the default is md.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout (whole or not at all: a failed write leaves the old file).")
@click.option("--campaign", metavar="NAME", default=None, help="A campaign's bulletin: only its cases, its title.")
@definition_option
@json_option
@click.pass_context
def bulletin(ctx, period, day, region, fmt, output, campaign, definition_file):
    """The weekly brief / monthly bulletin (周简报、月通报) as offices publish it, with the event log's anchor.

    Totals and the change since the previous period, a paragraph per county, departments, the on-time rate,
    a chart of rates, overdue major hazards named, notices, interviews, posted supervisions, a ranking, the
    units that reported nothing. --json gives the document with exact counts and rounded rates.

    A campaign's bulletin (--campaign NAME) counts only its cases; without --period it covers the campaign from
    its first day to --date (default: its last day once it has ended, else today), in Markdown unless --format.

    \b
    Example:
      hazard report bulletin --period month --date 2018-10-31 --region 3717 --format html --output 2018-10.html
      hazard report bulletin --campaign heze-2018
    """
    from cli.output import print_json
    if period is None and campaign is None:
        raise click.UsageError("give --period week, month or quarter (or --campaign NAME)")
    if fmt is None and campaign is not None:
        fmt = "md"
    if fmt is None and not is_json(ctx):
        raise click.UsageError("give --format md, html or xlsx (or --json)")
    result = ctx.obj.engine.reports.bulletin(period=period, date=day, region=region, campaign=campaign,
                                             definition=_definition(ctx, definition_file), now=ctx.obj.now,
                                             actor=ctx.obj.actor_name)
    if is_json(ctx):
        print_json(result.as_dict())
        return
    data = {"md": result.markdown, "html": result.html, "xlsx": result.xlsx}[fmt]()
    _write(output, data, fmt, "bulletin")


@report.command()
@click.option("--weights", "weights_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="The weights file: indicators, weights, directions, ties and missing data (YAML).")
@click.option("--by", type=click.Choice(["region", "department", "industry"]), default="region", show_default=True,
              help="What is ranked; region means the divisions under --region.")
@click.option("--from", "from_", metavar="DATE", default=None, help="Hazards found on or after this day.")
@click.option("--to", metavar="DATE", default=None, help="... and on or before this day.")
@click.option("--region", metavar="PREFIX", default=None, help="Rank within this region (e.g. 3717: its counties).")
@click.option("--as-of", "as_of", metavar="TIME", default=None,
              help="Rank on the figures as they stood at this moment, folded from the event log.")
@definition_option
@json_option
@click.pass_context
def ranking(ctx, weights_file, by, from_, to, region, as_of, definition_file):
    """Rank groups on the weighted indicators of a weights file (rate, on-time rate, overdue, interviews, ...).

    \b
    Example:
      hazard report ranking --weights docs/examples/weights.yaml --by region --region 3717 --from 2018-10-01 --to 2018-12-31
    """
    from cli.output import print_json, table
    from engine.reports.blocks import cell_text, kind_of
    result = ctx.obj.engine.reports.ranking(weights=read_text(weights_file), weights_file=weights_file, by=by,
                                            from_=from_, to=to, region=region, as_of=as_of,
                                            definition=_definition(ctx, definition_file), now=ctx.obj.now,
                                            actor=ctx.obj.actor_name)
    if is_json(ctx):
        print_json(result.as_dict())
        return
    # each indicator's value and its score in columns of their own, headed X | X得分 (the bulletin's table)
    shown, rounding = result.table(), result.rounding
    table([c.label for c in shown.columns],
          [[cell_text(row.get(c.key), kind_of(row, c), rounding) for c in shown.columns] for row in shown.rows],
          title=result.spec.title or result.spec.name)
    click.echo(result.note())
