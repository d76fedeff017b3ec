"""`hazard escalate`, `hazard scheduler` and `hazard escalation list`: firing the escalation ladder."""
from __future__ import annotations

import click

from cli.options import is_json, json_option, limit_type

# Every status a rung row can have (engine/store/rungs.py), for --status.
RUNG_STATUSES = ("pending", "paused", "proposed", "approved", "declined", "lapsed", "fired", "skipped", "cancelled")

lease_option = click.option(
    "--lease", type=click.IntRange(5, 3600), default=300, show_default=True, envvar="HAZARD_LEASE", metavar="SECONDS",
    help="How long rows a sweep claimed stay its own if it dies (real time); another sweep takes them after. "
         "Env: HAZARD_LEASE.")


@click.command()
@click.option("--dry-run", is_flag=True, help="Show what is due and what would fire or be skipped; change nothing.")
@click.option("--limit", type=limit_type(), default=None, help="Handle at most this many due rungs in this sweep.")
@lease_option
@json_option
@click.pass_context
def escalate(ctx, dry_run, limit, lease):
    """Run one escalation sweep at the engine's time and print what it fired (cron-friendly).

    \b
    Example (cron, every 10 minutes):
      */10 * * * * hazard --db postgresql+psycopg://user@db/hazard escalate
    """
    from datetime import datetime

    from cli.output import message, print_json, short_time, table
    from engine.domain.documents import sweep_document

    app = ctx.obj
    result = app.engine.sweep(now=app.now, dry_run=dry_run, limit=limit, lease=_lease(lease))
    if is_json(ctx):
        print_json(sweep_document(result))
        return
    if result.fired:
        table(["case", "rung", "status", "due", "late", "action", "why", "clock"],
              [[f["case_id"], f["rung"], ("would be " if dry_run else "") + f["status"]
                + (f" to {'/'.join(f['decided_by'])}" if f["status"] == "proposed" else ""),
                short_time(datetime.fromisoformat(f["due_at"])), _late(f["late_seconds"]), f["action"],
                f.get("reason") or (f"opened {f['linked_case']}" if f.get("linked_case") else ""), f["clock"]]
               for f in result.fired], text=("why",), optional=("late", "action", "clock"))
    counts = result.counts
    if dry_run:
        message(f"dry run: {counts['fired']} would fire, {counts['proposed']} would be proposed, {counts['skipped']} "
                "would be skipped; nothing was changed")
    else:
        message(f"{counts['fired']} fired, {counts['proposed']} proposed for a decision, {counts['skipped']} skipped, "
                f"{counts['conflicts']} left for the next sweep")
        if counts["proposed"]:
            message("proposals await a decision: hazard case decide CASE RUNG approve|decline --reason TEXT")
        if result.refused:
            message(f"refused, their rows edited outside the engine: {', '.join(result.refused)} "
                    "(hazard audit replay CASE says what changed)")


@click.command()
@click.option("--interval", type=float, default=60.0, show_default=True,
              help="Seconds between sweeps, from 0.1 to 86400 (a day).")
@lease_option
@click.option("--notify", "deliver", is_flag=True, help="Deliver notifications too, in a thread of its own, a round "
                                                        "every 10 seconds (as `hazard notify` does).")
