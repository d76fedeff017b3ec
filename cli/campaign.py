"""`hazard campaign ...`: campaign definitions (专项整治) and how their targets stand, per stage."""
from __future__ import annotations

import click

from cli.options import is_json, json_option


@click.group()
def campaign():
    """Campaigns (专项整治): staged periods, targets and the cases in scope, as data."""


@campaign.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@json_option
@click.pass_context
def install(ctx, file):
    """Check and install a campaign file; a changed file becomes a new version, an unchanged one a no-op.

    Every problem is printed as FILE:LINE: message (exit 7). Needs --actor with the committee role, as
    `workflow install` does (exit 4); a --now later than the real time is refused (rule future, exit 3).

    \b
    Example:
      hazard --actor li campaign install engine/reports/campaigns/heze-2018.yaml
    """
    from cli.output import message, print_json
    from cli.report import read_text

    app = ctx.obj
    name, version, created = app.engine.reports.campaigns.install(read_text(file), file, actor=app.actor_name,
                                                                  now=app.now)
    if is_json(ctx):
        print_json({"campaign": name, "version": version, "created": created})
    else:
        message(f"{name}: version {version}" + (" installed" if created else " (unchanged)"))


@campaign.command("list")
@json_option
@click.pass_context
def list_campaigns(ctx):
    """The installed campaigns: region, period, stages and how many targets.

    \b
    Example:
      hazard campaign list
    """
    from cli.output import print_json, table
    found = ctx.obj.engine.reports.campaigns.list()
    if is_json(ctx):
        print_json(found)
        return
    table(["campaign", "version", "title", "region", "from", "to", "stages", "targets"],
          [[c["campaign"], c["version"], c["title"], c["region_name"], c["from"], c["to"],
            " / ".join(s["title"] for s in c["stages"]), c["targets"]] for c in found], text=("stages",))


@campaign.command()
@click.argument("name")
@click.option("--as-of", "as_of", metavar="TIME", default=None,
              help="The campaign as it stood at this moment, from the event log (default: now, from the register).")
@json_option
@click.pass_context
def status(ctx, name, as_of):
    """Each stage and target of campaign NAME: met or not, and by whom not (the units, their figures, the cases).

    \b
    Example:
      hazard campaign status heze-2018 --as-of 2018-12-20
    """
    from cli.output import print_json
    found = ctx.obj.engine.reports.campaigns.status(name, as_of=as_of, now=ctx.obj.now, actor=ctx.obj.actor_name)
    if is_json(ctx):
        print_json(found)
    else:
        print_status(found)


def print_status(found: dict) -> None:
    """Each stage as a table (target, by, status, how many units miss it or have no data), then, under the
    table, every unit that misses a target, one a line with its figure and what is behind it, and the units
    with no data: nothing a reader needs is cut to fit the width."""
    from cli.output import message, table
    head = f"{found['title']} ({found['campaign']} v{found['version']}), {found['region_name']}, " \
           f"{found['from']} .. {found['to']}, as of {found['as_of']}"
    click.echo(head)
    for stage in found["stages"]:
        rows, notes = [], []
        for t in stage["targets"]:
            name = t["title"] or t["target"]
            rows.append([name, t["by"], t["status_label"], len(t["failing"]) or "—", len(t["no_data"]) or "—"])
            if t["failing"]:
                notes.append(f"  {name}: not met by {len(t['failing'])}")
                for f in t["failing"]:
                    line = f"{f['name']} {f['value']}"
                    if f.get("detail"):
                        line += ": " + ", ".join(map(str, f["detail"]))
                    notes += _wrapped(line, "    ", "      ")
            if t["no_data"]:
                notes += _wrapped(f"{name}: no data: " + "、".join(u["name"] for u in t["no_data"]), "  ", "    ")
        table(["target", "by", "status", "not met", "no data"], rows,
              title=f"{stage['title']} {stage['from']} .. {stage['to']}: {stage['status_label']}",
              text=("target",))
        if notes:
            click.echo("\n".join(notes) + "\n")
    message(f"{found['met']} target(s) met or on track, {found['not_met']} missed, behind or without data")


def _wrapped(text: str, first: str, rest: str) -> list[str]:
    """`text` as lines that fit the output's width (wide characters counted as two), broken after a comma or
    an enumeration mark (、) where it can be; never cut."""
    from cli.output import cell_len, width
    limit = max(width(), 40)
    lines, line = [], first
    for piece in _pieces(text):
        if cell_len(line) + cell_len(piece) > limit and line.strip():
            lines.append(line.rstrip())
            line = rest + piece.lstrip()
        else:
            line += piece
    lines.append(line.rstrip())
    return lines


def _pieces(text: str) -> list[str]:
    out, current = [], ""
    for ch in text:
        current += ch
        if ch in ",、;；" or (ch == " " and current.strip()):
            out.append(current)
            current = ""
    return out + [current] * bool(current)
