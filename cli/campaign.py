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

    Every problem is printed as FILE:LINE: message (exit 7).

    \b
    Example:
      hazard campaign install engine/reports/campaigns/heze-2018.yaml
    """
    from cli.output import message, print_json
    from cli.report import read_text

    app = ctx.obj
    app.engine.store.create_schema()  # a database made before campaigns existed gets their table
    name, version, created = app.engine.reports.campaigns.install(read_text(file), file, now=app.now)
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
    found = ctx.obj.engine.reports.campaigns.status(name, as_of=as_of, now=ctx.obj.now)
    if is_json(ctx):
        print_json(found)
    else:
        print_status(found)


def print_status(found: dict) -> None:
    from cli.output import message, table
    head = f"{found['title']} ({found['campaign']} v{found['version']}), {found['region_name']}, " \
           f"{found['from']} .. {found['to']}, as of {found['as_of']}"
    click.echo(head)
    for stage in found["stages"]:
        rows = []
        for t in stage["targets"]:
            failing = "; ".join(f"{f['name']} {f['value']}" + (f" ({', '.join(map(str, f['detail']))})"
                                                            if f.get("detail") else "") for f in t["failing"])
            no_data = "、".join(u["name"] for u in t["no_data"])
            rows.append([t["title"] or t["target"], t["by"], t["status_label"], failing or "—", no_data or "—"])
        table(["target", "by", "status", "not met by", "no data"], rows,
              title=f"{stage['title']} {stage['from']} .. {stage['to']}: {stage['status_label']}",
              text=("target", "not met by", "no data"))
    message(f"{found['met']} target(s) met or on track, {found['not_met']} missed or behind")
