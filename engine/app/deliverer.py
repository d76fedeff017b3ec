"""The deliverer: sends what the outbox holds, at least once, and records each outcome as an event of the case.

One round (`deliver`) claims due messages with a lease on the real clock (engine/store/notifications.py, SKIP
LOCKED on PostgreSQL), commits the claim, sends each through its channel (engine/app/channels.py) outside any
transaction, then records the outcome in one unit per message: the row marked (only if this deliverer still
holds it) and, once a message is sent or has failed for good, a `notify` event appended to its case, signed by
the scheduler, which `audit trace` and the dossier list ("told on D"). A passing failure is tried again after
an exponential delay (engine.domain.notifications.retry_delay); a permanent one, or the last try, fails the
message for good. A deliverer killed between sending and recording leaves the row claimed: once the lease runs
out another sends it again with the same idempotency key, which the receiver may use to drop the repeat.

The notify event takes effect when the case last did (its `at`; the real time of sending is in its data), so
it never stands between a person's step and the steps that follow it.
"""
from __future__ import annotations

import json
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from engine.domain import notifications as rules
from engine.domain.clock import iso_seconds
from engine.domain.errors import Conflict, TamperDetected

LEASE = timedelta(minutes=2)
BATCH = 50
SMTP_PASSWORD_ENV = "HAZARD_SMTP_PASSWORD"   # the SMTP password is never stored: the deliverer's environment holds it
NOT_CONFIGURED_DELAY = timedelta(minutes=5)


