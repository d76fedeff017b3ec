"""`hazard db ...`: the schema's revision, and carrying a database of an earlier release forward."""
from __future__ import annotations

import click

from cli.options import is_json, json_option


@click.group()
def db():
    """The database's schema: which revision it is at, and upgrading it."""


@db.command()
@json_option
@click.pass_context
def upgrade(ctx):
    """Upgrade a database an earlier release made: the schema, then every case row and rung row re-derived
    from the events (which are never changed). Safe to run again; back the database up first.

    \b
    Example:
      hazard --db sqlite:///hazard.db db upgrade
    """
    from cli.output import message, print_json

    app = ctx.obj
    done = app.engine.commands.upgrade()
    if is_json(ctx):
        print_json(done)
        return
    if done["from"] == done["to"]:
        message(f"the database is at revision {done['to']} already: nothing to do")
    else:
        message(f"upgraded from revision {done['from'] or '(empty)'} to {done['to']}; {done['cases']} case(s) "
                f"re-derived from their {done['events']} events")


@db.command()
@json_option
@click.pass_context
def current(ctx):
    """Print the database's schema revision and whether this release can use it as it is.

    \b
    Example:
      hazard --db postgresql+psycopg://user@host/hazard db current
    """
    from cli.output import print_json

    doc = ctx.obj.engine.queries.schema_revision()
    if is_json(ctx):
        print_json(doc)
    else:
        revision = doc["revision"]
        state = "current" if doc["current"] else ("empty: run `hazard init`" if revision is None
                                                  else "older: run `hazard db upgrade`")
        click.echo(f"{revision or '(no tables)'} ({state}; this release writes {doc['head']})")
