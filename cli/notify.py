"""`hazard notify ...` and `hazard inbox`: delivering notifications, their channels, and the in-app inbox."""
from __future__ import annotations

import click

from cli.options import is_json, json_option


@click.group(invoke_without_command=True)
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop (default: keep delivering until "
                                           "stopped).")
@click.option("--interval", type=click.FloatRange(0.5, 3600), default=10.0, show_default=True, metavar="SECONDS",
              help="Seconds between delivery rounds.")
@click.option("--digest-at", default="08:00", show_default=True, metavar="HH:MM|off",
              help="While running (without --once), write the day's digests at this time, Asia/Shanghai "
                   "(`hazard notify digest`); off: never.")
@json_option
@click.pass_context
def notify(ctx, once, interval, digest_at):
    """Deliver the outbox's e-mails and webhooks, with retries; each delivery recorded as an event of its case.

    Without --once it runs until SIGTERM or Ctrl-C, a round every --interval seconds, backing off while the
    database is away (as `hazard scheduler` does). Several deliverers may run at once on PostgreSQL: each message
    is claimed by one. The SMTP password, if the server needs one, is read from HAZARD_SMTP_PASSWORD.

    \b
    Example:
      hazard notify --once
      hazard notify --interval 30
    """
    if ctx.invoked_subcommand is not None:
        return
    from cli.output import message, print_json
    from engine.app.deliverer import deliver_all

    daily = _time_of_day(digest_at)
    engine = ctx.find_root().obj.engine
    if not once:
        from engine.app.deliverer import run_loop
        run_loop(engine, interval=interval, log=lambda line: click.echo(f"[hazard notify] {line}", err=True),
                 digest_at=daily)
        return
    done = deliver_all(engine)
    if is_json(ctx):
        print_json({"sent": done.sent, "retried": done.retried, "failed": done.failed, "waiting": done.waiting,
                    "quiet": done.quiet, "errors": done.errors})
        return
    message(f"sent {done.sent}, to retry {done.retried}, failed {done.failed}"
            + (f", waiting for a channel's settings {done.waiting}" if done.waiting else "")
            + (f", held for quiet hours {done.quiet}" if done.quiet else ""))
    for error in done.errors:
        message(f"failed: {error}")