@dataclass
class Delivery:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    waiting: int = 0      # channel not configured: left pending, tried again later
    quiet: int = 0        # the recipient's quiet hours: left pending until they end
    lost: int = 0         # taken over by another deliverer meanwhile (our lease ran out)
    errors: list[str] = field(default_factory=list)

    def add(self, other: "Delivery") -> None:
        for name in ("sent", "retried", "failed", "waiting", "quiet", "lost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors


def new_deliverer_id() -> str:
    return f"notify-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def channels_from(settings: dict) -> dict:
    """The channel adapters the database's settings configure (`hazard notify channel set`)."""
    from engine.app.channels import Email, Webhook
    found = {}
    smtp = settings.get("notify.smtp")
    if smtp:
        found["email"] = Email(json.loads(smtp), os.environ.get(SMTP_PASSWORD_ENV))
    secret = settings.get("notify.webhook.secret")
    if secret:
        found["webhook"] = Webhook(secret)
    return found


def granted_settings(conn) -> tuple[dict, list[str]]:
    """The channels' settings as the users' log granted them, and the problem of each that the log does not
    back (a row edited by hand: a mail server or a secret swapped outside the engine is not obeyed)."""
    from engine.domain.grants import CHANNEL_SETTINGS, SECRET_SETTINGS, secret_digest, setting_problem
    from engine.store import settings as setting_store
    from engine.store import users as user_store
    found, problems = {}, []
    for key in CHANNEL_SETTINGS:
        value = setting_store.get(conn, key)
        shown = secret_digest(value) if value is not None and key in SECRET_SETTINGS else value
        problem = setting_problem(key, shown, user_store.setting_grant(conn, key))
        if problem:
            problems.append(problem)
        elif value is not None:
            found[key] = value
    return found, problems


def deliver(engine, *, deliverer_id: str | None = None, limit: int = BATCH, channels: dict | None = None,
            lease: timedelta = LEASE) -> Delivery:
    """One round: claim up to `limit` due messages, send them, record each outcome."""
    from engine.store import notifications as store
    by = deliverer_id or new_deliverer_id()
    real_now = engine.recorded_clock.now()
    with engine.store.write() as conn:
        claimed = store.claim(conn, real_now=real_now, by=by, lease_until=real_now + lease, limit=limit,
                              postgres=not engine.store.is_sqlite)
        settings, forged = granted_settings(conn) if claimed and channels is None else ({}, [])
        quiet = store.quiet_hours(conn, [row.recipient for row in claimed])
    adapters = channels if channels is not None else channels_from(settings)
    result = Delivery(errors=[f"{problem}: the channel is not used" for problem in forged])
    for row in claimed:
        adapter = adapters.get(row.channel)
        until = rules.quiet_until(quiet.get(row.recipient), engine.recorded_clock.now())
        if until is not None:
            _record(engine, row, by, status="pending", attempts=row.attempts, next_at=until, result=result,
                    counted="quiet")
            continue
        if adapter is None:
            _record(engine, row, by, status="pending", attempts=row.attempts, error="channel not configured",
                    next_at=engine.recorded_clock.now() + NOT_CONFIGURED_DELAY, result=result, counted="waiting")
            continue
        try:
            adapter.send(row)
        except Exception as exc:  # noqa: BLE001 - an adapter's surprise is a passing failure, never a lost message
            from engine.app.channels import Undelivered
            permanent = isinstance(exc, Undelivered) and exc.permanent
            attempts = row.attempts + 1
            status, next_at = rules.after_failure(attempts, engine.recorded_clock.now(), permanent=permanent)
            _record(engine, row, by, status=status, attempts=attempts, error=str(exc)[:500] or type(exc).__name__,
                    next_at=next_at, result=result)
            continue
        _record(engine, row, by, status="sent", attempts=row.attempts + 1, result=result)
    return result


def deliver_all(engine, **options) -> Delivery:
    """Rounds until nothing is due (`hazard notify --once`)."""
    total = Delivery()
    while True:
        got = deliver(engine, **options)
        total.add(got)
        if not (got.sent + got.retried + got.failed + got.waiting + got.quiet + got.lost):
            return total
        if (got.waiting or got.quiet) and not (got.sent + got.retried + got.failed):
            return total  # only messages that wait (a channel's settings, quiet hours) left: not for us to loop on


def delivery_round(engine) -> dict:
    """One round of a delivering loop (`hazard notify`, `hazard scheduler --notify`): its counts for the log line,
    or nothing when nothing was tried."""
    done = deliver_all(engine)
    tried = {k: getattr(done, k) for k in ("sent", "retried", "failed")}
    return tried if any(tried.values()) else {}


DIGEST_AT = (8, 0)   # the daily digest is written at 08:00, Asia/Shanghai, by every delivering loop


def run_loop(engine, *, interval: float, log, stop_event=None, digest_at: tuple[int, int] | None = DIGEST_AT) -> None:
    """Deliver every `interval` seconds until stopped, in the scheduler's loop (its backoff while the database is
    away, its SIGTERM handling in the main thread; `stop_event` in another); write the day's digests at
    `digest_at` (None: not at all). Several loops may write them: each message is keyed, written once."""
    from engine.app import scheduler as loop
    daily = None if digest_at is None else (*digest_at, lambda: digest_round(engine))
    loop.run(lambda: delivery_round(engine), interval=interval, what="delivery", name="deliverer", log=log,
             stop_event=stop_event, daily=daily)


def digest_round(engine) -> dict:
    """The day's digests at the real time (engine/app/digest.py), for the log line; a loop that lost the race to
    write them to another says nothing."""
    from engine.app.digest import write_digests
    try:
        written = write_digests(engine, now=engine.recorded_clock.now())
    except Conflict:
        return {}
    return {"digests": written.messages} if written.messages else {}


def _record(engine, row, by: str, *, status: str, attempts: int, result: Delivery, error: str | None = None,
            next_at=None, counted: str | None = None) -> None:
    from engine.store import notifications as store
    sent_at = engine.recorded_clock.now() if status == "sent" else None
    for _ in range(5):  # a person's step on the same case meanwhile is a lost race of ours: read it again
        try:
            with engine.unit() as unit:
                if not store.finish(unit.conn, row_id=row.id, by=by, status=status, attempts=attempts,
                                    sent_at=sent_at, next_at=next_at, error=error):
                    result.lost += 1
                    return
                if status in ("sent", "failed") and row.case_id:  # a digest belongs to no case: its row says it
                    try:
                        _told(unit, row, status=status, attempts=attempts, sent_at=sent_at, error=error)
                    except TamperDetected:
                        pass  # a case row edited by hand takes no event (audit replay names it); the row says it
            break
        except Conflict:
            continue
    if status == "failed":
        result.errors.append(f"{row.key}: {error}")
    counted = counted or {"sent": "sent", "failed": "failed"}.get(status, "retried")
    setattr(result, counted, getattr(result, counted) + 1)


def _told(unit, row, *, status: str, attempts: int, sent_at, error: str | None) -> None:
    """The `notify` event: who was told what through which channel, or that they could not be."""
    case = unit.case(row.case_id)
    if case.voided_at is not None:
        return  # a voided case takes no event; the row says what happened
    run = unit.run(case.workflow, case.workflow_version)
    told = {"key": row.key, "seq": row.seq, "recipient": row.recipient, "channel": row.channel, "status": status,
            "attempts": attempts, "text": row.text}
    if sent_at is not None:
        told["sent_at"] = iso_seconds(sent_at)
    if error:
        told["error"] = error
    event = unit.event(case, trigger="notify", to_state=case.state, actor="scheduler", role="system",
                       at=case.updated_at, data={"notification": told}, run=run)
    unit.append(case, [event], run, sync=False)


def status(engine) -> dict[str, dict[str, int]]:
    """{channel: {pending, sent, failed}} over every message written."""
    from engine.store import notifications as store
    with engine.store.read() as conn:
        counts = store.status_counts(conn)
    found = {channel: {"pending": 0, "sent": 0, "failed": 0} for channel in rules.CHANNELS}
    for channel, state, count in counts:
        found.setdefault(channel, {"pending": 0, "sent": 0, "failed": 0})[state] = count
    return found


def set_channel(engine, channel: str, *, actor: str | None, host: str | None = None, port: int | None = None,
                sender: str | None = None, user: str | None = None, starttls: bool = False,
                secret: str | None = None) -> dict:
    """Configure a channel (committee role); returns what can be shown of it (never a secret)."""
    from engine.app import accounts
    from engine.domain import grants
    from engine.domain.errors import InvalidInput
    from engine.domain.machine import pick_role
    if channel == "smtp":
        if not host or not port or not 0 < port < 65536:
            raise InvalidInput("smtp needs a host and a port from 1 to 65535", field="port")
        if sender:
            rules.check_contact(email=sender, phone=None, webhook=None)
        shown = {"host": host, "port": port, "sender": sender, "user": user, "starttls": starttls}
        key, value = "notify.smtp", json.dumps(shown, sort_keys=True)
    elif channel == "webhook":
        if not secret or len(secret) < 16:
            raise InvalidInput("webhook needs a secret of at least 16 characters (it signs every request)",
                               field="secret")
        shown, key, value = {"secret": "(set)"}, "notify.webhook.secret", secret
    else:
        raise InvalidInput(f"unknown channel '{channel}' (channels: smtp, webhook)", field="channel")
    with engine.unit() as unit:
        pick_role(unit.actor(actor), (grants.GRANTING_ROLE,), f"configure the {channel} channel")
        accounts.change_setting(unit, key, value, actor=actor)
    return {"channel": channel, **shown}


def inbox(engine, *, actor: str | None, everything: bool = False, limit: int = 200) -> list[dict]:
    """The actor's in-app messages, newest first (unread only unless `everything`)."""
    from engine.store import notifications as store
    from engine.domain.clock import iso
    with engine.unit() as unit:
        who = unit.actor(actor)
        rows = store.inbox(unit.conn, who.name, unread_only=not everything, limit=limit)
    return [{"id": r.id, "case_id": r.case_id or None, "text": r.text, "created_at": iso(r.created_at),
             "read": r.read_at is not None} for r in rows]


def unread_count(engine, *, actor: str | None) -> int:
    """How many of the actor's in-app messages are unread."""
    from engine.store import notifications as store
    with engine.unit() as unit:
        who = unit.actor(actor)
        return store.unread_count(unit.conn, who.name)


def mark_read(engine, *, actor: str | None, ids: list[int] | None = None) -> int:
    from engine.store import notifications as store
    with engine.unit() as unit:
        who = unit.actor(actor)
        return store.mark_read(unit.conn, who.name, ids, engine.recorded_clock.now())