@click.pass_context
def scheduler(ctx, interval, lease, deliver):
    """Sweep on an interval until stopped (SIGTERM or Ctrl-C); logs each sweep to stderr.

    Several schedulers may run against one PostgreSQL database: every rung still fires exactly once. With
    --notify it also delivers notifications (docs/notifications.md).
    The first sweep catches up on rungs missed while no scheduler ran, by each rung's `missed` policy.

    \b
    Example:
      hazard --db postgresql+psycopg://postgres@db/hazard scheduler --interval 30
    """
    from engine.app import scheduler as loop
    from engine.domain.clock import SystemClock, iso
    from engine.domain.limits import check_interval
    from engine.app.sweep import Sweeper

    interval = check_interval(interval)
    app = ctx.obj
    if app.now_text:
        raise click.UsageError("the scheduler runs on the real clock: drop --now (use `hazard escalate` for drills)")
    sweeper = Sweeper(app.engine, SystemClock(), lease=_lease(lease))

    def once():
        result = sweeper()
        return {"at": iso(result.now), **result.counts, **_named_cases(result)}

    log = lambda line: click.echo(f"[hazard scheduler] {line}", err=True)  # noqa: E731
    if not deliver:
        loop.run(once, interval=interval, log=log)
        return
    import threading

    from engine.app.deliverer import run_loop
    stop = threading.Event()  # the sweep's loop sets it on SIGTERM; the delivering thread stops with it
    thread = threading.Thread(target=run_loop, args=(app.engine,), kwargs={"interval": 10.0, "log": log,
                                                                            "stop_event": stop}, daemon=True)
    thread.start()
    try:
        loop.run(once, interval=interval, log=log, stop_event=stop)
    finally:
        stop.set()
        thread.join()


def _named_cases(result, shown: int = 10) -> dict:
    """The cases a sweep fired, proposed or skipped rungs of, by status, for its log line (the first few)."""
    named = {"refused_cases": ",".join(result.refused)} if result.refused else {}
    for status in ("fired", "proposed", "skipped"):
        cases = result.cases(status)
        if cases:
            named[f"{status}_cases"] = ",".join(cases[:shown]) + (f",+{len(cases) - shown} more" if len(cases) > shown
                                                                   else "")
    return named


def _lease(seconds: int):
    from datetime import timedelta
    return timedelta(seconds=seconds)


@click.group()
def escalation():
    """Inspect escalation rungs: what is due, and what is late to fire."""


@escalation.command("list")
@click.option("--due", is_flag=True, help="Only rungs due now and not fired.")
@click.option("--overdue-unfired", is_flag=True,
              help="Only due rungs past their grace time and still not fired: the engine's health figure.")
@click.option("--proposed", is_flag=True, help="Only proposals awaiting a decision (same as --status proposed).")
@click.option("--status", "statuses", multiple=True, type=click.Choice(RUNG_STATUSES),
              help="Only rungs of this status (repeatable).")
@click.option("--all", "show_all", is_flag=True, help="Cancelled rungs too (left out by default).")
@click.option("--case", "case_id", default=None, help="Only the rungs of this case.")
@click.option("--limit", type=limit_type(), default=1000, show_default=True)
@json_option
@click.pass_context
def list_(ctx, due, overdue_unfired, proposed, statuses, show_all, case_id, limit):
    """List escalation rungs with their status, due and fired times: pending, proposed for a decision (and
    approved, declined or lapsed), fired, skipped as missed; cancelled ones only with --all.

    \b
    Example:
      hazard escalation list --proposed
      hazard escalation list --overdue-unfired --json
    """
    from cli.output import message, print_json, short_time, table
    from engine.domain.documents import escalation_list_document

    app = ctx.obj
    wanted = set(statuses) | ({"proposed"} if proposed else set())
    rows, lateness = app.engine.queries.escalation_list(due=due, overdue_unfired=overdue_unfired, case_id=case_id,
                                                        limit=limit, now=app.now, statuses=tuple(sorted(wanted)),
                                                        cancelled=show_all, actor=app.actor_name)
    if is_json(ctx):
        print_json(escalation_list_document(rows, lateness, app.now))
        return
    table(["case", "rung", "status", "due", "fired", "action", "clock", "cycle"],
          [[r.case_id, r.rung, r.status, short_time(r.due_at) + (" (provisional)" if r.provisional else ""),
            short_time(r.fired_at), r.action, r.clock, r.cycle] for r in rows],
          optional=("fired", "action", "clock", "cycle"))
    if overdue_unfired or due:
        message(f"{len(rows)} rung(s) due and not fired" + (f"; the oldest is {_late(lateness)} late" if lateness
                                                             else ""))


def _late(seconds: float) -> str:
    if not seconds:
        return ""
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