def _time_of_day(text: str) -> tuple[int, int] | None:
    import re
    if text.strip().lower() == "off":
        return None
    match = re.fullmatch(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*", text)
    if match is None:
        raise click.BadParameter(f"{text[:40]!r} is not a time of day like 08:00, nor off", param_hint="--digest-at")
    return int(match.group(1)), int(match.group(2))


@notify.command("status")
@json_option
@click.pass_context
def notify_status(ctx):
    """Messages pending, sent and failed, by channel.

    \b
    Example:
      hazard notify status --json
    """
    from cli.output import print_json, table
    from engine.app.deliverer import status

    found = status(ctx.find_root().obj.engine)
    if is_json(ctx):
        print_json(found)
        return
    table(["channel", "pending", "sent", "failed"],
          [[channel, c["pending"], c["sent"], c["failed"]] for channel, c in found.items()])


@notify.command("digest")
@click.option("--days", type=int, default=3, show_default=True, metavar="N",
              help="Cases falling due within N days (1 to 30) are listed as due soon.")
@json_option
@click.pass_context
def notify_digest(ctx, days):
    """Write today's digest (隐患日报) for every supervisor and committee member with something to report: the
    overdue cases of their reach, those due within --days, how many await their verification and their decision.

    One message per person and channel (the inbox, and e-mail or webhook where they gave one), delivered by
    `hazard notify`; run it again the same day and it writes nothing twice. Run it each morning from cron,
    e.g. `0 8 * * * hazard notify digest`. The day is the engine's (--now), in Asia/Shanghai.

    \b
    Example:
      hazard notify digest --days 5
    """
    from cli.output import message, print_json
    from engine.app.digest import write_digests

    app = ctx.find_root().obj
    written = write_digests(app.engine, now=app.now, days_ahead=days)
    if is_json(ctx):
        print_json(written.document())
        return
    message(f"digest of {written.day}: {written.messages} messages for {written.readers} readers"
            + (f" ({written.held} written earlier today)" if written.held else "")
            + (f"; nothing to report for {len(written.skipped)}" if written.skipped else ""))


@notify.group("channel")
def channel():
    """Configure the delivery channels (the committee role); secrets are never printed back."""


@channel.group("set")
def channel_set():
    """Set a channel's settings."""


@channel_set.command("smtp")
@click.option("--host", required=True, help="The SMTP server's host name or address.")
@click.option("--port", required=True, type=int, help="Its port (25, 465, 587, ...).")
@click.option("--sender", metavar="ADDR", help="The From address of every mail.")
@click.option("--user", metavar="U", help="Log in as U (the password comes from HAZARD_SMTP_PASSWORD).")
@click.option("--starttls", is_flag=True, help="Upgrade the connection with STARTTLS before sending.")
@json_option
@click.pass_context
def channel_smtp(ctx, host, port, sender, user, starttls):
    """E-mail through an SMTP server.

    \b
    Example:
      hazard --actor li notify channel set smtp --host mail.example.cn --port 587 --sender aq@example.cn --starttls
    """
    _set(ctx, "smtp", host=host, port=port, sender=sender, user=user, starttls=starttls)


@channel_set.command("webhook")
@click.option("--secret", required=True, help="The HMAC-SHA256 key each request is signed with "
                                              "(X-Hazard-Signature: sha256=...); at least 16 characters.")
@json_option
@click.pass_context
def channel_webhook(ctx, secret):
    """JSON POSTs to each user's webhook URL (`hazard user change NAME --webhook URL`), signed.

    \b
    Example:
      hazard --actor li notify channel set webhook --secret "$(openssl rand -hex 16)"
    """
    _set(ctx, "webhook", secret=secret)


def _set(ctx, channel_name: str, **options) -> None:
    from cli.output import message, print_json
    from engine.app.deliverer import set_channel

    app = ctx.find_root().obj
    shown = set_channel(app.engine, channel_name, actor=app.actor_name, **options)
    if is_json(ctx):
        print_json(shown)
    else:
        message(f"channel {channel_name} set: " + ", ".join(f"{k} {v}" for k, v in shown.items()
                                                            if k != "channel" and v not in (None, False)))


@click.command()
@click.option("--all", "everything", is_flag=True, help="Read messages too (default: unread only).")
@click.option("--read", "mark", is_flag=True, help="Mark the messages shown as read.")
@json_option
@click.pass_context
def inbox(ctx, everything, mark):
    """The acting user's in-app messages, newest first.

    \b
    Example:
      hazard --actor ent-a inbox --json
      hazard --actor ent-a inbox --read
    """
    from cli.output import message, print_json, short_time
    from engine.app.deliverer import inbox as read_inbox, mark_read

    app = ctx.find_root().obj
    found = read_inbox(app.engine, actor=app.actor_name, everything=everything)
    if mark and found:
        mark_read(app.engine, actor=app.actor_name, ids=[m["id"] for m in found])
    if is_json(ctx):
        print_json(found)
        return
    from engine.domain.clock import parse_time
    if not found:
        message("no messages" if everything else "no unread messages (--all shows the read ones too)")
        return
    # A message is prose of several lines (a digest is a dozen): each a block under its heading, not a table cell.
    blocks = []
    for m in found:
        head = " · ".join([m["case_id"] or "日报", short_time(parse_time(m["created_at"])), "已读" if m["read"] else "未读"])
        blocks.append("\n".join([head, *("  " + line for line in m["text"].splitlines())]))
    click.echo("\n\n".join(blocks))
