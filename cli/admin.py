"""`hazard init` and `hazard user ...`: setting up a database and who may act where."""
from __future__ import annotations

import click

from cli.options import is_json, json_option


@click.command()
@json_option
@click.pass_context
def init(ctx):
    """Create the tables and install the built-in workflows (safe to run again).

    \b
    Example:
      hazard --db sqlite:///hazard.db init
    """
    from cli.output import message, print_json
    from engine.documents import installed_document

    app = ctx.obj
    app.create = True
    installed = app.engine.init(now=app.now)
    if is_json(ctx):
        print_json({"db": app.engine.store.safe_url, "workflows": installed_document(installed)})
        return
    for name, version, created in installed:
        message(f"{name}: version {version}" + (" installed" if created else " (unchanged)"))
    message(f"database ready: {app.engine.store.safe_url}")


@click.group()
def user():
    """Register who may act, in which roles and regions."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True,
              help="Role (repeatable): inspector, enterprise, supervisor, committee, auditor.")
@click.option("--region", "regions", multiple=True, required=True,
              help="Region code prefix (repeatable): 37 a province, 3717 a city, 371721 a county; "
                   "trailing 00 pairs are dropped (371700 = 3717).")
@json_option
@click.pass_context
def user_add(ctx, name, roles, regions):
    """Add a user, or replace the roles and regions of an existing one.

    \b
    Example:
      hazard user add zhang --role supervisor --region 371700
    """
    from cli.output import message, print_json
    from engine.documents import user_document

    app = ctx.obj
    actor, created = app.engine.commands.add_user(name, roles=list(roles), regions=list(regions), now=app.now)
    if is_json(ctx):
        print_json(user_document(actor, created))
    else:
        message(f"{'added' if created else 'updated'} {actor.name}: roles {', '.join(actor.roles)}; "
                f"regions {', '.join(actor.regions)}")


@user.command("list")
@json_option
@click.pass_context
def user_list(ctx):
    """List registered users with their roles and region code prefixes.

    \b
    Example:
      hazard user list --json
    """
    from cli.output import print_json, table
    from engine.documents import user_document

    found = ctx.obj.engine.queries.users()
    if is_json(ctx):
        print_json([user_document(a) for a in found])
    else:
        table(["name", "roles", "regions"], [[a.name, ", ".join(a.roles), ", ".join(a.regions)] for a in found])
