"""`hazard calendar ...`: the working-day calendars the engine counts with."""
from __future__ import annotations

import click

from cli.options import is_json, json_option


@click.group()
def calendar():
    """Working-day calendars (public holidays and make-up working days, 调休)."""


@calendar.command()
@json_option
@click.pass_context
def status(ctx):
    """Show the stored calendars, the installed library's, and how many open rungs are provisional.

    \b
    Example:
      hazard calendar status --json
    """
    from cli.output import message, print_json, short_time, table

    info = ctx.obj.engine.queries.calendar_status()
    if is_json(ctx):
        print_json(info)
        return
    table(["calendar", "version", "years", "stored", "in use by new cases"],
          [[c["hash"][:12], c["version"], f"{c['first_year']}-{c['last_year']}", short_time(c["installed_at"]),
            "yes" if c["newest"] else ""] for c in info["stored"]])
    library = info["library"]
    message(f"library: {library['version']} covers {library['first_year']}-{library['last_year']}"
            + ("" if library["stored"] else " (newer than any stored: run `hazard calendar refresh`)"))
    message(f"open rungs with provisional due times: {info['provisional_rungs']}")


@calendar.command()
@click.option("--dry-run", is_flag=True, help="Show which cases' due times would move; change nothing.")
@json_option
@click.pass_context
def refresh(ctx, dry_run):
    """Store the installed library's calendar and recount open cases' provisional due times.

    Each case whose unfired rungs move gets a `recalendar` event; closed cases are never touched.
    Needs an actor with the committee role.

    \b
    Example:
      pip install -U chinesecalendar && hazard --actor li calendar refresh --dry-run
    """
    from cli.output import message, print_json, table
    from engine.domain.documents import recalendar_document

    app = ctx.obj
    digest, created, recounts = app.engine.commands.refresh_calendar(actor=app.actor_name, dry_run=dry_run,
                                                                     now=app.now)
    if is_json(ctx):
        print_json(recalendar_document(digest, created, dry_run, recounts))
        return
    if recounts:
        table(["case", "clock", "rung", "due before", "due after", "provisional"],
              [[r.case_id, m["clock"], m["rung"], m["before"], m["after"], "yes" if m["provisional"] else ""]
               for r in recounts for m in r.moved])
    message(("dry run: " if dry_run else "") + f"calendar {digest[:12]} {'new' if created else 'already stored'}; "
            f"{len(recounts)} case(s) {'would be' if dry_run else ''} recounted".replace("  ", " "))
