"""`hazard escalate`, `hazard scheduler` and `hazard escalation list`: firing the escalation ladder."""
from __future__ import annotations

import click

from cli.options import is_json, json_option, limit_type


@click.command()
@click.option("--dry-run", is_flag=True, help="Show what is due and what would fire or be skipped; change nothing.")
@click.option("--limit", type=limit_type(), default=None, help="Handle at most this many due rungs in this sweep.")
@json_option
@click.pass_context
def escalate(ctx, dry_run, limit):
    """Run one escalation sweep at the engine's time and print what it fired (cron-friendly).

    Example (cron, every 10 minutes): */10 * * * * hazard --db postgresql+psycopg://... escalate
    """
    from datetime import datetime

    from cli.output import message, print_json, short_time, table
    from engine.sweep import sweep

    result = sweep(ctx.obj.service, dry_run=dry_run, limit=limit)
    if is_json(ctx):
        print_json({"sweep": result.sweep_id, "now": result.now, "dry_run": dry_run, **result.counts,
                    "rungs": result.fired})
        return
    if result.fired:
        table(["case", "clock", "rung", "action", "due", "status", "late", "linked"],
              [[f["case_id"], f["clock"], f["rung"], f["action"], short_time(datetime.fromisoformat(f["due_at"])),
                ("would be " if dry_run else "") + f["status"], _late(f["late_seconds"]), f.get("linked_case", "")]
               for f in result.fired])
    counts = result.counts
    if dry_run:
        message(f"dry run: {counts['fired']} would fire, {counts['skipped']} would be skipped; nothing was changed")
    else:
        message(f"{counts['fired']} fired, {counts['skipped']} skipped, {counts['conflicts']} left for the next sweep")


@click.command()
@click.option("--interval", type=float, default=60.0, show_default=True,
              help="Seconds between sweeps, from 0.1 to 86400 (a day).")
@click.pass_context
def scheduler(ctx, interval):
    """Sweep on an interval until stopped (SIGTERM or Ctrl-C); logs each sweep to stderr.

    Several schedulers may run against one PostgreSQL database: every rung still fires exactly once.
    The first sweep catches up on rungs missed while no scheduler ran, by each rung's `missed` policy.

    Example: hazard --db postgresql+psycopg://postgres@db/hazard scheduler --interval 30
    """
    from engine import scheduler as loop
    from engine.clock import iso
    from engine.sweep import sweep

    from engine.limits import check_interval

    interval = check_interval(interval)
    app = ctx.obj
    if app.now_text:
        raise click.UsageError("the scheduler runs on the real clock: drop --now (use `hazard escalate` for drills)")
    service = app.service

    def once():
        result = sweep(service)
        return {"at": iso(result.now), **result.counts}

    loop.run(once, interval=interval, log=lambda line: click.echo(f"[hazard scheduler] {line}", err=True))


@click.group()
def escalation():
    """Inspect escalation rungs: what is due, and what is late to fire."""


@escalation.command("list")
@click.option("--due", is_flag=True, help="Only rungs due now and not fired.")
@click.option("--overdue-unfired", is_flag=True,
              help="Only due rungs past their grace time and still not fired: the engine's health figure.")
@click.option("--case", "case_id", default=None, help="Only the rungs of this case.")
@click.option("--limit", type=limit_type(), default=1000, show_default=True)
@json_option
@click.pass_context
def list_(ctx, due, overdue_unfired, case_id, limit):
    """List escalation rungs with their due and fired times.

    Example: hazard escalation list --overdue-unfired --json
    """
    from cli.output import message, print_json, short_time, table
    from engine.documents import rung_document

    svc = ctx.obj.service
    rows, lateness = svc.escalation_list(due=due, overdue_unfired=overdue_unfired, case_id=case_id, limit=limit)
    if is_json(ctx):
        print_json({"now": svc.clock.now(), "count": len(rows), "max_late_seconds": lateness,
                    "rungs": [rung_document(r) for r in rows]})
        return
    table(["case", "clock", "cycle", "rung", "action", "due", "fired", "status"],
          [[r.case_id, r.clock, r.cycle, r.rung, r.action, short_time(r.due_at) + (" (provisional)" if r.provisional else ""),
            short_time(r.fired_at), r.status] for r in rows])
    if overdue_unfired or due:
        message(f"{len(rows)} rung(s); oldest unfired is {_late(lateness)} late")


def _late(seconds: float) -> str:
    if not seconds:
        return ""
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
